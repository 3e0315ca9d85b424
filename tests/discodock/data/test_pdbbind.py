"""PDBBind layout and split files (data.pdbbind), the preprocessing cache (data.prepare) and the dataset that reads it."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from rdkit import Chem

from discodock.data import keys as K
from discodock.data.cache import CONFORMER_POS, MATCHING_RMSD, ComplexDataset, load_record
from discodock.data.graph import collate_complexes
from discodock.data.pdbbind import index_complexes, read_split, resolve_ids
from discodock.data.prepare import (
    SKIPPED_FILE,
    FeaturizationConfig,
    cache_dir_for,
    open_dataset,
    prepare_complexes,
    read_skipped,
)
from discodock.data.parsing import load_ligand
from discodock.errors import InputError

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = REPO / "data" / "examples"
SHARED = REPO / ".." / "shared" / "data"
EXAMPLE_IDS = sorted(p.name for p in EXAMPLES.iterdir() if p.is_dir())


def test_read_split(tmp_path):
    path = tmp_path / "ids.txt"
    path.write_text("# header\n1abc\n\n  2def  \n1abc\n3ghi # trailing comment\n")
    assert read_split(path) == ["1abc", "2def", "3ghi"]
    (tmp_path / "empty.txt").write_text("# nothing\n\n")
    with pytest.raises(InputError, match="empty.txt: split file lists no complex IDs"):
        read_split(tmp_path / "empty.txt")
    with pytest.raises(InputError, match="split file not found"):
        read_split(tmp_path / "absent.txt")


def test_index_and_resolve(tmp_path):
    index = index_complexes([EXAMPLES])
    assert sorted(index) == EXAMPLE_IDS
    found, missing = resolve_ids([EXAMPLE_IDS[0].upper(), "zzzz"], index)
    assert list(found) == [EXAMPLE_IDS[0]] and missing == ["zzzz"]
    with pytest.raises(InputError, match="data directory not found"):
        index_complexes([tmp_path / "absent"])


def test_index_shared_sets():
    roots = [SHARED / "pdbbind_subset213", SHARED / "astex_diverse_set"]
    if not all(r.is_dir() for r in roots):
        pytest.skip("shared data not available")
    index = index_complexes(roots)
    assert len(index) == 213 + 85
    assert index["1G9V_RQ3"].parent.name == "astex_diverse_set"


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    """Two real example complexes, one whose SDF is broken (mol2 fallback) and one with a broken protein."""
    root = tmp_path_factory.mktemp("pdbbind")
    good = EXAMPLE_IDS[:2]
    for cid in good:
        shutil.copytree(EXAMPLES / cid, root / cid)
    src = EXAMPLE_IDS[2]
    fb = root / "fallback"
    fb.mkdir()
    shutil.copy(EXAMPLES / src / f"{src}_protein.pdb.gz", fb / "fallback_protein.pdb.gz")
    shutil.copy(EXAMPLES / src / f"{src}_ligand.mol2", fb / "fallback_ligand.mol2")
    (fb / "fallback_ligand.sdf").write_text("garbage\n")
    bad = root / "badprot"
    bad.mkdir()
    (bad / "badprot_protein.pdb").write_text("not a protein\n")
    shutil.copy(EXAMPLES / src / f"{src}_ligand.sdf", bad / "badprot_ligand.sdf")
    return root


@pytest.fixture(scope="module")
def prepared(data_root, tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    config = FeaturizationConfig()
    ids = EXAMPLE_IDS[:2] + ["fallback", "badprot", "nowhere"]
    summary = prepare_complexes([data_root], ids=ids, cache_root=cache, config=config, workers=1, progress=False)
    return cache, config, summary


def test_prepare_writes_records_and_skips_with_reasons(prepared):
    cache, config, summary = prepared
    assert summary.cache_dir == cache_dir_for(cache, config)
    assert sorted(summary.prepared) == sorted(EXAMPLE_IDS[:2] + ["fallback"])
    skipped = read_skipped(summary.cache_dir / SKIPPED_FILE)
    assert skipped == summary.skipped
    assert set(skipped) == {"badprot", "nowhere"}
    assert "badprot_protein.pdb" in skipped["badprot"] and "not a structure" in skipped["badprot"]
    assert "not found in any data folder" in skipped["nowhere"]
    assert summary.reason_counts() == {"not a structure: no ATOM/HETATM records found": 1,
                                       "not found in any data folder": 1}
    assert all(0 <= r < 2.0 for r in summary.matching_rmsd.values())
    assert load_record(summary.cache_dir / "fallback.pt")["ligand_file"].endswith("fallback_ligand.mol2")


def test_dataset_items(prepared):
    cache, config, summary = prepared
    ds = open_dataset(cache, config=config, ids=EXAMPLE_IDS[:2] + ["badprot"])
    assert len(ds) == 2 and ds.missing == ["badprot"]
    for i, cid in enumerate(EXAMPLE_IDS[:2]):
        data = ds[i]
        mol = load_ligand(EXAMPLES / cid / f"{cid}_ligand.sdf")
        assert data[K.NAME] == cid
        assert Chem.MolToSmiles(data[K.MOL]) == Chem.MolToSmiles(mol)
        crystal = data[K.CRYSTAL_POS]
        np.testing.assert_allclose(crystal.numpy(), mol.GetConformer().GetPositions(), atol=1e-3)
        pos = data[K.LIGAND][K.POS]
        rmsd = float(((pos - crystal) ** 2).sum(1).mean().sqrt())
        assert rmsd == pytest.approx(float(data[MATCHING_RMSD][0]), abs=1e-4)
        assert data[CONFORMER_POS].shape == pos.shape
        assert data[K.LIGAND][K.TOR_MASK].dtype == torch.bool
    batch = collate_complexes([ds[0], ds[1]])
    assert batch[K.LIGAND][K.TOR_MASK].shape[1] == batch[K.LIGAND][K.POS].shape[0]


def test_cache_reused_and_rebuilt_on_config_change(prepared, data_root):
    cache, config, first = prepared
    again = prepare_complexes([data_root], ids=EXAMPLE_IDS[:2], cache_root=cache, config=config, progress=False)
    assert again.prepared == [] and sorted(again.cached) == sorted(EXAMPLE_IDS[:2])
    changed = FeaturizationConfig(receptor_radius=8.0, conformer_matching=False)
    assert changed.key() != config.key()
    rebuilt = prepare_complexes([data_root], ids=EXAMPLE_IDS[:2], cache_root=cache, config=changed, progress=False)
    assert sorted(rebuilt.prepared) == sorted(EXAMPLE_IDS[:2]) and rebuilt.cache_dir != first.cache_dir
    old = ComplexDataset(cache_dir=first.cache_dir, ids=EXAMPLE_IDS[:1])[0]
    new = ComplexDataset(cache_dir=rebuilt.cache_dir, ids=EXAMPLE_IDS[:1])[0]
    assert new[K.RECEPTOR_EDGE][K.EDGE_INDEX].shape[1] < old[K.RECEPTOR_EDGE][K.EDGE_INDEX].shape[1]
    assert torch.equal(new[K.LIGAND][K.POS], new[K.CRYSTAL_POS])  # no matching: crystal pose
    assert torch.isnan(new[MATCHING_RMSD]).all()


def test_parallel_prepare_matches_serial(prepared, data_root, tmp_path):
    cache, config, first = prepared
    par = prepare_complexes([data_root], ids=EXAMPLE_IDS[:2], cache_root=tmp_path, config=config, workers=2,
                            progress=False)
    assert sorted(par.prepared) == sorted(EXAMPLE_IDS[:2])
    for cid in EXAMPLE_IDS[:2]:
        a = load_record(first.cache_dir / f"{cid}.pt")
        b = load_record(par.cache_dir / f"{cid}.pt")
        torch.testing.assert_close(a["stores"][K.LIGAND][K.POS], b["stores"][K.LIGAND][K.POS])  # seeded per ID


def test_corrupt_record_is_an_input_error(tmp_path):
    path = tmp_path / "x.pt"
    path.write_bytes(b"not a torch file")
    with pytest.raises(InputError, match="unreadable cached complex"):
        load_record(path)
