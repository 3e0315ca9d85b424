"""Building blocks: radial basis, sigma embedding, irreps bookkeeping, equivariant norm and convolution."""

from __future__ import annotations

import pytest
import torch
from e3nn import o3

from discodock.models.layers import (
    EquivariantLayerNorm,
    GaussianSmearing,
    IrrepsPad,
    SigmaEmbedding,
    TensorProductConv,
    edge_geometry,
    hidden_irreps,
    reachable_irreps,
)


def rotation(seed: int) -> torch.Tensor:
    from discodock.geometry.rigid import random_rotations

    return random_rotations(1, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)[0]


def test_gaussian_smearing_peaks_at_its_centres():
    rbf = GaussianSmearing(start=0.0, stop=10.0, num_basis=11)
    d = torch.tensor([0.0, 3.0, 10.0])
    out = rbf(d)
    assert out.shape == (3, 11)
    assert out.argmax(1).tolist() == [0, 3, 10]
    torch.testing.assert_close(out[1, 3], torch.tensor(1.0))
    # Neighbouring bumps at one spacing are exp(-1/2).
    torch.testing.assert_close(out[1, 4], torch.tensor(0.5).exp().reciprocal())


def test_sigma_embedding_separates_noise_levels():
    emb = SigmaEmbedding(dim=8)
    sigma = {"tr": torch.tensor([0.1, 19.0]), "rot": torch.tensor([0.03, 1.55]), "tor": torch.tensor([0.03, 3.1])}
    out = emb(sigma)
    assert out.shape == (2, 24)
    assert (out[0] - out[1]).abs().max() > 0.5
    assert out.abs().max() <= 1.0
    with pytest.raises(ValueError):
        SigmaEmbedding(dim=7)


def test_hidden_and_reachable_irreps():
    hidden = hidden_irreps(ns=4, nv=2, lmax=1)
    assert hidden == o3.Irreps("4x0e + 2x1o + 2x1e + 4x0o")
    sh = o3.Irreps.spherical_harmonics(1)
    first = reachable_irreps(hidden, [o3.Irreps("4x0e")], sh)
    assert first == o3.Irreps("4x0e + 2x1o")
    second = reachable_irreps(hidden, [first], sh)
    assert second == o3.Irreps("4x0e + 2x1o + 2x1e")
    assert reachable_irreps(hidden, [second], sh) == hidden
    assert hidden_irreps(ns=4, nv=2, lmax=2) == o3.Irreps("4x0e + 2x1o + 2x2e + 2x1e + 2x2o + 4x0o")


def test_irreps_pad_copies_shared_types():
    pad = IrrepsPad(in_irreps=o3.Irreps("2x0e + 1x1o"), out_irreps=o3.Irreps("2x0e + 2x1o + 1x1e"))
    x = torch.arange(1.0, 6.0)[None]
    out = pad(x)
    assert out.tolist() == [[1.0, 2.0, 3.0, 4.0, 5.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]]
    drop = IrrepsPad(in_irreps=o3.Irreps("2x0e + 1x1o"), out_irreps=o3.Irreps("2x0e"))
    assert drop(x).tolist() == [[1.0, 2.0]]
    with pytest.raises(ValueError):
        IrrepsPad(in_irreps=o3.Irreps("3x1o"), out_irreps=o3.Irreps("2x1o"))


def test_layer_norm_is_equivariant_and_normalises():
    irreps = o3.Irreps("4x0e + 3x1o + 2x1e + 4x0o")
    norm = EquivariantLayerNorm(irreps).double()
    x = torch.randn(5, irreps.dim, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 7.0
    D = irreps.D_from_matrix(rotation(1))
    # e3nn's D_from_matrix is accurate to ~2e-7 even in float64.
    torch.testing.assert_close(norm(x @ D.T), norm(x) @ D.T, atol=1e-6, rtol=1e-6)
    out = norm(x)
    scalars = out[:, :4]
    torch.testing.assert_close(scalars.mean(1), torch.zeros(5, dtype=torch.float64), atol=1e-6, rtol=0)
    vec = out[:, 4:13].reshape(5, 3, 3)
    torch.testing.assert_close(vec.pow(2).sum(2).mean(1), torch.full((5,), 3.0, dtype=torch.float64), atol=1e-3, rtol=0)


def test_tensor_product_conv_is_equivariant():
    gen = torch.Generator().manual_seed(0)
    in_irreps, out_irreps = o3.Irreps("3x0e + 2x1o"), o3.Irreps("3x0e + 2x1o + 2x1e")
    sh_irreps = o3.Irreps.spherical_harmonics(1)
    conv = TensorProductConv(in_irreps=in_irreps, sh_irreps=sh_irreps, out_irreps=out_irreps, edge_dim=4, hidden_dim=8)
    conv = conv.double()
    pos = torch.randn(6, 3, generator=gen, dtype=torch.float64) * 3
    x = torch.randn(6, in_irreps.dim, generator=gen, dtype=torch.float64)
    edges = torch.tensor([[0, 1, 2, 3, 4, 5, 1], [1, 0, 1, 4, 3, 4, 5]])
    feat = torch.randn(edges.shape[1], 4, generator=gen, dtype=torch.float64)

    def run(p, h):
        _, sh = edge_geometry(p, p, edges, sh_irreps)
        return conv(h, edges, sh, feat, 6)

    R = rotation(2)
    out = run(pos, x)
    moved = run(pos @ R.T + 1.5, x @ in_irreps.D_from_matrix(R).T)
    torch.testing.assert_close(moved, out @ out_irreps.D_from_matrix(R).T, atol=1e-6, rtol=1e-6)
    # Node 2 receives no message: zeros. Node 1 averages three messages.
    assert out[2].abs().max() == 0
    assert out[1].abs().max() > 0
