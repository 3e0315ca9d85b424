"""The complexes of a benchmark: found by ID in folders of the PDBBind layout (see :mod:`discodock.data.pdbbind`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from discodock.data.pdbbind import complex_files
from discodock.errors import InputError


@dataclass(frozen=True)
class BenchmarkComplex:
    """One complex: its ID and files (None when they were not found; ``problem`` says why)."""

    id: str
    protein: str | None
    ligand: str | None
    problem: str | None = None


def find_complexes(data_dirs: list[str | Path], ids: list[str] | None) -> list[BenchmarkComplex]:
    """Locate each complex in the first data folder that has it; without ``ids``, every sub-folder that
    holds a ``<name>_ligand.sdf`` (sorted by name, first folder first)."""
    roots = [Path(d) for d in data_dirs]
    for root in roots:
        if not root.is_dir():
            raise InputError(root, "data folder not found")
    if ids is None:
        ids, seen = [], set()
        for root in roots:
            for sub in sorted(p for p in root.iterdir() if p.is_dir()):
                if sub.name not in seen and complex_files(sub)[1]:
                    ids.append(sub.name)
                    seen.add(sub.name)
        if not ids:
            raise InputError(", ".join(map(str, roots)), "no complexes (<id>/<id>_ligand.sdf) found")
    complexes = []
    for cid in ids:
        found = None
        for root in roots:
            if (root / cid).is_dir():
                protein, ligands = complex_files(root / cid, cid)
                if protein and ligands:
                    found = BenchmarkComplex(cid, str(protein), str(ligands[0]))
                    break
                missing = "protein (.pdb/.pdb.gz/.cif)" if protein is None else "ligand (.sdf/.mol2)"
                found = BenchmarkComplex(cid, None, None, f"{root / cid}: {missing} file missing")
        complexes.append(found or BenchmarkComplex(cid, None, None, "not found in the --data folders"))
    return complexes
