"""PoseBusters checks (discodock.eval.posebusters) on a real crystal pose and a broken one."""

from pathlib import Path

import numpy as np
import pytest
from rdkit import Chem

from discodock.eval.posebusters import check_pose

EXAMPLES = Path(__file__).resolve().parents[3] / "data" / "examples"


def test_crystal_pose_passes_and_a_collapsed_pose_fails():
    protein = EXAMPLES / "5n17" / "5n17_protein.pdb.gz"
    if not protein.exists():
        pytest.skip(f"{protein} not shipped")
    crystal = Chem.MolFromMolFile(str(EXAMPLES / "5n17" / "5n17_ligand.sdf"))
    good = check_pose(crystal, crystal, protein)
    assert good.reason is None and good.pb_valid is True
    assert len(good.checks) > 15 and sum(good.checks.values()) == len(good.checks)

    squashed = Chem.Mol(crystal)  # every atom pulled halfway to the centroid: bonds far too short
    conf = squashed.GetConformer()
    xyz = conf.GetPositions()
    for i, p in enumerate(0.5 * (xyz + xyz.mean(0))):
        conf.SetAtomPosition(i, p.tolist())
    bad = check_pose(squashed, crystal, protein)
    assert bad.pb_valid is False
    failed = {name for name, ok in bad.checks.items() if not ok}
    assert any("bond" in name for name in failed)


def test_failure_to_run_is_none_with_a_reason(tmp_path):
    mol = Chem.AddHs(Chem.MolFromSmiles("CCO"))
    from rdkit.Chem import AllChem

    AllChem.EmbedMolecule(mol, randomSeed=0)
    result = check_pose(mol, mol, tmp_path / "missing_protein.pdb")
    assert result.pb_valid is None and result.reason
