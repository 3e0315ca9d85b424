"""Torsion (dihedral) geometry: twist rotatable bonds, measure dihedral angles.

A rotatable bond is a pair of atom indices ``(u, v)`` with a boolean mask over atoms marking the side that
moves (the ``v`` side, ``v`` included; see ``discodock.data.keys``). Twisting by ``delta`` rotates the
masked atoms about the axis ``u -> v`` by ``delta`` radians, right-handed. Bond lengths, bond angles and the
shapes of rigid fragments never change; only the dihedral angles across twisted bonds do.
"""

from __future__ import annotations

import torch

from discodock.geometry.rigid import axis_angle_to_matrix


def _rounds(tor_batch: torch.Tensor | None, num_bonds: int, device: torch.device) -> torch.Tensor:
    """Round of each bond: bonds of different molecules twist in the same round (they touch disjoint atoms),
    bonds of one molecule one after the other, in their given order."""
    if tor_batch is None:
        return torch.arange(num_bonds, device=device)
    tor_batch = tor_batch.to(device=device, dtype=torch.long)
    onehot = torch.nn.functional.one_hot(tor_batch, int(tor_batch.max()) + 1)
    return onehot.cumsum(0).gather(1, tor_batch[:, None]).squeeze(1) - 1


def apply_torsion_updates(
    pos: torch.Tensor,
    tor_bonds: torch.Tensor,
    tor_mask: torch.Tensor,
    delta: torch.Tensor,
    *,
    tor_batch: torch.Tensor | None = None,
) -> torch.Tensor:
    """Twist rotatable bonds by angles ``delta`` (radians), sequentially, batched over samples.

    Args:
        pos: ``[N, 3]`` or ``[S, N, 3]`` atom coordinates (Angstrom); ``S`` independent samples.
        tor_bonds: ``[T, 2]`` long atom indices ``(u, v)``.
        tor_mask: ``[T, N]`` bool, True for the atoms that move when bond ``t`` twists (the ``v`` side).
        delta: ``[T]`` or ``[S, T]`` twist angles, right-handed about ``u -> v``.
        tor_batch: optional ``[T]`` molecule index of each bond, for a batch of several molecules with a
            block-diagonal ``tor_mask``. Bonds of different molecules are then twisted together (one round per
            bond of the largest molecule instead of one per bond); the result is the same.

    Returns:
        New coordinates, ``[S, N, 3]`` if ``pos`` or ``delta`` has a sample dimension, else ``[N, 3]``.
        Each bond's axis is taken from the coordinates after the bonds before it have twisted, so every
        dihedral across bond ``t`` changes by exactly ``delta[t]``. Differentiable in ``pos`` and ``delta``.
    """
    squeeze = pos.dim() == 2 and delta.dim() == 1
    if pos.dim() == 2:
        pos = pos[None]
    if delta.dim() == 1:
        delta = delta[None]
    S = max(pos.shape[0], delta.shape[0])
    pos = pos.expand(S, *pos.shape[1:])
    delta = delta.to(pos.dtype).expand(S, delta.shape[-1])
    T, N = tor_mask.shape[0], pos.shape[1]
    if tor_bonds.shape != (T, 2) or tor_mask.shape != (T, N) or delta.shape[-1] != T:
        raise ValueError(
            f"shape mismatch: pos {tuple(pos.shape)}, tor_bonds {tuple(tor_bonds.shape)}, "
            f"tor_mask {tuple(tor_mask.shape)}, delta {tuple(delta.shape)}"
        )
    if T == 0:
        return pos[0].clone() if squeeze else pos.clone()
    tor_mask = tor_mask.to(device=pos.device, dtype=torch.bool)
    tor_bonds = tor_bonds.to(device=pos.device, dtype=torch.long)
    rounds = _rounds(tor_batch, T, pos.device)
    for r in range(int(rounds.max()) + 1):
        idx = (rounds == r).nonzero().squeeze(1)
        mask = tor_mask[idx]  # [k, N]
        if tor_batch is not None and bool((mask.sum(0) > 1).any()):
            raise ValueError("two bonds of one round move the same atom: tor_batch does not match tor_mask")
        u, v = tor_bonds[idx, 0], tor_bonds[idx, 1]
        axis = pos[:, v] - pos[:, u]  # [S, k, 3]
        axis = axis / axis.norm(dim=-1, keepdim=True)
        R = axis_angle_to_matrix(axis * delta[:, idx, None])  # [S, k, 3, 3]
        owner = mask.to(torch.uint8).argmax(0)  # [N] which bond of this round moves each atom
        moved = mask.any(0)  # [N]
        origin = pos[:, u[owner]]  # [S, N, 3]
        rotated = origin + torch.einsum("snij,snj->sni", R[:, owner], pos - origin)
        pos = torch.where(moved[None, :, None], rotated, pos)
    return pos[0] if squeeze else pos


def dihedral(p0: torch.Tensor, p1: torch.Tensor, p2: torch.Tensor, p3: torch.Tensor) -> torch.Tensor:
    """Dihedral angle ``p0-p1-p2-p3`` in (-pi, pi] (IUPAC sign: positive when, looking along ``p1 -> p2``,
    ``p3`` is turned clockwise from ``p0``). Inputs ``[..., 3]``, output ``[...]``.

    Twisting the ``p2`` side right-handed about ``p1 -> p2`` by ``delta`` increases it by ``delta``.
    """
    b1 = p2 - p1
    b1 = b1 / b1.norm(dim=-1, keepdim=True)
    v = p0 - p1
    w = p3 - p2
    v = v - (v * b1).sum(-1, keepdim=True) * b1
    w = w - (w * b1).sum(-1, keepdim=True) * b1
    x = (v * w).sum(-1)
    y = (torch.cross(b1, v, dim=-1) * w).sum(-1)
    return torch.atan2(y, x)


def torsion_neighbors(tor_bonds: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
    """For each rotatable bond ``(u, v)``, one neighbour ``a`` of ``u`` (not ``v``) and one neighbour ``d`` of
    ``v`` (not ``u``), the lowest-indexed, to define its dihedral ``a-u-v-d``.

    Args:
        tor_bonds: ``[T, 2]`` long.
        edge_index: ``[2, E]`` long bond graph with both directions stored.

    Returns:
        ``[T, 2]`` long ``(a, d)``. Raises ``ValueError`` if a bond is terminal (no such neighbour).
    """
    src, dst = edge_index
    out = []
    for end, other in ((0, 1), (1, 0)):
        hit = (src[None, :] == tor_bonds[:, end, None]) & (dst[None, :] != tor_bonds[:, other, None])  # [T, E]
        if not bool(hit.any(1).all()):
            raise ValueError("a rotatable bond has a terminal atom: its dihedral is undefined")
        big = torch.iinfo(torch.long).max
        cand = torch.where(hit, dst[None, :].expand_as(hit), torch.full_like(hit, big, dtype=torch.long))
        out.append(cand.min(1).values)
    return torch.stack(out, 1)


def torsion_angles(pos: torch.Tensor, tor_bonds: torch.Tensor, tor_neighbors: torch.Tensor) -> torch.Tensor:
    """Dihedral angles ``a-u-v-d`` of each rotatable bond: ``pos [..., N, 3]`` -> ``[..., T]`` radians.

    ``tor_neighbors [T, 2]`` from :func:`torsion_neighbors`.
    """
    a, d = tor_neighbors[:, 0], tor_neighbors[:, 1]
    u, v = tor_bonds[:, 0], tor_bonds[:, 1]
    return dihedral(pos[..., a, :], pos[..., u, :], pos[..., v, :], pos[..., d, :])
