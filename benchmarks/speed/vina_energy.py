"""Speed of the batched torch Vina energy (discodock.scoring.vina_energy) against Vina's Python API.

One complex (default: 1xka from the shared PDBbind subset, 30 heavy atoms, 9 rotatable bonds), a 25 A box on
the crystal ligand's centroid, one thread. Prints the map build time, energy + gradient evaluations per second
for batches of B poses (cubic and trilinear interpolation), and Vina's score_only and local optimisation per
pose on the same maps. Times are CPU seconds of this single-threaded process (time.process_time), so that a
busy shared machine slows them less than wall-clock times.

    nice -n 19 env OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 python benchmarks/speed/vina_energy.py
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

DEFAULT_COMPLEX = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "pdbbind_subset213" / "1xka"
BOX = 25.0


def _per_call(fn, min_seconds: float = 1.0) -> float:
    """CPU seconds per call of ``fn`` (repeated for at least ``min_seconds`` after one warm-up call)."""
    fn()
    n, start = 0, time.process_time()
    while True:
        fn()
        n += 1
        elapsed = time.process_time() - start
        if elapsed >= min_seconds:
            return elapsed / n


def _cpu_each(fn, items) -> float:
    """Mean CPU seconds of ``fn(item)`` over ``items``."""
    start = time.process_time()
    for item in items:
        fn(item)
    return (time.process_time() - start) / len(items)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--complex", type=Path, default=DEFAULT_COMPLEX, help="folder <id>/<id>_protein.pdb.gz + _ligand.sdf")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 64, 256])
    parser.add_argument("--vina-poses", type=int, default=20, help="poses timed with Vina's API")
    args = parser.parse_args(argv)
    cid = args.complex.name
    protein, ligand_file = args.complex / f"{cid}_protein.pdb.gz", args.complex / f"{cid}_ligand.sdf"
    if not protein.is_file() or not ligand_file.is_file():
        print(f"vina_energy: {args.complex} lacks {protein.name} or {ligand_file.name}", file=sys.stderr)
        return 2

    import numpy as np
    import torch
    from rdkit import Chem, RDLogger
    from scipy.spatial.transform import Rotation

    from discodock.scoring.pdbqt import ligand_pdbqt
    from discodock.scoring.vina import VinaReceptor
    from discodock.scoring.vina_energy import VinaGridEnergy

    RDLogger.DisableLog("rdApp.*")
    torch.set_num_threads(1)
    ligand = Chem.RemoveHs(Chem.MolFromMolFile(str(ligand_file)))
    receptor = VinaReceptor(protein=protein, cpu=1)
    xyz = ligand.GetConformer().GetPositions()
    center = xyz.mean(0)
    print(f"load average {os.getloadavg()[0]:.1f}; complex {cid}: {ligand.GetNumAtoms()} heavy atoms, box {BOX} A, spacing 0.375 A, "
          f"torch threads {torch.get_num_threads()}")

    rng = np.random.default_rng(0)
    max_b = max(args.batches)
    poses = np.stack([Rotation.from_rotvec(rng.normal(0, 0.3, 3)).apply(xyz - center) + center
                      + rng.normal(0, 1.0, 3) for _ in range(max_b)])
    rows = []
    for mode in ("cubic", "linear"):
        start, wall = time.process_time(), time.perf_counter()
        energy = VinaGridEnergy.build(receptor=receptor, ligand=ligand, center=center, size=BOX, interpolation=mode)
        build, wall = time.process_time() - start, time.perf_counter() - wall
        rows.append((f"grid build ({mode})", f"{build:.2f} s", f"(wall {wall:.2f} s)"))
        for b in args.batches:
            pos = torch.tensor(poses[:b], dtype=torch.float32)

            def step():
                p = pos.clone().requires_grad_(True)
                energy(p).sum().backward()

            t = _per_call(step)
            rows.append((f"torch {mode}, energy + gradient, B = {b}", f"{t * 1e3:.2f} ms / call",
                         f"{b / t:,.0f} poses/s"))

    from vina import Vina

    v = Vina(sf_name="vina", cpu=1, seed=1, verbosity=0)
    v.set_receptor(str(receptor.pdbqt_path))
    v.set_ligand_from_string(ligand_pdbqt(ligand))
    v.compute_vina_maps(center=center.tolist(), box_size=[BOX] * 3)
    mols = []
    for p in poses[: args.vina_poses]:
        mol = Chem.Mol(ligand)
        conf = mol.GetConformer()
        for i, q in enumerate(p):
            conf.SetAtomPosition(i, q.tolist())
        mols.append(mol)
    ligand_pdbqt(mols[0])  # meeko's first call imports and warms up
    prep = _cpu_each(ligand_pdbqt, mols)
    texts = [ligand_pdbqt(m) for m in mols]
    t_load = _cpu_each(v.set_ligand_from_string, texts)
    t_score = _per_call(lambda: v.score())

    def optimise(text):
        v.set_ligand_from_string(text)
        start = time.process_time()
        v.optimize()
        return time.process_time() - start

    t_opt = float(np.mean([optimise(text) for text in texts]))
    rows += [
        ("meeko ligand PDBQT per pose", f"{prep * 1e3:.2f} ms", f"{1 / prep:,.0f} poses/s"),
        ("Vina set_ligand_from_string per pose", f"{t_load * 1e3:.2f} ms", f"{1 / t_load:,.0f} poses/s"),
        ("Vina score() of the loaded pose", f"{t_score * 1e3:.3f} ms", f"{1 / t_score:,.0f} poses/s"),
        ("Vina optimize() of the loaded pose", f"{t_opt * 1e3:.2f} ms", f"{1 / t_opt:,.0f} poses/s"),
    ]
    width = max(len(r[0]) for r in rows)
    for name, time_text, rate in rows:
        print(f"{name:<{width}}  {time_text:>16}  {rate:>16}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
