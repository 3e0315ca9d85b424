"""Differentiable forward kinematics of a flexible ligand relative to reference poses, batched.

A pose is ``(translation [3], rotation [3] or [3, 3], torsions [T])`` relative to a reference pose ``ref`` of
the same ligand (e.g. a diffusion sample):

    x = twist(ref, torsions);   x' = x + (x - c) @ (R - I).T + translation

with ``c`` the centroid of ``ref`` (the rotation centre) and ``twist`` turning rotatable bond ``t`` by
``torsions[t]`` radians. Bond lengths, bond angles and the shape of every rigid fragment never change.
All-zero parameters give ``ref`` bit for bit (every update is added as a difference that is exactly zero).

Each bond twists the side of the molecule away from its *root* atom, the atom whose largest twisted side is
smallest (the tree centroid), so a torsion moves the smaller part and the rigid-body parameters keep their
meaning (as Vina roots its ligand tree). Each rigid fragment gets one rigid motion, composed from the root
outwards one depth level at a time (bonds at one depth move disjoint fragments, so they compose together), and
every atom is moved once by its fragment's motion: the per-level work is on ``[B, T]`` tensors, not on atoms.
"""

from __future__ import annotations

import dataclasses

import torch

from discodock.errors import ConfigError
from discodock.geometry.rigid import axis_angle_to_matrix, hat

_MIN_LEVER = 0.5  # Angstrom: floor for the lever arm of a torsion whose moving atoms hug its axis


@dataclasses.dataclass(frozen=True)
class LigandKinematics:
    """Forward kinematics of one ligand over ``S`` reference poses; build with :meth:`create`.

    Attributes:
        ref: ``[S, N, 3]`` reference poses (Angstrom).
        center: ``[S, 3]`` rotation centre of each reference pose (its centroid).
        axis_from, axis_to: ``[T]`` long, each bond's axis atoms; its moving side lies beyond ``axis_to``.
        moving: ``[T, N]`` bool, the atoms each bond moves (the side away from the root).
        order: ``[T]`` long, the bonds sorted by depth (root outwards); bond ``order[j]`` owns motion slot
            ``j + 1``, slot 0 is the root fragment.
        parent: ``[T]`` long, the motion slot of the fragment that carries each slot's bond (in ``order``).
        level_ends: the end of each depth level in ``order`` (levels are contiguous).
        fragment: ``[N]`` long, the motion slot of each atom.
        radius: ``[S]`` radius of gyration of each reference pose about its centroid (Angstrom).
        lever: ``[S, T]`` root-mean-square distance of each bond's moving atoms from its axis (Angstrom,
            at least 0.5): how far a one-radian twist moves them.
    """

    ref: torch.Tensor
    center: torch.Tensor
    axis_from: torch.Tensor
    axis_to: torch.Tensor
    moving: torch.Tensor
    order: torch.Tensor
    parent: torch.Tensor
    level_ends: tuple[int, ...]
    fragment: torch.Tensor
    radius: torch.Tensor
    lever: torch.Tensor

    @classmethod
    def create(cls, ref: torch.Tensor, tor_bonds: torch.Tensor, tor_mask: torch.Tensor) -> "LigandKinematics":
        """Kinematics for reference poses ``ref [S, N, 3]`` (or ``[N, 3]``) of one ligand.

        ``tor_bonds [T, 2]`` and ``tor_mask [T, N]`` as in :class:`discodock.diffusion.pose.Pose` for one
        ligand: bond ``(u, v)``, the mask marks the ``v`` side. Raises ``ConfigError`` on inconsistent input.
        """
        if not torch.is_tensor(ref) or not ref.is_floating_point() or ref.dim() not in (2, 3) or ref.shape[-1] != 3:
            raise ConfigError(None, f"reference poses must be a float [S, N, 3] tensor, got {_shape(ref)}")
        ref = ref[None] if ref.dim() == 2 else ref
        S, N = ref.shape[:2]
        dev = ref.device
        if S == 0 or N == 0:
            raise ConfigError(None, f"reference poses must hold at least one pose of one atom, got {tuple(ref.shape)}")
        if not torch.is_tensor(tor_bonds) or not torch.is_tensor(tor_mask):
            raise ConfigError(None, "tor_bonds and tor_mask must be tensors ([T, 2] long and [T, N] bool)")
        if tor_bonds.is_floating_point() or tor_bonds.numel() % 2 or (tor_bonds.dim() != 2 and tor_bonds.numel()):
            raise ConfigError(None, f"tor_bonds must be a [T, 2] integer tensor, got {tuple(tor_bonds.shape)}")
        tor_bonds = tor_bonds.to(dev).long().reshape(-1, 2)
        T = tor_bonds.shape[0]
        if tuple(tor_mask.shape) != (T, N):
            raise ConfigError(None, f"tor_mask must be [T={T}, N={N}] for {T} rotatable bonds, got {_shape(tor_mask)}")
        tor_mask = tor_mask.to(dev).bool()
        if T and (int(tor_bonds.min()) < 0 or int(tor_bonds.max()) >= N):
            raise ConfigError(None, f"tor_bonds index atoms outside 0..{N - 1}")
        u, v = tor_bonds.unbind(1)
        ar = torch.arange(T, device=dev)
        if T and not bool((tor_mask[ar, v] & ~tor_mask[ar, u]).all()):
            raise ConfigError(None, "each tor_mask row must hold its bond's v atom and not its u atom")
        size = tor_mask.sum(1)  # [T]
        # if atom a were the root, bond t would move the side without a: its size is N - size or size
        moved_if_root = torch.where(tor_mask, N - size[:, None], size[:, None])  # [T, N]
        root = int(moved_if_root.max(0).values.argmin()) if T else 0
        flip = tor_mask[:, root]  # the root lies on the v side: twist the u side instead, about the same axis
        moving = torch.where(flip[:, None], ~tor_mask, tor_mask)
        axis_from, axis_to = torch.where(flip, v, u), torch.where(flip, u, v)
        moving = moving & (torch.arange(N, device=dev) != axis_to[:, None])  # on the axis: never moves
        # bond t lies beyond bond s when s moves t's far axis atom; its depth counts the bonds it lies beyond
        nested = moving[:, axis_to].T  # [t, s]
        depth = nested.sum(1)
        order = torch.sort(depth, stable=True).indices
        slot = torch.empty(T, dtype=torch.long, device=dev)
        slot[order] = torch.arange(1, T + 1, device=dev)
        # the fragment of an atom: the deepest bond that moves it (slot 0, the root, if none)
        deepest = torch.where(moving, depth[:, None], torch.full_like(moving, -1, dtype=torch.long))  # [T, N]
        carrier = deepest.argmax(0) if T else torch.zeros(N, dtype=torch.long, device=dev)
        fragment = torch.where(deepest.max(0).values >= 0, slot[carrier], 0) if T else carrier
        for d in range(int(depth.max()) + 1 if T else 0):
            if bool((moving[depth == d].sum(0) > 1).any()):
                raise ConfigError(None, "tor_mask is not a tree of rotatable bonds (bonds move overlapping sides)")
        parent = fragment[axis_to[order]]  # the motion that carries the bond's axis
        level_ends = tuple(int(x) for x in torch.cumsum(torch.bincount(depth), 0)) if T else ()
        center = ref.mean(1)
        radius = (ref - center[:, None]).square().sum(-1).mean(1).sqrt()
        axis = ref[:, axis_to] - ref[:, axis_from]
        axis = axis / axis.norm(dim=-1, keepdim=True).clamp_min(1e-12)  # [S, T, 3]
        rel = ref[:, None, :, :] - ref[:, axis_from][:, :, None, :]  # [S, T, N, 3]
        off = rel - (rel * axis[:, :, None]).sum(-1, keepdim=True) * axis[:, :, None]
        w = moving.to(ref.dtype)
        lever = ((off.square().sum(-1) * w).sum(-1) / w.sum(-1).clamp_min(1)).sqrt().clamp_min(_MIN_LEVER)
        return cls(ref, center, axis_from, axis_to, moving, order, parent, level_ends, fragment, radius, lever)

    @property
    def num_torsions(self) -> int:
        return self.axis_from.shape[0]

    @property
    def num_atoms(self) -> int:
        return self.ref.shape[1]

    def coords(
        self,
        translation: torch.Tensor,
        rotation: torch.Tensor,
        torsions: torch.Tensor,
        ref_index: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Atom coordinates ``[B, N, 3]`` of ``B`` poses. Differentiable in all parameters.

        Args:
            translation: ``[B, 3]`` Angstrom, added after the rotation.
            rotation: ``[B, 3]`` rotation vectors (radians) or ``[B, 3, 3]`` matrices, about the reference
                centroid.
            torsions: ``[B, T]`` radians: bond ``t`` turns the atoms beyond ``axis_to[t]`` right-handed about
                ``axis_from[t] -> axis_to[t]``.
            ref_index: ``[B]`` long, the reference pose of each (default ``arange(B)``, needs ``B == S``).
        """
        return self.pose(translation, rotation, torsions, ref_index).pos

    def pose(
        self,
        translation: torch.Tensor,
        rotation: torch.Tensor,
        torsions: torch.Tensor,
        ref_index: torch.Tensor | None = None,
    ) -> "Posed":
        """Like :meth:`coords`, also returning the pivot and the bond axes in the posed frame (for
        :meth:`pullback`)."""
        B = translation.shape[0]
        if ref_index is None:
            ref_index = torch.arange(B, device=translation.device)
        R = axis_angle_to_matrix(rotation) if rotation.shape[-2:] != (3, 3) else rotation
        ref = self.ref[ref_index]
        c = self.center[ref_index]
        # root motion x -> R x + b: rotation about the centroid, then the translation
        A = [R[:, None]]
        b = [(translation + c - (R @ c[:, :, None]).squeeze(-1))[:, None]]
        # per bond, in depth order: its pivot atom and unit axis in the reference pose (rotations keep units)
        order = self.order
        to = ref[:, self.axis_to[order], :, None]
        unit = to - ref[:, self.axis_from[order], :, None]
        unit = unit / unit.norm(dim=-2, keepdim=True)
        angle = torsions[:, order]
        origins, axes = [], []
        start = 0
        for end in self.level_ends:
            parent = self.parent[start:end]
            A_all, b_all = torch.cat(A, 1), torch.cat(b, 1)
            Ap, bp = A_all[:, parent], b_all[:, parent]  # [B, k, 3, 3], [B, k, 3]
            origin = (Ap @ to[:, start:end]).squeeze(-1) + bp
            axis = (Ap @ unit[:, start:end]).squeeze(-1)
            Rt = _turn(axis, angle[:, start:end])
            A.append(Rt @ Ap)
            b.append((Rt @ (bp - origin)[..., None]).squeeze(-1) + origin)
            origins.append(origin)
            axes.append(axis)
            start = end
        A_all, b_all = torch.cat(A, 1), torch.cat(b, 1)
        pos = (A_all[:, self.fragment] @ ref[..., None]).squeeze(-1) + b_all[:, self.fragment]
        if origins:
            unsort = torch.argsort(order)
            origin, axis = torch.cat(origins, 1)[:, unsort], torch.cat(axes, 1)[:, unsort]
        else:
            origin = axis = pos.new_zeros(B, 0, 3)
        return Posed(pos, c + translation, origin, axis)

    def pullback(self, posed: "Posed", grad_pos: torch.Tensor) -> torch.Tensor:
        """The gradient ``[B, 6 + T]`` of a function of the coordinates, given its gradient ``grad_pos
        [B, N, 3]`` at ``posed``, with respect to: the translation (3), a rotation vector ``w`` applied on the
        left about the pivot (``R <- exp(w) R``; the torque, 3) and each torsion angle (T).

        Analytic (Vina's force and torque sums), so no autograd graph through the kinematics is needed.
        """
        f = grad_pos
        lever = posed.pos - posed.pivot[:, None]
        out = [f.sum(1), torch.cross(lever, f, dim=-1).sum(1)]
        if self.num_torsions:
            m = self.moving.to(f.dtype)
            force = torch.einsum("tn,bnc->btc", m, f)  # [B, T, 3] summed over each bond's moving atoms
            moment = torch.einsum("tn,bnc->btc", m, torch.cross(posed.pos, f, dim=-1))
            torque = moment - torch.cross(posed.axis_origin, force, dim=-1)  # about each axis origin
            out.append((torque * posed.axis).sum(-1))
        return torch.cat(out, 1)


@dataclasses.dataclass(frozen=True)
class Posed:
    """Posed coordinates ``pos [B, N, 3]`` with the rotation pivot ``[B, 3]`` (the reference centroid moved
    by the translation) and each bond's axis: a point on it ``axis_origin [B, T, 3]`` and its unit direction
    ``axis [B, T, 3]`` (bond order of the ``tor_bonds`` given)."""

    pos: torch.Tensor
    pivot: torch.Tensor
    axis_origin: torch.Tensor
    axis: torch.Tensor


def _turn(axis: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    """Rotations by ``angle [...]`` about unit ``axis [..., 3]``: cos I + sin [k]x + (1 - cos) k k^T
    (exactly the identity at angle 0)."""
    cos, sin = torch.cos(angle)[..., None, None], torch.sin(angle)[..., None, None]
    eye = torch.eye(3, dtype=axis.dtype, device=axis.device)
    return cos * eye + sin * hat(axis) + (1 - cos) * (axis[..., :, None] * axis[..., None, :])


def _shape(x) -> str:
    return str(tuple(x.shape)) if torch.is_tensor(x) else type(x).__name__
