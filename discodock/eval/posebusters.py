"""PoseBusters checks of a docked pose (the ``posebusters`` package, its "redock" configuration).

The redock configuration checks the pose's chemistry against the crystal ligand (formula, bonds,
stereo), its internal geometry (bond lengths, angles, ring flatness, internal clashes, energy ratio) and
its contacts with the protein, cofactors and waters, and adds "RMSD <= 2 A". As in the PoseBusters
paper, ``pb_valid`` is every check passing *except* the RMSD one: pose quality and pose accuracy are
reported separately (the benchmark's ``top1_rmsd_lt2_and_pb_valid`` combines them).

Crystal waters are removed from the protein before the checks: neither discodock nor the Vina baseline
sees them, so a pose that takes a water's place is not counted as a clash (the PoseBusters set itself
ships without solvent; PDBbind proteins keep their waters).

A check run that fails (an exception, a check that could not be evaluated) gives ``pb_valid = None``
with the reason, never an exception: one odd protein must not stop a benchmark.
"""

from __future__ import annotations

import functools
import gzip
import logging
import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from rdkit import Chem

from discodock.scoring.pdbqt import WATER_NAMES


@dataclass(frozen=True)
class PoseCheck:
    """Result of the PoseBusters checks on one pose.

    ``checks`` maps each check's column name (as posebusters names it) to pass/fail; ``pb_valid`` is all
    of them except the RMSD check, or None when the checks could not be run (``reason`` says why).
    """

    pb_valid: bool | None
    checks: dict[str, bool] = field(default_factory=dict)
    reason: str | None = None


def _is_rmsd_check(name: str) -> bool:
    return name.lower().startswith("rmsd")


@functools.lru_cache(maxsize=2)
def _buster(config: str):
    from posebusters import PoseBusters

    logging.getLogger("posebusters").setLevel(logging.ERROR)
    return PoseBusters(config=config, max_workers=0)


def _dry_pdb(protein: Path, tmp: str) -> Path:
    """The protein as a plain, water-free PDB file in ``tmp`` (posebusters reads proteins by path and
    does not decompress; waters are dropped because the docking methods never see them)."""
    opener = gzip.open if protein.suffix == ".gz" else open
    out = Path(tmp) / "protein.pdb"
    with opener(protein, "rt") as src, open(out, "w") as dst:
        for line in src:
            if line.startswith(("ATOM", "HETATM")) and line[17:20].strip() in WATER_NAMES:
                continue
            dst.write(line)
    return out


def check_pose(
    pose: Chem.Mol, crystal: Chem.Mol, protein: str | Path, *, config: str = "redock"
) -> PoseCheck:
    """Run the PoseBusters ``config`` checks on ``pose`` (first conformer) against ``crystal`` and the
    protein PDB file (``.pdb`` or ``.pdb.gz``)."""
    try:
        with tempfile.TemporaryDirectory(prefix="discodock_pb_") as tmp:
            table = _buster(config).bust(
                Chem.Mol(pose), Chem.Mol(crystal), str(_dry_pdb(Path(protein), tmp))
            )
    except Exception as err:  # posebusters raises many kinds; any of them means "not evaluated"
        return PoseCheck(pb_valid=None, reason=f"posebusters failed: {type(err).__name__}: {err}".split("\n")[0])
    if len(table) == 0:
        return PoseCheck(pb_valid=None, reason="posebusters returned no result")
    row = table.iloc[0]
    checks, missing = {}, []
    for name, value in row.items():
        if isinstance(value, float) and math.isnan(value) or value is None:
            missing.append(str(name))
        else:
            checks[str(name)] = bool(value)
    if missing:
        return PoseCheck(pb_valid=None, checks=checks, reason="not evaluated: " + ", ".join(missing))
    valid = all(ok for name, ok in checks.items() if not _is_rmsd_check(name))
    return PoseCheck(pb_valid=valid, checks=checks)
