"""The image U-Net: shapes, conditioning on noise / class / latents, the null latent."""

import pytest
import torch
from torch import nn

from disco_core.diffusion.precond import EDMPrecond
from disco_core.images.unet import ResBlock, UNet

torch.set_num_threads(1)


def _randomise_zero_inits(net: nn.Module) -> None:
    """Blocks start as the identity (zero-initialised output convolutions); give them weights so that
    every conditioning path actually reaches the output."""
    g = torch.Generator().manual_seed(0)
    for module in net.modules():
        if isinstance(module, nn.Conv2d) and float(module.weight.detach().abs().sum()) == 0:
            with torch.no_grad():
                module.weight.copy_(0.1 * torch.randn(module.weight.shape, generator=g))


@pytest.mark.parametrize(
    "size, mult, attn, channels_in",
    [(8, (1, 2), (4,), 1), (16, (1, 2, 2), (8, 4), 1), (8, (1, 2, 2), (2,), 3)],
)
def test_output_shape_matches_input(size, mult, attn, channels_in):
    net = UNet(in_channels=channels_in, image_size=size, channels=8, channel_mult=mult, attn_resolutions=attn, m=2, k=4)
    x = torch.randn(3, channels_in, size, size)
    latents = nn.functional.one_hot(torch.randint(0, 4, (3, 2)), 4).float()
    assert net(x, torch.randn(3), None, latents).shape == x.shape
    assert EDMPrecond(model=net, sigma_data=0.5)(x, torch.rand(3) + 0.1).shape == x.shape


def test_rejects_bad_sizes():
    with pytest.raises(ValueError, match="divisible"):
        UNet(image_size=10, channel_mult=(1, 2, 2))
    net = UNet(image_size=8, channels=8, channel_mult=(1, 2))
    with pytest.raises(ValueError, match="expected images"):
        net(torch.randn(2, 1, 16, 16), torch.zeros(2))


def test_latents_none_is_the_dropped_latent_and_latents_matter():
    torch.manual_seed(0)
    net = UNet(image_size=8, channels=8, channel_mult=(1, 2), m=3, k=5).eval()
    _randomise_zero_inits(net)
    with torch.no_grad():
        net.latent_dropout.null.copy_(torch.randn(net.latent_dropout.null.shape))
    x, c = torch.randn(4, 1, 8, 8), torch.randn(4)
    zeros = torch.zeros(4, 3, 5)
    assert torch.allclose(net(x, c, None, None), net(x, c, None, zeros))
    a = nn.functional.one_hot(torch.tensor([[0, 1, 2]] * 4), 5).float()
    b = nn.functional.one_hot(torch.tensor([[4, 1, 2]] * 4), 5).float()
    assert not torch.allclose(net(x, c, None, a), net(x, c, None, b), atol=1e-5)
    # Dropping one example's latents changes that example only.
    mixed = a.clone()
    mixed[1] = 0
    out_a, out_mixed = net(x, c, None, a), net(x, c, None, mixed)
    assert torch.allclose(out_a[[0, 2, 3]], out_mixed[[0, 2, 3]], atol=1e-6)
    assert not torch.allclose(out_a[1], out_mixed[1], atol=1e-5)


def test_class_and_noise_conditioning_change_the_output():
    torch.manual_seed(1)
    net = UNet(image_size=8, channels=8, channel_mult=(1, 2), num_classes=10).eval()
    _randomise_zero_inits(net)
    x = torch.randn(2, 1, 8, 8)
    y3, y7 = nn.functional.one_hot(torch.tensor([3, 3]), 10).float(), nn.functional.one_hot(torch.tensor([7, 7]), 10).float()
    assert not torch.allclose(net(x, torch.zeros(2), y3), net(x, torch.zeros(2), y7), atol=1e-5)
    assert not torch.allclose(net(x, torch.zeros(2), y3), net(x, torch.ones(2), y3), atol=1e-5)
    # A scalar c_noise is broadcast over the batch.
    assert torch.allclose(net(x, torch.tensor(0.5), y3), net(x, torch.full((2,), 0.5), y3))


def test_fresh_blocks_start_as_scaled_identity():
    block = ResBlock(in_channels=8, out_channels=8, emb_dim=4)
    x = torch.randn(2, 8, 4, 4)
    assert torch.allclose(block(x, torch.randn(2, 4)), x / 2**0.5)
