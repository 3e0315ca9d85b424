"""``python -m disco_core.images {run,train,sample,eval} --out DIR [...]``: DisCo-Diff on a small image set.

``run`` does everything (train the metric's classifier, the baseline, the DisCo model and its prior;
sample both models at the same NFE; score them) and writes ``DIR/images.json`` and
``DIR/samples_{baseline,disco}.png``. ``train``, ``sample`` and ``eval`` do one step each on the same
folder. Bad input (a missing or malformed config, data or checkpoint) prints one line and exits with 2.
"""

from __future__ import annotations

import argparse
import json
import sys

from disco_core.images.config import load_config
from disco_core.images.runner import (
    MODELS,
    eval_step,
    run_images,
    sample_step,
    train_step,
)
from disco_core.training import CheckpointLoadError

PARTS = ("classifier", "baseline", "disco", "prior")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m disco_core.images",
        description="DisCo-Diff on images (default: scikit-learn's digits): EDM baseline vs discrete latents.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="train, sample and evaluate both models")
    train = sub.add_parser("train", help="train the classifier, baseline, DisCo model and prior (or some of them)")
    sample = sub.add_parser("sample", help="sample trained models of the run folder")
    evaluate = sub.add_parser("eval", help="score the run folder's samples and write images.json")
    for p in (run, train, sample, evaluate):
        p.add_argument("--out", required=True, help="run folder (checkpoints, samples, images.json)")
        p.add_argument("--quiet", action="store_true", help="print only the final JSON")
    for p in (run, train, sample):
        p.add_argument("--seed", type=int, default=0, help="training / sampling seed (the data split is fixed)")
        p.add_argument("--device", default="cpu", help="torch device for training and sampling (default: cpu)")
    for p in (run, train):
        p.add_argument("--config", default=None, help="YAML file overriding the built-in defaults")
    train.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated subset of {','.join(PARTS)}")
    sample.add_argument("--models", default=",".join(MODELS), help="comma-separated subset of baseline,disco,disco_oracle")
    sample.add_argument("--n", type=int, default=None, help="number of samples (default: the config's n_samples)")
    sample.add_argument("--steps", type=int, default=None, help="Heun steps (default: the config's num_steps)")
    sample.add_argument("--prior-temperature", type=float, default=None, help="temperature of the latent prior (default: the one chosen on held-out training codes, in prior.pt)")
    sample.add_argument("--guidance", type=float, default=None, help="classifier-free guidance weight over the latents")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    verbose = not args.quiet
    try:
        if args.command == "run":
            result = run_images(args.out, config=load_config(args.config), seed=args.seed, device=args.device, verbose=verbose)
        elif args.command == "train":
            parts = tuple(p.strip() for p in args.parts.split(",") if p.strip())
            result = train_step(load_config(args.config), args.out, seed=args.seed, what=parts, device=args.device, verbose=verbose)
        elif args.command == "sample":
            models = tuple(m.strip() for m in args.models.split(",") if m.strip())
            result = sample_step(
                args.out, models=models, seed=args.seed, n=args.n, num_steps=args.steps,
                prior_temperature=args.prior_temperature, guidance=args.guidance, device=args.device, verbose=verbose,
            )
        else:
            result = eval_step(args.out, verbose=verbose)
    except (ValueError, CheckpointLoadError) as exc:
        print(f"error: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}", file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
