"""Ligand / residue features and rotatable bonds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from rdkit import Chem

from discodock.data import featurize as F
from discodock.data.parsing import load_ligand

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = REPO / "data" / "examples"
EXAMPLE_IDS = sorted(p.name for p in EXAMPLES.iterdir() if p.is_dir())

# (start, width) of each one-hot block of the atom features, in order; the ring block is multi-hot.
BLOCKS = {
    "element": len(F.ELEMENTS) + 2,
    "degree": len(F.DEGREES),
    "charge": len(F.FORMAL_CHARGES),
    "aromatic": 1,
    "ring": 1 + len(F.RING_SIZES),
    "hybridization": len(F.HYBRIDIZATIONS) + 1,
    "chirality": len(F.CHIRALITY),
    "hydrogens": len(F.HYDROGEN_COUNTS),
}


def _block(x: torch.Tensor, name: str) -> torch.Tensor:
    start = 0
    for key, width in BLOCKS.items():
        if key == name:
            return x[:, start:start + width]
        start += width
    raise KeyError(name)


def test_dims_add_up():
    assert sum(BLOCKS.values()) == F.LIGAND_FEATURE_DIM
    assert F.RESIDUE_FEATURE_DIM == 21


@pytest.mark.parametrize("cid", EXAMPLE_IDS)
def test_atom_features_on_examples(cid):
    mol = load_ligand(EXAMPLES / cid / f"{cid}_ligand.sdf")
    x = F.ligand_atom_features(mol)
    assert x.shape == (mol.GetNumAtoms(), F.LIGAND_FEATURE_DIM) and x.dtype == torch.float32
    for name in ("element", "degree", "charge", "hybridization", "chirality", "hydrogens"):
        assert torch.all(_block(x, name).sum(1) == 1), name
    for i, atom in enumerate(mol.GetAtoms()):
        elem = _block(x, "element")[i].argmax().item()
        if atom.GetSymbol() in F.ELEMENTS:
            assert F.ELEMENTS[elem] == atom.GetSymbol()
        assert _block(x, "degree")[i].argmax().item() == min(atom.GetDegree(), 5)
        assert _block(x, "aromatic")[i, 0].item() == float(atom.GetIsAromatic())
        assert _block(x, "ring")[i, 0].item() == float(atom.IsInRing())
        assert _block(x, "hydrogens")[i].argmax().item() == min(atom.GetTotalNumHs(), 4)


def test_element_other_and_metal_slots():
    x = F.ligand_atom_features(Chem.MolFromSmiles("[Fe].[Te].C"))
    el = _block(x, "element")
    assert el[0].argmax() == len(F.ELEMENTS)  # metal
    assert el[1].argmax() == len(F.ELEMENTS) + 1  # other non-metal
    assert el[2].argmax() == F.ELEMENTS.index("C")


def test_chirality_feature_is_cip_and_order_free():
    r = F.ligand_atom_features(Chem.MolFromSmiles("N[C@@H](C)C(=O)O"))  # L-alanine (S)
    s = F.ligand_atom_features(Chem.MolFromSmiles("N[C@H](C)C(=O)O"))  # D-alanine (R)
    assert not torch.equal(_block(r, "chirality")[1], _block(s, "chirality")[1])
    assert _block(r, "chirality")[1].argmax().item() == F.CHIRALITY.index("S")
    # renumbering the atoms (which flips RDKit's CW/CCW tags) permutes the features and nothing else
    mol = Chem.MolFromSmiles("N[C@@H](C)C(=O)O")
    order = [3, 1, 5, 0, 2, 4]
    perm = Chem.RenumberAtoms(mol, order)
    np.testing.assert_array_equal(F.ligand_atom_features(perm).numpy(), F.ligand_atom_features(mol)[order].numpy())


def test_ring_sizes():
    x = F.ligand_atom_features(Chem.MolFromSmiles("C1CC1c1ccccc1C1CCCCCCCC1"))
    ring = _block(x, "ring")
    sizes = F.RING_SIZES
    assert ring[0, 1 + sizes.index(3)] == 1 and ring[0, 1 + sizes.index(6)] == 0
    assert ring[3, 1 + sizes.index(6)] == 1
    assert ring[-1, 1 + sizes.index(8)] == 1  # 9-membered ring falls into 8+


def test_bond_graph():
    mol = Chem.MolFromSmiles("c1ccccc1C(=O)C#N")
    edge_index, edge_attr = F.ligand_bond_graph(mol)
    assert edge_index.shape == (2, 2 * mol.GetNumBonds()) and edge_attr.shape == (2 * mol.GetNumBonds(), F.BOND_FEATURE_DIM)
    assert torch.equal(edge_index[:, 0::2], edge_index.flip(0)[:, 1::2])
    assert torch.equal(edge_attr[0::2], edge_attr[1::2])
    types = edge_attr[:, : len(F.BOND_TYPES) + 1].argmax(1)
    for b, bond in enumerate(mol.GetBonds()):
        assert F.BOND_TYPES[types[2 * b]] == bond.GetBondType()
        assert edge_attr[2 * b, -1].item() == float(bond.IsInRing())
        assert edge_attr[2 * b, -2].item() == float(bond.GetIsConjugated())


@pytest.mark.parametrize(
    "smiles, count",
    [
        ("CC", 0),  # both ends terminal
        ("CCCC", 1),  # only the middle bond
        ("c1ccccc1", 0),  # ring
        ("C1CCCCC1", 0),
        ("c1ccccc1-c1ccccc1", 1),  # biphenyl
        ("CC(=O)NC", 1),  # amide C-N (single, non-terminal ends)
        ("C=CC=C", 1),  # the central single bond
        ("CCc1ccccc1", 1),  # ring-CH2 (CH2-CH3 has a terminal end)
        ("CC(C)(C)C", 0),  # neopentane: every bond has a methyl end
        ("OCCO", 1),
    ],
)
def test_rotatable_bond_counts(smiles, count):
    bonds, mask = F.rotatable_bonds(Chem.MolFromSmiles(smiles))
    assert bonds.shape == (count, 2) and mask.shape == (count, Chem.MolFromSmiles(smiles).GetNumAtoms())


def test_rotatable_bond_moves_smaller_side():
    mol = Chem.MolFromSmiles("CCc1ccccc1")  # ethylbenzene: atoms 0 (CH3), 1 (CH2), 2..7 ring
    bonds, mask = F.rotatable_bonds(mol)
    assert bonds.tolist() == [[2, 1]]  # u on the ring, v = CH2
    assert mask[0].nonzero().flatten().tolist() == [0, 1]


@pytest.mark.parametrize("cid", EXAMPLE_IDS)
def test_rotatable_masks_are_the_v_components(cid):
    mol = load_ligand(EXAMPLES / cid / f"{cid}_ligand.sdf")
    bonds, mask = F.rotatable_bonds(mol)
    n = mol.GetNumAtoms()
    assert len(bonds) > 0
    for (u, v), m in zip(bonds.tolist(), mask):
        assert m[v] and not m[u]
        assert int(m.sum()) <= n - int(m.sum())  # the smaller side moves
        crossing = [
            (b.GetBeginAtomIdx(), b.GetEndAtomIdx())
            for b in mol.GetBonds()
            if bool(m[b.GetBeginAtomIdx()]) != bool(m[b.GetEndAtomIdx()])
        ]
        assert [tuple(sorted(c)) for c in crossing] == [tuple(sorted((u, v)))]  # only (u, v) leaves the side
        bond = mol.GetBondBetweenAtoms(u, v)
        assert bond.GetBondType() == Chem.BondType.SINGLE and not bond.IsInRing()


@pytest.mark.parametrize("cid", EXAMPLE_IDS)
def test_twisting_moves_only_the_masked_side(cid):
    from discodock.geometry.torsion import apply_torsion_updates

    mol = load_ligand(EXAMPLES / cid / f"{cid}_ligand.sdf")
    bonds, mask = F.rotatable_bonds(mol)
    pos = torch.tensor(mol.GetConformer().GetPositions(), dtype=torch.float64)
    g = torch.Generator().manual_seed(0)
    edge_index, _ = F.ligand_bond_graph(mol)
    for t in range(len(bonds)):
        delta = torch.zeros(len(bonds), dtype=torch.float64)
        delta[t] = (torch.rand(1, generator=g, dtype=torch.float64) * 2 - 1) * np.pi
        new = apply_torsion_updates(pos, bonds, mask, delta)
        moved = (new - pos).norm(dim=1) > 1e-6
        assert not bool((moved & ~mask[t]).any())  # nothing outside the moving side moves
        i, j = edge_index
        np.testing.assert_allclose((new[i] - new[j]).norm(dim=1), (pos[i] - pos[j]).norm(dim=1), atol=1e-4)


def test_residue_features():
    x = F.residue_features(["ALA", "VAL", "MSE", "UNK"])
    assert x.shape == (4, F.RESIDUE_FEATURE_DIM)
    assert torch.all(x.sum(1) == 1)
    assert x[0].argmax() == F.AMINO_ACIDS.index("ALA") and x[1].argmax() == F.AMINO_ACIDS.index("VAL")
    assert x[2].argmax() == 20 and x[3].argmax() == 20  # unmapped names are "other"
