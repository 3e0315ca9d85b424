"""Write a training state small enough to commit: optimiser moments in float16, everything else as is.

The resumable states in ``checkpoints/<run>/last.pt`` live in git (no other store reaches the next machine), so
each is kept under about 5 MB. Adam's moments are the largest part after the weights; float16 keeps their
leading digits, and ``torch.optim.Optimizer.load_state_dict`` casts them back to the parameters' float32 on
resume. The weights, the EMA, the sampler position and the generators are copied unchanged.

    python tools/compact_checkpoint.py /work/runs/site_pointer/last.pt checkpoints/site_pointer/last.pt
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch


def compact(state: dict) -> dict:
    opt = state["state"]["optimizer"]
    for slot in opt["state"].values():
        for key, value in slot.items():
            if torch.is_tensor(value) and value.is_floating_point() and value.dim() > 0:
                slot[key] = value.to(torch.float16)
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
