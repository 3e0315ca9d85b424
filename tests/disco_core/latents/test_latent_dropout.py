import pytest
import torch

from disco_core.latents import LatentDropout, MLPEncoder, drop_mask, quantize_global


def _binomial_ok(count: int, n: int, p: float) -> bool:
    sd = (n * p * (1 - p)) ** 0.5
    return abs(count - n * p) < 5 * sd


def test_latent_dropout_drops_about_p_in_training_only():
    torch.manual_seed(0)
    layer = LatentDropout(p=0.3, dim=4)
    with torch.no_grad():
        layer.null.copy_(torch.full((4,), -7.0))
    emb = torch.randn(5000, 4)
    out, keep = layer(emb, generator=torch.Generator().manual_seed(0))
    dropped = (~keep).sum().item()
    assert _binomial_ok(dropped, 5000, 0.3)
    assert torch.equal(out[keep], emb[keep])
    assert torch.equal(out[~keep], torch.full((dropped, 4), -7.0))

    layer.eval()
    out, keep = layer(emb, generator=torch.Generator().manual_seed(0))
    assert keep.all() and torch.equal(out, emb)
    out, keep = layer(emb, force_drop=True)
    assert not keep.any() and torch.equal(out, torch.full_like(emb, -7.0))


def test_latent_dropout_null_is_learned_and_mask_can_be_given():
    layer = LatentDropout(p=0.5, dim=3)
    emb = torch.randn(4, 3, requires_grad=True)
    keep = torch.tensor([True, False, True, False])
    out, keep_out = layer(emb, keep=keep)
    assert torch.equal(keep_out, keep)
    out.sum().backward()
    assert torch.equal(layer.null.grad, torch.full((3,), 2.0))  # two dropped rows use the null
    assert torch.equal(emb.grad[~keep], torch.zeros(2, 3))
    assert layer.null_embedding(5).shape == (5, 3)


def test_drop_mask_rate_and_reproducibility():
    keep = drop_mask(20000, p=0.1, generator=torch.Generator().manual_seed(1))
    assert keep.dtype == torch.bool and _binomial_ok((~keep).sum().item(), 20000, 0.1)
    again = drop_mask(20000, p=0.1, generator=torch.Generator().manual_seed(1))
    assert torch.equal(keep, again)
    assert drop_mask(10, p=0.0).all() and not drop_mask(10, p=1.0).any()
    with pytest.raises(ValueError):
        drop_mask(3, p=1.5)


def test_mlp_encoder_shapes_and_end_to_end_gradient():
    enc = MLPEncoder(in_dim=2, m=3, k=5, hidden=16, cond_dim=4, layers=2)
    x0, cond = torch.randn(7, 2), torch.randn(7, 4)
    logits = enc(x0, cond)
    assert logits.shape == (7, 3, 5)
    onehot, _ = quantize_global(logits, temperature=1.0, generator=torch.Generator().manual_seed(0))
    target = torch.randn(7, 3, 5)
    ((onehot - target) ** 2).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in enc.parameters())
    with pytest.raises(ValueError):
        enc(x0)  # context missing
    assert MLPEncoder(in_dim=6, m=1, k=8)(torch.randn(2, 2, 3)).shape == (2, 1, 8)
