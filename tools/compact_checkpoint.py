"""Write a training state small enough to commit: optimiser moments in bfloat16, everything else as is.

The resumable states in ``checkpoints/<run>/last.pt`` live in git (no other store reaches the next machine), so
each is kept small. Adam's moments are the largest part after the weights; bfloat16 keeps their leading digits
and float32's exponent range (float16 flushed small second moments to zero: see
``disco_core.training.optimizer_state``), and ``torch.optim.Optimizer.load_state_dict`` casts them back to the
parameters' float32 on resume. The weights, the EMA, the sampler position and the generators are copied
unchanged.

    python tools/compact_checkpoint.py /work/runs/site_pointer/last.pt checkpoints/site_pointer/last.pt
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from disco_core.training.optimizer_state import compact_optimizer_state


def compact(state: dict) -> dict:
    compact_optimizer_state(state["state"]["optimizer"])
    return state


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("source")
    p.add_argument("dest")
    args = p.parse_args()
    state = torch.load(args.source, map_location="cpu", weights_only=False)
    Path(args.dest).parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(args.dest).with_suffix(".tmp")
    torch.save(compact(state), tmp)
    tmp.replace(args.dest)
    print(f"{args.source} ({Path(args.source).stat().st_size / 1e6:.2f} MB) -> {args.dest} "
          f"({Path(args.dest).stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
