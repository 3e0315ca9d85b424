"""Benchmark outputs: ``per_complex.csv``, ``posebusters.csv``, ``summary.json``, ``summary.md`` and
``rmsd_cdf.png`` in a run folder, and :func:`compare` for several run folders.

``per_complex.csv`` is the record of a run (appended one complex at a time, so an interrupted run keeps
what it finished) with columns ``id, method, rank, rmsd, confidence_or_score, seconds, status, pb_valid,
cpu_seconds``:
one row per pose for a complex that docked (rank 1 is the method's top pose; ``pb_valid`` is filled on rank
1 only), one row with empty rank/rmsd for a complex that failed (``status`` = ``error: <reason>``).
``confidence_or_score`` is the method's own ranking value: the confidence for discodock (higher is
better), the Vina score in kcal/mol for Vina (lower is better). ``seconds`` is the docking wall time of
the complex (repeated on its rows), ``cpu_seconds`` the CPU time it used (all threads; steadier than wall
time on a shared machine). ``posebusters.csv`` holds every check of every top-1 pose in long
form (``id, method, check, value``).

Several methods may share a folder (one curve each in the plot, one row each in ``summary.md``).
``summary.json`` holds exactly the keys of :data:`discodock.eval.metrics.SUMMARY_KEYS` when the folder
has one method, and maps each method to such a dict when it has several.
"""

from __future__ import annotations

import csv
import json
import math
import os
import platform
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path

from discodock.eval.metrics import SUCCESS_RMSD, SUMMARY_KEYS, ComplexOutcome, median_cpu_seconds, summarize

PER_COMPLEX_CSV = "per_complex.csv"
POSEBUSTERS_CSV = "posebusters.csv"
SUMMARY_JSON = "summary.json"
SUMMARY_MD = "summary.md"
RMSD_CDF_PNG = "rmsd_cdf.png"
COLUMNS = ("id", "method", "rank", "rmsd", "confidence_or_score", "seconds", "status", "pb_valid", "cpu_seconds")
POSEBUSTERS_COLUMNS = ("id", "method", "check", "value")


def _fmt(value: float | None, digits: int = 4) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def outcome_rows(outcome: ComplexOutcome) -> list[dict[str, str]]:
    """The ``per_complex.csv`` rows of one outcome."""
    base = {"id": outcome.id, "method": outcome.method, "seconds": _fmt(outcome.seconds, 2), "status": outcome.status,
            "cpu_seconds": _fmt(outcome.cpu_seconds, 2)}
    if not outcome.rmsds:
        return [{**base, "rank": "", "rmsd": "", "confidence_or_score": "", "pb_valid": ""}]
    scores = list(outcome.scores) + [None] * (len(outcome.rmsds) - len(outcome.scores))
    rows = []
    for rank, (rmsd, score) in enumerate(zip(outcome.rmsds, scores), start=1):
        pb = "" if rank > 1 or outcome.pb_valid is None else str(bool(outcome.pb_valid))
        rows.append({**base, "rank": str(rank), "rmsd": _fmt(rmsd), "confidence_or_score": _fmt(score), "pb_valid": pb})
    return rows


def _append_csv(path: Path, columns: Sequence[str], rows: Iterable[dict[str, str]]) -> None:
    new = not path.exists() or path.stat().st_size == 0
    if not new:  # keep the columns of the file being extended (e.g. one written by an older version)
        with open(path, newline="") as handle:
            columns = next(csv.reader(handle), None) or columns
    with open(path, "a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), extrasaction="ignore", restval="")
        if new:
            writer.writeheader()
        writer.writerows(rows)
        handle.flush()
        os.fsync(handle.fileno())


def append_outcome(out_dir: str | Path, outcome: ComplexOutcome, checks: dict[str, bool] | None = None,
                   pb_reason: str | None = None) -> None:
    """Append one complex to ``per_complex.csv`` (and its PoseBusters checks to ``posebusters.csv``)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if checks or pb_reason:
        rows = [{"id": outcome.id, "method": outcome.method, "check": k, "value": str(v)} for k, v in (checks or {}).items()]
        rows.append({"id": outcome.id, "method": outcome.method, "check": "pb_valid", "value": str(outcome.pb_valid)})
        if pb_reason:
            rows.append({"id": outcome.id, "method": outcome.method, "check": "reason", "value": pb_reason})
        _append_csv(out / POSEBUSTERS_CSV, POSEBUSTERS_COLUMNS, rows)
    _append_csv(out / PER_COMPLEX_CSV, COLUMNS, outcome_rows(outcome))


def _float(text: str) -> float | None:
    return float(text) if text not in ("", None) else None


def read_outcomes(path: str | Path) -> list[ComplexOutcome]:
    """Outcomes recorded in a ``per_complex.csv`` (or in the one inside a run folder), in file order."""
    path = Path(path)
    if path.is_dir():
        path = path / PER_COMPLEX_CSV
    if not path.exists():
        return []
    groups: dict[tuple[str, str], list[dict[str, str]]] = {}
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            groups.setdefault((row["method"], row["id"]), []).append(row)
    outcomes = []
    for (method, cid), rows in groups.items():
        ranked = sorted((r for r in rows if r["rank"]), key=lambda r: int(r["rank"]))
        top = ranked[0] if ranked else rows[-1]
        pb = top.get("pb_valid", "")
        outcomes.append(
            ComplexOutcome(
                id=cid,
                method=method,
                rmsds=tuple(float(r["rmsd"]) for r in ranked),
                scores=tuple(_float(r["confidence_or_score"]) for r in ranked),
                seconds=_float(top["seconds"]),
                status=top["status"],
                pb_valid=None if pb == "" else pb == "True",
                cpu_seconds=_float(top.get("cpu_seconds", "")),
            )
        )
    return outcomes


def finished(out_dir: str | Path) -> set[tuple[str, str]]:
    """(method, id) pairs already recorded in the folder's ``per_complex.csv``."""
    return {(o.method, o.id) for o in read_outcomes(out_dir)}


def machine_description() -> str:
    """One line naming the CPU, the core count and the OS."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} logical cores, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def _pct(value) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _num(value, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def summary_table(summaries: dict[str, dict], cpu_seconds: dict[str, float | None] | None = None) -> str:
    """A Markdown table, one row per method label (``cpu_seconds``: median CPU s per complex, optional)."""
    cpu_seconds = cpu_seconds or {}
    header = (
        "| method | n | failed | top-1 < 2 A | top-5 < 2 A | top-1 < 5 A | oracle < 2 A | median top-1 RMSD (A) "
        "| s / complex (median) | CPU s / complex (median) | PB-valid top-1 | top-1 < 2 A & PB-valid |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|\n"
    )
    rows = [
        f"| {label} | {s['n']} | {s['n_failed']} | {_pct(s['top1_rmsd_lt2'])} | {_pct(s['top5_rmsd_lt2'])} "
        f"| {_pct(s['top1_rmsd_lt5'])} | {_pct(s['oracle_rmsd_lt2'])} | {_num(s['median_top1_rmsd'])} "
        f"| {_num(s['seconds_per_complex_median'], 1)} | {_num(cpu_seconds.get(label), 1)} "
        f"| {_pct(s['pb_valid_top1'])} | {_pct(s['top1_rmsd_lt2_and_pb_valid'])} |"
        for label, s in summaries.items()
    ]
    return header + "\n".join(rows) + "\n"


def plot_rmsd_cdf(outcomes_by_label: dict[str, Sequence[ComplexOutcome]], path: str | Path, *,
                  max_rmsd: float = 10.0) -> None:
    """Cumulative distribution of top-1 RMSD, one curve per label; the y value at x is the fraction of
    *all* attempted complexes with a top-1 pose within x Angstrom (failures never count)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(5.5, 4.0), dpi=120)
    grid = np.linspace(0.0, max_rmsd, 401)
    for label, outcomes in outcomes_by_label.items():
        top1 = np.array([o.rmsds[0] for o in outcomes if o.ok])
        n = max(len(outcomes), 1)
        ax.plot(grid, [(top1 <= x).sum() / n for x in grid], label=f"{label} (n={len(outcomes)})")
    ax.axvline(SUCCESS_RMSD, color="grey", linestyle="--", linewidth=0.8)
    ax.set_xlim(0, max_rmsd)
    ax.set_ylim(0, 1)
    ax.set_xlabel("top-1 ligand RMSD (A)")
    ax.set_ylabel("fraction of complexes")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _by_method(outcomes: Sequence[ComplexOutcome]) -> dict[str, list[ComplexOutcome]]:
    groups: dict[str, list[ComplexOutcome]] = {}
    for o in outcomes:
        groups.setdefault(o.method, []).append(o)
    return groups


def _write_all(out: Path, groups: dict[str, list[ComplexOutcome]], flat_if_single: bool, title: str,
               note: str = "") -> dict:
    out.mkdir(parents=True, exist_ok=True)
    summaries = {label: summarize(os_) for label, os_ in groups.items()}
    if flat_if_single and len(summaries) == 1:
        payload = next(iter(summaries.values()))
        assert tuple(payload) == SUMMARY_KEYS
    else:
        payload = summaries
    (out / SUMMARY_JSON).write_text(json.dumps(payload, indent=2) + "\n")
    date = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    text = (
        f"# {title}\n\n{date}; {machine_description()}\n\n"
        + summary_table(summaries, {label: median_cpu_seconds(os_) for label, os_ in groups.items()})
        + "\n"
        "Fractions are over all attempted complexes (a failure counts as a miss); RMSD is heavy-atom, "
        "symmetry-corrected, in the protein frame without re-alignment; PB-valid excludes the RMSD check.\n"
        + note
    )
    (out / SUMMARY_MD).write_text(text)
    if groups:
        plot_rmsd_cdf(groups, out / RMSD_CDF_PNG)
    return summaries


def write_summary(out_dir: str | Path, ids: Collection[str] | None = None) -> dict[str, dict]:
    """Rewrite ``summary.json``, ``summary.md`` and ``rmsd_cdf.png`` of a run folder from its
    ``per_complex.csv``; returns the summary of each method found.

    With ``ids``, only those complexes count: a folder that one method has taken further than another (a
    resumed run with a larger ``--limit``) still gives a table over the complexes the caller asked for."""
    out = Path(out_dir)
    outcomes = read_outcomes(out)
    note = ""
    if ids is not None:
        wanted = set(ids)
        kept = [o for o in outcomes if o.id in wanted]
        left_out = len({o.id for o in outcomes} - wanted)
        if left_out:
            note = (f"Over the {len(wanted)} complexes of this run; {left_out} other complexes in "
                    f"{PER_COMPLEX_CSV} are left out.\n")
        outcomes = kept
    return _write_all(out, _by_method(outcomes), flat_if_single=True, title=f"Benchmark: {out.name}", note=note)


def compare(dirs: Sequence[str | Path], out: str | Path) -> dict[str, dict]:
    """Put several run folders side by side: ``out/summary.json`` (label -> summary), ``out/summary.md``
    and ``out/rmsd_cdf.png``. Labels are the methods, suffixed with the folder name when one method
    appears in several folders."""
    runs = [(Path(d), _by_method(read_outcomes(d))) for d in dirs]
    counts: dict[str, int] = {}
    for _, groups in runs:
        for method in groups:
            counts[method] = counts.get(method, 0) + 1
    labelled: dict[str, list[ComplexOutcome]] = {}
    for folder, groups in runs:
        for method, outcomes in groups.items():
            label = method if counts[method] == 1 else f"{method} ({folder.name})"
            while label in labelled:  # two folders with the same name
                label += "'"
            labelled[label] = outcomes
    return _write_all(Path(out), labelled, flat_if_single=False, title="Benchmark comparison")
