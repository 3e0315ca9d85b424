"""Training the learned pose ranking on pools of real poses: crystal-like and displaced poses of the shipped
complexes, read back from SDF as the benchmark scripts write them. Their "Vina scores" are noise, so Vina's
order (the untrained ranker) is no better than chance and whatever the ranker gains it learns from the poses'
contacts and agreement."""

from pathlib import Path

import numpy as np
import pytest
import torch
from rdkit import Chem
from scipy.spatial.transform import Rotation

from discodock.errors import CheckpointError
from discodock.eval.runner import keep_poses
from discodock.sampling.ranking import with_coords
from discodock.scoring.pose_features import FEATURE_NAMES
from discodock.scoring.pose_ranker import FORMAT, PoseRanker, load_pose_ranker
from discodock.training.ranker import load_pools, pool_loss, top1_success, train_ranker

EXAMPLES = Path(__file__).resolve().parents[3] / "data" / "examples"
COMPLEXES = ("3d6p", "5n17", "5y12", "6ce6")
POOLS_PER_COMPLEX = 4
POOL_SIZE = 8


def write_pools(root: Path) -> None:
    """Per complex, pools of 8 poses in random order: some near the crystal pose (< 1.5 A), the rest rotated
    and shifted away; each with a random "Vina score" and its RMSD, as ``<root>/<id>/<method>.sdf``."""
    rng = np.random.default_rng(0)
    for cid in COMPLEXES:
        crystal = Chem.RemoveHs(Chem.MolFromMolFile(str(EXAMPLES / cid / f"{cid}_ligand.sdf")))
        xyz = crystal.GetConformer().GetPositions()
        centre = xyz.mean(0)
        for k in range(POOLS_PER_COMPLEX):
            poses, rmsds = [], []
            for j in range(POOL_SIZE):
                near = j < 1 + k % 3
                angle = rng.uniform(0.05, 0.25) if near else rng.uniform(0.6, 3.0)
                shift = rng.normal(0, 0.3 if near else 2.0, 3)
                axis = rng.normal(size=3)
                rot = Rotation.from_rotvec(angle * axis / np.linalg.norm(axis))
                new = rot.apply(xyz - centre) + centre + shift
                poses.append(with_coords(crystal, torch.tensor(new)))
                rmsds.append(float(np.sqrt(((new - xyz) ** 2).sum(1).mean())))
            order = rng.permutation(POOL_SIZE)
            poses, rmsds = [poses[i] for i in order], [rmsds[i] for i in order]
            for mol in poses:
                mol.SetDoubleProp("vina_score", float(rng.uniform(-9, -4)))
            keep_poses(root / cid / f"pool{k}.sdf", poses, [m.GetDoubleProp("vina_score") for m in poses], rmsds)


@pytest.fixture(scope="module")
def pools(tmp_path_factory):
    root = tmp_path_factory.mktemp("poses")
    write_pools(root)
    return load_pools(root, [str(EXAMPLES)], cache=root.parent / "features.pt")


def test_pools_read_back_with_labels(pools):
    assert len(pools) == len(COMPLEXES) * POOLS_PER_COMPLEX
    for p in pools:
        assert p.features.shape == (POOL_SIZE, len(FEATURE_NAMES)) and torch.isfinite(p.features).all()
        assert 0 < p.labels.sum() < POOL_SIZE


def test_training_learns_to_put_a_right_pose_first(pools):
    train, val = [p for p in pools if p.complex_id != "6ce6"], [p for p in pools if p.complex_id == "6ce6"]
    torch.manual_seed(0)
    untrained = PoseRanker().eval()  # scaled as training scales its features
    features = torch.cat([p.features for p in train])
    untrained.mean.copy_(features.mean(0))
    untrained.std.copy_(features.std(0).clamp(min=1e-3))
    model, summary = train_ranker(train, val, epochs=60, seed=0)
    with torch.no_grad():
        before = float(pool_loss(untrained, train, listwise_weight=1.0))
        after = float(pool_loss(model, train, listwise_weight=1.0))
    assert after < 0.5 * before
    # on the held-out complex, right poses come first far more often than in Vina's (here random) order
    figures = top1_success(model, val)
    learned = np.mean([v for m, v in figures.items() if not m.endswith("(pool order)")])
    vina = np.mean([v for m, v in figures.items() if m.endswith("(pool order)")])
    expected_random = float(np.mean([p.labels.mean() for p in val]))
    assert learned >= 0.75 and learned > vina and learned > expected_random + 0.3
    assert summary["best_epoch"] >= 0 and summary["val"]["epoch"] == summary["best_epoch"]


def test_saved_ranker_loads_and_scores_the_same(pools, tmp_path):
    model = PoseRanker(hidden=16)
    model.mean.copy_(pools[0].features.mean(0))
    path = tmp_path / "ranker.pt"
    model.save(path, extra={"note": "test"})
    again = load_pose_ranker(path)
    assert torch.equal(model.eval()(pools[0].features), again(pools[0].features))
    torch.save({"format": FORMAT, "config": {"feature_names": ["x"], "hidden": 4, "dropout": 0.0}, "state": {}},
               tmp_path / "old.pt")
    with pytest.raises(CheckpointError, match="other pose features"):
        load_pose_ranker(tmp_path / "old.pt")
    with pytest.raises(CheckpointError, match="not found"):
        load_pose_ranker(tmp_path / "missing.pt")
