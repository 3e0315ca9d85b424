"""Reverse diffusion over ligand poses: integrate the reverse SDE (or probability-flow ODE) from t = 1 to 0."""

from __future__ import annotations

from typing import Callable, Mapping, Sequence

import torch

from discodock.diffusion.components import COMPONENTS, Component, in_apply_order
from discodock.diffusion.pose import Pose
from discodock.diffusion.noise import PoseNoiseSchedule

ScoreFn = Callable[[Pose, torch.Tensor, Mapping[str, torch.Tensor]], Mapping[str, torch.Tensor]]


def reverse_diffusion(
    score_fn: ScoreFn,
    pose: Pose,
    *,
    schedule: PoseNoiseSchedule,
    num_steps: int = 20,
    ode: bool = False,
    rule: str = "diffdock",
    temperatures: Mapping[str, float] | None = None,
    sigma_data: Mapping[str, float] | None = None,
    generator: torch.Generator | None = None,
    no_final_noise: bool = True,
    t_min: float = 0.0,
    components: Sequence[Component] = COMPONENTS,
    return_trajectory: bool = False,
) -> Pose | tuple[Pose, list[torch.Tensor]]:
    """Denoise ``pose`` (already drawn from the prior, see ``sample_prior_pose``) in ``num_steps`` Euler steps.

    Args:
        score_fn: ``score_fn(pose, t [B], sigmas) -> {"tr": [B, 3], "rot": [B, 3], "tor": [T]}`` with ``sigmas``
            the per-pose noise levels at ``t`` (``PoseNoiseSchedule.sigmas``).
        schedule: the noise schedule the score was trained with.
        num_steps: steps on the uniform t grid from 1 to ``t_min``; step ``i`` uses the score at its start.
        ode: integrate the probability-flow ODE (deterministic) instead of the reverse SDE.
        rule: ``"diffdock"`` (Euler(-Maruyama) in t with ``g(t)^2 dt``, DiffDock's sampler) or ``"sigma"``
            (ancestral SDE step / Euler-in-sigma ODE step, more accurate for few steps); see ``Component.step``.
        temperatures: optional ``name -> temperature`` (< 1 sharpens); see ``Component.step``.
        sigma_data: ``name -> spread of the data`` used by the temperature; default ``schedule[name].sigma(0.5)``.
        generator: random source of the SDE noise.
        no_final_noise: drop the noise term on the last step (returns the mean of the final transition).
        return_trajectory: also return the list of ``pos`` after every step (``num_steps + 1`` tensors).

    Returns:
        The final pose (and the trajectory when asked).
    """
    temperatures = dict(temperatures or {})
    sigma_data = dict(sigma_data or {})
    dtype, device = pose.pos.dtype, pose.pos.device
    times = schedule.times(num_steps, t_min=t_min).to(dtype=dtype, device=device)
    ordered = in_apply_order(components)
    trajectory = [pose.pos]
    for i in range(num_steps):
        t = times[i].expand(pose.num_poses)
        sigmas = {k: v.to(dtype=dtype, device=device) for k, v in schedule.sigmas(t).items()}
        t_next = times[i + 1].expand_as(t)
        sigmas_next = {k: v.to(dtype=dtype, device=device) for k, v in schedule.sigmas(t_next).items()}
        scores = score_fn(pose, t, sigmas)
        last = i == num_steps - 1
        for comp in ordered:
            score = scores[comp.name]
            if tuple(score.shape) != comp.shape(pose):
                raise ValueError(
                    f"score_fn returned {comp.name} of shape {tuple(score.shape)}, expected {comp.shape(pose)}"
                )
            sched = schedule[comp.name]
            tau = float(temperatures.get(comp.name, 1.0))
            update = comp.step(
                score.to(dtype),
                sigma=comp.per_item(pose, sigmas[comp.name]),
                sigma_next=comp.per_item(pose, sigmas_next[comp.name]),
                ode=ode,
                rule=rule,
                temperature=tau,
                sigma_data=float(sigma_data.get(comp.name, sched.sigma(0.5))) if tau != 1.0 else None,
                add_noise=not (last and no_final_noise),
                generator=generator,
            )
            pose = comp.apply(pose, update)
        trajectory.append(pose.pos)
    return (pose, trajectory) if return_trajectory else pose
