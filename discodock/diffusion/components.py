"""The product-space diffusion over ligand poses: one ``Component`` abstraction, three implementations.

A pose is reached from a reference conformer by twisting its rotatable bonds (torus), rotating it about its
centroid (SO(3)) and translating it (R^3) (DiffDock). Each move is a :class:`Component` with the same verbs:

- ``sample_prior`` / ``prior_update``: draws from the prior (translation N(center, sigma_max^2 I), Haar-uniform
  rotation, uniform torsions);
- ``perturb(sigma)``: a noise update drawn at ``sigma`` and the score target of that perturbation;
- ``score_norm(sigma)``: the expected squared norm of that target (the loss divides by it);
- ``step``: one reverse-SDE or probability-flow-ODE update from a predicted score;
- ``apply(pose, update)``: the move itself.

Training and sampling loop over ``COMPONENTS``; nothing writes the three out by hand. Every update and score
is per *item*: one per pose for translation and rotation (``[B, 3]``), one per rotatable bond for torsion
(``[T]``). Sigmas are given per pose (``[B]``) and expanded to items by :meth:`Component.per_item`.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import torch
from disco_core.latents import to_dense

from discodock.diffusion.pose import Pose
from discodock.geometry import so3, torus
from discodock.geometry._random import rand, randn
from discodock.geometry.rigid import axis_angle_to_matrix, kabsch, random_rotation_vectors
from discodock.geometry.torsion import apply_torsion_updates


# ---------------------------------------------------------------------------------------------- components


class Component:
    """One factor of the pose space. Subclasses set ``name``, ``item_shape`` and implement the hooks."""

    name: str = ""
    item_shape: tuple[int, ...] = ()

    # --- items ---------------------------------------------------------------------------------------
    def item_pose(self, pose: Pose) -> torch.Tensor:
        """``[items]`` long: the pose each item belongs to."""
        raise NotImplementedError

    def per_item(self, pose: Pose, values: torch.Tensor) -> torch.Tensor:
        """Per-pose values ``[B]`` (e.g. sigma) expanded to one per item."""
        values = torch.as_tensor(values, device=pose.pos.device)
        if values.dim() == 0:
            values = values.expand(pose.num_poses)
        return values[self.item_pose(pose)]

    def shape(self, pose: Pose) -> tuple[int, ...]:
        """Shape of an update or score for ``pose``."""
        return (self.item_pose(pose).shape[0], *self.item_shape)

    def _normal(self, sigma: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        return randn(*sigma.shape, *self.item_shape, generator=generator, dtype=sigma.dtype, device=sigma.device)

    def _bcast(self, x: torch.Tensor) -> torch.Tensor:
        """Per-item scalars ``[items]`` shaped to broadcast against ``[items, *item_shape]``."""
        return x.reshape(*x.shape, *([1] * len(self.item_shape)))

    # --- prior ---------------------------------------------------------------------------------------
    def sample_prior(
        self,
        n: int,
        *,
        sigma_max: float,
        generator: torch.Generator | None = None,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
    ) -> torch.Tensor:
        """``n`` draws from this component's prior, ``[n, *item_shape]``."""
        raise NotImplementedError

    def prior_update(
        self,
        pose: Pose,
        *,
        sigma_max: float,
        center: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """An update whose :meth:`apply` puts ``pose`` at a draw from the prior (``center`` only matters for
        translation)."""
        return self.sample_prior(
            self.shape(pose)[0], sigma_max=sigma_max, generator=generator, dtype=pose.pos.dtype, device=pose.pos.device
        )

    # --- forward noise -------------------------------------------------------------------------------
    def noise(self, sigma: torch.Tensor, *, generator: torch.Generator | None = None) -> torch.Tensor:
        """A perturbation drawn at per-item ``sigma``."""
        return self._bcast(sigma) * self._normal(sigma, generator)

    def score(self, update: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        """The score (of the perturbation kernel at ``sigma``) of the pose reached by ``update``."""
        raise NotImplementedError

    def perturb(
        self, sigma: torch.Tensor, *, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(update, target_score)``: a noise update drawn at per-item ``sigma`` and its score target. A step
        along the target (update ``h * target``) moves back toward the unperturbed pose."""
        update = self.noise(sigma, generator=generator)
        return update, self.score(update, sigma)

    def score_norm(self, sigma: torch.Tensor) -> torch.Tensor:
        """Expected SQUARED norm of the score target per item, ``E ||score||^2`` at per-item ``sigma``."""
        raise NotImplementedError

    def score_scale(self, sigma: torch.Tensor) -> torch.Tensor:
        """Typical size of one entry of the score, ``sqrt(score_norm / entries)``: a model can predict unit-scale
        outputs and multiply by this."""
        return (self.score_norm(sigma) / max(1, math.prod(self.item_shape))).sqrt()

    # --- reverse step --------------------------------------------------------------------------------
    def step(
        self,
        score: torch.Tensor,
        *,
        sigma: torch.Tensor,
        sigma_next: torch.Tensor,
        ode: bool = False,
        rule: str = "diffdock",
        temperature: float = 1.0,
        sigma_data: float | None = None,
        add_noise: bool = True,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """One reverse-time update from noise level ``sigma`` to ``sigma_next`` (per item) given a score.

        ``rule="diffdock"``: Euler-Maruyama in t on the geometric schedule, with ``a = g(t)^2 dt =
        2 sigma^2 log(sigma / sigma_next)``: the SDE update is ``a * lam * score + sqrt(a) * z``, the
        probability-flow ODE update ``0.5 * a * lam * score`` (DiffDock's sampler).
        ``rule="sigma"``: the SDE takes the ancestral step (``d = sigma^2 - sigma_next^2``; update
        ``d * lam * score + sqrt(d * sigma_next^2 / sigma^2) * z``), the ODE Euler in sigma (update
        ``sigma (sigma - sigma_next) * lam * score``, EDM's deterministic step); both are exact for Gaussian data
        far from the data scale and need fewer steps.

        ``lam = 1`` at ``temperature = 1``; otherwise ``lam = (sigma_data^2 + sigma^2) /
        (temperature * sigma_data^2 + sigma^2)``, which turns the score of data with spread ``sigma_data`` noised
        to ``sigma`` into that of the tempered data (density^(1/temperature)), exactly for Gaussian data.
        ``add_noise=False`` drops the noise term (used on the last step).
        """
        s = self._bcast(sigma.to(score.dtype))
        s_next = self._bcast(sigma_next.to(score.dtype))
        lam = 1.0
        if temperature != 1.0:
            if sigma_data is None:
                raise ValueError("a temperature other than 1 needs sigma_data")
            lam = (sigma_data**2 + s**2) / (temperature * sigma_data**2 + s**2)
        if rule == "diffdock":
            a = 2 * s**2 * torch.log(s / s_next)
            drift, noise_var = (0.5 * a, None) if ode else (a, a)
        elif rule == "sigma":
            d = s**2 - s_next**2
            drift, noise_var = (s * (s - s_next), None) if ode else (d, d * s_next**2 / s**2)
        else:
            raise ValueError(f"unknown step rule {rule!r} (use 'diffdock' or 'sigma')")
        update = drift * lam * score
        if noise_var is not None and add_noise:
            update = update + noise_var.sqrt() * self._normal(sigma.to(score.dtype), generator)
        return update

    # --- the move ------------------------------------------------------------------------------------
    def apply(self, pose: Pose, update: torch.Tensor) -> Pose:
        """The pose moved by ``update`` (a new :class:`Pose`; the input is not modified)."""
        raise NotImplementedError


class Translation(Component):
    """R^3: the ligand centroid moves by a vector (Angstrom). Gaussian kernel, score ``-update / sigma^2``."""

    name = "tr"
    item_shape = (3,)

    def item_pose(self, pose: Pose) -> torch.Tensor:
        return torch.arange(pose.num_poses, device=pose.pos.device)

    def sample_prior(self, n, *, sigma_max, generator=None, dtype=None, device=None):
        """Offsets ``N(0, sigma_max^2 I)`` from the prior centre, ``[n, 3]``."""
        return sigma_max * randn(n, 3, generator=generator, dtype=dtype, device=device)

    def prior_update(self, pose, *, sigma_max, center=None, generator=None):
        """Moves each centroid to ``center + N(0, sigma_max^2 I)``; ``center`` is ``[3]`` or ``[B, 3]``
        (the protein centre in blind mode, the site centre in pocket mode; default: the current centroid)."""
        current = pose.centroids()
        if center is None:
            target = current
        else:
            target = torch.as_tensor(center, dtype=current.dtype, device=current.device).expand_as(current)
        return target + super().prior_update(pose, sigma_max=sigma_max, generator=generator) - current

    def score(self, update, sigma):
        return -update / self._bcast(sigma) ** 2

    def score_norm(self, sigma):
        return 3 / sigma**2

    def apply(self, pose, update):
        return pose.with_pos(pose.pos + update.to(pose.pos.dtype)[pose.batch])


class Rotation(Component):
    """SO(3): the ligand rotates about its centroid by a rotation vector (radians, applied on the left).
    IGSO(3) kernel, score from :func:`discodock.geometry.so3.score`."""

    name = "rot"
    item_shape = (3,)

    def item_pose(self, pose: Pose) -> torch.Tensor:
        return torch.arange(pose.num_poses, device=pose.pos.device)

    def sample_prior(self, n, *, sigma_max, generator=None, dtype=None, device=None):
        """Haar-uniform rotation vectors ``[n, 3]`` (``sigma_max`` is not used)."""
        return random_rotation_vectors(n, generator=generator, dtype=dtype, device=device)

    def noise(self, sigma, *, generator=None):
        return so3.sample(sigma, generator=generator)

    def score(self, update, sigma):
        return so3.score(update, sigma)

    def score_norm(self, sigma):
        return so3.score_norm(sigma)

    def apply(self, pose, update):
        center = pose.centroids()[pose.batch]
        R = axis_angle_to_matrix(update.to(pose.pos.dtype))[pose.batch]
        return pose.with_pos(center + torch.einsum("nij,nj->ni", R, pose.pos - center))


class Torsion(Component):
    """The torus of rotatable-bond angles: bond ``t`` twists by ``update[t]`` radians. Wrapped-normal kernel.

    With ``align=True`` (DiffDock) each twisted ligand is then Kabsch-aligned back onto its pose before the
    twist, so a torsion move changes the shape but not the centroid or the overall orientation, keeping it
    apart from the rotation and translation moves.
    """

    name = "tor"
    item_shape = ()

    def __init__(self, *, align: bool = True):
        self.align = align

    def item_pose(self, pose: Pose) -> torch.Tensor:
        return pose.tor_batch

    def sample_prior(self, n, *, sigma_max, generator=None, dtype=None, device=None):
        """Uniform angles in (-pi, pi], ``[n]`` (``sigma_max`` is not used)."""
        u = rand(n, generator=generator, dtype=dtype, device=device)
        return torus.wrap(math.pi * (2 * u - 1))

    def score(self, update, sigma):
        return torus.score(update, sigma)

    def score_norm(self, sigma):
        return torus.score_norm(sigma)

    def apply(self, pose, update):
        if pose.num_torsions == 0:
            return pose
        new = apply_torsion_updates(
            pose.pos, pose.tor_bonds, pose.tor_mask, update.to(pose.pos.dtype), tor_batch=pose.tor_batch
        )
        if self.align:
            moved, mask, _ = to_dense(new, pose.batch, pose.num_poses)
            before, _, _ = to_dense(pose.pos, pose.batch, pose.num_poses)
            R, t = kabsch(moved, before, weights=mask.to(new.dtype))
            # poses without rotatable bonds did not move; keep them exactly (Kabsch of tiny sets is ambiguous)
            twisted = torch.zeros(pose.num_poses, dtype=torch.bool, device=new.device)
            twisted[pose.tor_batch] = True
            eye = torch.eye(3, dtype=R.dtype, device=R.device).expand_as(R)
            R = torch.where(twisted[:, None, None], R, eye)
            t = torch.where(twisted[:, None], t, torch.zeros_like(t))
            new = torch.einsum("nij,nj->ni", R[pose.batch], new) + t[pose.batch]
        return pose.with_pos(new)


COMPONENTS: tuple[Component, ...] = (Translation(), Rotation(), Torsion())
APPLY_ORDER = ("tor", "rot", "tr")  # twist, then rotate about the centroid, then translate (DiffDock)


def in_apply_order(components: Sequence[Component]) -> list[Component]:
    """``components`` sorted as their moves are applied: torsion, rotation, translation."""
    return sorted(components, key=lambda c: APPLY_ORDER.index(c.name) if c.name in APPLY_ORDER else len(APPLY_ORDER))


def apply_updates(
    pose: Pose, updates: Mapping[str, torch.Tensor], components: Sequence[Component] = COMPONENTS
) -> Pose:
    """Apply one update per component (keyed by ``Component.name``): torsions, then rotation about the ligand
    centroid, then translation. Components missing from ``updates`` are skipped."""
    for comp in in_apply_order(components):
        if comp.name in updates:
            pose = comp.apply(pose, updates[comp.name])
    return pose


def sample_prior_pose(
    pose: Pose,
    *,
    schedule,
    center: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
    components: Sequence[Component] = COMPONENTS,
) -> Pose:
    """``pose`` (a reference conformer per pose) moved to a draw from the prior at t = 1: uniform torsions, a
    uniform rotation and a centroid ``center + N(0, sigma_tr_max^2 I)``. ``schedule`` is a
    :class:`~discodock.diffusion.noise.PoseNoiseSchedule`."""
    for comp in in_apply_order(components):
        update = comp.prior_update(pose, sigma_max=schedule[comp.name].sigma_max, center=center, generator=generator)
        pose = comp.apply(pose, update)
    return pose


def perturb_pose(
    pose: Pose,
    sigmas: Mapping[str, torch.Tensor],
    *,
    generator: torch.Generator | None = None,
    components: Sequence[Component] = COMPONENTS,
) -> tuple[Pose, dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Noise a batch of (crystal) poses for training.

    Args:
        pose: the clean poses.
        sigmas: ``name -> [B]`` (or scalar) noise level of each pose, e.g. ``PoseNoiseSchedule.sigmas(t)``.

    Returns:
        ``(noisy_pose, targets, item_sigmas)``: the perturbed poses; per component the score target
        (``[B, 3]``, ``[B, 3]``, ``[T]``); per component the sigma of each item (for the loss).
    """
    targets, item_sigmas = {}, {}
    for comp in in_apply_order(components):
        sigma = comp.per_item(pose, torch.as_tensor(sigmas[comp.name], dtype=pose.pos.dtype))
        update, targets[comp.name] = comp.perturb(sigma, generator=generator)
        item_sigmas[comp.name] = sigma
        pose = comp.apply(pose, update)
    return pose, targets, item_sigmas
