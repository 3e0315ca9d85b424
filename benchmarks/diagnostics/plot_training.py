"""Validation curves of one or more training runs, per pose component, from their ``log.jsonl``.

    python benchmarks/diagnostics/plot_training.py runs/cpu_pointer runs/cpu_m0 --out docs/training_curves.png

One panel per component (translation, rotation, torsion) with a line per run and diffusion time (the
``loss_<comp>_t<t>`` figures of the validation, see ``discodock.training.score.validate_score``), plus a table of the
first and last validation figures printed to stdout. Logs from before per-time validation (a single
``loss_<comp>``) are drawn as one line per run.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

COMPONENTS = {"tr": "translation", "rot": "rotation", "tor": "torsion"}


def read_val(run: Path) -> list[dict]:
    rows = []
    for line in (run / "log.jsonl").read_text().splitlines():
        row = json.loads(line)
        if row.get("split") == "val":
            rows.append(row)
    # a resumed run logs its last step twice; keep the newest record of each step
    by_step = {r["step"]: r for r in rows}
    return [by_step[s] for s in sorted(by_step)]


def series(rows: list[dict], comp: str) -> dict[str, list[tuple[int, float]]]:
    out: dict[str, list[tuple[int, float]]] = {}
    for r in rows:
        timed = {k: v for k, v in r.items() if re.fullmatch(rf"loss_{comp}_t[0-9.]+", k)}
        if timed:
            for k, v in timed.items():
                out.setdefault("t=" + k.rsplit("_t", 1)[1], []).append((r["step"], v))
        elif f"loss_{comp}" in r:
            out.setdefault("uniform t", []).append((r["step"], r[f"loss_{comp}"]))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--out", type=Path, default=Path("training_curves.png"))
    args = ap.parse_args()

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    logs = {run.name: read_val(run) for run in args.runs}
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), sharey=False)
    styles = ["-", "--", ":", "-."]
    for ax, (comp, title) in zip(axes, COMPONENTS.items()):
        for i, (name, rows) in enumerate(logs.items()):
            for label, pts in sorted(series(rows, comp).items()):
                if pts:
                    xs, ys = zip(*pts)
                    ax.plot(xs, ys, styles[i % len(styles)], label=f"{name} {label}")
        ax.axhline(1.0, color="grey", lw=0.8)
        ax.set_title(f"{title}: validation loss / E|score|^2")
        ax.set_xlabel("training step")
        ax.legend(fontsize=7)
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")
    print("| run | step | " + " | ".join(f"{c} (t=.25/.5/.75)" for c in COMPONENTS) + " |")
    print("|---|---|" + "---|" * len(COMPONENTS))
    for name, rows in logs.items():
        timed = [r for r in rows if any(k.startswith("loss_tr_t") for k in r)]
        for r in (timed[:1] + timed[-1:]) if timed else []:
            cells = []
            for c in COMPONENTS:
                vals = [r[k] for k in sorted(r) if k.startswith(f"loss_{c}_t")]
                cells.append(" / ".join(f"{v:.2f}" for v in vals))
            print(f"| {name} | {r['step']} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
