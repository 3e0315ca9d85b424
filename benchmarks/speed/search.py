"""Speed of the batched Monte Carlo pose search (``discodock.sampling.search``) on one CPU core.

Searches a real ~30-atom flexible ligand (``1xka`` of the shared PDBbind subset, a training complex) with a
cheap test energy (well-shaped attraction to its crystal pose, so the figures measure the search itself, not an
energy), from 8 seeds, for 64 and 256 chains, and prints chain-iterations and pose evaluations (energy +
gradient) per CPU-second of this process (one thread), which a busy machine does not distort as it does wall
time (printed too). Run it niced:

    OMP_NUM_THREADS=1 nice -n 19 python benchmarks/speed/search.py [--ligand SDF] [--iterations 30] [--local-steps 20]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

DEFAULT_LIGAND = (
    Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "pdbbind_subset213" / "1xka" / "1xka_ligand.sdf"
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ligand", type=Path, default=DEFAULT_LIGAND, help="SDF of the crystal ligand")
    parser.add_argument("--iterations", type=int, default=30)
    parser.add_argument("--local-steps", type=int, default=20)
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    args = parser.parse_args(argv)
    if not args.ligand.is_file():
        print(f"search benchmark: ligand not found: {args.ligand}", file=sys.stderr)
        return 2

    import torch
    from rdkit import Chem

    from discodock.data.conformers import generate_conformer
    from discodock.data.featurize import rotatable_bonds
    from discodock.geometry.kinematics import LigandKinematics
    from discodock.geometry.rigid import random_rotation_vectors
    from discodock.sampling.search import monte_carlo_search

    torch.set_num_threads(1)
    dtype = getattr(torch, args.dtype)
    mol = Chem.RemoveHs(Chem.MolFromMolFile(str(args.ligand)))
    target = torch.tensor(mol.GetConformer().GetPositions(), dtype=dtype)
    tor_bonds, tor_mask = rotatable_bonds(mol)
    conf = torch.tensor(generate_conformer(mol, seed=0).GetConformer().GetPositions(), dtype=dtype)

    g = torch.Generator().manual_seed(0)
    S = 8
    kin = LigandKinematics.create(conf, tor_bonds, tor_mask)
    seeds = kin.coords(
        target.mean(0) - kin.center[0] + 3 * torch.randn(S, 3, generator=g, dtype=dtype),
        random_rotation_vectors(S, generator=g, dtype=dtype),
        (2 * torch.rand(S, kin.num_torsions, generator=g, dtype=dtype) - 1) * math.pi,
        torch.zeros(S, dtype=torch.long),
    )

    def energy(pos):  # attraction of each atom to its crystal position within 2 A (zero beyond)
        d2 = (pos - target).square().sum(-1)
        return -10 * (1 - d2 / 4).clamp_min(0).square().mean(-1)

    print(f"ligand: {args.ligand.name}  atoms: {mol.GetNumAtoms()}  torsions: {kin.num_torsions}  "
          f"dtype: {args.dtype}  iterations: {args.iterations}  local steps: {args.local_steps}  threads: 1")
    for chains in (64, 256):
        cpu0 = time.process_time()
        res = monte_carlo_search(
            energy, seeds, tor_bonds=tor_bonds, tor_mask=tor_mask, center=target.mean(0).tolist(),
            box_size=(20.0, 20.0, 20.0), iterations=args.iterations, chains_per_seed=chains // S,
            local_steps=args.local_steps, generator=torch.Generator().manual_seed(1),
        )
        cpu = time.process_time() - cpu0
        rmsd = (res.pos - target).square().sum(-1).mean(-1).sqrt()
        print(f"chains {chains:4d}: {chains * args.iterations / cpu:8.0f} chain-iterations per CPU-second  "
              f"{res.evaluations / cpu:8.0f} pose evaluations per CPU-second  (CPU {cpu:.2f} s, wall "
              f"{res.seconds:.2f} s; accepted {res.accepted_fraction.mean():.2f}, best RMSD {rmsd.min():.2f} A)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
