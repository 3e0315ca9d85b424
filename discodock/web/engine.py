"""The web app's only door into the docking engine: checking a submission, and docking it in a worker.

Every import of discodock's docking internals for the web app is in this module, so the server, the job
store and the page never depend on how the engine is laid out inside.

``check_submission`` runs in the web process (no model: it parses the structure and the ligand and checks
the site); ``Engine`` lives in a worker process, loads the shipped weights once and docks one job at a time.
"""

from __future__ import annotations

import functools
import gzip
import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

log = logging.getLogger("discodock.web")

# Outputs of one job inside its folder (``write_dock_result`` writes POSES_DIR/rank{i}.sdf, complex_rank1.pdb
# and results.json).
POSES_DIR = "poses"
RECEPTOR_PDB = "receptor.pdb"  # the receptor as plain PDB text, for the viewer and the complex file
ALL_POSES_SDF = "poses.sdf"
CONFIDENCE_MEANING = ("the model's estimated probability (0 to 1) that the pose lies within 2 A of the true "
                      "binding pose")


@dataclass(frozen=True)
class Site:
    """Where to dock: ``center`` in Angstrom (None: blind), ``pocket_radius`` in Angstrom (None: the model's)."""

    center: tuple[float, float, float] | None
    pocket_radius: float | None = None
    source: str = "blind"  # blind | center | autobox
    box_size: tuple[float, float, float] | None = None  # extent of the autobox ligand (Angstrom)

    def to_dict(self) -> dict[str, Any]:
        return {"center": self.center, "pocket_radius": self.pocket_radius, "source": self.source,
                "box_size": self.box_size}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Site:
        center = d.get("center")
        box = d.get("box_size")
        return cls(center=None if center is None else tuple(center), pocket_radius=d.get("pocket_radius"),
                   source=d.get("source", "blind"), box_size=None if box is None else tuple(box))


def input_error(source, problem: str) -> Exception:
    from discodock.errors import InputError

    return InputError(source, problem)


def is_input_error(err: BaseException) -> bool:
    from discodock.errors import InputError

    return isinstance(err, InputError)


@functools.lru_cache(maxsize=1)
def model_pocket_radius() -> float:
    """Residues within this many Angstrom of the site are what the shipped pocket model sees."""
    from discodock.config import load_docking_config
    from discodock.sampling.pipeline import default_weights

    return float(load_docking_config(default_weights(blind=False).with_suffix(".yaml")).data.pocket_radius)


def warm_up() -> None:
    """Import the parsers and read the model's pocket radius ahead of the first submission (seconds)."""
    import discodock.data.parsing  # noqa: F401

    model_pocket_radius()


def blind_weights_available() -> bool:
    from discodock.sampling.pipeline import default_weights

    return default_weights(blind=True) != default_weights(blind=False)


def looks_like_a_path(smiles: str) -> bool:
    """The engine reads a ligand string that names an existing file (or ends like one) as that file; text
    from the web must only ever be SMILES, never a way to make the server read its own files."""
    from discodock.data.parsing import LIGAND_SUFFIXES

    text = smiles.strip()
    return os.path.exists(text) or text.lower().removesuffix(".gz").endswith(LIGAND_SUFFIXES)


def check_gzip_size(path: Path, limit_bytes: int, label: str) -> None:
    """A gzipped upload must not unpack to more than ``limit_bytes`` (a small file can hide gigabytes)."""
    if not path.name.lower().endswith(".gz"):
        return
    total = 0
    try:
        with gzip.open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                total += len(chunk)
                if total > limit_bytes:
                    raise input_error(label, f"unpacks to more than {limit_bytes >> 20} MB")
    except (OSError, EOFError) as err:
        raise input_error(label, f"not a valid gzip file ({err})") from None


def check_submission(protein: Path, ligand: str | Path, *, site: Site, labels: dict[str, str],
                     autobox: Path | None = None) -> tuple[Site, dict[str, Any]]:
    """Parse the receptor and ligand and check the site, as the worker will; raise ``InputError`` with the
    user's names for the inputs (``labels``: protein / ligand / autobox -> what the user uploaded).

    Returns the site to dock at (an autobox ligand becomes its centroid) and a short summary for the page.
    """
    from discodock.data.parsing import load_ligand, load_protein

    def relabel(err, key):
        return input_error(labels.get(key, key), getattr(err, "problem", str(err)))

    try:
        prot = load_protein(protein)
    except Exception as err:
        if not is_input_error(err):
            raise
        raise relabel(err, "protein") from None
    if isinstance(ligand, str) and looks_like_a_path(ligand):
        raise input_error(labels.get("ligand", "ligand"), "looks like a file name, not a SMILES string; "
                                                          "upload ligand files as ligand_file")
    try:
        mol = load_ligand(ligand, max_heavy_atoms=150)
    except Exception as err:
        if not is_input_error(err):
            raise
        raise relabel(err, "ligand") from None
    if autobox is not None:
        try:
            ref = load_ligand(autobox)
        except Exception as err:
            if not is_input_error(err):
                raise
            raise relabel(err, "autobox") from None
        if not ref.GetNumConformers() or not ref.GetConformer().Is3D():
            raise input_error(labels.get("autobox", "autobox"), "reference ligand has no 3D coordinates")
        xyz = ref.GetConformer().GetPositions()
        lo, hi = xyz.min(0), xyz.max(0)
        center = tuple(float(v) for v in xyz.mean(0).round(3))
        size = tuple(float(v) for v in (hi - lo).round(3))
        # Keep every residue around the whole reference ligand, not only around its centre.
        needed = float(np.linalg.norm(hi - lo) / 2 + 8.0)
        radius = model_pocket_radius()
        site = Site(center=center, pocket_radius=needed if needed > radius else None, source="autobox",
                    box_size=size)
    if site.center is None:
        if not blind_weights_available():
            raise input_error("site", "no blind-docking weights are installed; give a pocket centre or a "
                                      "reference ligand")
    else:
        radius = site.pocket_radius or model_pocket_radius()
        nearest = float(np.linalg.norm(prot.ca - np.asarray(site.center, dtype=np.float32), axis=1).min())
        if nearest > radius:
            where = ",".join(f"{v:g}" for v in site.center)
            raise input_error("site", f"centre {where} is {nearest:.1f} A from the nearest residue of "
                                      f"{labels.get('protein', 'the protein')}; it must be within {radius:g} A")
    summary = {"residues": int(prot.num_residues), "ligand_heavy_atoms": int(mol.GetNumAtoms()),
               "site": site.to_dict()}
    return site, summary


def write_receptor_pdb(protein: Path, out: Path) -> None:
    """The receptor as plain PDB text (PDB files are copied, mmCIF converted with gemmi)."""
    name = protein.name.lower().removesuffix(".gz")
    if name.endswith((".pdb", ".ent")):
        opener = gzip.open if protein.name.lower().endswith(".gz") else open
        with opener(protein, "rb") as src, open(out, "wb") as dst:
            shutil.copyfileobj(src, dst)
        return
    import gemmi

    structure = gemmi.read_structure(str(protein))
    structure.setup_entities()
    structure.write_pdb(str(out))


class Engine:
    """The docking model(s) of one worker process: the pocket weights load at start, the blind ones the first
    time a blind job comes (each at most once per process)."""

    def __init__(self, *, device: str = "auto"):
        from discodock.sampling.pipeline import load_docker
        from discodock.sampling.site_docking import load_engine

        self.device = device
        self._load = load_engine
        self._dockers = {False: load_docker(None, device=device, blind=False)}

    def docker(self, *, blind: bool):
        if blind not in self._dockers:
            self._dockers[blind] = self._load(None, device=self.device, blind=blind)
        return self._dockers[blind]

    def run(self, job_dir: Path, params: dict[str, Any], stage: Callable[[str, float], None]) -> dict[str, Any]:
        """Dock the job in ``job_dir`` (inputs under ``inputs/``), write its files, return its pose table."""
        from discodock.eval.posebusters import check_pose
        from discodock.eval.rmsd import symmetry_rmsd
        from discodock.sampling.output import pose_to_sdf_block, write_dock_result
        from discodock.sampling.pipeline import DockSettings

        inputs = job_dir / "inputs"
        protein = inputs / params["protein_file"]
        ligand = str(inputs / params["ligand_file"]) if params.get("ligand_file") else params["ligand_smiles"]
        os.chdir(inputs)  # a relative name can then only mean this job's own (fixed-name) inputs
        if not params.get("ligand_file") and looks_like_a_path(ligand):
            raise input_error("ligand", "looks like a file name, not a SMILES string")
        site = Site.from_dict(params["site"])
        stage("preparing the receptor", 0.05)
        receptor = job_dir / RECEPTOR_PDB
        write_receptor_pdb(protein, receptor)
        samples = params.get("samples")
        settings = DockSettings(samples=None if samples is None else int(samples), steps=int(params["steps"]),
                                refine=params.get("refine"), pocket_radius=site.pocket_radius)
        docker = self.docker(blind=site.center is None)
        stage("sampling, searching and ranking poses", 0.1)
        # Docked against the PDB text: Vina's receptor preparation reads PDB only, so mmCIF uploads work too.
        try:
            result = docker.dock(receptor, ligand, name=POSES_DIR, pocket_center=site.center, settings=settings,
                                 seed=int(params["seed"]))
        except Exception as err:
            if not is_input_error(err):
                raise
            # Name the user's files, not the server's paths.
            names = {str(receptor): params.get("protein_name"), str(protein): params.get("protein_name"),
                     ligand: params.get("ligand_name")}
            raise input_error(names.get(err.source, err.source or None), err.problem) from None
        stage("checking the poses (RMSD, PoseBusters)", 0.85)
        table = []
        top = result.poses[0].mol if result.poses else None
        for rank, pose in enumerate(result.poses, start=1):
            check = check_pose(pose.mol, pose.mol, receptor, config="dock")
            table.append({
                "rank": rank,
                "vina_score": pose.vina_score,
                "confidence": pose.confidence,
                "rmsd_to_top": round(symmetry_rmsd(pose.mol, top), 3),
                "valid": check.pb_valid,
                "failed_checks": sorted(k for k, ok in check.checks.items() if not ok),
                "valid_note": check.reason,
            })
        result.info["web"] = {"site": site.to_dict(), "input": {k: params.get(k) for k in (
            "protein_name", "ligand_name", "ligand_smiles", "autobox_name")}, "pose_table": table,
            "confidence_meaning": CONFIDENCE_MEANING}
        stage("writing files", 0.95)
        # complex_rank1.pdb is built from the PDB text of the receptor, whatever format was uploaded.
        folder = write_dock_result(job_dir, result, protein_path=receptor)
        with open(job_dir / ALL_POSES_SDF, "w") as fh:
            for rank, pose in enumerate(result.poses, start=1):
                fh.write(pose_to_sdf_block(pose, rank))
        info = json.loads((folder / "results.json").read_text())
        return {"poses": table, "ranked_by": info.get("ranked_by"), "refine": info.get("refine"),
                "warnings": info.get("warnings", []), "timings": info.get("timings", {}),
                "confidence_meaning": CONFIDENCE_MEANING}
