"""Adam's moments through a committed state: bfloat16 keeps small second moments, float16 flushes them to zero
(and the resumed steps blow up), and the repair bounds those steps again."""

from __future__ import annotations

import copy

import torch

from disco_core.training import compact_optimizer_state, repair_underflowed_moments


def _trained(scale: float, steps: int = 20):
    """A linear model whose gradients are about ``scale`` (small, like a well-trained network's)."""
    torch.manual_seed(0)
    model = torch.nn.Linear(16, 8)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x, y = torch.randn(64, 16), torch.randn(64, 8)
    for _ in range(steps):
        opt.zero_grad()
        (scale * (model(x) - y).square().mean()).backward()
        opt.step()
    return model, opt, (x, y)


def _next_update(model, opt_state: dict, data, scale: float, *, repair: bool = True):
    """The parameter change of one more step after loading ``opt_state`` into a fresh optimiser, and how many
    moments the repair changed."""
    model = copy.deepcopy(model)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    opt.load_state_dict(opt_state)
    repaired = repair_underflowed_moments(opt) if repair else 0
    before = torch.cat([p.detach().flatten().clone() for p in model.parameters()])
    opt.zero_grad()
    x, y = data
    (scale * (model(x) - y).square().mean()).backward()
    opt.step()
    return torch.cat([p.detach().flatten() for p in model.parameters()]) - before, repaired


def test_bfloat16_moments_resume_like_float32_and_float16_ones_do_not():
    scale = 1e-5  # gradients ~1e-5: their squares (~1e-10) are below float16's smallest subnormal
    model, opt, data = _trained(scale)
    exact, _ = _next_update(model, copy.deepcopy(opt.state_dict()), data, scale)
    bf16, repaired = _next_update(model, compact_optimizer_state(copy.deepcopy(opt.state_dict())), data, scale)
    assert repaired == 0
    assert (bf16 - exact).abs().max() < 0.02 * exact.abs().max()
    state16 = compact_optimizer_state(copy.deepcopy(opt.state_dict()), dtype=torch.float16)
    assert all(bool((s["exp_avg_sq"] == 0).any()) for s in state16["state"].values())
    raw16, _ = _next_update(model, copy.deepcopy(state16), data, scale, repair=False)
    assert raw16.abs().max() > 5 * exact.abs().max()  # the failure the repair exists for
    fixed16, repaired = _next_update(model, state16, data, scale)
    assert repaired > 0
    assert fixed16.abs().max() < 2 * exact.abs().max()


def test_repair_leaves_a_float32_state_unchanged():
    model, opt, _ = _trained(1.0)
    before = copy.deepcopy(opt.state_dict())
    assert repair_underflowed_moments(opt) == 0
    for k, slot in opt.state_dict()["state"].items():
        assert torch.equal(slot["exp_avg_sq"], before["state"][k]["exp_avg_sq"])
