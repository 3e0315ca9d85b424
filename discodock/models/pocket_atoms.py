"""Receptor heavy atoms as a third node type of the trunk (DiffDock-Pocket's all-atom pocket, our version).

Residue nodes give the pocket's shape at 3.8 A resolution; the atoms near the site (``data.pocket_atoms``)
give where each side chain's N, O and S sit. Each trunk layer adds five tensor-product convolutions:
atom -> ligand and atom -> residue messages (read by the ligand and residue updates), and ligand -> atom,
atom -> atom and residue -> atom messages that update the atoms themselves. Ligand-atom edges are rebuilt
from the current pose (within ``atom_cross_radius``, at most ``atom_cross_max_neighbors`` nearest atoms per
ligand atom); atom-atom and atom-residue edges come with the data. The last layer of a trunk whose receptor
output is unused keeps only the atom -> ligand convolution.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from e3nn import o3
from torch import Tensor, nn
from torch_geometric.data import HeteroData

from discodock.data import keys as K
from discodock.data.neighbors import radius_bipartite
from discodock.models.config import FeatureDims, TrunkConfig
from discodock.models.latents import node_batch
from discodock.models.layers import EquivariantLayerNorm, GaussianSmearing, IrrepsPad, TensorProductConv, edge_geometry, mlp


@dataclass
class AtomState:
    """The atom nodes of one forward pass: features (updated layer by layer), edges and their geometry."""

    h: Tensor
    pos: Tensor
    batch: Tensor
    la_pairs: Tensor  # [2, E] (ligand atom, receptor atom)
    al_sh: Tensor  # atom -> ligand direction harmonics
    la_sh: Tensor  # ligand -> atom
    cross_emb: Tensor
    aa_edges: Tensor
    aa_sh: Tensor
    aa_emb: Tensor
    ar_edges: Tensor  # [2, A] (atom, its residue)
    ar_sh: Tensor
    ra_sh: Tensor
    ar_emb: Tensor


def _conv(module: TensorProductConv, x_src, s_src, s_dst, edges, sh, emb, n_dst) -> Tensor:
    # As in the trunk: per-edge weights see the edge embedding and both endpoints' scalars.
    feat = torch.cat([emb, s_src[edges[0]], s_dst[edges[1]]], dim=1)
    return module(x_src, edges, sh, feat, n_dst)


class PocketAtoms(nn.Module):
    """The atom part of :class:`discodock.models.trunk.ComplexTrunk`.

    Args:
        cfg: the trunk's config (sizes; ``atom_*`` cutoffs in Angstrom).
        features: input widths (``receptor_atom``).
        cond_dim: width of the per-complex conditioning (sigma embedding), 0 for none.
        sh_irreps: the trunk's spherical harmonics.
        layer_irreps: per trunk layer, (input irreps of ligand and atom nodes, input irreps of residues,
            output irreps).
        update_last: False when the trunk's last layer skips its receptor updates (atoms then only send).
    """

    def __init__(
        self,
        *,
        cfg: TrunkConfig,
        features: FeatureDims,
        cond_dim: int,
        sh_irreps: o3.Irreps,
        layer_irreps: list[tuple[o3.Irreps, o3.Irreps, o3.Irreps]],
        update_last: bool,
    ):
        super().__init__()
        self.cfg, self.cond_dim, self.sh_irreps = cfg, cond_dim, sh_irreps
        ns, nr = cfg.ns, cfg.num_radial
        self.site_rbf = GaussianSmearing(stop=cfg.site_rbf_max, num_basis=nr) if cfg.site_features else None
        self.embed = mlp(features.receptor_atom + cond_dim + (nr if cfg.site_features else 0), ns, ns)
        self.near_rbf = GaussianSmearing(stop=cfg.atom_rbf_max, num_basis=nr)
        self.cross_rbf = GaussianSmearing(stop=cfg.atom_cross_radius, num_basis=nr)
        self.aa_edge_embed = mlp(nr + cond_dim, ns, ns)
        self.ar_edge_embed = mlp(nr + cond_dim, ns, ns)
        self.cross_edge_embed = mlp(nr + cond_dim, ns, ns)
        self.layers = nn.ModuleList()
        for i, (in_atom, in_rec, out) in enumerate(layer_irreps):
            conv = dict(sh_irreps=sh_irreps, out_irreps=out, edge_dim=3 * ns, hidden_dim=3 * ns, dropout=cfg.dropout)
            layer = nn.ModuleDict({"al": TensorProductConv(in_irreps=in_atom, **conv)})
            if update_last or i < len(layer_irreps) - 1:
                layer.update({
                    "ar": TensorProductConv(in_irreps=in_atom, **conv),
                    "la": TensorProductConv(in_irreps=in_atom, **conv),
                    "aa": TensorProductConv(in_irreps=in_atom, **conv),
                    "ra": TensorProductConv(in_irreps=in_rec, **conv),
                    "pad": IrrepsPad(in_irreps=in_atom, out_irreps=out),
                    "norm": EquivariantLayerNorm(out) if cfg.norm == "layer" else nn.Identity(),
                })
            self.layers.append(layer)

    def start(self, batch: HeteroData, *, lig_pos: Tensor, lig_batch: Tensor, rec_pos: Tensor,
              cond: Tensor | None, shift: Tensor | None) -> AtomState:
        """Initial atom features and every atom edge for the ligand at ``lig_pos``."""
        if K.RECEPTOR_ATOM not in batch.node_types:
            raise ValueError("this network reads receptor atom nodes: build the graphs with data.pocket_atoms")
        atoms = batch[K.RECEPTOR_ATOM]
        dtype = lig_pos.dtype
        pos = atoms[K.POS].to(dtype)
        atom_b = node_batch(batch, K.RECEPTOR_ATOM)

        def with_cond(parts: list[Tensor], index: Tensor) -> Tensor:
            return torch.cat(parts + ([cond[index]] if self.cond_dim else []), dim=1)

        parts = [atoms[K.X].to(dtype)]
        if self.site_rbf is not None:
            site = torch.as_tensor(batch[K.POCKET_CENTER], dtype=dtype, device=pos.device).reshape(-1, 3)
            parts.append(self.site_rbf((pos - site[atom_b]).norm(dim=1)))
        h = self.embed(with_cond(parts, atom_b))
        if shift is not None:
            h = h + shift[atom_b]
        cfg = self.cfg
        la = radius_bipartite(lig_pos, pos, cfg.atom_cross_radius, batch_x=lig_batch, batch_y=atom_b,
                              max_neighbours=cfg.atom_cross_max_neighbors)
        cross_len, al_sh = edge_geometry(pos, lig_pos, la.flip(0), self.sh_irreps)
        _, la_sh = edge_geometry(lig_pos, pos, la, self.sh_irreps)
        aa = batch[K.RECEPTOR_ATOM_EDGE][K.EDGE_INDEX]
        aa_len, aa_sh = edge_geometry(pos, pos, aa, self.sh_irreps)
        ar = batch[K.ATOM_RESIDUE_EDGE][K.EDGE_INDEX]
        ar_len, ar_sh = edge_geometry(pos, rec_pos, ar, self.sh_irreps)
        _, ra_sh = edge_geometry(rec_pos, pos, ar.flip(0), self.sh_irreps)
        return AtomState(
            h=h, pos=pos, batch=atom_b, la_pairs=la, al_sh=al_sh, la_sh=la_sh,
            cross_emb=self.cross_edge_embed(with_cond([self.cross_rbf(cross_len)], lig_batch[la[0]])),
            aa_edges=aa, aa_sh=aa_sh, aa_emb=self.aa_edge_embed(with_cond([self.near_rbf(aa_len)], atom_b[aa[1]])),
            ar_edges=ar, ar_sh=ar_sh, ra_sh=ra_sh,
            ar_emb=self.ar_edge_embed(with_cond([self.near_rbf(ar_len)], atom_b[ar[0]])),
        )

    def to_ligand(self, i: int, state: AtomState, h_lig: Tensor) -> Tensor:
        """Layer ``i``'s atom -> ligand messages [N, out]."""
        ns = self.cfg.ns
        return _conv(self.layers[i]["al"], state.h, state.h[:, :ns], h_lig[:, :ns], state.la_pairs.flip(0),
                     state.al_sh, state.cross_emb, h_lig.shape[0])

    def to_receptor(self, i: int, state: AtomState, h_rec: Tensor) -> Tensor:
        """Layer ``i``'s atom -> residue messages [R, out]."""
        ns = self.cfg.ns
        return _conv(self.layers[i]["ar"], state.h, state.h[:, :ns], h_rec[:, :ns], state.ar_edges,
                     state.ar_sh, state.ar_emb, h_rec.shape[0])

    def update(self, i: int, state: AtomState, h_lig: Tensor, h_rec: Tensor) -> None:
        """Layer ``i``'s atom update from the ligand, the atoms and the residues (inputs of this layer)."""
        layer, ns, n = self.layers[i], self.cfg.ns, state.h.shape[0]
        s_atom = state.h[:, :ns]
        up = _conv(layer["aa"], state.h, s_atom, s_atom, state.aa_edges, state.aa_sh, state.aa_emb, n)
        up = up + _conv(layer["la"], h_lig, h_lig[:, :ns], s_atom, state.la_pairs, state.la_sh, state.cross_emb, n)
        up = up + _conv(layer["ra"], h_rec, h_rec[:, :ns], s_atom, state.ar_edges.flip(0), state.ra_sh,
                        state.ar_emb, n)
        state.h = layer["norm"](layer["pad"](state.h) + up)
