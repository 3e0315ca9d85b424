"""How closely the torch Vina energy (discodock.scoring.vina_energy) reproduces Vina's own scores, over many
crystal complexes: the check of its atom typing and pair rules on ligands beyond the test's three.

For each complex (crystal ligand, 22 A box on its centroid): trilinear maps against Vina's map-based score
(``no_refine=True``, what its search evaluates) and the default cubic maps against Vina's reported score()
(exact receptor sums); prints Pearson r and the largest errors of inter / intra / affinity, and lists the
complexes that could not be scored or whose affinity differs by more than ``--flag`` kcal/mol.

    nice -n 19 env OMP_NUM_THREADS=1 python benchmarks/accuracy/vina_energy_agreement.py [--limit 60]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DEFAULT_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "pdbbind_subset213"
BOX = 22.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--limit", type=int, default=60, help="first N complexes (sorted IDs)")
    parser.add_argument("--flag", type=float, default=0.1, help="list complexes with a larger affinity error")
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"vina_energy_agreement: data folder not found: {args.data}", file=sys.stderr)
        return 2

    import numpy as np
    import torch
    from rdkit import Chem, RDLogger
    from vina import Vina

    from discodock.errors import InputError
    from discodock.scoring.pdbqt import ligand_pdbqt
    from discodock.scoring.vina import VinaReceptor
    from discodock.scoring.vina_energy import VinaGridEnergy

    RDLogger.DisableLog("rdApp.*")
    torch.set_num_threads(1)
    rows, skipped = {"linear": [], "cubic": []}, []
    ids = sorted(p.name for p in args.data.iterdir() if p.is_dir())[: args.limit]
    for cid in ids:
        try:
            ligand = Chem.MolFromMolFile(str(args.data / cid / f"{cid}_ligand.sdf"))
            if ligand is None:
                raise InputError(cid, "RDKit cannot read the ligand SDF")
            ligand = Chem.RemoveHs(ligand)
            receptor = VinaReceptor(protein=args.data / cid / f"{cid}_protein.pdb.gz", cpu=1)
            center = ligand.GetConformer().GetPositions().mean(0)
            pos = torch.tensor(ligand.GetConformer().GetPositions(), dtype=torch.float32)[None]
            for mode, no_refine in (("linear", True), ("cubic", False)):
                energy = VinaGridEnergy.build(receptor=receptor, ligand=ligand, center=center, size=BOX,
                                              interpolation=mode)
                v = Vina(sf_name="vina", cpu=1, verbosity=0, no_refine=no_refine)
                v.set_receptor(str(receptor.pdbqt_path))
                v.set_ligand_from_string(ligand_pdbqt(ligand))
                v.compute_vina_maps(center=center.tolist(), box_size=[BOX] * 3, force_even_voxels=True)
                ref = v.score()
                with torch.no_grad():
                    ours = [energy.inter(pos).item(), energy.intra(pos).item(), energy.affinity(pos).item()]
                rows[mode].append((cid, ours, [ref[1], ref[5], ref[0]]))
        except (InputError, RuntimeError) as err:
            skipped.append(f"{cid}: {err}")

    print(f"data: {args.data.resolve()}  complexes: {len(ids)}  scored: {len(rows['cubic'])}  box: {BOX} A")
    for mode, against in (("linear", "Vina map-based score (no_refine)"), ("cubic", "Vina score() (exact)")):
        ours = np.array([r[1] for r in rows[mode]])
        ref = np.array([r[2] for r in rows[mode]])
        print(f"{mode:6s} vs {against}:")
        for k, name in enumerate(("inter", "intra", "affinity")):
            err = np.abs(ours[:, k] - ref[:, k])
            r = np.corrcoef(ours[:, k], ref[:, k])[0, 1]
            print(f"    {name:8s} r {r:.5f}  max |err| {err.max():.3f}  median {np.median(err):.4f} kcal/mol")
        flagged = [(cid, o[2], f[2]) for cid, o, f in rows[mode] if abs(o[2] - f[2]) > args.flag]
        for cid, o, f in flagged:
            print(f"    affinity off by > {args.flag}: {cid} ours {o:.3f} vina {f:.3f}")
    for line in skipped:
        print(f"skipped {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
