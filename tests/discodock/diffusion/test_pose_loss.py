import pytest
import torch

from discodock.diffusion.components import COMPONENTS, Pose, perturb_pose
from discodock.diffusion.loss import score_matching_loss
from discodock.diffusion.noise import PoseNoiseSchedule

D = torch.float64


def _batch(lig, n, seed):
    p = Pose.create(lig["pos"], tor_bonds=lig["tor_bonds"], tor_mask=lig["tor_mask"]).replicate(n)
    g = torch.Generator().manual_seed(seed)
    t = PoseNoiseSchedule().sample_times(n, generator=g).to(D)
    return perturb_pose(p, PoseNoiseSchedule().sigmas(t), generator=g)


def test_perfect_prediction_gives_zero_and_zero_prediction_gives_one_per_term(flexible_ligand):
    _, target, sigmas = _batch(flexible_ligand, 400, 0)
    total, terms = score_matching_loss(target, target, sigmas)
    assert total.item() == 0.0 and set(terms) == {"tr", "rot", "tor"}
    total, terms = score_matching_loss({k: torch.zeros_like(v) for k, v in target.items()}, target, sigmas)
    # normalised by the expected squared score norm: every term is 1 on average, whatever the sigmas
    for name, value in terms.items():
        assert value.item() == pytest.approx(1.0, abs=0.15), name
    assert total.item() == pytest.approx(sum(v.item() for v in terms.values()))


def test_gradients_reach_every_prediction(flexible_ligand):
    _, target, sigmas = _batch(flexible_ligand, 4, 1)
    pred = {k: torch.zeros_like(v, requires_grad=True) for k, v in target.items()}
    total, _ = score_matching_loss(pred, target, sigmas)
    total.backward()
    for name, p in pred.items():
        assert torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name
        # d/dpred of |pred - target|^2 / norm / items, sign pointing away from the target
        assert (p.grad * target[name]).sum() < 0


def test_ligand_without_rotatable_bonds(flexible_ligand):
    p = Pose.create(flexible_ligand["pos"]).replicate(2)
    _, target, sigmas = perturb_pose(p, PoseNoiseSchedule().sigmas(torch.tensor([0.2, 0.8], dtype=D)))
    pred = {k: torch.zeros_like(v, requires_grad=True) for k, v in target.items()}
    total, terms = score_matching_loss(pred, target, sigmas)
    assert terms["tor"].item() == 0.0 and torch.isfinite(total)
    total.backward()
    assert pred["tor"].grad.shape == (0,)


def test_subset_of_components_and_shape_check(flexible_ligand):
    _, target, sigmas = _batch(flexible_ligand, 2, 2)
    total, terms = score_matching_loss(target, target, sigmas, components=COMPONENTS[:1])
    assert set(terms) == {"tr"}
    bad = dict(target, rot=target["rot"][:1])
    with pytest.raises(ValueError):
        score_matching_loss(bad, target, sigmas)
