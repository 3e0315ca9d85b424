"""The digits results table over seeds, with mean and range, and its figure, from finished run folders.

    for s in 0 1 2; do python -m disco_core.images run --config configs/images/digits.yaml --out runs/digits_s$s --seed $s; done
    python benchmarks/images/seeds.py runs/digits_s0 runs/digits_s1 runs/digits_s2 --out docs/images_digits_seeds.png

Prints a markdown table (one column per seed, then mean and range) of FD for the baseline, DisCo with
latents from the prior and DisCo with oracle latents, the share of samples the classifier is unsure of,
the ODE curvature, the NFE and the prior's calibration figures (all read from each folder's images.json),
and draws FD and the unsure share per seed.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

ROWS = [
    ("FD baseline", "fd_baseline", "{:.2f}"),
    ("FD DisCo, latents from the AR prior", "fd_disco", "{:.2f}"),
    ("FD DisCo, oracle latents (encoded test images)", "fd_disco_oracle", "{:.2f}"),
    ("unsure samples, baseline", "ambiguous_baseline", "{:.1%}"),
    ("unsure samples, DisCo (prior)", "ambiguous_disco", "{:.1%}"),
    ("unsure samples, DisCo (oracle)", "ambiguous_disco_oracle", "{:.1%}"),
    ("ODE curvature, baseline", "curvature_baseline", "{:.2f}"),
    ("ODE curvature, DisCo (prior)", "curvature_disco", "{:.2f}"),
    ("ODE curvature, DisCo (oracle)", "curvature_disco_oracle", "{:.2f}"),
    ("NFE (all models)", "nfe", "{:.0f}"),
    ("codebook perplexity (of 16)", "codebook_perplexity", "{:.1f}"),
    ("class KL of samples from the training classes, baseline", "class_kl_baseline", "{:.4f}"),
    ("class KL of samples from the training classes, DisCo (prior)", "class_kl_disco", "{:.4f}"),
    ("prior temperature (chosen on held-out training codes)", "prior_temperature", "{:.2f}"),
    ("prior held-out NLL (nats/token)", "prior_val_cross_entropy", "{:.3f}"),
    ("prior vs encoder code frequencies, fitted images (TV)", "prior_marginal_tv_fit", "{:.3f}"),
    ("prior vs encoder code frequencies, held-out images (TV)", "prior_marginal_tv_val", "{:.3f}"),
    ("fitted vs held-out images' code frequencies (TV, noise floor)", "prior_marginal_tv_fit_val", "{:.3f}"),
]


def fmt(spec: str, value) -> str:
    return "-" if value is None else spec.format(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="run folders with images.json")
    parser.add_argument("--out", type=Path, default=None, help="PNG figure of FD and unsure share per seed")
    args = parser.parse_args(argv)
    results = [json.loads((run / "images.json").read_text()) for run in args.runs]
    seeds = [r.get("seed", "?") for r in results]
    print("| | " + " | ".join(f"seed {s}" for s in seeds) + " | mean | range |")
    print("|---" * (len(seeds) + 3) + "|")
    for label, key, spec in ROWS:
        if all(r.get(key) is None for r in results):
            continue
        values = [r.get(key) for r in results]
        have = [v for v in values if isinstance(v, (int, float))]
        mean = fmt(spec, sum(have) / len(have)) if have else "-"
        span = f"{fmt(spec, min(have))} - {fmt(spec, max(have))}" if have else "-"
        print(f"| {label} | " + " | ".join(fmt(spec, v) for v in values) + f" | {mean} | {span} |")
    wins = sum(r["fd_disco"] < r["fd_baseline"] for r in results)
    print(f"\nDisCo (prior) has the lower FD in {wins} of {len(results)} seeds.")
    if args.out:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
        names = [("baseline", "baseline", "tab:gray"), ("disco", "DisCo, prior latents", "tab:blue"),
                 ("disco_oracle", "DisCo, oracle latents", "tab:green")]
        width = 0.8 / len(names)
        for ax, prefix, title in ((axes[0], "fd_", "FD in classifier features (lower is better)"),
                                  (axes[1], "ambiguous_", "samples the classifier is unsure of")):
            for j, (key, label, color) in enumerate(names):
                xs = [i + (j - 1) * width for i in range(len(results))]
                ax.bar(xs, [r.get(prefix + key, 0.0) for r in results], width, label=label, color=color)
            ax.set_xticks(range(len(results)), [f"seed {s}" for s in seeds])
            ax.set_title(title, fontsize=10)
        axes[1].yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8, frameon=False)
        fig.suptitle(f"digits, Heun NFE {results[0]['nfe']}, {results[0]['n_samples']} samples per model", fontsize=10)
        fig.tight_layout(rect=(0, 0.07, 1, 1))
        args.out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(args.out, dpi=120)
        print(f"figure: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
