"""``discodock train`` (also ``python -m discodock.training``): runs one stage (score, prior or confidence).

``torchrun --nproc_per_node=K -m discodock.training ...`` runs the same code under DDP (gloo on CPU, NCCL on
GPU) with each rank reading its own share of every epoch.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

from discodock.config import load_docking_config
from discodock.errors import InputError
from discodock.models.bundle import export_weights, load_models, resolve_device
from discodock.training.confidence import train_confidence
from discodock.training.data import load_training_complexes
from discodock.training.distributed import finish_distributed, init_distributed
from discodock.training.prior import train_prior
from discodock.training.score import train_score


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", required=True, help="configs/docking/<name>.yaml or a preset name (tiny, cpu, ...)")
    p.add_argument("--data", nargs="+", required=True, help="PDBBind-layout folder(s) or a prepared cache folder")
    p.add_argument("--train-ids", required=True, help="file with one complex ID per line")
    p.add_argument("--val-ids", help="file with one complex ID per line (validation)")
    p.add_argument("--out", required=True, help="run folder (checkpoints, log.jsonl, config.yaml)")
    p.add_argument("--stage", choices=["score", "prior", "confidence"], default="score")
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    p.add_argument("--cache", help="preprocessed-complex cache folder (default: OUT/../cache)")
    p.add_argument("--workers", type=int, default=1, help="processes for preprocessing")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--steps", type=int, help="override train.steps (or prior/confidence steps for those stages)")
    p.add_argument("--latent-mode", choices=["none", "pointer", "global"], help="override model.latent.mode")
    p.add_argument("--init-from", help="score stage: start from this checkpoint's score net and encoder "
                                        "(same model config; e.g. a blind run from a pocket model)")
    p.add_argument("--from-checkpoint", help="score checkpoint for --stage prior/confidence (default OUT/weights.pt)")
    p.add_argument("--quiet", action="store_true")


def run(args: argparse.Namespace) -> int:
    overrides: dict[str, Any] = {}
    if args.latent_mode:
        overrides["model.latent.mode"] = args.latent_mode
    if args.init_from:
        if not Path(args.init_from).is_file():
            raise InputError(args.init_from, "--init-from checkpoint not found")
        overrides["train.init_from"] = str(args.init_from)
    if args.steps is not None:
        key = {"score": "train.steps", "prior": "train.prior_steps", "confidence": "train.confidence_steps"}
        overrides[key[args.stage]] = args.steps
    cfg = load_docking_config(args.config, overrides)
    init_distributed(args.device)
    try:
        return _train_stage(args, cfg, overrides)
    finally:
        finish_distributed()  # a gloo group left at exit can abort the process ("terminate called ...")


def _train_stage(args: argparse.Namespace, cfg, overrides: dict[str, Any]) -> int:
    """Load the data and train the chosen stage (inside the process group, when under torchrun)."""
    cache = args.cache or str(Path(args.out).resolve().parent / "cache")
    train_set = load_training_complexes(args.data, args.train_ids, cfg, cache=cache, workers=args.workers,
                                        progress_bar=not args.quiet)
    val_set = load_training_complexes(args.data, args.val_ids, cfg, cache=cache, workers=args.workers,
                                      progress_bar=not args.quiet) if args.val_ids else []
    show = False if args.quiet else None
    if args.stage == "score":
        res = train_score(cfg, train_set, val_set, args.out, resume=args.resume, device=args.device,
                          show_progress=show)
        print(f"score stage: {res.step} steps, best validation loss {res.best_val:.4f}; weights in {res.out_dir}/weights.pt")
        return 0
    ckpt_path = args.from_checkpoint or str(Path(args.out) / "weights.pt")
    device = resolve_device(args.device)
    models, ckpt_cfg, source = load_models(ckpt_path, device=device)
    ckpt_cfg.train = dataclasses.replace(ckpt_cfg.train, **{k.split(".", 1)[1]: v for k, v in overrides.items()
                                                           if k.startswith("train.")})
    if args.stage == "prior":
        res = train_prior(ckpt_cfg, models, train_set, val_set, args.out, device=device, show_progress=show)
        export_weights(models, ckpt_cfg, Path(args.out) / "weights.pt", step=source["step"], extra={"prior": res})
        print(f"prior stage: {res}; weights (score + prior) in {args.out}/weights.pt")
        return 0
    res = train_confidence(ckpt_cfg, models, train_set, val_set, args.out, device=device, show_progress=show)
    export_weights(models, ckpt_cfg, Path(args.out) / "weights.pt", step=source["step"], extra={"confidence": res})
    print(f"confidence stage: {res}; weights in {args.out}/weights.pt")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m discodock.training", description=__doc__.splitlines()[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except InputError as err:
        print(f"discodock train: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
