"""Loading a training set from PDBBind-layout folders through the cache: counts and what was left out."""

from pathlib import Path

import pytest

from discodock.config import load_docking_config
from discodock.data import keys as K
from discodock.training.data import load_complexes
from discodock.errors import InputError

EXAMPLES = Path(__file__).resolve().parents[3] / "data" / "examples"
IDS = ["6ce6", "5y12", "5n17", "3d6p"]


def test_whole_receptors_over_the_residue_limit_are_left_out_and_counted(tmp_path, capsys):
    cfg = load_docking_config("tiny", {"data.mode": "blind"})
    items = load_complexes([EXAMPLES], IDS, cfg, cache=tmp_path, progress_bar=False)
    sizes = sorted(d[K.RECEPTOR][K.POS].shape[0] for d in items)
    assert len(items) == 4
    limit = sizes[1]  # keeps the two smallest proteins
    cfg = load_docking_config("tiny", {"data.mode": "blind", "data.max_residues": limit})
    capsys.readouterr()
    kept = load_complexes([EXAMPLES], IDS, cfg, cache=tmp_path, progress_bar=False)
    assert sorted(d[K.RECEPTOR][K.POS].shape[0] for d in kept) == sizes[:2]
    err = capsys.readouterr().err
    assert "2 of 4 complexes usable (0 skipped" in err and f"2 over data.max_residues = {limit}" in err


def test_missing_folder_and_empty_list_are_input_errors(tmp_path):
    cfg = load_docking_config("tiny")
    with pytest.raises(InputError, match="data folder not found"):
        load_complexes([tmp_path / "absent"], IDS, cfg, cache=tmp_path)
    with pytest.raises(InputError, match="ID list is empty"):
        load_complexes([EXAMPLES], [], cfg, cache=tmp_path)
