"""Symmetry-corrected, in-place heavy-atom RMSD (discodock.eval.rmsd) on real crystal ligands."""

from pathlib import Path

import numpy as np
import pytest
from rdkit import Chem
from rdkit.Chem import AllChem, rdMolAlign
from spyrmsd import rmsd as spyrmsd_rmsd

from discodock.errors import LigandError
from discodock.eval.rmsd import SymmetryRMSD, match_atoms, symmetry_rmsd

EXAMPLES = Path(__file__).resolve().parents[3] / "data" / "examples"


def crystal(cid: str) -> Chem.Mol:
    path = EXAMPLES / cid / f"{cid}_ligand.sdf"
    if not path.exists():
        pytest.skip(f"{path} not shipped")
    return Chem.RemoveHs(Chem.MolFromMolFile(str(path)))


def with_coords(mol: Chem.Mol, xyz: np.ndarray) -> Chem.Mol:
    out = Chem.Mol(mol)
    conf = out.GetConformer()
    for i, p in enumerate(xyz):
        conf.SetAtomPosition(i, p.tolist())
    return out


def naive_rmsd(a: Chem.Mol, b: Chem.Mol) -> float:
    d = a.GetConformer().GetPositions() - b.GetConformer().GetPositions()
    return float(np.sqrt((d * d).sum(1).mean()))


@pytest.mark.parametrize("cid", ["5n17", "6ce6"])
def test_rigid_translation_gives_its_length(cid):
    ref = crystal(cid)
    rng = np.random.default_rng(0)
    for _ in range(3):
        d = rng.normal(size=3) * 2.0
        pose = with_coords(ref, ref.GetConformer().GetPositions() + d)
        assert symmetry_rmsd(pose, ref) == pytest.approx(np.linalg.norm(d), abs=1e-9)


def test_atom_order_permutation_invariance():
    ref = crystal("5y12")
    rng = np.random.default_rng(1)
    pose = with_coords(ref, ref.GetConformer().GetPositions() + rng.normal(scale=0.8, size=(ref.GetNumAtoms(), 3)))
    expected = symmetry_rmsd(pose, ref)
    for _ in range(3):
        order = [int(i) for i in rng.permutation(ref.GetNumAtoms())]
        assert symmetry_rmsd(Chem.RenumberAtoms(pose, order), ref) == pytest.approx(expected, abs=1e-9)
    # A pose built from the SMILES (RDKit canonical order, Kekulé/aromatic differences) maps onto the crystal.
    from_smiles = Chem.MolFromSmiles(Chem.MolToSmiles(ref))
    m = match_atoms(from_smiles, ref)
    assert sorted(m.tolist()) == list(range(ref.GetNumAtoms()))
    assert [from_smiles.GetAtomWithIdx(j).GetAtomicNum() for j in range(len(m))] == [
        ref.GetAtomWithIdx(int(i)).GetAtomicNum() for i in m
    ]


def test_symmetric_ligand_naive_order_is_wrong_ours_is_right():
    # Benzoic acid: swapping the two carboxylate oxygens and flipping the ring gives the same pose.
    mol = Chem.AddHs(Chem.MolFromSmiles("OC(=O)c1ccccc1"))
    AllChem.EmbedMolecule(mol, randomSeed=7)
    ref = Chem.RemoveHs(mol)
    xyz = ref.GetConformer().GetPositions()
    o1, o2 = [a.GetIdx() for a in ref.GetAtoms() if a.GetSymbol() == "O"]
    ring = [a.GetIdx() for a in ref.GetAtoms() if a.GetIsAromatic()]
    swapped = xyz.copy()
    swapped[[o1, o2]] = xyz[[o2, o1]]
    # ring atoms in SMILES order c1ccccc1: ipso, o, m, p, m', o' -> exchange o/o' and m/m'.
    swapped[[ring[1], ring[5], ring[2], ring[4]]] = xyz[[ring[5], ring[1], ring[4], ring[2]]]
    pose = with_coords(ref, swapped)
    assert naive_rmsd(pose, ref) > 0.5
    assert symmetry_rmsd(pose, ref) == pytest.approx(0.0, abs=1e-6)
    assert len(SymmetryRMSD(crystal=ref).automorphisms) == 4  # O swap x ring flip


@pytest.mark.parametrize("cid", ["3d6p", "5n17", "5y12", "6ce6"])
def test_agrees_with_rdkit_and_spyrmsd(cid):
    ref = crystal(cid)
    rng = np.random.default_rng(2)
    scorer = SymmetryRMSD(crystal=ref)
    am = Chem.GetAdjacencyMatrix(ref)
    z = np.array([a.GetAtomicNum() for a in ref.GetAtoms()])
    # symmetric swaps mixed with noise, so that symmetry matters in some poses
    auto = scorer.automorphisms[-1]
    for k in range(4):
        xyz = ref.GetConformer().GetPositions()
        if k % 2:
            xyz = xyz[np.argsort(auto)]
        pose = with_coords(ref, xyz + rng.normal(scale=0.7, size=xyz.shape))
        ours = scorer(pose)[0]
        assert ours == pytest.approx(rdMolAlign.CalcRMS(pose, ref), abs=1e-6)
        spy = spyrmsd_rmsd.symmrmsd(ref.GetConformer().GetPositions(), pose.GetConformer().GetPositions(),
                                    z, z, am, am, center=False, minimize=False)
        assert ours == pytest.approx(spy, abs=1e-6)


def test_batched_poses_and_hydrogens():
    ref = crystal("3d6p")
    rng = np.random.default_rng(3)
    poses = [with_coords(ref, ref.GetConformer().GetPositions() + rng.normal(scale=s, size=(ref.GetNumAtoms(), 3)))
             for s in (0.2, 1.0, 3.0)]
    scorer = SymmetryRMSD(crystal=ref)
    batched = scorer(poses)
    assert batched.shape == (3,)
    assert np.allclose(batched, [symmetry_rmsd(p, ref) for p in poses])
    # One molecule holding several conformers counts each conformer as a pose.
    multi = Chem.Mol(poses[0])
    for p in poses[1:]:
        multi.AddConformer(p.GetConformer(), assignId=True)
    assert np.allclose(scorer(multi), batched)
    # Explicit hydrogens on the pose do not change a heavy-atom RMSD.
    with_h = Chem.AddHs(poses[1], addCoords=True)
    assert scorer(with_h)[0] == pytest.approx(batched[1], abs=1e-9)


def test_different_molecule_is_a_ligand_error():
    ref = crystal("5n17")
    other = crystal("3d6p")
    with pytest.raises(LigandError):
        symmetry_rmsd(other, ref)
