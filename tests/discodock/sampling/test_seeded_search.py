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
    settings = DockSettings(samples=4, steps=10, refine=refine, search_iterations=10, search_chains=2, random_starts=0)
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


def test_random_starts_join_the_samples_in_the_search(docker):
    from rdkit import Chem

    crystal = Chem.MolFromMolFile(str(LIGAND))
    site = crystal.GetConformer().GetPositions().mean(0)
    settings = DockSettings(samples=3, steps=5, refine="search", search_iterations=5, search_chains=2, random_starts=4)
    result = docker.dock(PROTEIN, str(LIGAND), name="3d6p", pocket_center=site.tolist(), settings=settings, seed=0)
    assert len(result.poses) == 7 and result.info["random_starts"] == 4
    for pose in result.poses:  # every start ends in the site box
        assert np.abs(pose.mol.GetConformer().GetPositions().mean(0) - site).max() < 12.5
    with pytest.raises(ConfigError, match="random-starts"):
        docker.dock(PROTEIN, str(LIGAND), name="3d6p", pocket_center=site.tolist(), seed=0,
                    settings=DockSettings(samples=2, steps=3, refine="search", random_starts=-1))


def test_zero_samples_search_from_random_starts_alone(docker):
    """The null model through the same pipeline: no diffusion sample, only the random starts, searched."""
    from rdkit import Chem

    crystal = Chem.MolFromMolFile(str(LIGAND))
    site = crystal.GetConformer().GetPositions().mean(0)
    settings = DockSettings(samples=0, refine="search", search_iterations=5, search_chains=2, random_starts=3)
    result = docker.dock(PROTEIN, str(LIGAND), name="3d6p", pocket_center=site.tolist(), settings=settings, seed=0)
    assert len(result.poses) == 3 and result.info["samples"] == 0
    scores = [p.vina_score for p in result.poses]
    assert scores == sorted(scores) and all(np.isfinite(scores))
    for refine, starts in (("vina", 3), ("search", 0)):  # nothing to start from: refused before any work
        with pytest.raises(ConfigError, match="0 samples"):
            docker.dock(PROTEIN, str(LIGAND), name="3d6p", pocket_center=site.tolist(), seed=0,
                        settings=DockSettings(samples=0, refine=refine, random_starts=starts))


def test_search_keep_sends_only_the_best_searched_poses_to_vina(docker):
    from rdkit import Chem

    crystal = Chem.MolFromMolFile(str(LIGAND))
    site = crystal.GetConformer().GetPositions().mean(0).tolist()
    base = dict(samples=0, refine="search", search_iterations=5, search_chains=2, random_starts=6)
    every = docker.dock(PROTEIN, str(LIGAND), name="3d6p", pocket_center=site, seed=0,
                        settings=DockSettings(**base, search_keep=0))
    kept = docker.dock(PROTEIN, str(LIGAND), name="3d6p", pocket_center=site, seed=0,
                       settings=DockSettings(**base, search_keep=3))
    assert len(every.poses) == 6 and len(kept.poses) == 3 and kept.info["search_keep"] == 3
    starts = [p.sample_index for p in kept.poses]
    assert len(set(starts)) == 3 and set(starts) <= set(range(6))
    by_start = {p.sample_index: p.vina_score for p in every.poses}
    # the same searched poses, polished by Vina (its maps' extent follows the poses, so scores move a little)
    assert [p.vina_score for p in kept.poses] == pytest.approx([by_start[i] for i in starts], abs=0.3)
    # and the three kept are the best three of the six
    assert sorted(starts) == sorted(sorted(by_start, key=by_start.get)[:3])


def test_random_starts_are_rotations_of_the_conformer_at_the_site():
    import torch

    from discodock.sampling.seeded_search import random_starts

    conf = torch.randn(9, 3) * 2 + 5
    out = random_starts(conf, [1.0, 2.0, 3.0], 6, generator=torch.Generator().manual_seed(0))
    assert out.shape == (6, 9, 3)
    assert torch.allclose(out.mean(1), torch.tensor([1.0, 2.0, 3.0]).expand(6, 3), atol=1e-5)
    d0 = torch.cdist(conf, conf)  # internal distances kept: a rigid rotation
    assert all(torch.allclose(torch.cdist(p, p), d0, atol=1e-4) for p in out)
    again = random_starts(conf, [1.0, 2.0, 3.0], 6, generator=torch.Generator().manual_seed(0))
    assert torch.equal(out, again)
