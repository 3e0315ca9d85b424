"""Building blocks of the equivariant networks: radial and sigma embeddings, the tensor-product
convolution, an equivariant layer norm and the irreps bookkeeping between layers.

Conventions: an edge ``(src, dst)`` carries a message from node ``src`` to node ``dst``; edge vectors
point from ``dst`` to ``src`` (``pos[src] - pos[dst]``) so a neighbour's direction is seen from the node
that receives the message. Lengths are in Angstrom.
"""

from __future__ import annotations

import math

import torch
from e3nn import o3
from torch import Tensor, nn
from torch_geometric.utils import scatter

# Irrep types in the order hidden features list them. Ordered so that each layer's reachable set is a
# prefix-compatible superset of the previous one (scalars, vectors, then pseudo-vectors and pseudo-scalars,
# which need two layers of products to appear).
_HIDDEN_ORDER = {
    1: ["0e", "1o", "1e", "0o"],
    2: ["0e", "1o", "2e", "1e", "2o", "0o"],
}


def hidden_irreps(*, ns: int, nv: int, lmax: int) -> o3.Irreps:
    """Full hidden irreps: ``ns`` scalars and pseudo-scalars, ``nv`` copies of each l >= 1 irrep."""
    if lmax not in _HIDDEN_ORDER:
        raise ValueError(f"sh_lmax must be 1 or 2, got {lmax}")
    parts = []
    for name in _HIDDEN_ORDER[lmax]:
        ir = o3.Irrep(name)
        mul = ns if ir.l == 0 else nv
        if mul > 0:
            parts.append((mul, ir))
    return o3.Irreps(parts)


def reachable_irreps(target: o3.Irreps, inputs: list[o3.Irreps], sh: o3.Irreps) -> o3.Irreps:
    """The part of ``target`` that a tensor product of any of ``inputs`` with ``sh`` can produce.

    Output channels with no path would be identically zero; dropping them keeps layers small.
    """
    made = set()
    for irreps in inputs:
        for _, ir1 in irreps:
            for _, ir2 in sh:
                made.update(ir1 * ir2)
    return o3.Irreps([(mul, ir) for mul, ir in target if ir in made])


class IrrepsPad(nn.Module):
    """Carry features of ``in_irreps`` over to ``out_irreps``: irrep types present in both are copied,
    new output types are zero and input types the output lacks are dropped.

    Used for residual connections when a layer changes its irrep types. An irrep type present in both
    must not have more channels in the input than in the output.
    """

    def __init__(self, *, in_irreps: o3.Irreps, out_irreps: o3.Irreps):
        super().__init__()
        self.in_irreps, self.out_irreps = o3.Irreps(in_irreps), o3.Irreps(out_irreps)
        out_slices = {ir: (mul, sl) for (mul, ir), sl in zip(self.out_irreps, self.out_irreps.slices())}
        src, dst = [], []
        for (mul, ir), sl in zip(self.in_irreps, self.in_irreps.slices()):
            if ir not in out_slices:
                continue
            if out_slices[ir][0] < mul:
                raise ValueError(f"cannot carry {self.in_irreps} over to {self.out_irreps}")
            start = out_slices[ir][1].start
            src.extend(range(sl.start, sl.stop))
            dst.extend(range(start, start + mul * ir.dim))
        self.register_buffer("src", torch.tensor(src, dtype=torch.long), persistent=False)
        self.register_buffer("dst", torch.tensor(dst, dtype=torch.long), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        out = x.new_zeros(x.shape[0], self.out_irreps.dim)
        return out.index_copy(1, self.dst, x.index_select(1, self.src))


def scalar_part(x: Tensor, irreps: o3.Irreps, count: int) -> Tensor:
    """The first ``count`` channels of ``x``: the 0e scalars, which hidden irreps always list first."""
    first_mul, first_ir = irreps[0]
    if str(first_ir) != "0e" or first_mul < count:
        raise ValueError(f"{irreps} does not start with {count}x0e")
    return x[:, :count]


def invariant_part(x: Tensor, irreps: o3.Irreps) -> Tensor:
    """All l = 0 channels of ``x`` (scalars and pseudo-scalars): invariant under proper rotations."""
    cols = [x[:, sl] for (mul, ir), sl in zip(irreps, irreps.slices()) if ir.l == 0]
    return torch.cat(cols, dim=1)


class GaussianSmearing(nn.Module):
    """Gaussian radial basis: ``num_basis`` bumps evenly spaced on [start, stop] (Angstrom)."""

    def __init__(self, *, start: float = 0.0, stop: float, num_basis: int):
        super().__init__()
        offsets = torch.linspace(start, stop, num_basis)
        spacing = (stop - start) / max(num_basis - 1, 1)
        self.coeff = -0.5 / spacing**2
        self.register_buffer("offsets", offsets, persistent=False)

    def forward(self, dist: Tensor) -> Tensor:
        """[E] distances -> [E, num_basis]."""
        return torch.exp(self.coeff * (dist[:, None] - self.offsets.to(dist.dtype)) ** 2)


def sinusoidal_embedding(x: Tensor, *, dim: int, scale: float, max_period: float = 10000.0) -> Tensor:
    """Transformer-style sin/cos features of a scalar: [B] -> [B, dim] (dim even)."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=x.device, dtype=x.dtype) / half)
    args = scale * x[:, None] * freqs[None, :]
    return torch.cat([torch.sin(args), torch.cos(args)], dim=1)


class SigmaEmbedding(nn.Module):
    """Embeds the noise levels of the three pose components.

    Each component's log sigma gets ``dim`` sinusoidal features; they are concatenated, so the output has
    ``3 * dim`` features per complex. Log scale because sigmas span more than two decades.
    """

    components = ("tr", "rot", "tor")

    def __init__(self, *, dim: int, scale: float = 100.0):
        super().__init__()
        if dim % 2:
            raise ValueError(f"sigma embedding dim must be even, got {dim}")
        self.dim, self.scale = dim, scale

    @property
    def out_dim(self) -> int:
        return 3 * self.dim

    def forward(self, sigma: dict[str, Tensor]) -> Tensor:
        """``sigma`` = {"tr": [B], "rot": [B], "tor": [B]} -> [B, 3 * dim]."""
        feats = [
            sinusoidal_embedding(torch.log(sigma[c]), dim=self.dim, scale=self.scale) for c in self.components
        ]
        return torch.cat(feats, dim=1)


def mlp(in_dim: int, hidden: int, out_dim: int, *, dropout: float = 0.0, bias_out: bool = True) -> nn.Sequential:
    """Two-layer perceptron with ReLU."""
    return nn.Sequential(
        nn.Linear(in_dim, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, out_dim, bias=bias_out)
    )


class EquivariantLayerNorm(nn.Module):
    """Per-node normalisation that commutes with rotations.

    0e scalars: centred and scaled over their channels, with a learned affine map. Every other irrep
    type: divided by the root-mean-square norm of its channels and multiplied by a learned per-channel
    gain (no shift, which would break equivariance). Each node is normalised on its own, so results do not
    depend on what else is in the batch.
    """

    def __init__(self, irreps: o3.Irreps, *, eps: float = 1e-5):
        super().__init__()
        self.irreps, self.eps = o3.Irreps(irreps), eps
        self.weights = nn.ParameterList([nn.Parameter(torch.ones(mul)) for mul, _ in self.irreps])
        n_scalar = sum(mul for mul, ir in self.irreps if str(ir) == "0e")
        self.bias = nn.Parameter(torch.zeros(n_scalar))

    def forward(self, x: Tensor) -> Tensor:
        out = []
        for (mul, ir), sl, w in zip(self.irreps, self.irreps.slices(), self.weights):
            f = x[:, sl].reshape(-1, mul, ir.dim)
            if str(ir) == "0e":
                f = f - f.mean(dim=1, keepdim=True)
                f = f / torch.sqrt(f.pow(2).mean(dim=1, keepdim=True) + self.eps)
                f = f * w[None, :, None] + self.bias[None, :, None]
            else:
                rms = torch.sqrt(f.pow(2).sum(dim=2).mean(dim=1) / ir.dim + self.eps)
                f = f / rms[:, None, None] * w[None, :, None]
            out.append(f.reshape(-1, mul * ir.dim))
        return torch.cat(out, dim=1)


class TensorProductConv(nn.Module):
    """One tensor-product message-passing step from source nodes to target nodes.

    The message along edge (src, dst) is ``TP(x_src, Y(edge_vec); w(edge_feat))``: a fully connected
    tensor product of the source features with the spherical harmonics of the edge vector, with weights
    produced per edge by an MLP over invariant edge features (radial basis, sigma embedding, source and
    target scalars, assembled by the caller). Messages are averaged at each target. The caller adds the
    residual and normalises, so several convolutions into the same node type can be summed first.
    """

    def __init__(
        self,
        *,
        in_irreps: o3.Irreps,
        sh_irreps: o3.Irreps,
        out_irreps: o3.Irreps,
        edge_dim: int,
        hidden_dim: int,
        dropout: float = 0.0,
    ):
        super().__init__()
        self.in_irreps, self.out_irreps = o3.Irreps(in_irreps), o3.Irreps(out_irreps)
        self.tp = o3.FullyConnectedTensorProduct(
            self.in_irreps, sh_irreps, self.out_irreps, shared_weights=False, internal_weights=False
        )
        self.fc = mlp(edge_dim, hidden_dim, self.tp.weight_numel, dropout=dropout)

    def forward(self, x_src: Tensor, edge_index: Tensor, edge_sh: Tensor, edge_feat: Tensor, num_dst: int) -> Tensor:
        """Mean of incoming messages: [num_dst, out_irreps.dim] (zeros for targets without edges)."""
        src, dst = edge_index
        msg = self.tp(x_src[src], edge_sh, self.fc(edge_feat))
        return scatter(msg, dst, dim=0, dim_size=num_dst, reduce="mean")


def edge_geometry(
    pos_src: Tensor, pos_dst: Tensor, edge_index: Tensor, sh_irreps: o3.Irreps
) -> tuple[Tensor, Tensor]:
    """Edge lengths [E] and spherical harmonics [E, sh_dim] of ``pos_src[src] - pos_dst[dst]``."""
    vec = pos_src[edge_index[0]] - pos_dst[edge_index[1]]
    sh = o3.spherical_harmonics(sh_irreps, vec, normalize=True, normalization="component")
    return vec.norm(dim=1), sh
