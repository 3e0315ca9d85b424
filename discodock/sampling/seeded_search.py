"""Seeded physics search: every sampled pose starts Monte Carlo chains on AutoDock Vina's energy.

One local optimisation from a diffusion sample ends in the nearest, often shallow, minimum; Vina's own search
runs long Monte Carlo chains from random starts. This step does what Vina does, but from the model's samples
and with all chains of a complex in one batch: Vina's scoring function on grid maps in torch
(:class:`~discodock.scoring.vina_energy.VinaGridEnergy`), mutations, batched quasi-Newton steps and Metropolis
acceptance (:func:`~discodock.sampling.search.monte_carlo_search`). Each sample keeps the best pose of its
chains; ranking then re-scores it with Vina itself.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from rdkit import Chem

from discodock.data import keys as K
from discodock.sampling.search import monte_carlo_search
from discodock.scoring.vina import POCKET_BOX_SIZE
from discodock.scoring.vina_energy import VinaGridEnergy


def random_starts(conformer: torch.Tensor, center: Sequence[float], n: int, *, generator: torch.Generator
                  ) -> torch.Tensor:
    """``[n, N, 3]``: the ligand's conformer ``conformer`` [N, 3] (Angstrom) in ``n`` uniformly random
    orientations, its centroid on the site ``center``: the starts of Vina's own search, and the null model
    that diffusion samples are measured against."""
    from discodock.geometry.rigid import axis_angle_to_matrix, random_rotation_vectors

    rot = axis_angle_to_matrix(random_rotation_vectors(n, generator=generator)).to(conformer)
    centred = conformer - conformer.mean(0, keepdim=True)
    return torch.einsum("nij,aj->nai", rot, centred) + torch.as_tensor(center, dtype=conformer.dtype).reshape(1, 1, 3)


def search_arguments(data, *, center: Sequence[float], iterations: int, chains: int, seed: int, keep: int = 0
                     ) -> dict:
    """The keyword arguments of :func:`search_from_samples` for the complex graph ``data`` (its ligand's
    rotatable bonds) docked at ``center`` (Angstrom), in the pocket box Vina uses there."""
    return dict(center=[float(v) for v in center], box_size=POCKET_BOX_SIZE, tor_bonds=data[K.LIGAND][K.TOR_BONDS],
                tor_mask=data[K.LIGAND][K.TOR_MASK], iterations=iterations, chains=chains, seed=seed, keep=keep)


def search_from_samples(
    ligand: Chem.Mol,
    positions: torch.Tensor,
    *,
    receptor,
    center: Sequence[float],
    box_size: float,
    tor_bonds: torch.Tensor,
    tor_mask: torch.Tensor,
    iterations: int,
    chains: int,
    seed: int,
    keep: int = 0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``[K, N, 3]`` best pose found from each of the ``S`` sampled poses ``positions`` (Angstrom), its energy
    (kcal/mol, Vina's intermolecular + intramolecular energy on the maps) and ``[K]`` the index of its start.
    ``keep`` > 0 keeps only the ``keep`` starts whose best pose has the lowest Vina score on the maps (the
    score Vina reports: intermolecular energy over its torsion factor), in start order; 0 keeps all (K = S).

    ``ligand``: the docked molecule with a 3D conformer (any pose; atom order as in ``positions``);
    ``receptor``: a :class:`~discodock.scoring.vina.VinaReceptor`; ``center`` / ``box_size`` (Angstrom): the
    cubic site box of the maps and of the search (the ligand's centroid stays in it); ``tor_bonds`` /
    ``tor_mask``: the ligand's rotatable bonds (``discodock.data.keys``; those Vina keeps rigid stay rigid);
    ``chains`` Monte Carlo chains of ``iterations`` steps start from every sample; ``seed`` makes the search
    reproducible."""
    positions = positions.detach().to("cpu", torch.float32)
    size = [float(box_size)] * 3
    energy = VinaGridEnergy.build(receptor=receptor, ligand=ligand, center=center, size=size)
    # Twist only the bonds Vina's model twists (amides stay rigid): its internal energy counts only the atom
    # pairs across those, so twisting another bond could fold the ligand onto itself unpenalised.
    vina_bonds = {frozenset(b) for b in energy.rotatable_bonds}
    twisted = torch.tensor([frozenset(b) in vina_bonds for b in tor_bonds.tolist()], dtype=torch.bool)
    tor_bonds, tor_mask = tor_bonds.cpu()[twisted], tor_mask.cpu()[twisted]
    generator = torch.Generator().manual_seed(int(seed))
    result = monte_carlo_search(energy, positions, tor_bonds=tor_bonds, tor_mask=tor_mask,
                                center=[float(c) for c in center], box_size=size, iterations=int(iterations),
                                chains_per_seed=int(chains), generator=generator)
    S, N = positions.shape[:2]
    energies = result.energy.reshape(S, chains)
    best = energies.argmin(dim=1)
    pos = result.pos.reshape(S, chains, N, 3)[torch.arange(S), best].detach()
    energy_best = energies[torch.arange(S), best].detach()
    index = torch.arange(S)
    if 0 < keep < S:  # Vina's own optimisation costs ~0.2 s per pose: spend it on the promising ones only
        with torch.no_grad():
            score = energy.affinity(pos)
        index = score.argsort()[:keep].sort().values
    return pos[index], energy_best[index], index
