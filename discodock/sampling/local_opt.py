"""Batched quasi-Newton local optimisation of ligand poses: every chain its own BFGS, one autograd call a step.

A chain's pose is a :class:`PoseState` (translation, rotation matrix, torsions relative to its reference pose,
see :mod:`discodock.geometry.kinematics`). Steps are taken in a tangent space measured in Angstrom: a
translation, a rotation vector times the ligand's radius of gyration and each torsion times its lever arm, so
one unit moves atoms by about one Angstrom whichever degree of freedom it is, and a single trust radius bounds
them all. Rotation steps compose on the left (``R <- exp(w) R``), as Vina increments its orientation.

Per step all chains are evaluated once, at their trial points, with gradients (the energies are summed for one
backward pass to the coordinates; chains share nothing, so each gradient is its own chain's; the kinematics'
part of the chain rule is analytic). A chain accepts its trial when it
lowers the energy enough (Armijo), else stays and shrinks its trust radius: energies never increase. Vina
instead backtracks up to ten evaluations along each search direction; one evaluation per step with a per-chain
trust radius keeps all chains in lock step.

The centroid of every pose is kept inside an axis-aligned box: a pose whose centroid leaves it is translated
back onto the box face before its energy is evaluated (projection).
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import torch

from discodock.errors import ConfigError
from discodock.geometry.kinematics import LigandKinematics
from discodock.geometry.rigid import axis_angle_to_matrix

Energy = Callable[[torch.Tensor], torch.Tensor]  # pos [B, N, 3] (Angstrom) -> [B] (kcal/mol), differentiable
_ARMIJO = 1e-4  # Vina's c0: sufficient decrease per unit of predicted decrease


@dataclasses.dataclass(frozen=True)
class PoseState:
    """``B`` poses: ``translation [B, 3]`` (Angstrom), ``rotation [B, 3, 3]``, ``torsions [B, T]`` (radians),
    each relative to reference pose ``ref_index [B]`` of a :class:`LigandKinematics`."""

    translation: torch.Tensor
    rotation: torch.Tensor
    torsions: torch.Tensor
    ref_index: torch.Tensor

    @classmethod
    def identity(cls, kin: LigandKinematics, ref_index: torch.Tensor) -> "PoseState":
        """The reference poses themselves (all-zero parameters)."""
        B, dtype, dev = ref_index.shape[0], kin.ref.dtype, kin.ref.device
        eye = torch.eye(3, dtype=dtype, device=dev).expand(B, 3, 3).clone()
        return cls(kin.ref.new_zeros(B, 3), eye, kin.ref.new_zeros(B, kin.num_torsions), ref_index)

    def where(self, keep_new: torch.Tensor, old: "PoseState") -> "PoseState":
        """Per chain, this state where ``keep_new [B]`` is True, else ``old``."""
        m = keep_new
        return PoseState(
            torch.where(m[:, None], self.translation, old.translation),
            torch.where(m[:, None, None], self.rotation, old.rotation),
            torch.where(m[:, None], self.torsions, old.torsions),
            self.ref_index,
        )

    def index(self, idx: torch.Tensor) -> "PoseState":
        return PoseState(self.translation[idx], self.rotation[idx], self.torsions[idx], self.ref_index[idx])


@dataclasses.dataclass(frozen=True)
class Evaluated:
    """A state with its poses ``pos [B, N, 3]``, energies ``energy [B]`` and tangent gradients ``grad [B, D]``."""

    state: PoseState
    pos: torch.Tensor
    energy: torch.Tensor
    grad: torch.Tensor

    def where(self, keep_new: torch.Tensor, old: "Evaluated") -> "Evaluated":
        m = keep_new
        return Evaluated(
            self.state.where(m, old.state),
            torch.where(m[:, None, None], self.pos, old.pos),
            torch.where(m, self.energy, old.energy),
            torch.where(m[:, None], self.grad, old.grad),
        )

    def index(self, idx: torch.Tensor) -> "Evaluated":
        return Evaluated(self.state.index(idx), self.pos[idx], self.energy[idx], self.grad[idx])


def tangent_scale(kin: LigandKinematics, ref_index: torch.Tensor) -> torch.Tensor:
    """``[B, D]`` Angstrom per unit of each parameter (1, radius of gyration, torsion lever arms)."""
    B = ref_index.shape[0]
    ones = kin.ref.new_ones(B, 3)
    return torch.cat([ones, kin.radius[ref_index, None].expand(B, 3), kin.lever[ref_index]], 1)


def retract(kin: LigandKinematics, state: PoseState, step: torch.Tensor) -> PoseState:
    """``state`` moved by a tangent ``step [B, D]`` (Angstrom units, see :func:`tangent_scale`)."""
    x = step / tangent_scale(kin, state.ref_index)
    R = axis_angle_to_matrix(x[:, 3:6]) @ state.rotation
    return PoseState(state.translation + x[:, :3], R, state.torsions + x[:, 6:], state.ref_index)


def evaluate(energy: Energy, kin: LigandKinematics, state: PoseState, box: torch.Tensor) -> Evaluated:
    """Poses, energies and tangent gradients of ``state``, after moving each centroid into ``box [2, 3]``
    (lower and upper corner). One energy call with one backward pass (to the coordinates) for all chains;
    the chain rule through the kinematics is analytic (:meth:`LigandKinematics.pullback`)."""
    B = state.ref_index.shape[0]
    with torch.no_grad():
        posed = kin.pose(state.translation, state.rotation, state.torsions, state.ref_index)
        centroid = posed.pos.mean(1)
        shift = torch.minimum(torch.maximum(centroid, box[0]), box[1]) - centroid
        posed = dataclasses.replace(
            posed,
            pos=posed.pos + shift[:, None],
            pivot=posed.pivot + shift,
            axis_origin=posed.axis_origin + shift[:, None],
        )
    with torch.enable_grad():
        pos = posed.pos.detach().requires_grad_(True)
        e = energy(pos)
        if not torch.is_tensor(e) or e.shape != (B,):
            got = tuple(e.shape) if torch.is_tensor(e) else type(e).__name__
            raise ConfigError(None, f"the energy must return a [{B}] tensor for [{B}, N, 3] poses, got {got}")
        (grad_pos,) = torch.autograd.grad(e.sum(), pos)
    # a chain whose gradient is not finite (an energy that overflowed) stands still rather than jump
    grad_pos = torch.nan_to_num(grad_pos, nan=0.0, posinf=0.0, neginf=0.0)
    grad = kin.pullback(posed, grad_pos) / tangent_scale(kin, state.ref_index)
    state = dataclasses.replace(state, translation=state.translation + shift)
    return Evaluated(state, posed.pos, e.detach(), grad)


def local_optimize(
    energy: Energy,
    kin: LigandKinematics,
    start: Evaluated,
    box: torch.Tensor,
    *,
    steps: int,
    max_step: float = 2.0,
    trace: list | None = None,
) -> Evaluated:
    """``steps`` quasi-Newton steps for every chain of ``start``, each chain independent.

    Args:
        start: the evaluated starting poses (see :func:`evaluate`).
        steps: evaluations per chain (one per step).
        max_step: largest trust radius, Angstrom in the tangent units (about the largest atom displacement).
        trace: if given, each step's energies ``[B]`` are appended (for tests and diagnostics).

    Returns:
        The evaluated end poses; per chain its energy is at most its start energy.
    """
    cur = start
    B, D = cur.grad.shape
    dtype, dev = cur.grad.dtype, cur.grad.device
    eye = torch.eye(D, dtype=dtype, device=dev)
    H = eye.expand(B, D, D).clone()  # inverse Hessian estimates
    fresh = torch.ones(B, dtype=torch.bool, device=dev)  # H not yet scaled by a curvature pair
    trust = torch.full((B,), min(1.0, max_step), dtype=dtype, device=dev)
    for _ in range(steps):
        g = cur.grad
        p = -(H @ g[:, :, None]).squeeze(-1)
        uphill = ~((p * g).sum(-1) < 0)  # lost descent (or NaN): restart from steepest descent
        p = torch.where(uphill[:, None], -g, p)
        H = torch.where(uphill[:, None, None], eye, H)
        fresh = fresh | uphill
        norm = p.norm(dim=-1)
        p = p * (trust / norm.clamp_min(1e-30)).clamp(max=1)[:, None]
        trial = evaluate(energy, kin, retract(kin, cur.state, p), box)
        s = torch.cat([trial.state.translation - cur.state.translation, p[:, 3:]], 1)  # as projected
        decrease = (g * s).sum(-1).clamp(max=0)
        ok = torch.isfinite(trial.energy) & (
            (trial.energy <= cur.energy + _ARMIJO * decrease) | ~torch.isfinite(cur.energy)
        )
        # curvature pair from every trial, accepted or not (as trust-region methods do)
        y = trial.grad - g
        ys, yy = (y * s).sum(-1), (y * y).sum(-1)
        upd = torch.isfinite(ys) & torch.isfinite(yy) & (ys > 1e-10 * s.norm(dim=-1) * y.norm(dim=-1)) & (ys > 0)
        H = torch.where((fresh & upd)[:, None, None], eye * (ys / yy.clamp_min(1e-30))[:, None, None], H)
        rho = (1 / ys.clamp_min(1e-30))[:, None, None]
        V = eye - rho * s[:, :, None] * y[:, None, :]
        H_new = V @ H @ V.mT + rho * s[:, :, None] * s[:, None, :]
        H = torch.where(upd[:, None, None], H_new, H)
        fresh = fresh & ~upd
        step_len = s.norm(dim=-1)
        trust = torch.where(ok, torch.maximum(trust, 2 * step_len).clamp(max=max_step), 0.25 * step_len)
        trust = trust.clamp_min(1e-6)
        cur = trial.where(ok, cur)
        if trace is not None:
            trace.append(cur.energy.clone())
    return cur
