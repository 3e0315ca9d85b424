"""The learning-rate schedule is a function of the step alone (so resuming needs no scheduler state)."""

import pytest
import torch

from disco_core.training import linear_decay_lr, set_lr


def test_constant_without_a_decay_start():
    assert all(linear_decay_lr(s, lr=1e-3, start=None, end=10, final_lr=0.0) == 1e-3 for s in (0, 5, 10, 99))


def test_linear_between_start_and_end_then_flat():
    f = [linear_decay_lr(s, lr=1.0, start=10, end=20, final_lr=0.1) for s in range(0, 31)]
    assert f[:11] == [1.0] * 11
    assert f[15] == pytest.approx(0.55)
    assert all(a > b for a, b in zip(f[10:20], f[11:21]))
    assert f[20:] == [pytest.approx(0.1)] * 11


def test_end_before_start_is_an_error():
    with pytest.raises(ValueError, match="end after it starts"):
        linear_decay_lr(11, lr=1.0, start=10, end=10, final_lr=0.1)


def test_set_lr_reaches_every_parameter_group():
    a, b = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    opt = torch.optim.AdamW([{"params": a.parameters()}, {"params": b.parameters(), "lr": 5.0}], lr=1.0)
    set_lr(opt, 0.25)
    assert [g["lr"] for g in opt.param_groups] == [0.25, 0.25]
