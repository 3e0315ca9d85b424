"""``--refine search`` end to end on a real complex: Monte Carlo chains on Vina's energy from the samples reach
lower Vina scores than one local optimisation of the same samples, reproducibly, and need a site."""

from pathlib import Path

import numpy as np
import pytest

from discodock.errors import ConfigError
from discodock.sampling.pipeline import DockSettings, load_docker

EXAMPLE = Path(__file__).resolve().parents[3] / "data" / "examples" / "3d6p"
PROTEIN, LIGAND = EXAMPLE / "3d6p_protein.pdb.gz", EXAMPLE / "3d6p_ligand.sdf"


@pytest.fixture(scope="module")
def docker():
    return load_docker(device="cpu")


def _dock(docker, refine, seed=0):
    from rdkit import Chem

    crystal = Chem.MolFromMolFile(str(LIGAND))
    site = crystal.GetConformer().GetPositions().mean(0).tolist()
    settings = DockSettings(samples=4, steps=10, refine=refine, search_iterations=10, search_chains=2)
    return docker.dock(PROTEIN, str(LIGAND), name="3d6p", pocket_center=site, settings=settings, seed=seed)


def test_search_reaches_lower_vina_scores_than_one_local_optimisation(docker):
    local = _dock(docker, "vina")
    searched = _dock(docker, "search")
    assert searched.info["refine"] == "search" and searched.info["search_iterations"] == 10
    s_local = [p.vina_score for p in local.poses]
    s_search = [p.vina_score for p in searched.poses]
    assert s_search == sorted(s_search)  # ranked by Vina score, best first
    assert s_search[0] <= s_local[0] + 1e-6 and np.median(s_search) < np.median(s_local) - 0.5
    for pose in searched.poses:  # valid molecules with finite, non-collapsed coordinates
        xyz = pose.mol.GetConformer().GetPositions()
        assert np.isfinite(xyz).all() and pose.mol.GetNumAtoms() == local.poses[0].mol.GetNumAtoms()
        d = np.linalg.norm(xyz[:, None] - xyz[None], axis=-1) + np.eye(len(xyz)) * 9
        assert d.min() > 0.9  # no atoms on top of each other
    again = _dock(docker, "search")
    assert [p.vina_score for p in again.poses] == s_search  # same seed, same result


def test_search_needs_a_site(docker):
    with pytest.raises(ConfigError, match="search needs a site"):
        docker.dock(PROTEIN, str(LIGAND), name="3d6p", pocket_center=None,
                    settings=DockSettings(samples=2, steps=3, refine="search"), seed=0)
