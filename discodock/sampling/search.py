"""Seeded Monte Carlo search over ligand poses (Vina's search, batched over chains).

From each seed pose (e.g. a diffusion sample) ``chains_per_seed`` chains run Vina's Monte Carlo: each
iteration mutates one thing per chain (the position by a random vector inside a sphere of 2 Angstrom, the
orientation by a random rotation of up to 2 Angstrom at the radius of gyration, or one torsion set to a
uniform random angle, each with Vina's odds ``1 / (2 + T)``), optimises all degrees of freedom locally
(:mod:`discodock.sampling.local_opt`) and accepts the result with the Metropolis rule at ``temperature``.
Each chain keeps the best pose it visits. All chains live in one tensor: one energy call per local step for
all of them. The centroid of every pose stays inside the site box.

All randomness is drawn up front from the passed generator, six uniforms per chain and iteration (which
move, a point in the unit ball, a torsion angle, the Metropolis draw), so chain ``i`` behaves exactly as a
run of chain ``i`` alone with its own row of draws (:func:`run_chains`).
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Sequence

import torch

from discodock.errors import ConfigError
from discodock.geometry._random import rand
from discodock.geometry.kinematics import LigandKinematics
from discodock.geometry.rigid import axis_angle_to_matrix
from discodock.geometry.torus import wrap
from discodock.sampling.local_opt import Energy, PoseState, evaluate, local_optimize

DRAWS_PER_ITERATION = 6


@dataclasses.dataclass(frozen=True)
class SearchResult:
    """The best pose of every chain.

    Attributes:
        pos: ``[C, N, 3]`` best pose of each chain (Angstrom), ``C`` = seeds x chains per seed.
        energy: ``[C]`` its energy (the energy's units, kcal/mol for Vina).
        seed_index: ``[C]`` long, the seed each chain started from (chains of one seed are consecutive).
        accepted_fraction: ``[C]`` fraction of Metropolis steps each chain accepted.
        evaluations: energy-and-gradient evaluations of single poses, in all.
        seconds: wall time of the search.
    """

    pos: torch.Tensor
    energy: torch.Tensor
    seed_index: torch.Tensor
    accepted_fraction: torch.Tensor
    evaluations: int
    seconds: float

    @property
    def evaluations_per_second(self) -> float:
        return self.evaluations / max(self.seconds, 1e-9)


def monte_carlo_search(
    energy: Energy,
    seeds_pos: torch.Tensor,
    *,
    tor_bonds: torch.Tensor,
    tor_mask: torch.Tensor,
    center: Sequence[float],
    box_size: Sequence[float],
    iterations: int = 60,
    chains_per_seed: int = 4,
    local_steps: int = 20,
    temperature: float = 1.2,
    mutation_amplitude: float = 2.0,
    max_step: float = 2.0,
    generator: torch.Generator | None = None,
) -> SearchResult:
    """Monte Carlo search from seed poses of one ligand.

    Args:
        energy: ``pos [B, N, 3] -> [B]``, differentiable in ``pos``, lower is better.
        seeds_pos: ``[S, N, 3]`` starting poses (Angstrom).
        tor_bonds, tor_mask: ``[T, 2]`` and ``[T, N]`` rotatable bonds of the ligand as in
            :class:`discodock.diffusion.pose.Pose` for one ligand.
        center, box_size: the site box (Angstrom): every pose's centroid stays inside it (seeds outside are
            moved onto its faces first).
        iterations: Monte Carlo steps per chain.
        chains_per_seed: independent chains started from each seed.
        local_steps: quasi-Newton steps (energy evaluations) after each mutation.
        temperature: Metropolis temperature in the energy's units (Vina: 1.2 kcal/mol).
        mutation_amplitude: Angstrom (Vina: 2).
        max_step: largest local step (Angstrom of atom displacement, about).
        generator: source of all randomness; the same seed gives the same result.
    """
    for name, value, low in (("iterations", iterations, 0), ("chains_per_seed", chains_per_seed, 1),
                             ("local_steps", local_steps, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ConfigError(None, f"{name} must be an integer >= {low}, got {value!r}")
    for name, value in (("temperature", temperature), ("mutation_amplitude", mutation_amplitude),
                        ("max_step", max_step)):
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
            raise ConfigError(None, f"{name} must be a positive number, got {value!r}")
    if not torch.is_tensor(seeds_pos) or seeds_pos.dim() != 3 or seeds_pos.shape[-1] != 3:
        shape = tuple(seeds_pos.shape) if torch.is_tensor(seeds_pos) else type(seeds_pos).__name__
        raise ConfigError(None, f"seeds_pos must be a [S, N, 3] tensor of seed poses, got {shape}")
    if not seeds_pos.is_floating_point() or not bool(torch.isfinite(seeds_pos).all()):
        raise ConfigError(None, "seeds_pos must hold finite floating-point coordinates")
    box = site_box(center, box_size, like=seeds_pos)
    kin = LigandKinematics.create(seeds_pos.detach(), tor_bonds, tor_mask)
    S = seeds_pos.shape[0]
    seed_index = torch.arange(S, device=seeds_pos.device).repeat_interleave(chains_per_seed)
    draws = rand(S * chains_per_seed, iterations, DRAWS_PER_ITERATION, generator=generator,
                 dtype=seeds_pos.dtype, device=seeds_pos.device)
    return run_chains(energy, kin, seed_index, draws, box, local_steps=local_steps, temperature=temperature,
                      mutation_amplitude=mutation_amplitude, max_step=max_step)


def site_box(center: Sequence[float], box_size: Sequence[float], *, like: torch.Tensor) -> torch.Tensor:
    """``[2, 3]`` lower and upper corner of the box; ``ConfigError`` unless 3 finite numbers and sizes > 0."""
    try:
        c = torch.as_tensor(center, dtype=like.dtype, device=like.device).reshape(-1)
        s = torch.as_tensor(box_size, dtype=like.dtype, device=like.device).reshape(-1)
    except (TypeError, ValueError, RuntimeError) as err:
        raise ConfigError(None, f"center and box_size must be 3 numbers each (Angstrom): {err}") from None
    if c.shape != (3,) or s.shape != (3,):
        raise ConfigError(None, f"center and box_size must be 3 numbers each, got {c.numel()} and {s.numel()}")
    if not bool(torch.isfinite(c).all() & torch.isfinite(s).all()) or not bool((s > 0).all()):
        raise ConfigError(None, f"the site box must have finite centre and sizes > 0 Angstrom, got {s.tolist()}")
    return torch.stack([c - s / 2, c + s / 2])


def run_chains(
    energy: Energy,
    kin: LigandKinematics,
    seed_index: torch.Tensor,
    draws: torch.Tensor,
    box: torch.Tensor,
    *,
    local_steps: int,
    temperature: float,
    mutation_amplitude: float = 2.0,
    max_step: float = 2.0,
) -> SearchResult:
    """The search itself: chain ``c`` starts from reference pose ``seed_index[c]`` of ``kin`` and uses the
    uniforms ``draws[c] [iterations, 6]``; ``box [2, 3]``. See :func:`monte_carlo_search`."""
    t0 = time.perf_counter()
    with torch.no_grad():
        # each seed once (its chains would all do the same), then one copy per chain
        seeds = torch.unique(seed_index)
        start = evaluate(energy, kin, PoseState.identity(kin, seeds), box)
        start = local_optimize(energy, kin, start, box, steps=local_steps, max_step=max_step)
        evaluations = seeds.numel() * (1 + local_steps)
        cur = start.index(torch.searchsorted(seeds, seed_index))
        best_pos, best_e = cur.pos, cur.energy
        C, iterations = seed_index.shape[0], draws.shape[1]
        accepted = torch.zeros(C, dtype=torch.long, device=best_e.device)
        for it in range(iterations):
            u = draws[:, it]
            cand = evaluate(energy, kin, mutate(kin, cur.state, u, mutation_amplitude), box)
            cand = local_optimize(energy, kin, cand, box, steps=local_steps, max_step=max_step)
            evaluations += C * (1 + local_steps)
            gain = cur.energy - cand.energy  # Metropolis (Vina's rule): always downhill, uphill by chance
            metropolis = (gain > 0) | (u[:, 5] < torch.exp(gain / temperature))
            # a chain stuck at a NaN energy takes any finite candidate (+inf already compares as uphill from it)
            accept = torch.isfinite(cand.energy) & (metropolis | ~torch.isfinite(cur.energy))
            cur = cand.where(accept, cur)
            accepted += accept
            better = (cur.energy < best_e) | (torch.isfinite(cur.energy) & ~torch.isfinite(best_e))
            best_pos = torch.where(better[:, None, None], cur.pos, best_pos)
            best_e = torch.where(better, cur.energy, best_e)
    return SearchResult(
        pos=best_pos,
        energy=best_e,
        seed_index=seed_index,
        accepted_fraction=accepted.to(best_e.dtype) / max(iterations, 1),
        evaluations=int(evaluations),
        seconds=time.perf_counter() - t0,
    )


def mutate(kin: LigandKinematics, state: PoseState, u: torch.Tensor, amplitude: float) -> PoseState:
    """One of Vina's mutations per chain, chosen and drawn from the uniforms ``u [C, 6]``: column 0 picks the
    move (position, orientation or torsion ``k``, equally likely), columns 1-3 a point in the unit ball, 4 a
    torsion angle."""
    T = kin.num_torsions
    which = (u[:, 0] * (2 + T)).long().clamp(max=1 + T)
    # uniform in the unit ball: radius u^(1/3), direction uniform on the sphere
    r = u[:, 1].pow(1 / 3)
    cos_t = 2 * u[:, 2] - 1
    sin_t = (1 - cos_t * cos_t).clamp_min(0).sqrt()
    phi = 2 * math.pi * u[:, 3]
    ball = r[:, None] * torch.stack([sin_t * torch.cos(phi), sin_t * torch.sin(phi), cos_t], 1)
    translation = state.translation + torch.where((which == 0)[:, None], amplitude * ball, torch.zeros_like(ball))
    rotvec = (amplitude / kin.radius[state.ref_index].clamp_min(1e-6))[:, None] * ball
    rotvec = torch.where((which == 1)[:, None], rotvec, torch.zeros_like(rotvec))
    rotation = axis_angle_to_matrix(rotvec) @ state.rotation
    # one Newton step back to orthogonality: thousands of composed increments would otherwise drift (float32)
    rotation = 1.5 * rotation - 0.5 * rotation @ rotation.mT @ rotation
    pick = which[:, None] == 2 + torch.arange(T, device=u.device)  # [C, T]
    torsions = torch.where(pick, (math.pi * (2 * u[:, 4] - 1))[:, None], wrap(state.torsions))
    return PoseState(translation, rotation, torsions, state.ref_index)
