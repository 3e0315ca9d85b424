import torch
from torch import nn

from disco_core.training.fit import fit_with_ema


def _problem():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(256, 3, generator=g)
    y = x @ torch.tensor([1.0, -2.0, 0.5]) + 0.3
    return x, y


def _train(seed):
    x, y = _problem()
    torch.manual_seed(0)
    model = nn.Linear(3, 1)
    seen = []

    def loss(idx, g):
        seen.append(idx)
        return ((model(x[idx])[:, 0] - y[idx]) ** 2).mean()

    ema = fit_with_ema(model, loss, n=256, steps=300, batch_size=32, lr=0.05, ema_decay=0.99,
                       generator=torch.Generator().manual_seed(seed), verbose=False)
    return model, ema, seen, x, y


def test_fit_with_ema_learns_and_is_seeded():
    model, ema, seen, x, y = _train(1)
    assert len(seen) == 300 and all(i.shape == (32,) and int(i.max()) < 256 for i in seen)
    ema.copy_to(model)
    with torch.no_grad():
        assert ((model(x)[:, 0] - y) ** 2).mean() < 1e-3  # the EMA weights solve the regression
    again = _train(1)
    other = _train(2)
    assert all(torch.equal(a, b) for a, b in zip(seen, again[2]))
    assert not all(torch.equal(a, b) for a, b in zip(seen, other[2]))
