import torch

from disco_core.diffusion.precond import EDMPrecond
from disco_core.toy.models import ToyMLP


def test_missing_latents_use_the_null_embedding():
    torch.manual_seed(0)
    net = ToyMLP(dim=2, hidden=16, layers=2, m=1, k=4, latent_dim=8)
    with torch.no_grad():
        net.latent_dropout.null.normal_()
    x, c = torch.randn(3, 2), torch.zeros(3)
    zeros = torch.zeros(3, 1, 4)
    code = torch.nn.functional.one_hot(torch.tensor([[1], [2], [3]]), 4).float()
    assert torch.equal(net(x, c, None, None), net(x, c, None, zeros))
    assert not torch.allclose(net(x, c, None, code), net(x, c, None, zeros))


def test_baseline_ignores_latents_and_gradients_reach_latent_input():
    base = EDMPrecond(model=ToyMLP(dim=2, hidden=16, layers=2), sigma_data=2.0)
    x, sigma = torch.randn(5, 2), torch.rand(5) + 0.1
    assert torch.equal(base(x, sigma), base(x, sigma, None, torch.ones(5, 1, 4)))
    disco = EDMPrecond(model=ToyMLP(dim=2, hidden=16, layers=2, m=1, k=4), sigma_data=2.0)
    z = torch.nn.functional.one_hot(torch.randint(0, 4, (5, 1)), 4).float().requires_grad_(True)
    disco(x, sigma, None, z).sum().backward()
    assert z.grad is not None and z.grad.abs().sum() > 0
