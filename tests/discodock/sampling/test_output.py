"""Result writing: SDFs re-read by RDKit as the same molecule, a PDB with the ligand, atomic folders."""

import json
from pathlib import Path

import pytest
from rdkit import Chem

from discodock.sampling.output import DockResult, RankedPose, write_dock_result

EXAMPLES = Path(__file__).resolve().parents[3] / "data" / "examples"


def _crystal(pid="6ce6"):
    return Chem.MolFromMolFile(str(EXAMPLES / pid / f"{pid}_ligand.sdf")), EXAMPLES / pid / f"{pid}_protein.pdb.gz"


def test_write_dock_result_roundtrip(tmp_path):
    mol, protein = _crystal()
    poses = [RankedPose(mol=mol, confidence=0.9 - 0.1 * i, sample_index=i) for i in range(3)]
    folder = write_dock_result(tmp_path, DockResult(name="x", poses=poses, info={"seed": 3}), protein_path=protein)
    for rank in (1, 2, 3):
        back = next(Chem.SDMolSupplier(str(folder / f"rank{rank}.sdf")))
        assert back is not None
        assert Chem.MolToSmiles(back) == Chem.MolToSmiles(mol)
        assert back.GetIntProp("rank") == rank
    info = json.loads((folder / "results.json").read_text())
    assert info["seed"] == 3 and len(info["poses"]) == 3
    pdb = (folder / "complex_rank1.pdb").read_text()
    assert pdb.count("HETATM") >= mol.GetNumAtoms()
    reread = Chem.MolFromPDBFile(str(folder / "complex_rank1.pdb"), sanitize=False)
    assert reread is not None and reread.GetNumAtoms() > mol.GetNumAtoms()
    # No temporary folders left behind.
    assert [p.name for p in tmp_path.iterdir()] == ["x"]


def test_add_hs_writes_hydrogens(tmp_path):
    mol, protein = _crystal()
    folder = write_dock_result(tmp_path, DockResult(name="h", poses=[RankedPose(mol=mol)]), protein_path=protein,
                               add_hs=True)
    back = Chem.MolFromMolFile(str(folder / "rank1.sdf"), removeHs=False)
    assert any(a.GetAtomicNum() == 1 for a in back.GetAtoms())


def test_failure_leaves_nothing(tmp_path):
    mol, _ = _crystal()
    with pytest.raises(FileNotFoundError):
        write_dock_result(tmp_path, DockResult(name="bad", poses=[RankedPose(mol=mol)]),
                          protein_path=tmp_path / "missing.pdb")
    assert list(tmp_path.iterdir()) == []
