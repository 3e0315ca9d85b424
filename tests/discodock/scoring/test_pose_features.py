"""Pose features of the learned ranking on a real complex (3d6p): what each family measures, and that the
features of a pool do not depend on the frame (a rigid motion of receptor and poses together)."""

from pathlib import Path

import numpy as np
import pytest
import torch
from rdkit import Chem
from scipy.spatial.transform import Rotation

from discodock.data.parsing import load_protein
from discodock.scoring.pose_features import FEATURE_NAMES, pose_features

EXAMPLES = Path(__file__).resolve().parents[3] / "data" / "examples"


@pytest.fixture(scope="module")
def complex_3d6p():
    protein = load_protein(EXAMPLES / "3d6p" / "3d6p_protein.pdb.gz")
    ligand = Chem.RemoveHs(Chem.MolFromMolFile(str(EXAMPLES / "3d6p" / "3d6p_ligand.sdf")))
    pos = torch.tensor(ligand.GetConformer().GetPositions(), dtype=torch.float32)
    return protein.atoms, [a.GetSymbol() for a in ligand.GetAtoms()], pos


def pool(crystal: torch.Tensor) -> torch.Tensor:
    """The crystal pose twice, a copy 1 A along x, and one pushed 12 A out of the pocket, rotated."""
    rot = torch.tensor(Rotation.from_euler("xyz", [0.7, -0.4, 1.1]).as_matrix(), dtype=torch.float32)
    far = (crystal - crystal.mean(0)) @ rot.T + crystal.mean(0) + torch.tensor([12.0, 0.0, 0.0])
    return torch.stack([crystal, crystal, crystal + torch.tensor([1.0, 0.0, 0.0]), far])


def test_features_measure_agreement_contacts_and_score(complex_3d6p):
    atoms, elements, crystal = complex_3d6p
    f = pose_features(pool(crystal), elements, atoms.pos, atoms.elements, [-7.0, -6.0, -5.5, None])
    assert f.shape == (4, len(FEATURE_NAMES)) and torch.isfinite(f).all()
    col = {n: f[:, i] for i, n in enumerate(FEATURE_NAMES)}
    # the two identical crystal poses and the 1 A copy agree with each other, not with the far one
    assert col["agree_2A"].tolist() == pytest.approx([2 / 3, 2 / 3, 2 / 3, 0.0])
    assert col["rmsd_to_vina_best"][1] == 0 and col["rmsd_to_vina_best"][3] > 8
    # Vina's score against the pool; an unscored pose takes the pool's worst
    assert col["vina_minus_best"].tolist() == pytest.approx([0.0, 1.0, 1.5, 1.5])
    assert col["vina_rank_fraction"][0] == 0
    # the crystal pose sits in a pocket: buried, in contact, with polar contacts; the far pose is not
    assert col["burial"][0] > 2 * col["burial"][3]
    assert col["contacts_6A"][0] > col["contacts_6A"][3]
    assert col["polar_contacts"][0] > 0
    assert col["exposed_fraction"][0] < col["exposed_fraction"][3]
    assert col["clashes"][0] == 0


def test_clashes_count_overlapping_atoms(complex_3d6p):
    atoms, elements, crystal = complex_3d6p
    # move the ligand onto the receptor atom nearest the pocket
    rec = torch.as_tensor(atoms.pos)
    nearest = rec[(rec - crystal.mean(0)).norm(dim=1).argmin()]
    onto = crystal - crystal.mean(0) + nearest
    f = pose_features(torch.stack([crystal, onto]), elements, atoms.pos, atoms.elements, [-7.0, 5.0])
    clashes = f[:, FEATURE_NAMES.index("clashes")]
    assert clashes[0] == 0 and clashes[1] > 0


def test_features_do_not_depend_on_the_frame(complex_3d6p):
    atoms, elements, crystal = complex_3d6p
    poses = pool(crystal)
    rot = torch.tensor(Rotation.random(random_state=3).as_matrix(), dtype=torch.float32)
    shift = torch.tensor([5.0, -20.0, 3.0])
    moved = poses @ rot.T + shift
    moved_rec = torch.as_tensor(np.asarray(atoms.pos), dtype=torch.float32) @ rot.T + shift
    scores = [-7.0, -6.0, -5.5, -1.0]
    a = pose_features(poses, elements, atoms.pos, atoms.elements, scores)
    b = pose_features(moved, elements, moved_rec.numpy(), atoms.elements, scores)
    assert torch.allclose(a, b, atol=1e-3)


def test_mismatched_inputs_are_refused(complex_3d6p):
    atoms, elements, crystal = complex_3d6p
    with pytest.raises(ValueError, match="ligand elements"):
        pose_features(pool(crystal), elements[:-1], atoms.pos, atoms.elements, [0.0] * 4)
    with pytest.raises(ValueError, match="Vina scores"):
        pose_features(pool(crystal), elements, atoms.pos, atoms.elements, [0.0] * 3)
