"""The SE(3)-equivariant score network of DiffDock, conditioned on DisCo-Diff's discrete latents.

Given a batch of complexes with the ligand at its current (noised) pose and the noise levels, it predicts
the score of each pose component:

* translation [B, 3]: a vector (1o) from a tensor-product convolution from every ligand atom to the
  ligand centre, averaged per complex; divided by sigma_tr so its size follows the true score's 1/sigma;
* rotation [B, 3]: a pseudo-vector (1e) from the same convolution (rotation about the ligand centroid),
  times the typical per-axis size of the IGSO(3) score, sqrt(E|s|^2 / 3);
* torsion [T]: one invariant scalar per rotatable bond from a convolution centred on the bond, whose
  edge attributes combine each neighbour's direction with the bond axis as an l = 2 (sign-free) harmonic,
  times the typical size of the wrapped-normal score, sqrt(E s^2).

Directions come from the equivariant features; magnitudes of tr and rot are reset by a small MLP of
(norm, sigma embedding), which lets the net learn their scale per noise level.
"""

from __future__ import annotations

from typing import Callable

import torch
from disco_core.latents import segment_mean, segment_sum
from e3nn import o3
from torch import Tensor, nn
from torch_geometric.data import HeteroData

from discodock.data import keys as K
from discodock.data.neighbors import radius_bipartite
from discodock.geometry.torsion import torsion_angles, torsion_neighbors
from discodock.models.config import ModelConfig
from discodock.models.latents import LatentConditioning, LatentDict, num_graphs
from discodock.models.layers import (
    GaussianSmearing,
    SigmaEmbedding,
    TensorProductConv,
    invariant_part,
    mlp,
)
from discodock.models.trunk import ComplexTrunk, TrunkOutput, site_centers

ScoreNormFn = Callable[[Tensor], Tensor]


def igso3_score_norm(sigma: Tensor) -> Tensor:
    """E ||score||^2 of IGSO(3) at ``sigma`` (from :mod:`discodock.geometry.so3`)."""
    from discodock.geometry import so3

    return so3.score_norm(sigma)


def torus_score_norm(sigma: Tensor) -> Tensor:
    """E score^2 of the wrapped normal on the circle at ``sigma`` (from :mod:`discodock.geometry.torus`)."""
    from discodock.geometry import torus

    return torus.score_norm(sigma)


class ScoreNet(nn.Module):
    """Predicts translation, rotation and torsion scores for a batch of complexes.

    Args:
        cfg: model config; uses ``cfg.score`` (sizes, cutoffs), ``cfg.latent`` and ``cfg.features``.
        rot_score_norm: sigma [B] -> E ||s_rot||^2 of IGSO(3) (default :func:`igso3_score_norm`).
        tor_score_norm: sigma [T] -> E s_tor^2 of the wrapped normal (default :func:`torus_score_norm`).
    """

    def __init__(
        self,
        cfg: ModelConfig,
        *,
        rot_score_norm: ScoreNormFn = igso3_score_norm,
        tor_score_norm: ScoreNormFn = torus_score_norm,
    ):
        super().__init__()
        self.cfg = cfg
        sc = cfg.score
        ns = sc.ns
        self.rot_score_norm, self.tor_score_norm = rot_score_norm, tor_score_norm
        self.sigma_embed = SigmaEmbedding(dim=sc.sigma_embed_dim)
        cond_dim = self.sigma_embed.out_dim
        self.latents = LatentConditioning(cfg.latent, dim=ns)
        self.trunk = ComplexTrunk(
            sc, features=cfg.features, label_dim=self.latents.label_dim, cond_dim=cond_dim, receptor_output=False
        )
        irreps = self.trunk.out_irreps
        sh = self.trunk.sh_irreps

        # Translation / rotation head: atoms -> ligand centre.
        self.center_rbf = GaussianSmearing(stop=sc.center_rbf_max, num_basis=sc.num_radial)
        self.center_edge_embed = mlp(sc.num_radial + cond_dim, ns, ns)
        self.center_conv = TensorProductConv(
            in_irreps=irreps, sh_irreps=sh, out_irreps=o3.Irreps("1x1o + 1x1e"),
            edge_dim=2 * ns, hidden_dim=2 * ns, dropout=sc.dropout,
        )
        self.tr_scale = mlp(1 + cond_dim, ns, 1)
        self.rot_scale = mlp(1 + cond_dim, ns, 1)
        # Site-aware models add a pull toward the site: a learned gain (of the distance and sigma) times
        # the vector from the ligand centre to the site, so "move toward the site" needs no detour
        # through the trunk's features.
        self.site_pull = mlp(sc.num_radial + cond_dim, ns, 1) if sc.site_features else None
        # Contact latents (a ligand atom, a residue) say where one atom sits; these gains turn that into a
        # move and a turn directly. The last layer starts at zero, so a warm start keeps the parent's scores.
        self.contact_pull = None
        if sc.contact_pull:
            self.contact_rbf = GaussianSmearing(stop=sc.site_rbf_max, num_basis=sc.num_radial)
            self.contact_pull = mlp(2 * sc.num_radial + cond_dim + ns, ns, 2)
            nn.init.zeros_(self.contact_pull[-1].weight)
            nn.init.zeros_(self.contact_pull[-1].bias)

        # Torsion head: neighbours -> rotatable-bond centre. The bond axis enters as Y_2, blind to its sign.
        self.tor_rbf = GaussianSmearing(stop=sc.tor_radius, num_basis=sc.num_radial)
        self.tor_edge_embed = mlp(sc.num_radial + cond_dim, ns, ns)
        tor_sh = o3.Irreps.spherical_harmonics(sc.tor_edge_lmax)
        # Only edge irreps that meet a node irrep of the same type can yield the head's scalars; l = 1 keeps the
        # unfiltered product of the checkpoints made with it.
        keep = None if sc.tor_edge_lmax == 1 else sorted({ir for _, ir in irreps})
        self.tor_sh_irreps = tor_sh
        self.tor_edge_tp = o3.FullTensorProduct(tor_sh, o3.Irreps("2e"), filter_ir_out=keep)
        self.tor_conv = TensorProductConv(
            in_irreps=irreps, sh_irreps=self.tor_edge_tp.irreps_out, out_irreps=o3.Irreps(f"{ns}x0e + {ns}x0o"),
            edge_dim=3 * ns, hidden_dim=3 * ns, dropout=sc.dropout,
        )
        self.tor_out = nn.Sequential(
            nn.Linear(2 * ns, ns, bias=False), nn.Tanh(), nn.Linear(ns, 1 + 2 * sc.tor_fourier, bias=False)
        )

    def forward(
        self, batch: HeteroData, *, sigma: dict[str, Tensor], latents: LatentDict | None = None
    ) -> dict[str, Tensor]:
        """Scores at the ligand's current pose ``batch[LIGAND].pos``.

        Args:
            batch: complex graph(s), ligand at its noised pose.
            sigma: {"tr": [B] Angstrom, "rot": [B] rad, "tor": [B] rad} noise levels.
            latents: see :mod:`discodock.models.latents`; None = unconditional (null embedding).

        Returns:
            {"tr": [B, 3], "rot": [B, 3], "tor": [T]} in the units of the scores (1/A, 1/rad, 1/rad).
        """
        lig_pos = batch[K.LIGAND][K.POS]
        dtype = lig_pos.dtype
        b = num_graphs(batch)
        sigma = {
            c: torch.as_tensor(sigma[c], dtype=dtype, device=lig_pos.device).reshape(-1).expand(b)
            for c in ("tr", "rot", "tor")
        }
        cond = self.sigma_embed(sigma)
        lig_labels, rec_labels, shift = self.latents(batch, latents, dtype=dtype)
        sc = self.cfg.score
        cutoff = sc.cross_base + sc.cross_per_sigma * sigma["tr"]
        out = self.trunk(
            batch, lig_pos=lig_pos, cross_cutoff=cutoff, cond=cond,
            lig_labels=lig_labels, rec_labels=rec_labels, shift=shift,
        )
        # One ligand centre for the three heads that need it.
        centre = segment_mean(out.lig_pos, out.lig_batch, b)
        tr, rot = self._center_head(out, cond, centre)
        if self.site_pull is not None:
            tr = tr + self._site_pull(batch, out, cond, sigma["tr"], centre)
        if self.contact_pull is not None and lig_labels is not None:
            d_tr, d_rot = self._contact_pull(batch, out, cond, lig_labels, rec_labels, centre)
            tr, rot = tr + d_tr / sigma["tr"][:, None], rot + d_rot
        tr = tr / sigma["tr"][:, None]
        rot = rot * torch.sqrt(self.rot_score_norm(sigma["rot"]) / 3.0).to(dtype)[:, None]
        tor = self._torsion_head(batch, out, cond, sigma["tor"])
        return {"tr": tr, "rot": rot, "tor": tor}

    def _center_head(self, out: TrunkOutput, cond: Tensor, centre: Tensor) -> tuple[Tensor, Tensor]:
        b = out.num_graphs
        ns = self.cfg.score.ns
        lig_b = out.lig_batch
        edges = torch.stack([torch.arange(lig_b.numel(), device=lig_b.device), lig_b])
        vec = out.lig_pos - centre[lig_b]
        sh = o3.spherical_harmonics(self.trunk.sh_irreps, vec, normalize=True, normalization="component")
        emb = self.center_edge_embed(torch.cat([self.center_rbf(vec.norm(dim=1)), cond[lig_b]], dim=1))
        feat = torch.cat([emb, out.lig[:, :ns]], dim=1)
        v = self.center_conv(out.lig, edges, sh, feat, b)
        return self._rescale(v[:, :3], self.tr_scale, cond), self._rescale(v[:, 3:6], self.rot_scale, cond)

    def _site_pull(self, batch: HeteroData, out: TrunkOutput, cond: Tensor, sigma_tr: Tensor,
                   centre: Tensor) -> Tensor:
        """[B, 3]: gain(|d|, sigma) * d / sigma_tr, d = site - ligand centre (the score's 1/sigma is applied by
        the caller, so this term alone can express the Gaussian target d / sigma^2)."""
        dtype = out.lig_pos.dtype
        d = site_centers(batch, dtype=dtype, device=out.lig_pos.device) - centre
        gain = self.site_pull(torch.cat([self.trunk.site_rbf(d.norm(dim=1)), cond], dim=1))
        return gain * d / sigma_tr[:, None]

    def _contact_pull(self, batch: HeteroData, out: TrunkOutput, cond: Tensor, lig_labels: Tensor,
                      rec_labels: Tensor, centre: Tensor) -> tuple[Tensor, Tensor]:
        """([B, 3], [B, 3]): gain_tr * d and gain_rot * (r x d) / max(|r| |d|, 1 A^2), with d the vector from the
        picked ligand atom to the picked residue's side-chain centroid and r the atom's offset from the ligand
        centre. Labels are one-hots (straight-through, so the encoder learns from this too); a dropped example
        has zero labels and so gets nothing."""
        b, ns = out.num_graphs, self.cfg.score.ns
        lig_b, rec_b = out.lig_batch, out.rec_batch
        pick_lig, pick_rec = lig_labels[:, :1], rec_labels[:, 1:2]
        rec = batch[K.RECEPTOR]
        rec_pos = (rec[K.SC_POS] if K.SC_POS in rec else rec[K.POS]).to(out.lig_pos.dtype)
        atom = segment_sum(pick_lig * out.lig_pos, lig_b, b)
        residue = segment_sum(pick_rec * rec_pos, rec_b, b)
        picked = segment_sum(pick_lig[:, 0], lig_b, b) * segment_sum(pick_rec[:, 0], rec_b, b)
        d = (residue - atom) * picked[:, None]
        r = (atom - centre) * picked[:, None]
        scalars = segment_sum(pick_lig * out.lig[:, :ns], lig_b, b)
        gain = self.contact_pull(torch.cat([self.contact_rbf(d.norm(dim=1)), self.center_rbf(r.norm(dim=1)), cond,
                                            scalars], dim=1))
        torque = torch.cross(r, d, dim=1) / (r.norm(dim=1) * d.norm(dim=1)).clamp_min(1.0)[:, None]
        return gain[:, :1] * d, gain[:, 1:] * torque

    @staticmethod
    def _rescale(v: Tensor, scale: nn.Module, cond: Tensor) -> Tensor:
        norm = v.norm(dim=1, keepdim=True)
        return v / norm.clamp_min(1e-6) * scale(torch.cat([norm, cond], dim=1))

    def _torsion_head(self, batch: HeteroData, out: TrunkOutput, cond: Tensor, sigma_tor: Tensor) -> Tensor:
        lig = batch[K.LIGAND]
        bonds = lig[K.TOR_BONDS] if K.TOR_BONDS in lig else out.lig_batch.new_zeros(0, 2)
        bonds = bonds.reshape(-1, 2)
        n_bonds = bonds.shape[0]
        if n_bonds == 0:
            return out.lig_pos.new_zeros(0)
        sc = self.cfg.score
        ns = sc.ns
        pos, u, v = out.lig_pos, bonds[:, 0], bonds[:, 1]
        bond_b = out.lig_batch[u]
        centre = 0.5 * (pos[u] + pos[v])
        axis_sh = o3.spherical_harmonics("2e", pos[v] - pos[u], normalize=True, normalization="component")
        pairs = radius_bipartite(centre, pos, sc.tor_radius, batch_x=bond_b, batch_y=out.lig_batch)
        bond_idx, atom_idx = pairs
        vec = pos[atom_idx] - centre[bond_idx]
        sh = o3.spherical_harmonics(self.tor_sh_irreps, vec, normalize=True, normalization="component")
        edge_sh = self.tor_edge_tp(sh, axis_sh[bond_idx])
        emb = self.tor_edge_embed(torch.cat([self.tor_rbf(vec.norm(dim=1)), cond[bond_b[bond_idx]]], dim=1))
        # The bond's own scalars, symmetric in (u, v): a twist is the same move from either end.
        bond_s = out.lig[u, :ns] + out.lig[v, :ns]
        feat = torch.cat([emb, out.lig[atom_idx, :ns], bond_s[bond_idx]], dim=1)
        edges = torch.stack([atom_idx, bond_idx])
        h = self.tor_conv(out.lig, edges, edge_sh, feat, n_bonds)
        coef = self.tor_out(invariant_part(h, self.tor_conv.out_irreps))
        tor = coef[:, 0]
        if sc.tor_fourier:
            k = torch.arange(1, sc.tor_fourier + 1, dtype=pos.dtype, device=pos.device)
            phi = torsion_angles(pos, bonds, torsion_neighbors(bonds, batch[K.LIGAND_BOND][K.EDGE_INDEX]))
            kphi = phi[:, None] * k
            tor = tor + (coef[:, 1::2] * torch.cos(kphi) + coef[:, 2::2] * torch.sin(kphi)).sum(1)
        return tor * torch.sqrt(self.tor_score_norm(sigma_tor[bond_b])).to(tor.dtype)
