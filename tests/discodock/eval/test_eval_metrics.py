"""Benchmark summary metrics (discodock.eval.metrics) from synthetic per-complex outcomes."""

import numpy as np
import pytest

from discodock.eval.metrics import SUMMARY_KEYS, ComplexOutcome, median_cpu_seconds, summarize


def random_outcomes(rng, n, *, fail_every=0, pb=True):
    outcomes = []
    for i in range(n):
        if fail_every and i % fail_every == 0:
            outcomes.append(ComplexOutcome(id=f"c{i}", method="m", status="error: boom"))
            continue
        k = int(rng.integers(1, 12))
        rmsds = tuple(float(x) for x in rng.exponential(3.0, size=k))
        outcomes.append(ComplexOutcome(id=f"c{i}", method="m", rmsds=rmsds, scores=tuple(range(k)),
                                       seconds=float(rng.uniform(1, 9)), cpu_seconds=float(rng.uniform(1, 9)),
                                       pb_valid=bool(rng.random() < 0.7) if pb else None))
    return outcomes


def test_keys_and_ranges():
    rng = np.random.default_rng(0)
    for fail_every in (0, 3):
        s = summarize(random_outcomes(rng, 40, fail_every=fail_every))
        assert tuple(s) == SUMMARY_KEYS
        assert s["n"] == 40
        for key in ("top1_rmsd_lt2", "top5_rmsd_lt2", "top1_rmsd_lt5", "oracle_rmsd_lt2", "pb_valid_top1",
                    "top1_rmsd_lt2_and_pb_valid"):
            assert 0.0 <= s[key] <= 1.0
        # Orderings every summary must satisfy.
        assert s["top1_rmsd_lt2"] <= s["top5_rmsd_lt2"] <= s["oracle_rmsd_lt2"]
        assert s["top1_rmsd_lt2"] <= s["top1_rmsd_lt5"]
        assert s["top1_rmsd_lt2_and_pb_valid"] <= min(s["top1_rmsd_lt2"], s["pb_valid_top1"])
        assert s["median_top1_rmsd"] > 0 and s["seconds_per_complex_median"] > 0


def test_values_match_a_direct_count():
    rng = np.random.default_rng(1)
    outcomes = random_outcomes(rng, 30, fail_every=4)
    s = summarize(outcomes)
    ok = [o for o in outcomes if o.status == "ok"]
    assert s["n_failed"] == 30 - len(ok)
    assert s["top1_rmsd_lt2"] == pytest.approx(sum(o.rmsds[0] < 2 for o in ok) / 30)
    assert s["top5_rmsd_lt2"] == pytest.approx(sum(min(o.rmsds[:5]) < 2 for o in ok) / 30)
    assert s["oracle_rmsd_lt2"] == pytest.approx(sum(min(o.rmsds) < 2 for o in ok) / 30)
    assert s["median_top1_rmsd"] == pytest.approx(np.median([o.rmsds[0] for o in ok]))
    assert s["top1_rmsd_lt2_and_pb_valid"] == pytest.approx(sum(o.rmsds[0] < 2 and o.pb_valid for o in ok) / 30)
    assert median_cpu_seconds(outcomes) == pytest.approx(np.median([o.cpu_seconds for o in ok]))


def test_failures_count_as_misses():
    rng = np.random.default_rng(2)
    outcomes = random_outcomes(rng, 20)
    before = summarize(outcomes)
    after = summarize(outcomes + [ComplexOutcome(id="x", method="m", status="error: no pose")])
    assert after["n"] == 21 and after["n_failed"] == before["n_failed"] + 1
    for key in ("top1_rmsd_lt2", "top5_rmsd_lt2", "oracle_rmsd_lt2", "pb_valid_top1"):
        assert after[key] == pytest.approx(before[key] * 20 / 21)
    assert after["median_top1_rmsd"] == before["median_top1_rmsd"]
    # An "ok" complex with a non-finite RMSD is not a success either.
    nan = ComplexOutcome(id="y", method="m", rmsds=(float("nan"),), seconds=1.0)
    assert not nan.ok


def test_without_posebusters_and_empty():
    s = summarize(random_outcomes(np.random.default_rng(3), 5, pb=False))
    assert s["pb_valid_top1"] is None and s["top1_rmsd_lt2_and_pb_valid"] is None
    empty = summarize([])
    assert tuple(empty) == SUMMARY_KEYS and empty["n"] == 0 and empty["top1_rmsd_lt2"] is None
