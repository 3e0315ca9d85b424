"""Docker.build: the crystal pose reaches the graph in the docked molecule's atom order; settings resolved
from the checkpoint once."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch
from rdkit import Chem

from discodock.data import keys as K
from discodock.eval.rmsd import SymmetryRMSD
from discodock.sampling.pipeline import load_docker
from discodock.sampling.ranking import with_coords
from discodock.sampling.settings import DockSettings, resolve_settings

EXAMPLE = Path(__file__).resolve().parents[3] / "data" / "examples" / "6ce6"


@pytest.fixture(scope="module")
def docker():
    return load_docker(device="cpu")


def test_crystal_pose_follows_the_docked_molecules_atom_order(docker):
    """A ligand given in another atom order (as a SMILES gives it) still gets the crystal coordinates of its
    own atoms: oracle latents read the real crystal pose, not a scrambled one."""
    crystal = Chem.MolFromMolFile(str(EXAMPLE / "6ce6_ligand.sdf"))
    order = list(range(crystal.GetNumAtoms()))
    random.Random(0).shuffle(order)
    shuffled = Chem.RenumberAtoms(crystal, order)
    site = crystal.GetConformer().GetPositions().mean(0).tolist()
    data, mol, _ = docker.build(EXAMPLE / "6ce6_protein.pdb.gz", shuffled, name="6ce6", pocket_center=site,
                             settings=DockSettings(), seed=0, crystal_mol=crystal)
    placed = with_coords(mol, data[K.CRYSTAL_POS])
    assert float(SymmetryRMSD(crystal=crystal)([placed])[0]) < 1e-4
    naive = torch.tensor(crystal.GetConformer().GetPositions(), dtype=torch.float32)
    assert (naive - data[K.CRYSTAL_POS]).norm(dim=1).max() > 1.0  # the old, order-blind copy was wrong


def test_settings_come_from_the_checkpoint_unless_given(docker):
    resolved = resolve_settings(DockSettings(), docker.cfg)
    assert (resolved.samples, resolved.steps) == (docker.cfg.sampling.samples, docker.cfg.sampling.steps)
    assert (resolved.rank, resolved.refine) == (docker.cfg.sampling.rank, docker.cfg.sampling.refine)
    assert resolved.pocket_radius == docker.cfg.data.pocket_radius
    mine = resolve_settings(DockSettings(samples=3, temperature=0.5), docker.cfg)
    assert (mine.samples, mine.temperature, mine.steps) == (3, 0.5, docker.cfg.sampling.steps)
