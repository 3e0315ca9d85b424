"""Copy a run's exported weights to where discodock loads them, with the docking defaults chosen by measurement.

    python tools/ship_weights.py runs/cpu_pointer/weights.pt discodock/weights/discodock_cpu.pt \\
        --rank vina --refine none [--samples 10 --random-starts 0] [--note "..."]

Options left out keep the source's value.

The weights keep their training config; only the ``sampling`` section (the defaults of ``discodock dock``) is
changed, and ``extra.shipped`` records where they came from. ``<target stem>.yaml`` is written beside them
(the pocket and blind weights share a folder).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("source", type=Path)
    ap.add_argument("target", type=Path)
    ap.add_argument("--rank", choices=("confidence", "vina", "learned"))
    ap.add_argument("--refine", choices=("none", "vina", "search"))
    ap.add_argument("--samples", type=int)
    ap.add_argument("--random-starts", type=int)
    ap.add_argument("--note", default="")
    args = ap.parse_args()

    from disco_core.training import save_checkpoint
    from discodock.models.bundle import load_models

    models, cfg, ckpt = load_models(args.source)  # validates the checkpoint and its config
    if args.rank == "confidence" and models.confidence is None:
        raise SystemExit(f"{args.source}: no confidence model, cannot rank by confidence")
    chosen = {k: getattr(args, k) for k in ("rank", "refine", "samples", "random_starts") if getattr(args, k) is not None}
    sampling = dict(cfg.to_dict()["sampling"], **chosen)
    from discodock.sampling.settings import DockSettings, check_settings

    check_settings(DockSettings(**{k: sampling[k] for k in ("samples", "refine", "rank", "random_starts")}))
    config = dict(cfg.to_dict(), sampling=sampling)
    extra = dict(ckpt.get("extra") or {}, shipped={"source": str(args.source), "note": args.note})
    save_checkpoint(args.target, state=ckpt["state"], config=config, step=ckpt["step"], extra=extra,
                    config_name=f"{args.target.stem}.yaml")
    print(f"{args.target}: step {ckpt['step']}, sampling {sampling}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
