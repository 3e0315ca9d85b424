"""Benchmark summary metrics from per-complex ranked RMSDs.

Conventions (chosen so that a method cannot look better by failing):
- Every fraction has the number of complexes attempted, ``n``, as its denominator; a failed complex (no
  pose) counts as a miss in each of them.
- A complex whose PoseBusters run could not be evaluated (``pb_valid`` None) counts as not PB-valid. If
  no complex has a PoseBusters result at all (checks were switched off), the two PB metrics are None.
- ``median_top1_rmsd`` and ``seconds_per_complex_median`` are medians over the complexes that produced
  poses (a failure has neither an RMSD nor a comparable time); None when there are none.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

SUCCESS_RMSD = 2.0  # Angstrom
LOOSE_RMSD = 5.0  # Angstrom
TOP_K = 5

SUMMARY_KEYS = (
    "n",
    "n_failed",
    "top1_rmsd_lt2",
    "top5_rmsd_lt2",
    "top1_rmsd_lt5",
    "oracle_rmsd_lt2",
    "median_top1_rmsd",
    "seconds_per_complex_median",
    "pb_valid_top1",
    "top1_rmsd_lt2_and_pb_valid",
)


@dataclass(frozen=True)
class ComplexOutcome:
    """What one method produced on one complex.

    Args:
        id: complex identifier.
        method: method label (``vina``, ``discodock-prior``...).
        rmsds: RMSD (Angstrom) of each pose, ranked best first by the method's own ranking.
        scores: the method's confidence (higher is better) or score (Vina: kcal/mol, lower is better) per pose.
        seconds: wall time of the docking itself (seconds).
        cpu_seconds: CPU time of the docking process (all its threads) over the same span (seconds);
            on a shared machine this is the steadier measure of cost.
        status: ``ok`` or ``error: <reason>``.
        pb_valid: PoseBusters validity of the top-1 pose (None: not checked or not evaluable).
    """

    id: str
    method: str
    rmsds: tuple[float, ...] = ()
    scores: tuple[float | None, ...] = ()
    seconds: float | None = None
    status: str = "ok"
    pb_valid: bool | None = None
    cpu_seconds: float | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok" and len(self.rmsds) > 0 and all(math.isfinite(r) for r in self.rmsds)


def _fraction(hits: int, n: int) -> float | None:
    return hits / n if n else None


def _median(values: list[float]) -> float | None:
    return float(np.median(values)) if values else None


def summarize(outcomes: Sequence[ComplexOutcome]) -> dict[str, float | int | None]:
    """The benchmark summary (keys :data:`SUMMARY_KEYS`) of one method's outcomes, one per complex."""
    n = len(outcomes)
    done = [o for o in outcomes if o.ok]
    top1 = [o.rmsds[0] for o in done]
    pb_known = any(o.pb_valid is not None for o in outcomes)
    summary = {
        "n": n,
        "n_failed": n - len(done),
        "top1_rmsd_lt2": _fraction(sum(r < SUCCESS_RMSD for r in top1), n),
        "top5_rmsd_lt2": _fraction(sum(min(o.rmsds[:TOP_K]) < SUCCESS_RMSD for o in done), n),
        "top1_rmsd_lt5": _fraction(sum(r < LOOSE_RMSD for r in top1), n),
        "oracle_rmsd_lt2": _fraction(sum(min(o.rmsds) < SUCCESS_RMSD for o in done), n),
        "median_top1_rmsd": _median(top1),
        "seconds_per_complex_median": _median([o.seconds for o in done if o.seconds is not None]),
        "pb_valid_top1": _fraction(sum(o.pb_valid is True for o in done), n) if pb_known else None,
        "top1_rmsd_lt2_and_pb_valid": (
            _fraction(sum(o.pb_valid is True and o.rmsds[0] < SUCCESS_RMSD for o in done), n) if pb_known else None
        ),
    }
    assert tuple(summary) == SUMMARY_KEYS
    return summary


def median_cpu_seconds(outcomes: Sequence[ComplexOutcome]) -> float | None:
    """Median CPU seconds per complex over the complexes that docked and recorded it (not a summary key:
    ``summary.json``'s keys are fixed; ``summary.md`` shows it beside the wall time)."""
    return _median([o.cpu_seconds for o in outcomes if o.ok and o.cpu_seconds is not None])
