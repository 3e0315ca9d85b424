"""``discodock prepare`` end to end on the example complexes, and its one-line errors."""

from __future__ import annotations

import shutil
from pathlib import Path

from discodock.cli import main
from discodock.data.cache import ComplexDataset
from discodock.data.prepare import read_skipped

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = REPO / "data" / "examples"
EXAMPLE_IDS = sorted(p.name for p in EXAMPLES.iterdir() if p.is_dir())


def test_prepare_examples_end_to_end(tmp_path, capsys):
    root = tmp_path / "data"
    for cid in EXAMPLE_IDS:
        shutil.copytree(EXAMPLES / cid, root / cid)
    bad = root / "9bad"
    bad.mkdir()
    shutil.copy(EXAMPLES / EXAMPLE_IDS[0] / f"{EXAMPLE_IDS[0]}_protein.pdb.gz", bad / "9bad_protein.pdb.gz")
    (bad / "9bad_ligand.sdf").write_text("")  # empty ligand file
    ids = tmp_path / "ids.txt"
    ids.write_text("# examples\n" + "\n".join(EXAMPLE_IDS + ["9bad"]) + "\n")
    cache = tmp_path / "cache"

    code = main(["prepare", "--data", str(root), "--ids", str(ids), "--cache", str(cache), "--workers", "2", "--quiet"])
    out = capsys.readouterr().out
    assert code == 0
    assert f"prepared {len(EXAMPLE_IDS)} (already cached 0), skipped 1" in out
    assert "conformer matching residual RMSD" in out
    (cache_dir,) = [p for p in cache.iterdir() if p.is_dir()]
    skipped = read_skipped(cache_dir / "skipped.tsv")
    assert list(skipped) == ["9bad"] and "9bad_ligand.sdf: file is empty" in skipped["9bad"]
    assert "file is empty" in out  # the reason tally
    ds = ComplexDataset(cache_dir=cache_dir)
    assert sorted(ds.ids) == EXAMPLE_IDS and ds[0]["name"] == EXAMPLE_IDS[0]

    # second run: everything cached; --no-matching is another config, hence another cache directory
    assert main(["prepare", "--data", str(root), "--ids", str(ids), "--cache", str(cache), "--quiet"]) == 0
    assert f"prepared 0 (already cached {len(EXAMPLE_IDS)})" in capsys.readouterr().out
    assert main(["prepare", "--data", str(root), "--cache", str(cache), "--quiet", "--no-matching", "--limit", "1"]) == 0
    assert len([p for p in cache.iterdir() if p.is_dir()]) == 2


def test_prepare_errors_are_one_line(tmp_path, capsys):
    code = main(["prepare", "--data", str(tmp_path / "absent"), "--cache", str(tmp_path / "c")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "absent: data directory not found" in err
    code = main(["prepare", "--data", str(EXAMPLES), "--ids", str(tmp_path / "none.txt"), "--cache", str(tmp_path / "c")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "none.txt: split file not found" in err
    code = main(["prepare", "--data", str(EXAMPLES), "--workers", "-1"])
    assert code == 2 and "--workers" in capsys.readouterr().err
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    code = main(["prepare", "--data", str(EXAMPLES), "--cache", str(blocker)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "cannot write the cache directory" in err
