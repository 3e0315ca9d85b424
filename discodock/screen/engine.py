"""Docking one library ligand against a receptor prepared once: the only module of ``discodock.screen`` that
imports the docking engine (model loading, parsing, Vina), so the engine can move without touching the rest.

A :class:`ScreenSpec` (picklable) says what to build; :func:`engine_for` builds it once per process (local
worker or Dask worker) and caches it: the model is loaded once, the receptor parsed once, and when Vina
scores or refines poses its grid maps are computed once for the whole site (all atom types) and reused for
every ligand (:class:`SiteMapsVina`; a pose outside that box falls back to maps of its own).
"""

from __future__ import annotations

import contextlib
import signal
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from discodock import __version__
from discodock.errors import InputError, LigandError
from discodock.screen.library import LibraryEntry
from discodock.screen.site import Site

# Options that change results: recorded in the manifest, and a resumed run must use the same ones.
RESULT_SETTINGS = ("protein_sha256", "center", "size", "checkpoint_sha256", "samples", "steps", "latents",
                   "prior_temperature", "temperature", "ode", "pocket_radius", "refine", "rank",
                   "max_heavy_atoms", "seed", "top_poses")


@dataclass(frozen=True)
class ScreenSpec:
    """Everything a worker needs to dock library ligands. Distances in Angstrom, ``timeout_s`` in seconds."""

    protein: str
    site: Site
    checkpoint: str | None = None
    device: str = "cpu"
    # Sampling options: None means the checkpoint's recommendation (resolved once, by resolve_settings).
    samples: int | None = None
    steps: int | None = None
    latents: str = "prior"
    prior_temperature: float | None = None
    temperature: float | None = None
    ode: bool | None = None
    pocket_radius: float | None = None
    refine: str | None = None  # none | vina
    rank: str | None = None  # confidence | vina
    max_heavy_atoms: int = 150
    seed: int = 0
    top_poses: int = 3
    vina_cpu: int = 1
    timeout_s: float | None = None


def _settings(spec: ScreenSpec):
    from discodock.sampling.pipeline import DockSettings

    return DockSettings(samples=spec.samples, steps=spec.steps, latents=spec.latents,
                        prior_temperature=spec.prior_temperature, temperature=spec.temperature, ode=spec.ode,
                        pocket_radius=spec.pocket_radius, refine=spec.refine, rank=spec.rank,
                        max_heavy_atoms=spec.max_heavy_atoms)


class SiteMapsVina:
    """Vina scoring, local optimisation and docking on grid maps computed once over the site for every atom
    type, instead of once per ligand (maps are most of the cost of refining a handful of poses).

    The maps box is the site's box, widened to at least ``MIN_EDGE`` per side (the Vina baseline's pocket box):
    a crystal ligand's autobox is often smaller than the poses of larger library ligands."""

    MARGIN = 1.0  # Angstrom: a pose must lie this far inside the box to use the shared maps
    MIN_EDGE = 25.0  # Angstrom

    def __init__(self, receptor, site: Site):
        self.receptor = receptor  # a VinaReceptor: the fallback for poses outside the box
        self.site = site
        self.box = tuple(float(max(s, self.MIN_EDGE)) for s in site.size)
        self._v = receptor._vina(seed=0)
        self._v.compute_vina_maps(center=list(site.center), box_size=list(self.box))
        half = np.asarray(self.box) / 2 - self.MARGIN
        self._lower, self._upper = np.asarray(site.center) - half, np.asarray(site.center) + half
        self._dock_v: dict[int, object] = {}

    @property
    def scoring(self) -> str:
        return self.receptor.scoring

    def _vina(self, seed: int):
        """A fresh Vina on the receptor (the search builds its own maps for one ligand's atom types)."""
        return self.receptor._vina(seed)

    def _inside(self, pose) -> bool:
        xyz = np.asarray(pose.GetConformer().GetPositions())
        return bool((xyz >= self._lower).all() and (xyz <= self._upper).all())

    def score_poses(self, poses, **_) -> list[float]:
        from discodock.scoring.pdbqt import ligand_pdbqt

        out = []
        for pose in poses:
            if self._inside(pose):
                self._v.set_ligand_from_string(ligand_pdbqt(pose))
                out.append(float(self._v.score()[0]))
            else:
                out.append(self.receptor.score_poses([pose])[0])
        return out

    def local_optimize_poses(self, poses, **_):
        from discodock.scoring.pdbqt import ligand_pdbqt
        from discodock.scoring.vina import _optimized

        results = []
        with tempfile.TemporaryDirectory(prefix="discodock_screen_") as tmp:
            out = Path(tmp) / "pose.pdbqt"
            for pose in poses:
                if self._inside(pose):
                    self._v.set_ligand_from_string(ligand_pdbqt(pose))
                    try:
                        results.append(_optimized(self._v, pose, out))
                        continue
                    except RuntimeError as err:
                        if "outside the grid box" not in str(err):
                            raise
                results.append(self.receptor.local_optimize_poses([pose])[0])
        return results

    def dock(self, ligand, *, exhaustiveness: int = 8, num_poses: int = 9, seed: int = 0):
        """Vina's own global search in the maps box (the benchmarks' baseline: the same box as refinement)."""
        from discodock.scoring.pdbqt import ligand_pdbqt, pdbqt_to_poses
        from discodock.scoring.vina import VinaPose

        if seed not in self._dock_v:
            v = self.receptor._vina(seed)
            v.compute_vina_maps(center=list(self.site.center), box_size=list(self.box))
            self._dock_v[seed] = v
        v = self._dock_v[seed]
        v.set_ligand_from_string(ligand_pdbqt(ligand))
        v.dock(exhaustiveness=int(exhaustiveness), n_poses=int(num_poses))
        energies = v.energies(n_poses=int(num_poses), energy_range=1e6)[:, 0]
        poses = pdbqt_to_poses(v.poses(n_poses=int(num_poses), energy_range=1e6), ligand)
        return [VinaPose(mol=p, score=float(e)) for p, e in zip(poses, energies)]


class TimeLimitExpired(BaseException):
    """The alarm of :func:`time_limit`. Not an ``Exception``, so that no ``except Exception`` in RDKit glue, the
    sampler or Vina refinement swallows it and lets the ligand run on without a limit."""


@contextlib.contextmanager
def time_limit(seconds: float | None):
    """Raise TimeoutError in the block after ``seconds`` (main thread of a process only; elsewhere, e.g. in a
    Dask worker thread, no limit is applied)."""
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return
    message = f"ligand took longer than --timeout-s {seconds:g}"

    def _alarm(signum, frame):
        raise TimeLimitExpired(message)

    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, float(seconds))
    try:
        yield
    except TimeLimitExpired:
        raise TimeoutError(message) from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def parse_entry(entry: LibraryEntry, *, max_heavy_atoms: int):
    """The entry as a heavy-atom RDKit molecule (LigandError with the reason when it cannot be one)."""
    from rdkit import Chem, rdBase

    from discodock.data.parsing import load_ligand, remove_hydrogens

    if entry.error:
        raise LigandError(None, entry.error)
    if entry.molblock is None:
        if not entry.smiles:
            raise LigandError(None, "empty SMILES")
        return load_ligand(entry.smiles, max_heavy_atoms=max_heavy_atoms)
    with rdBase.BlockLogs():
        mol = Chem.MolFromMolBlock(entry.molblock, sanitize=True, removeHs=False)
    if mol is None:
        raise LigandError(None, "unreadable SDF record (RDKit could not parse or sanitize it)")
    mol = remove_hydrogens(mol)
    if mol.GetNumAtoms() == 0:
        raise LigandError(None, "SDF record has no heavy atoms")
    if mol.GetNumAtoms() > max_heavy_atoms:
        raise LigandError(None, f"ligand has {mol.GetNumAtoms()} heavy atoms, more than the limit of {max_heavy_atoms}")
    return mol


class ScreenEngine:
    """A loaded model and a prepared receptor; ``dock_entry`` turns a library entry into one result record."""

    def __init__(self, spec: ScreenSpec):
        from rdkit import Chem

        from discodock.scoring.vina import get_receptor
        from discodock.sampling.pipeline import file_sha256, load_docker
        from discodock.sampling.settings import resolve_settings

        self.spec = spec
        self.docker = load_docker(spec.checkpoint, device=spec.device, blind=False)
        # Resolved once, as for any docking run: what the spec leaves open comes from the checkpoint.
        self.settings = resolve_settings(_settings(spec), self.docker.cfg)
        self.refine, self.rank = self.settings.refine, self.settings.rank
        self.vina = None
        if "vina" in (self.refine, self.rank):
            self.vina = SiteMapsVina(get_receptor(spec.protein, cpu=spec.vina_cpu), spec.site)
        self.docker.reuse_receptor(spec.protein, vina=self.vina)  # ProteinError here: before any ligand
        # The site must have receptor residues around it: fail the whole command now, not on every ligand.
        self.docker.build(spec.protein, Chem.MolFromSmiles("CC"), name="site check", pocket_center=spec.site.center,
                          settings=self.settings, seed=0)
        self.model_sha256 = self.docker.checkpoint_hash
        self.protein_sha256 = file_sha256(spec.protein)

    def manifest(self) -> dict:
        """The settings that decide the results (compared on resume), plus what they resolved to."""
        s = asdict(self.spec)
        out = {k: s[k] for k in RESULT_SETTINGS if k in s}
        # Resolved values, so a run that names the checkpoint's defaults resumes one that left them out.
        resolved = asdict(self.settings)
        out.update({k: resolved[k] for k in out if k in resolved})
        out.update(protein_sha256=self.protein_sha256, checkpoint_sha256=self.model_sha256,
                   center=list(self.spec.site.center), size=list(self.spec.site.size))
        return out

    def _confidence(self, mol, poses) -> float | None:
        """The confidence model's best score over the final poses (it exists even when Vina ranks)."""
        import torch

        conf = [p.confidence for p in poses if p.confidence is not None]
        if conf:
            return max(conf)
        model = self.docker.models.confidence
        if model is None or not poses:
            return None
        data, _, _ = self.docker.build(self.spec.protein, mol, name="confidence", pocket_center=self.spec.site.center,
                                    settings=self.settings, seed=self.spec.seed)
        pos = torch.stack([torch.tensor(p.mol.GetConformer().GetPositions(), dtype=torch.float32) for p in poses])
        with torch.no_grad():
            return float(model.predict(data, pos.to(self.docker.device)).max())

    def dock_entry(self, entry: LibraryEntry) -> dict:
        from rdkit import Chem

        from discodock.sampling.output import pose_to_sdf_block

        t0, cpu0 = time.perf_counter(), time.process_time()
        record = {"ligand_id": entry.ligand_id, "position": entry.position, "smiles": entry.smiles,
                  "status": "error", "error": None, "vina_score": None, "confidence": None, "heavy_atoms": None,
                  "seconds": None, "cpu_seconds": None, "seed": self.spec.seed, "model_sha256": self.model_sha256,
                  "discodock_version": __version__, "warnings": None, "poses": []}
        try:
            with time_limit(self.spec.timeout_s):
                mol = parse_entry(entry, max_heavy_atoms=self.spec.max_heavy_atoms)
                if not record["smiles"]:
                    record["smiles"] = Chem.MolToSmiles(mol)
                record["heavy_atoms"] = mol.GetNumAtoms()
                result = self.docker.dock(self.spec.protein, mol, name=entry.ligand_id,
                                          pocket_center=self.spec.site.center, settings=self.settings,
                                          seed=self.spec.seed)
                best = result.poses[0]
                record["vina_score"] = best.vina_score
                record["confidence"] = self._confidence(mol, result.poses)
            blocks = []
            for rank, pose in enumerate(result.poses[: self.spec.top_poses], start=1):
                pose.mol.SetProp("_Name", entry.ligand_id)
                pose.mol.SetProp("ligand_id", entry.ligand_id)
                blocks.append(pose_to_sdf_block(pose, rank))
            record.update(status="ok", poses=blocks,
                          warnings="; ".join(result.info.get("warnings", [])) or None)
        except (InputError, TimeoutError, TimeLimitExpired) as err:  # the last: an alarm as the block ended
            record["error"] = str(err)
        except Exception as err:  # one ligand breaking RDKit/Vina/the model must not stop the screen
            record["error"] = f"{type(err).__name__}: {' '.join(str(err).split())}"
        record["seconds"] = round(time.perf_counter() - t0, 3)
        record["cpu_seconds"] = round(time.process_time() - cpu0, 3)  # this process, all its threads
        return record


_ENGINES: dict[ScreenSpec, ScreenEngine] = {}
_LOCK = threading.Lock()


def engine_for(spec: ScreenSpec) -> ScreenEngine:
    """This process's engine for ``spec`` (built on first use: model loaded and receptor prepared once)."""
    with _LOCK:
        if spec not in _ENGINES:
            _ENGINES[spec] = ScreenEngine(spec)
        return _ENGINES[spec]


def dock_chunk(spec: ScreenSpec, entries: list[LibraryEntry]) -> list[dict]:
    """Dock a list of entries with this process's engine (the unit of work sent to local or Dask workers)."""
    engine = engine_for(spec)
    return [engine.dock_entry(e) for e in entries]


def check_ligands(entries, *, max_heavy_atoms: int) -> tuple[int, int]:
    """Parse every entry without docking (``--dry-run``): (readable, unreadable)."""
    ok = bad = 0
    for entry in entries:
        try:
            parse_entry(entry, max_heavy_atoms=max_heavy_atoms)
            ok += 1
        except InputError:
            bad += 1
    return ok, bad
