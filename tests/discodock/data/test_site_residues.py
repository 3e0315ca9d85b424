"""The site predictor's residue graph: invariant features, labels from the crystal ligand, bad files."""

import dataclasses

import pytest
import torch

from discodock.data.parsing import load_ligand, load_protein
from discodock.data.site_residues import (
    EDGE_FEATURE_DIM, NODE_FEATURE_DIM, ligand_distances, read_residues, site_graph,
)
from discodock.errors import ProteinError

from ..models.conftest import EXAMPLES

PROTEIN = EXAMPLES / "6ce6" / "6ce6_protein.pdb.gz"
LIGAND = EXAMPLES / "6ce6" / "6ce6_ligand.sdf"


def _moved(res, rot, shift):
    moved = {f.name: getattr(res, f.name) for f in dataclasses.fields(res)}
    for key in ("ca", "n", "c", "side", "atoms"):
        moved[key] = getattr(res, key) @ rot.T + shift
    return type(res)(**moved)


def test_same_residues_as_load_protein_and_sane_features():
    res = read_residues(PROTEIN)
    protein = load_protein(PROTEIN)
    assert res.num_residues == protein.num_residues
    assert torch.allclose(res.ca, torch.as_tensor(protein.ca), atol=1e-4)
    g = site_graph(res, load_ligand(LIGAND))
    assert g.x.shape == (res.num_residues, NODE_FEATURE_DIM) and torch.isfinite(g.x).all()
    assert g.edge_attr.shape == (g.edge_index.shape[1], EDGE_FEATURE_DIM) and torch.isfinite(g.edge_attr).all()
    assert (g.edge_index[0] != g.edge_index[1]).all()


def test_features_do_not_change_when_the_protein_is_rotated_and_moved():
    res = read_residues(PROTEIN)
    q = torch.linalg.qr(torch.randn(3, 3, generator=torch.Generator().manual_seed(1)))[0]
    rot = q * torch.sign(torch.linalg.det(q))  # a proper rotation
    a = site_graph(res)
    b = site_graph(_moved(res, rot, torch.tensor([10.0, -5.0, 3.0])))
    assert torch.allclose(a.x, b.x, atol=1e-4)
    assert torch.equal(a.edge_index, b.edge_index)
    assert torch.allclose(a.edge_attr, b.edge_attr, atol=1e-3)


def test_label_distances_mark_the_residues_lining_the_ligand():
    res = read_residues(PROTEIN)
    lig = torch.tensor(load_ligand(LIGAND).GetConformer().GetPositions(), dtype=torch.float32)
    d = ligand_distances(res, lig)
    assert d.shape == (res.num_residues,) and d.min() < 4.0  # a crystal ligand touches its pocket
    near = d < 5.0
    assert 3 <= int(near.sum()) < res.num_residues // 2
    # those residues' C-alphas are around the ligand, the rest further away on average
    centre = lig.mean(0)
    assert (res.ca[near] - centre).norm(dim=1).mean() < (res.ca[~near] - centre).norm(dim=1).mean()


def test_a_file_without_residues_is_a_one_line_protein_error(tmp_path):
    bad = tmp_path / "water.pdb"
    bad.write_text("HETATM    1  O   HOH A   1       0.000   0.000   0.000  1.00  0.00           O\nEND\n")
    with pytest.raises(ProteinError, match="water.pdb"):
        read_residues(bad)
