"""`discodock benchmark`: resume after an interruption, failures recorded, settings guard, compare, and a
real Vina run on a shipped example complex."""

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from rdkit import Chem

from discodock.cli import main
from discodock.eval import runner
from discodock.eval.metrics import SUMMARY_KEYS

EXAMPLES = Path(__file__).resolve().parents[3] / "data" / "examples"
IDS = ["3d6p", "5n17", "6ce6"]


@pytest.fixture
def data(tmp_path):
    if not all((EXAMPLES / i).is_dir() for i in IDS):
        pytest.skip("example complexes not shipped")
    root = tmp_path / "data"
    for cid in IDS:
        shutil.copytree(EXAMPLES / cid, root / cid)
    (tmp_path / "ids.txt").write_text("\n".join(IDS + ["missing_one"]) + "\n")
    return root, tmp_path / "ids.txt"


def rows(out):
    with open(out / "per_complex.csv", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def fake_dock(monkeypatch):
    """A stand-in for the docking step (the real Vina run is tested below): it checks that the ligand is a
    fresh conformer, not the crystal pose, and returns the crystal pose shifted by 0.5 and 3 A."""
    calls = []

    def dock(entry, crystal, ligand, settings):
        calls.append(entry.id)
        if entry.id == "6ce6" and getattr(dock, "interrupt", False):
            raise KeyboardInterrupt
        start = ligand.GetConformer().GetPositions()
        assert np.abs(start.mean(0) - crystal.GetConformer().GetPositions().mean(0)).max() > 1.0
        poses = []
        for shift in (0.5, 3.0):
            pose = Chem.Mol(crystal)
            conf = pose.GetConformer()
            for i in range(pose.GetNumAtoms()):
                conf.SetAtomPosition(i, (np.array(conf.GetAtomPosition(i)) + [shift, 0, 0]).tolist())
            poses.append(pose)
        return poses, [0.9, 0.1]

    monkeypatch.setattr(runner, "_dock", dock)
    return dock, calls


def run(data, out, *extra):
    root, ids = data
    return main(["benchmark", "--method", "vina", "--pocket", "--data", str(root), "--ids", str(ids),
                 "--out", str(out), "--workers", "0", "--no-posebusters", *extra])


def test_resume_after_interruption_skips_finished_complexes(data, tmp_path, fake_dock):
    dock, calls = fake_dock
    out = tmp_path / "out"
    assert run(data, out, "--limit", "1") == 0
    assert calls == ["3d6p"]
    assert run(data, out, "--limit", "2") == 0
    assert calls == ["3d6p", "5n17"]  # the first complex was not redone
    dock.interrupt = True
    assert run(data, out) == 130  # Ctrl-C while docking the third complex
    assert calls == ["3d6p", "5n17", "6ce6"]
    dock.interrupt = False
    assert run(data, out) == 0
    assert calls == ["3d6p", "5n17", "6ce6", "6ce6"]  # missing_one fails before docking
    recorded = rows(out)
    assert [r["id"] for r in recorded if r["rank"] in ("1", "")] == ["3d6p", "5n17", "6ce6", "missing_one"]
    missing = [r for r in recorded if r["id"] == "missing_one"]
    assert len(missing) == 1 and missing[0]["status"].startswith("error: ") and "not found" in missing[0]["status"]
    top = [r for r in recorded if r["rank"] == "1"]
    assert all(float(r["rmsd"]) == pytest.approx(0.5, abs=1e-3) for r in top)
    summary = json.loads((out / "summary.json").read_text())
    assert tuple(summary) == SUMMARY_KEYS
    assert summary["n"] == 4 and summary["n_failed"] == 1
    assert summary["top1_rmsd_lt2"] == pytest.approx(3 / 4)
    assert summary["pb_valid_top1"] is None
    assert (out / "summary.md").exists() and (out / "rmsd_cdf.png").stat().st_size > 0
    # a later call with a smaller --limit reruns nothing and summarises only its own complexes
    assert run(data, out, "--limit", "2") == 0
    assert len(calls) == 4 and json.loads((out / "summary.json").read_text())["n"] == 2


def test_changed_settings_in_the_same_folder_are_refused(data, tmp_path, fake_dock, capsys):
    out = tmp_path / "out"
    assert run(data, out, "--limit", "1") == 0
    assert run(data, out, "--limit", "1", "--samples", "3") == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("discodock benchmark: error:") and "samples" in err


def test_discodock_rank_and_refine_reach_the_docker_and_name_the_run(data, tmp_path, monkeypatch):
    """--rank/--refine go to the docking call, and a refined run is recorded under its own label."""
    seen = []

    def fake(protein, ligand, **kw):
        seen.append((kw["rank"], kw["refine"], kw["latents"]))
        return [(Chem.Mol(ligand), -5.0)]

    monkeypatch.setattr(runner, "dock_discodock", fake)
    root, ids = data
    out = tmp_path / "out"
    args = ["benchmark", "--method", "discodock", "--pocket", "--data", str(root), "--ids", str(ids), "--out", str(out),
            "--workers", "0", "--no-posebusters", "--limit", "1", "--latents", "none"]
    assert main(args + ["--rank", "vina", "--refine", "vina"]) == 0
    assert main(args) == 0
    assert main(args + ["--rank", "learned", "--refine", "search"]) == 0
    assert seen == [("vina", "vina", "none"), (None, None, "none"), ("learned", "search", "none")]
    assert {r["method"] for r in rows(out)} == {"discodock-none-pocket-refined", "discodock-none-pocket",
                                                 "discodock-none-pocket-search-learned"}


def test_random_starts_and_zero_samples_reach_the_docker_and_name_the_run(data, tmp_path, monkeypatch, capsys):
    seen = []

    def fake(protein, ligand, **kw):
        seen.append((kw["samples"], kw["random_starts"], kw["refine"]))
        return [(Chem.Mol(ligand), -5.0)]

    monkeypatch.setattr(runner, "dock_discodock", fake)
    root, ids = data
    out = tmp_path / "out"
    args = ["benchmark", "--method", "discodock", "--pocket", "--data", str(root), "--ids", str(ids), "--out", str(out),
            "--workers", "0", "--no-posebusters", "--limit", "1", "--refine", "search", "--random-starts", "20"]
    assert main(args) == 0
    assert main(args + ["--samples", "0"]) == 0
    assert seen == [(None, 20, "search"), (0, 20, "search")]  # None: the checkpoint's sample count
    assert {r["method"] for r in rows(out)} == {"discodock-prior-pocket-search-rs20", "null-pocket-search-rs20"}
    assert (out / "poses" / "null-pocket-search-rs20").is_dir()
    # 0 samples without random starts to search from is refused before any complex runs
    assert main(args[:-2] + ["--samples", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "0 samples" in err and len(seen) == 2


def test_site_count_reaches_the_blind_docker_and_names_the_run(data, tmp_path, monkeypatch, capsys):
    seen = []

    def fake(protein, ligand, **kw):
        seen.append((kw["sites"], kw["pocket_center"]))
        return [(Chem.Mol(ligand), -5.0)]

    monkeypatch.setattr(runner, "dock_discodock", fake)
    root, ids = data
    out = tmp_path / "out"
    args = ["benchmark", "--method", "discodock", "--data", str(root), "--ids", str(ids), "--out", str(out),
            "--workers", "0", "--no-posebusters", "--limit", "1"]
    assert main(args + ["--sites", "4"]) == 0
    assert seen == [(4, None)] and {r["method"] for r in rows(out)} == {"discodock-prior-blind-sites4"}
    # a site count means nothing when the site is given
    assert main(args + ["--sites", "2", "--pocket"]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "--sites" in err and len(seen) == 1


def test_compare_two_runs(data, tmp_path, fake_dock, capsys):
    assert run(data, tmp_path / "a", "--limit", "2") == 0
    assert run(data, tmp_path / "b", "--limit", "3") == 0
    assert main(["benchmark", "--compare", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "c")]) == 0
    both = json.loads((tmp_path / "c" / "summary.json").read_text())
    assert set(both) == {"vina-pocket (a)", "vina-pocket (b)"}
    assert both["vina-pocket (a)"]["n"] == 2 and both["vina-pocket (b)"]["n"] == 3
    assert main(["benchmark", "--compare", str(tmp_path / "nothing"), "--out", str(tmp_path / "d")]) == 2


def test_real_vina_run_on_one_complex(data, tmp_path):
    # --workers 1: the complex runs in a spawned worker process, as in real runs.
    root, _ = data
    ids = tmp_path / "one.txt"
    ids.write_text("5n17\n")
    out = tmp_path / "vina"
    code = main(["benchmark", "--method", "vina", "--pocket", "--data", str(root), "--ids", str(ids),
                 "--out", str(out), "--workers", "1", "--samples", "3", "--exhaustiveness", "1", "--threads", "1",
                 "--no-posebusters"])  # PoseBusters has its own test; it costs ~10 s here
    assert code == 0
    recorded = rows(out)
    assert 1 <= len(recorded) <= 3 and all(r["status"] == "ok" for r in recorded)
    assert [int(r["rank"]) for r in recorded] == list(range(1, len(recorded) + 1))
    scores = [float(r["confidence_or_score"]) for r in recorded]
    assert scores == sorted(scores)  # Vina ranks by its score, lower first
    # the ranked poses are kept, in rank order, with their score and RMSD (re-ranking needs no re-docking)
    kept = [m for m in Chem.SDMolSupplier(str(out / "poses" / "vina-pocket" / "5n17.sdf"))]
    assert [m.GetIntProp("rank") for m in kept] == [int(r["rank"]) for r in recorded]
    assert [m.GetDoubleProp("rmsd") for m in kept] == pytest.approx([float(r["rmsd"]) for r in recorded], abs=1e-3)
    assert [m.GetDoubleProp("vina_score") for m in kept] == pytest.approx(scores, abs=1e-3)
    assert float(recorded[0]["cpu_seconds"]) > 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n"] == 1 and summary["n_failed"] == 0 and summary["seconds_per_complex_median"] > 0


def test_timeout_stops_a_running_complex_records_a_miss_and_the_run_goes_on(data, tmp_path):
    # Real Vina in spawned workers. 1 s is far less than a worker needs to start and dock, so both complexes
    # must be stopped (the search runs in C++: only killing the worker stops it) and recorded as failed; the
    # control is the same complex under a generous limit, which docks as usual.
    import multiprocessing
    import time

    root, _ = data
    ids = tmp_path / "two.txt"
    ids.write_text("5n17\n6ce6\n")
    common = ["benchmark", "--method", "vina", "--pocket", "--data", str(root), "--samples", "2",
              "--exhaustiveness", "4", "--threads", "1", "--workers", "1", "--no-posebusters"]
    start = time.monotonic()
    assert main([*common, "--ids", str(ids), "--out", str(tmp_path / "short"), "--timeout", str(1 / 60)]) == 0
    assert time.monotonic() - start < 60
    recorded = rows(tmp_path / "short")
    assert [r["id"] for r in recorded] == ["5n17", "6ce6"]
    assert all(r["status"].startswith("error: timed out after") and r["rmsd"] == "" for r in recorded)
    summary = json.loads((tmp_path / "short" / "summary.json").read_text())
    assert summary["n"] == 2 and summary["n_failed"] == 2 and summary["top1_rmsd_lt2"] == 0.0
    assert not multiprocessing.active_children()  # the killed workers are gone

    one = tmp_path / "one.txt"
    one.write_text("5n17\n")
    assert main([*common, "--ids", str(one), "--out", str(tmp_path / "long"), "--timeout", "10"]) == 0
    control = rows(tmp_path / "long")
    assert control and all(r["status"] == "ok" for r in control)


def test_timeout_needs_workers_and_a_positive_value(data, tmp_path, capsys):
    root, ids = data
    for extra in (["--timeout", "0"], ["--timeout", "5", "--workers", "0"]):
        code = main(["benchmark", "--method", "vina", "--data", str(root), "--ids", str(ids),
                     "--out", str(tmp_path / "o"), *extra])
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 2 and len(err) == 1 and "--timeout" in err[0]
