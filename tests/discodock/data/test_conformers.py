"""ETKDG conformers and conformer matching on the example complexes."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from rdkit import Chem

from discodock.data.conformers import generate_conformer, match_conformer, match_torsions, superposed_rmsd
from discodock.data.featurize import ligand_bond_graph, rotatable_bonds
from discodock.data.parsing import load_ligand
from discodock.errors import LigandError
from discodock.geometry.rigid import kabsch
from discodock.geometry.torsion import apply_torsion_updates

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = REPO / "data" / "examples"
EXAMPLE_IDS = sorted(p.name for p in EXAMPLES.iterdir() if p.is_dir())


def _ligand(cid: str) -> Chem.Mol:
    return load_ligand(EXAMPLES / cid / f"{cid}_ligand.sdf")


def _bond_lengths(mol: Chem.Mol, pos) -> np.ndarray:
    edge_index, _ = ligand_bond_graph(mol)
    pos = torch.as_tensor(np.asarray(pos), dtype=torch.float64)
    return (pos[edge_index[0]] - pos[edge_index[1]]).norm(dim=1).numpy()


def test_generate_conformer_is_seeded_and_keeps_the_molecule():
    mol = _ligand(EXAMPLE_IDS[0])
    a = generate_conformer(mol, seed=3)
    b = generate_conformer(mol, seed=3)
    c = generate_conformer(mol, seed=4)
    assert a.GetNumAtoms() == mol.GetNumAtoms() and a.GetNumConformers() == 1 and a.GetConformer().Is3D()
    np.testing.assert_allclose(a.GetConformer().GetPositions(), b.GetConformer().GetPositions())
    assert not np.allclose(a.GetConformer().GetPositions(), c.GetConformer().GetPositions())
    assert Chem.MolToSmiles(a) == Chem.MolToSmiles(mol)
    # bond lengths of the conformer are chemically sensible and close to the crystal's
    np.testing.assert_allclose(_bond_lengths(a, a.GetConformer().GetPositions()),
                               _bond_lengths(mol, mol.GetConformer().GetPositions()), atol=0.15)
    assert mol.GetConformer().GetPositions().shape == (mol.GetNumAtoms(), 3)  # input untouched


@pytest.mark.parametrize("cid", EXAMPLE_IDS)
def test_conformer_keeps_stereo(cid):
    mol = _ligand(cid)
    conf = generate_conformer(mol, seed=0, mmff=True)
    # stereo perceived again from the new 3D coordinates alone must equal the input's
    fresh = Chem.Mol(conf)
    for atom in fresh.GetAtoms():
        atom.SetChiralTag(Chem.ChiralType.CHI_UNSPECIFIED)
    Chem.AssignStereochemistryFrom3D(fresh)
    assert Chem.MolToSmiles(fresh) == Chem.MolToSmiles(mol)


def test_embedding_failure_is_a_ligand_error():
    with pytest.raises(LigandError, match="could not embed a 3D conformer"):
        generate_conformer(load_ligand("C12=C3C4=C1C5=C2C3=C45"), seed=0, timeout_s=5)


@pytest.fixture(scope="module")
def matches():
    out = {}
    for cid in EXAMPLE_IDS:
        mol = _ligand(cid)
        out[cid] = (mol, match_conformer(mol, mol.GetConformer().GetPositions(), seed=0))
    return out


def test_matching_below_two_angstrom_on_most_examples(matches):
    rmsds = [m.rmsd for _, m in matches.values()]
    assert sum(r < 2.0 for r in rmsds) >= math.ceil(0.75 * len(rmsds))
    for _, m in matches.values():
        assert m.rmsd <= m.initial_rmsd + 1e-4  # never worse than rigid superposition alone


def test_matched_pose_is_a_torsion_change_of_the_conformer(matches):
    for mol, m in matches.values():
        crystal = torch.tensor(mol.GetConformer().GetPositions(), dtype=torch.float32)
        bonds, mask = rotatable_bonds(mol)
        assert m.delta.shape == (len(bonds),) and bool((m.delta.abs() <= math.pi + 1e-6).all())
        twisted = apply_torsion_updates(m.conformer_pos.double(), bonds, mask, m.delta.double())
        R, t = kabsch(twisted, crystal.double())
        np.testing.assert_allclose((twisted @ R.mT + t).numpy(), m.pos.numpy(), atol=2e-3)
        # only torsions and a rigid motion: bond lengths are the conformer's
        np.testing.assert_allclose(_bond_lengths(mol, m.pos), _bond_lengths(mol, m.conformer_pos), atol=1e-4)
        assert float(((m.pos - crystal) ** 2).sum(1).mean().sqrt()) == pytest.approx(m.rmsd, abs=1e-4)


def test_matching_recovers_known_torsions():
    """A conformer that differs from the target only by known torsions and a rigid motion matches to ~0."""
    mol = _ligand(EXAMPLE_IDS[0])
    bonds, mask = rotatable_bonds(mol)
    conf = torch.tensor(generate_conformer(mol, seed=1).GetConformer().GetPositions(), dtype=torch.float64)
    g = torch.Generator().manual_seed(0)
    target = apply_torsion_updates(conf, bonds, mask, (torch.rand(len(bonds), generator=g, dtype=torch.float64) - 0.5) * 2)
    target = target @ torch.tensor([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], dtype=torch.float64).T + 5.0
    assert float(superposed_rmsd(conf, target)) > 0.3
    m = match_torsions(conf, target, bonds, mask, generator=np.random.default_rng(0))
    assert m.rmsd < 0.05
