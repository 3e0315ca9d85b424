"""The image encoder and the end-to-end gradient path encoder -> quantizer -> U-Net."""

import torch
from torch import nn

from disco_core.diffusion.loss import EDMLoss
from disco_core.images.config import ImagesConfig
from disco_core.images.encoder import ImageEncoder
from disco_core.images.models import DiscoImageModel
from disco_core.images.training import disco_loss

torch.set_num_threads(1)


def test_logits_shape_any_image_size_and_class_input():
    enc = ImageEncoder(m=5, k=12, channels=(8, 16))
    for size in (8, 16):
        assert enc(torch.randn(3, 1, size, size)).shape == (3, 5, 12)
    enc_c = ImageEncoder(in_channels=3, m=2, k=4, channels=(8, 16), num_classes=10)
    x = torch.randn(2, 3, 8, 8)
    y = nn.functional.one_hot(torch.tensor([1, 2]), 10).float()
    assert enc_c(x, y).shape == (2, 2, 4)
    assert not torch.allclose(enc_c(x, y), enc_c(x, y.roll(1, dims=1)))


def _unzeroed_model(*, m: int) -> DiscoImageModel:
    """A small DisCo image model whose zero-initialised output layers got weights, as one optimiser step
    would give them (at step 0 they block every upstream gradient)."""
    torch.manual_seed(0)
    cfg = ImagesConfig(channels=8, channel_mult=[1, 2], m=m, k=4, encoder_channels=[8, 16], sigma_data=0.75)
    model = DiscoImageModel(cfg=cfg, shape=(1, 8, 8), num_classes=0)
    for module in model.denoiser.modules():
        if isinstance(module, nn.Conv2d) and float(module.weight.detach().abs().sum()) == 0:
            with torch.no_grad():
                module.weight.normal_(0, 0.1)
    return model


def test_gradient_flows_from_the_denoising_loss_into_the_encoder():
    model = _unzeroed_model(m=3)
    g = torch.Generator().manual_seed(0)
    x0 = torch.rand(16, 1, 8, 8) * 2 - 1
    loss = disco_loss(model, EDMLoss(sigma_data=0.75), x0, None, g, temperature=1.0, latent_dropout=0.0)
    loss.backward()
    for name, p in model.encoder.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    assert float(model.encoder.head[-1].weight.grad.abs().sum()) > 0
    assert float(model.encoder.features[0].weight.grad.abs().sum()) > 0
    assert float(model.denoiser.model.latent_emb[0].weight.grad.abs().sum()) > 0


def test_fully_dropped_latents_cut_the_encoder_off():
    model = _unzeroed_model(m=2)
    x0 = torch.rand(8, 1, 8, 8) * 2 - 1
    loss = disco_loss(model, EDMLoss(sigma_data=0.75), x0, None, torch.Generator().manual_seed(1), temperature=1.0, latent_dropout=1.0)
    loss.backward()
    assert all(p.grad is None or float(p.grad.abs().sum()) == 0 for p in model.encoder.parameters())
    assert float(model.denoiser.model.latent_dropout.null.grad.abs().sum()) > 0
