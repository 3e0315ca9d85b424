"""The equivariant graph network over a protein-ligand complex, shared by the score net, the latent
encoder and the prior.

Nodes are ligand heavy atoms and receptor residues (at the C-alpha). Edges, rebuilt from the current
positions on every call: ligand bonds plus the ligand radius graph, the receptor radius graph that comes
with the data, and ligand-receptor cross edges within a per-complex cutoff. Each layer runs four
tensor-product convolutions (ligand->ligand, receptor->ligand, ligand->receptor, receptor->receptor), adds
the messages arriving at each node type to its (padded) features and normalises. With ``pocket_atoms`` the
receptor heavy atoms near the site are a third node type (:mod:`discodock.models.pocket_atoms`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from disco_core.latents import segment_mean
from e3nn import o3
from torch import Tensor, nn
from torch_geometric.data import HeteroData

from discodock.data import keys as K
from discodock.data.neighbors import radius_bipartite, radius_graph
from discodock.models.config import FeatureDims, TrunkConfig
from discodock.models.latents import node_batch, num_graphs
from discodock.models.pocket_atoms import PocketAtoms
from discodock.models.layers import (
    EquivariantLayerNorm,
    GaussianSmearing,
    IrrepsPad,
    TensorProductConv,
    edge_geometry,
    hidden_irreps,
    invariant_part,
    mlp,
    reachable_irreps,
)


@dataclass
class Graph:
    """Edges of one forward pass. Edge index rows are (source, target); cross pairs are (ligand, residue)."""

    lig_edges: Tensor
    lig_edge_attr: Tensor
    rec_edges: Tensor
    cross_pairs: Tensor


@dataclass
class TrunkOutput:
    """Node features after the last layer, their irreps, and what the output heads need."""

    lig: Tensor
    rec: Tensor | None  # None when the trunk was built with receptor_output=False
    irreps: o3.Irreps
    lig_batch: Tensor
    rec_batch: Tensor
    lig_pos: Tensor
    num_graphs: int

    def invariants(self) -> tuple[Tensor, Tensor]:
        """The l = 0 channels of ligand and receptor nodes: [N, num_invariant], [R, num_invariant]."""
        return invariant_part(self.lig, self.irreps), invariant_part(self.rec, self.irreps)

    def pooled(self) -> Tensor:
        """Per complex, the mean invariants of its ligand atoms and of its residues: [B, 2 * num_invariant]."""
        lig, rec = self.invariants()
        return torch.cat(
            [segment_mean(lig, self.lig_batch, self.num_graphs), segment_mean(rec, self.rec_batch, self.num_graphs)],
            dim=1,
        )


def site_centers(batch: HeteroData, *, dtype: torch.dtype, device: torch.device) -> Tensor:
    """The binding-site centre of every complex, POCKET_CENTER: [B, 3] Angstrom."""
    site = torch.as_tensor(batch[K.POCKET_CENTER], dtype=dtype, device=device)
    return site.reshape(-1, 3)


def ligand_edges(
    pos: Tensor, batch: Tensor, bonds: Tensor, bond_attr: Tensor, *, radius: float, max_neighbors: int | None
) -> tuple[Tensor, Tensor]:
    """Bonds plus the radius graph: edge index [2, E] (source, target) and bond features [E, F].

    Radius edges that are not bonds get all-zero bond features.
    """
    near = radius_graph(pos, radius, batch=batch, max_neighbours=max_neighbors)
    n = pos.shape[0]
    is_bond = torch.isin(near[0] * n + near[1], bonds[0] * n + bonds[1])
    near = near[:, ~is_bond]
    edges = torch.cat([bonds, near], dim=1)
    attr = torch.cat([bond_attr, bond_attr.new_zeros(near.shape[1], bond_attr.shape[1])], dim=0)
    return edges, attr


class ComplexTrunk(nn.Module):
    """Interleaved ligand / receptor / cross tensor-product convolutions (see module doc).

    Args:
        cfg: sizes and cutoffs.
        features: widths of the input features.
        label_dim: extra per-node input features (pointer-latent labels), 0 for none.
        cond_dim: per-complex conditioning vector (the sigma embedding) given to every node and edge, 0
            for none.
        receptor_output: False when only ligand features are read afterwards: the last layer then skips
            the updates of the receptor (their result would be unused).
        invariant_output: True when only rotation-invariant features are read afterwards: the last layer
            then outputs only l = 0 channels.
    """

    def __init__(
        self,
        cfg: TrunkConfig,
        *,
        features: FeatureDims,
        label_dim: int = 0,
        cond_dim: int = 0,
        receptor_output: bool = True,
        invariant_output: bool = False,
    ):
        super().__init__()
        self.cfg, self.features = cfg, features
        self.receptor_output = receptor_output
        self.label_dim, self.cond_dim = label_dim, cond_dim
        ns, nv, nr = cfg.ns, cfg.nv, cfg.num_radial
        self.sh_irreps = o3.Irreps.spherical_harmonics(cfg.sh_lmax)
        self.use_backbone = cfg.backbone_vectors and nv > 0
        site_dim = nr if cfg.site_features else 0
        self.site_rbf = GaussianSmearing(stop=cfg.site_rbf_max, num_basis=nr) if cfg.site_features else None

        self.lig_embed = mlp(features.ligand + label_dim + cond_dim + site_dim, ns, ns)
        self.rec_embed = mlp(features.receptor + features.receptor_emb + label_dim + cond_dim + site_dim, ns, ns)
        # N - CA and C - CA (+ side-chain centroid - CA, + site - CA) mixed into nv vectors: an equivariant
        # linear map (no bias).
        self.num_input_vectors = 2 + int(cfg.sidechain_vectors) + int(cfg.site_features)
        self.backbone = o3.Linear(f"{self.num_input_vectors}x1o", f"{nv}x1o") if self.use_backbone else None

        self.lig_rbf = GaussianSmearing(stop=cfg.ligand_radius, num_basis=nr)
        self.rec_rbf = GaussianSmearing(stop=cfg.receptor_radius, num_basis=nr)
        self.cross_rbf = GaussianSmearing(stop=cfg.cross_rbf_max, num_basis=nr)
        self.lig_edge_embed = mlp(features.bond + nr + cond_dim, ns, ns)
        self.rec_edge_embed = mlp(nr + cond_dim, ns, ns)
        self.cross_edge_embed = mlp(nr + cond_dim, ns, ns)

        hidden = hidden_irreps(ns=ns, nv=nv, lmax=cfg.sh_lmax)
        in_lig = o3.Irreps(f"{ns}x0e")
        in_rec = o3.Irreps(f"{ns}x0e + {nv}x1o") if self.use_backbone else in_lig
        self.layers = nn.ModuleList()
        layer_irreps = []
        for i in range(cfg.num_layers):
            last = i == cfg.num_layers - 1
            target = o3.Irreps([(mul, ir) for mul, ir in hidden if ir.l == 0]) if last and invariant_output else hidden
            out = reachable_irreps(target, [in_lig, in_rec], self.sh_irreps)
            conv = dict(
                sh_irreps=self.sh_irreps, out_irreps=out, edge_dim=3 * ns, hidden_dim=3 * ns, dropout=cfg.dropout
            )
            norm = EquivariantLayerNorm if cfg.norm == "layer" else (lambda _irreps: nn.Identity())
            layer = nn.ModuleDict(
                {
                    "ll": TensorProductConv(in_irreps=in_lig, **conv),
                    "rl": TensorProductConv(in_irreps=in_rec, **conv),
                    "pad_lig": IrrepsPad(in_irreps=in_lig, out_irreps=out),
                    "norm_lig": norm(out),
                }
            )
            if receptor_output or not last:
                layer.update(
                    {
                        "lr": TensorProductConv(in_irreps=in_lig, **conv),
                        "rr": TensorProductConv(in_irreps=in_rec, **conv),
                        "pad_rec": IrrepsPad(in_irreps=in_rec, out_irreps=out),
                        "norm_rec": norm(out),
                    }
                )
            self.layers.append(layer)
            layer_irreps.append((in_lig, in_rec, out))
            in_lig = in_rec = out
        self.out_irreps = in_lig
        # Receptor heavy atoms as nodes (all-atom pocket); their irreps follow the ligand's, which start alike.
        self.atoms = PocketAtoms(
            cfg=cfg, features=features, cond_dim=cond_dim, sh_irreps=self.sh_irreps, layer_irreps=layer_irreps,
            update_last=receptor_output,
        ) if cfg.pocket_atoms else None

    @property
    def num_invariant(self) -> int:
        """Number of rotation-invariant (l = 0) output channels per node."""
        return sum(mul for mul, ir in self.out_irreps if ir.l == 0)

    def build_graph(self, batch: HeteroData, lig_pos: Tensor, cross_cutoff: Tensor) -> Graph:
        """Edges from the current ligand positions; ``cross_cutoff`` [B] in Angstrom."""
        cfg = self.cfg
        rec = batch[K.RECEPTOR]
        lig_b, rec_b = node_batch(batch, K.LIGAND), node_batch(batch, K.RECEPTOR)
        bond_store = batch[K.LIGAND_BOND]
        bonds = bond_store[K.EDGE_INDEX] if K.EDGE_INDEX in bond_store else lig_b.new_zeros(2, 0)
        bond_attr = (
            bond_store[K.EDGE_ATTR]
            if K.EDGE_ATTR in bond_store
            else lig_pos.new_zeros(bonds.shape[1], self.features.bond)
        )
        lig_edges, lig_attr = ligand_edges(
            lig_pos, lig_b, bonds, bond_attr.to(lig_pos.dtype),
            radius=cfg.ligand_radius, max_neighbors=cfg.ligand_max_neighbors,
        )
        rec_store = batch[K.RECEPTOR_EDGE]
        rec_edges = rec_store[K.EDGE_INDEX] if K.EDGE_INDEX in rec_store else lig_b.new_zeros(2, 0)
        cross = radius_bipartite(
            lig_pos, rec[K.POS].to(lig_pos.dtype), cross_cutoff.detach(),
            batch_x=lig_b, batch_y=rec_b, max_neighbours=cfg.cross_max_neighbors,
        )
        return Graph(lig_edges=lig_edges, lig_edge_attr=lig_attr, rec_edges=rec_edges, cross_pairs=cross)

    def forward(
        self,
        batch: HeteroData,
        *,
        lig_pos: Tensor,
        cross_cutoff: Tensor,
        cond: Tensor | None = None,
        lig_labels: Tensor | None = None,
        rec_labels: Tensor | None = None,
        shift: Tensor | None = None,
    ) -> TrunkOutput:
        """Run the network.

        Args:
            batch: the complex graph(s) (fields of :mod:`discodock.data.keys`).
            lig_pos: [N, 3] ligand positions to use (Angstrom).
            cross_cutoff: [B] cross-edge cutoff of each complex (Angstrom).
            cond: [B, cond_dim] per-complex conditioning (sigma embedding), if ``cond_dim`` > 0.
            lig_labels, rec_labels: [N, label_dim], [R, label_dim] extra node inputs, if ``label_dim`` > 0.
            shift: [B, ns] added to every node's initial scalars (latent or null embeddings), optional.
        """
        lig, rec = batch[K.LIGAND], batch[K.RECEPTOR]
        lig_b, rec_b = node_batch(batch, K.LIGAND), node_batch(batch, K.RECEPTOR)
        rec_pos = rec[K.POS].to(lig_pos.dtype)
        n_lig, n_rec = lig_pos.shape[0], rec_pos.shape[0]
        dtype = lig_pos.dtype
        g = self.build_graph(batch, lig_pos, cross_cutoff)

        def with_cond(parts: list[Tensor], index: Tensor) -> Tensor:
            if self.cond_dim:
                parts = parts + [cond[index]]
            return torch.cat(parts, dim=1)

        lig_in = [lig[K.X].to(dtype)] + ([lig_labels] if self.label_dim else [])
        rec_in = [rec[K.X].to(dtype)]
        if self.features.receptor_emb:
            rec_in.append(rec[K.EMB].to(dtype))
        rec_in += [rec_labels] if self.label_dim else []
        if self.site_rbf is not None:
            site = site_centers(batch, dtype=dtype, device=lig_pos.device)
            lig_in.append(self.site_rbf((lig_pos - site[lig_b]).norm(dim=1)))
            rec_in.append(self.site_rbf((rec_pos - site[rec_b]).norm(dim=1)))
        h_lig = self.lig_embed(with_cond(lig_in, lig_b))
        h_rec = self.rec_embed(with_cond(rec_in, rec_b))
        if shift is not None:
            h_lig = h_lig + shift[lig_b]
            h_rec = h_rec + shift[rec_b]
        if self.backbone is not None:
            vecs = [rec[K.N_POS].to(dtype) - rec_pos, rec[K.C_POS].to(dtype) - rec_pos]
            if self.cfg.sidechain_vectors:
                vecs.append(rec[K.SC_POS].to(dtype) - rec_pos)
            if self.site_rbf is not None:
                # Scaled so a residue 10 A away gives a vector about as long as the backbone ones.
                vecs.append((site[rec_b] - rec_pos) / 10.0)
            vecs = torch.cat(vecs, dim=1)
            h_rec = torch.cat([h_rec, self.backbone(vecs)], dim=1)

        # Edge geometry and invariant edge embeddings, computed once for all layers.
        ll_len, ll_sh = edge_geometry(lig_pos, lig_pos, g.lig_edges, self.sh_irreps)
        ll_emb = self.lig_edge_embed(
            with_cond([g.lig_edge_attr, self.lig_rbf(ll_len)], lig_b[g.lig_edges[1]])
        )
        rr_len, rr_sh = edge_geometry(rec_pos, rec_pos, g.rec_edges, self.sh_irreps)
        rr_emb = self.rec_edge_embed(with_cond([self.rec_rbf(rr_len)], rec_b[g.rec_edges[1]]))
        rl_edges = g.cross_pairs.flip(0)  # residue -> ligand atom
        lr_edges = g.cross_pairs  # ligand atom -> residue
        rl_len, rl_sh = edge_geometry(rec_pos, lig_pos, rl_edges, self.sh_irreps)
        cross_emb = self.cross_edge_embed(with_cond([self.cross_rbf(rl_len)], lig_b[g.cross_pairs[0]]))
        lr_sh = self._flip_sh(rl_sh)

        ns = self.cfg.ns
        atoms = None
        if self.atoms is not None:
            atoms = self.atoms.start(batch, lig_pos=lig_pos, lig_batch=lig_b, rec_pos=rec_pos, cond=cond, shift=shift)

        def conv(module, x_src, s_src, s_dst, edges, sh, emb, n_dst):
            # The per-edge weights see the edge embedding and both endpoints' scalars.
            feat = torch.cat([emb, s_src[edges[0]], s_dst[edges[1]]], dim=1)
            return module(x_src, edges, sh, feat, n_dst)

        for i, layer in enumerate(self.layers):
            s_lig, s_rec = h_lig[:, :ns], h_rec[:, :ns]
            up_lig = conv(layer["ll"], h_lig, s_lig, s_lig, g.lig_edges, ll_sh, ll_emb, n_lig)
            up_lig = up_lig + conv(layer["rl"], h_rec, s_rec, s_lig, rl_edges, rl_sh, cross_emb, n_lig)
            if atoms is not None:
                up_lig = up_lig + self.atoms.to_ligand(i, atoms, h_lig)
            if "rr" in layer:
                up_rec = conv(layer["rr"], h_rec, s_rec, s_rec, g.rec_edges, rr_sh, rr_emb, n_rec)
                up_rec = up_rec + conv(layer["lr"], h_lig, s_lig, s_rec, lr_edges, lr_sh, cross_emb, n_rec)
                if atoms is not None:  # messages from this layer's atoms, then the atoms' own update
                    up_rec = up_rec + self.atoms.to_receptor(i, atoms, h_rec)
                    self.atoms.update(i, atoms, h_lig, h_rec)
                h_rec = layer["norm_rec"](layer["pad_rec"](h_rec) + up_rec)
            h_lig = layer["norm_lig"](layer["pad_lig"](h_lig) + up_lig)
        return TrunkOutput(
            lig=h_lig,
            rec=h_rec if self.receptor_output else None,
            irreps=self.out_irreps,
            lig_batch=lig_b,
            rec_batch=rec_b,
            lig_pos=lig_pos,
            num_graphs=num_graphs(batch),
        )

    def _flip_sh(self, sh: Tensor) -> Tensor:
        """Spherical harmonics of the reversed vectors: Y_l(-r) = (-1)^l Y_l(r)."""
        signs = torch.cat(
            [torch.full((ir.dim,), (-1.0) ** ir.l, dtype=sh.dtype, device=sh.device) for _, ir in self.sh_irreps]
        )
        return sh * signs
