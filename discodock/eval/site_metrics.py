"""Binding-site finding metrics: DCC and DCA (Angstrom), and success at top-k.

* DCC: distance from a predicted site centre to the crystal ligand's centroid (heavy atoms).
* DCA: distance from a predicted site centre to the nearest crystal ligand heavy atom (the figure P2Rank
  and fpocket publish).

A complex counts as found at top-k when any of its k best-ranked sites is within the threshold (4 A is the
usual one); a complex with no predicted site is a miss.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


def _ligand(ligand_pos) -> np.ndarray:
    pos = np.asarray(ligand_pos, dtype=np.float64).reshape(-1, 3)
    if pos.shape[0] == 0:
        raise ValueError("the ligand has no atoms")
    return pos


def dcc(center, ligand_pos) -> float:
    """Distance (Angstrom) from ``center`` [3] to the centroid of ``ligand_pos`` [N, 3]."""
    return float(np.linalg.norm(np.asarray(center, dtype=np.float64) - _ligand(ligand_pos).mean(0)))


def dca(center, ligand_pos) -> float:
    """Distance (Angstrom) from ``center`` [3] to the nearest atom of ``ligand_pos`` [N, 3]."""
    return float(np.linalg.norm(_ligand(ligand_pos) - np.asarray(center, dtype=np.float64), axis=1).min())


def found_at_k(centers: Sequence, ligand_pos, *, k: int, metric: str = "dca", threshold: float = 4.0) -> bool:
    """Whether one of the first ``k`` of the ranked ``centers`` lies within ``threshold`` A by ``metric``."""
    fn = {"dca": dca, "dcc": dcc}[metric]
    return any(fn(c, ligand_pos) < threshold for c in list(centers)[:k])


def success_rates(per_complex: Sequence[tuple[Sequence, object]], *, ks=(1, 3), threshold: float = 4.0) -> dict:
    """``{"dcc_top1": fraction, "dca_top1": ..., ...}`` over ``(ranked centres, ligand_pos)`` pairs."""
    n = len(per_complex)
    out = {"n": n}
    for metric in ("dcc", "dca"):
        for k in ks:
            hits = sum(found_at_k(c, lig, k=k, metric=metric, threshold=threshold) for c, lig in per_complex)
            out[f"{metric}_top{k}"] = hits / n if n else float("nan")
    return out
