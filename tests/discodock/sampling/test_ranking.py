"""``--rank learned`` end to end on a real complex with the shipped pose ranker: the poses come out ordered by
its probability, which is the ranker applied to the refined pool with Vina's scores."""

from pathlib import Path

import pytest
import torch
from rdkit import Chem

from discodock.data.parsing import load_protein
from discodock.errors import ConfigError
from discodock.sampling.pipeline import DockSettings, load_docker
from discodock.scoring.pose_ranker import load_pose_ranker

EXAMPLE = Path(__file__).resolve().parents[3] / "data" / "examples" / "3d6p"
PROTEIN, LIGAND = EXAMPLE / "3d6p_protein.pdb.gz", EXAMPLE / "3d6p_ligand.sdf"


def test_learned_ranking_orders_the_refined_pool():
    docker = load_docker(device="cpu")
    crystal = Chem.MolFromMolFile(str(LIGAND))
    site = crystal.GetConformer().GetPositions().mean(0).tolist()
    settings = DockSettings(samples=5, steps=10, refine="search", search_iterations=5, search_chains=2,
                            rank="learned", random_starts=0)
    result = docker.dock(PROTEIN, str(LIGAND), name="3d6p", pocket_center=site, settings=settings, seed=0)
    assert result.info["ranked_by"] == "learned" and len(result.poses) == 5
    probs = [p.confidence for p in result.poses]
    assert probs == sorted(probs, reverse=True) and all(0 < c < 1 for c in probs)
    assert all(p.vina_score is not None for p in result.poses)
    # the same numbers from the ranker applied to the output pool directly
    atoms = load_protein(PROTEIN).atoms
    pos = torch.stack([torch.tensor(p.mol.GetConformer().GetPositions(), dtype=torch.float32) for p in result.poses])
    again = load_pose_ranker().score_pool(pos, [a.GetSymbol() for a in result.poses[0].mol.GetAtoms()], atoms.pos,
                                          atoms.elements, [p.vina_score for p in result.poses])
    assert again.tolist() == pytest.approx(probs, abs=1e-5)


def test_unknown_ranking_is_refused():
    docker = load_docker(device="cpu")
    with pytest.raises(ConfigError, match="--rank"):
        docker.dock(PROTEIN, str(LIGAND), name="3d6p", pocket_center=[0.0, 0.0, 0.0],
                    settings=DockSettings(samples=2, steps=3, rank="best"), seed=0)
