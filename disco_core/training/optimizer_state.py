"""Adam's moments in a training state small enough to commit, and the repair of states stored too coarsely.

A committed resumable state keeps the optimiser's moments in bfloat16: half the bytes of float32 with float32's
exponent range. float16 (used for the states committed until 2026-12-07) cannot hold the second moment of a small
gradient (its smallest subnormal is 6e-8, and g^2 of a 1e-4 gradient is 1e-8): 42% of a 643k-parameter run's
``exp_avg_sq`` entries became 0 while ``exp_avg`` did not, and Adam's first steps after the resume were then up to
~30x too large (validation loss rose for ~2,000 steps). ``torch.optim.Optimizer.load_state_dict`` casts the moments
back to the parameters' dtype.
"""

from __future__ import annotations

import torch


def compact_optimizer_state(state: dict, *, dtype: torch.dtype = torch.bfloat16) -> dict:
    """``optimizer.state_dict()`` with its floating-point moment tensors cast to ``dtype`` (in place)."""
    for slot in state["state"].values():
        for key, value in slot.items():
            if torch.is_tensor(value) and value.is_floating_point() and value.dim() > 0:
                slot[key] = value.to(dtype)
    return state


@torch.no_grad()
def repair_underflowed_moments(optimizer: torch.optim.Optimizer) -> int:
    """Where a loaded Adam state has ``exp_avg_sq == 0`` but ``exp_avg != 0`` (impossible in float32 Adam: a zero
    second moment means every gradient so far was zero), set ``exp_avg_sq = exp_avg^2``, the smallest value
    consistent with the first moment. A no-op on a state saved in float32 or bfloat16. Returns how many entries
    were repaired."""
    repaired = 0
    for slot in optimizer.state.values():
        m, v = slot.get("exp_avg"), slot.get("exp_avg_sq")
        if m is None or v is None:
            continue
        bad = (v == 0) & (m != 0)
        n = int(bad.sum())
        if n:
            v[bad] = m[bad].square()
            repaired += n
    return repaired
