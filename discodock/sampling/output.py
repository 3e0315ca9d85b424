"""Writing docking results: ranked SDF poses, a protein + top-pose PDB, and results.json.

Everything for one complex is written into a temporary sibling folder and moved into place at the end, so a
failure never leaves rank files that look like a finished run.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rdkit import Chem


@dataclass
class RankedPose:
    """One output pose: the input molecule (bond orders, charges, stereo) with docked coordinates (Angstrom)."""

    mol: Chem.Mol
    confidence: float | None = None
    vina_score: float | None = None
    sample_index: int = 0


@dataclass
class DockResult:
    name: str
    poses: list[RankedPose]  # best first
    info: dict[str, Any] = field(default_factory=dict)  # seed, timings, checkpoint hash, warnings ...


def _read_text(path: Path) -> str:
    if str(path).endswith(".gz"):
        with gzip.open(path, "rt") as fh:
            return fh.read()
    return Path(path).read_text()


def pose_to_sdf_block(pose: RankedPose, rank: int, *, add_hs: bool = False) -> str:
    mol = Chem.Mol(pose.mol)
    if add_hs:
        mol = Chem.AddHs(mol, addCoords=True)
    mol.SetIntProp("rank", rank)
    if pose.confidence is not None:
        mol.SetDoubleProp("confidence", float(pose.confidence))
    if pose.vina_score is not None:
        mol.SetDoubleProp("vina_score", float(pose.vina_score))
    buf = io.StringIO()
    with Chem.SDWriter(buf) as writer:
        writer.SetKekulize(True)
        writer.write(mol)
    return buf.getvalue()


def complex_pdb_block(protein_path: str | Path, ligand: Chem.Mol) -> str:
    """Protein records as read + the ligand as HETATM residue LIG in chain L (opens in PyMOL)."""
    protein_lines = [
        ln for ln in _read_text(Path(protein_path)).splitlines() if ln.startswith(("ATOM", "HETATM", "TER"))
    ]
    lig = Chem.Mol(ligand)
    for i, atom in enumerate(lig.GetAtoms()):
        info = Chem.AtomPDBResidueInfo()
        info.SetResidueName("LIG")
        info.SetChainId("L")
        info.SetResidueNumber(1)
        info.SetIsHeteroAtom(True)
        info.SetName(f"{atom.GetSymbol()}{i + 1}"[:4].ljust(4))
        atom.SetMonomerInfo(info)
    lig_block = Chem.MolToPDBBlock(lig, flavor=4)  # flavor 4: no MASTER record
    lig_lines = [ln for ln in lig_block.splitlines() if ln.startswith(("HETATM", "CONECT"))]
    # Renumber ligand serials after the protein's so CONECT records stay valid.
    offset = len([ln for ln in protein_lines if ln.startswith(("ATOM", "HETATM"))])
    out = []
    for ln in lig_lines:
        if ln.startswith("HETATM"):
            serial = int(ln[6:11]) + offset
            out.append(f"{ln[:6]}{serial % 100000:5d}{ln[11:]}")
        else:
            fields = [int(ln[i : i + 5]) for i in range(6, len(ln.rstrip()), 5)]
            out.append("CONECT" + "".join(f"{(f + offset) % 100000:5d}" for f in fields))
    return "\n".join(protein_lines + ["TER"] + out + ["END"]) + "\n"


def write_dock_result(
    out_dir: str | Path, result: DockResult, *, protein_path: str | Path, add_hs: bool = False
) -> Path:
    """Write ``out_dir/<name>/rank{i}.sdf``, ``complex_rank1.pdb`` and ``results.json`` atomically."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / result.name
    tmp = Path(tempfile.mkdtemp(prefix=f".{result.name}.", dir=out_dir))
    try:
        for rank, pose in enumerate(result.poses, start=1):
            (tmp / f"rank{rank}.sdf").write_text(pose_to_sdf_block(pose, rank, add_hs=add_hs))
        if result.poses:
            (tmp / "complex_rank1.pdb").write_text(complex_pdb_block(protein_path, result.poses[0].mol))
        info = dict(result.info)
        info["name"] = result.name
        info["poses"] = [
            {
                "rank": rank,
                "sample_index": p.sample_index,
                "confidence": p.confidence,
                "vina_score": p.vina_score,
                "file": f"rank{rank}.sdf",
            }
            for rank, p in enumerate(result.poses, start=1)
        ]
        (tmp / "results.json").write_text(json.dumps(info, indent=2, default=float) + "\n")
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def remove_stale_result(out_dir: str | Path, name: str) -> None:
    """Remove a previous result folder for ``name`` (used when a re-run of that complex fails)."""
    if not name or name in (".", "..") or Path(name).name != name:  # never outside out_dir (a CSV's name "..")
        return
    target = Path(out_dir) / name
    if target.is_dir():
        shutil.rmtree(target)
