"""Benchmark files (discodock.eval.report): per_complex.csv round trip, summary files, compare()."""

import json

import numpy as np
import pytest

from discodock.eval import report
from discodock.eval.metrics import SUMMARY_KEYS, ComplexOutcome, summarize


def outcomes(method, seed, n=6):
    rng = np.random.default_rng(seed)
    out = [ComplexOutcome(id=f"c{i}", method=method, rmsds=tuple(float(x) for x in rng.exponential(3, size=4)),
                          scores=tuple(float(x) for x in rng.normal(size=4)), seconds=float(rng.uniform(1, 5)),
                          pb_valid=bool(i % 2)) for i in range(n)]
    out.append(ComplexOutcome(id="bad", method=method, status="error: RDKit could not embed", seconds=None))
    return out


def test_csv_round_trip_and_summary(tmp_path):
    written = outcomes("vina-pocket", 0)
    for o in written:
        report.append_outcome(tmp_path, o, checks={"bond_lengths": True} if o.ok else None)
    back = report.read_outcomes(tmp_path)
    assert [o.id for o in back] == [o.id for o in written]
    for a, b in zip(written, back):
        assert (a.status, a.method, a.pb_valid) == (b.status, b.method, b.pb_valid)
        assert np.allclose(a.rmsds, b.rmsds, atol=1e-4) and len(a.rmsds) == len(b.rmsds)
    header = (tmp_path / report.PER_COMPLEX_CSV).read_text().splitlines()[0].split(",")
    assert header[:7] == ["id", "method", "rank", "rmsd", "confidence_or_score", "seconds", "status"]
    assert report.finished(tmp_path) == {("vina-pocket", o.id) for o in written}

    summaries = report.write_summary(tmp_path)
    data = json.loads((tmp_path / report.SUMMARY_JSON).read_text())
    assert tuple(data) == SUMMARY_KEYS
    assert data == pytest.approx(summaries["vina-pocket"])
    assert data["n"] == len(written) and data["n_failed"] == 1
    assert "vina-pocket" in (tmp_path / report.SUMMARY_MD).read_text()
    png = (tmp_path / report.RMSD_CDF_PNG).read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_two_methods_in_one_folder_and_compare(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for o in outcomes("vina-pocket", 1) + outcomes("discodock-prior-pocket", 2):
        report.append_outcome(a, o)
    for o in outcomes("vina-pocket", 3):
        report.append_outcome(b, o)
    both = report.write_summary(a)
    assert set(both) == {"vina-pocket", "discodock-prior-pocket"}
    on_disk = json.loads((a / report.SUMMARY_JSON).read_text())
    assert set(on_disk) == set(both)
    for method, summary in both.items():
        assert on_disk[method] == pytest.approx(summary)

    compared = report.compare([a, b], tmp_path / "cmp")
    assert set(compared) == {"vina-pocket (a)", "vina-pocket (b)", "discodock-prior-pocket"}
    assert compared["vina-pocket (b)"] == pytest.approx(summarize(outcomes("vina-pocket", 3)), abs=1e-2)
    assert (tmp_path / "cmp" / report.RMSD_CDF_PNG).stat().st_size > 0
    table = (tmp_path / "cmp" / report.SUMMARY_MD).read_text()
    assert table.count("| vina-pocket (") == 2


def test_summary_over_the_requested_ids(tmp_path):
    # Vina went further than discodock in this folder (a resumed run with a larger --limit): a summary over
    # the first four complexes must count those four for both methods, and say what it left out.
    for o in outcomes("vina-pocket", 4) + outcomes("discodock-prior-pocket", 5)[:4]:
        report.append_outcome(tmp_path, o)
    ids = ["c0", "c1", "c2", "c3"]
    summaries = report.write_summary(tmp_path, ids=ids)
    assert {m: s["n"] for m, s in summaries.items()} == {"vina-pocket": 4, "discodock-prior-pocket": 4}
    assert summaries["vina-pocket"] == pytest.approx(summarize(outcomes("vina-pocket", 4)[:4]), abs=1e-2)
    table = (tmp_path / report.SUMMARY_MD).read_text()
    assert "Over the 4 complexes of this run; 3 other complexes" in table
    everything = report.write_summary(tmp_path)
    assert everything["vina-pocket"]["n"] == 7
    assert "left out" not in (tmp_path / report.SUMMARY_MD).read_text()
