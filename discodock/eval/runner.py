"""Benchmarking one complex, in a worker process: a fresh ligand conformer, the method's poses, their
symmetry-corrected RMSD to the crystal pose and PoseBusters checks of the top pose. Never raises: a failing
complex comes back as a recorded failure with its reason."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from discodock.errors import InputError
from discodock.eval.complexes import BenchmarkComplex


@dataclass(frozen=True)
class BenchmarkSettings:
    """Everything a worker needs to benchmark one complex (all plain values, so it pickles)."""

    method: str
    label: str
    samples: int | None  # discodock: None is the checkpoint's recommendation
    latents: str
    pocket: bool
    seed: int
    exhaustiveness: int
    checkpoint: str | None
    device: str
    posebusters: bool
    threads: int
    rank: str | None = None  # discodock: confidence | vina | learned (None: the checkpoint's default)
    refine: str | None = None  # discodock: none | vina | search (None: the checkpoint's default)
    timeout_minutes: float | None = None  # wall-clock limit per complex (None: none)
    keep_het: str = "auto"  # hetero groups in Vina's receptor, for both methods (discodock.data.hetero)
    poses_dir: str | None = None  # where each complex's ranked poses go as <id>.sdf (None: not kept)
    random_starts: int | None = None  # discodock, refine=search: random orientations searched too (None: checkpoint's)
    search_keep: int | None = None  # discodock, refine=search: searched poses Vina optimises (None: checkpoint's)
    sites: int | None = None  # discodock blind through predicted sites: how many sites (None: the default)


def method_label(method: str, latents: str, pocket: bool, *, refine: str | None = None, rank: str | None = None,
                 samples: int | None = None, random_starts: int | None = None, search_keep: int | None = None,
                 sites: int | None = None) -> str:
    """The name a run is recorded under, e.g. ``vina-pocket``, ``discodock-prior-blind``,
    ``discodock-prior-pocket-search-rs20-learned`` (a refinement, random starts, site count or ranking chosen on
    the command line is named) or ``null-pocket-search-rs20`` (0 samples: random starts alone, no model)."""
    site = "pocket" if pocket else "blind"
    if method == "vina":
        return f"vina-{site}"
    suffix = ({"vina": "-refined", "search": "-search"}.get(refine or "", "")
              + (f"-rs{random_starts}" if random_starts else "") + (f"-keep{search_keep}" if search_keep else "")
              + (f"-sites{sites}" if sites else "")
              + ("-learned" if rank == "learned" else ""))
    return f"{'null' if samples == 0 else f'discodock-{latents}'}-{site}{suffix}"


def keep_poses(path, poses, scores, rmsds) -> None:
    """Ranked poses as one SDF (best first; SD properties ``rank``, ``score``: the method's confidence or Vina
    score, ``rmsd`` to the crystal in Angstrom, and the molecule's own, e.g. ``vina_score``), written under a temporary name and renamed into place, so
    re-ranking studies need no re-docking."""
    from pathlib import Path

    from rdkit import Chem

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    with Chem.SDWriter(str(tmp)) as writer:
        for rank, (mol, score, rmsd) in enumerate(zip(poses, scores, rmsds), start=1):
            mol = Chem.Mol(mol)
            mol.SetIntProp("rank", rank)
            mol.SetDoubleProp("rmsd", float(rmsd))
            if score is not None:
                mol.SetDoubleProp("score", float(score))
            writer.write(mol)
    tmp.replace(path)


def fresh_ligand(crystal, *, seed: int):
    """The crystal ligand's molecule (heavy atoms, from its canonical SMILES, so in a new atom order)
    with a new RDKit ETKDG conformer, MMFF-relaxed; no crystal coordinate is used."""
    from rdkit import Chem

    from discodock.data.conformers import generate_conformer

    mol = Chem.MolFromSmiles(Chem.MolToSmiles(crystal))
    if mol is None or mol.GetNumAtoms() != crystal.GetNumAtoms():  # SMILES round trip failed: keep the graph
        mol = Chem.Mol(crystal)
        mol.RemoveAllConformers()
    return generate_conformer(mol, seed=seed, mmff=True)


def _one_line(err: BaseException) -> str:
    text = str(err) if isinstance(err, InputError) else f"{type(err).__name__}: {err}"
    return " ".join(text.split())[:500] or type(err).__name__


_DOCKERS: dict = {}  # per worker process: each checkpoint is loaded once per benchmark run


def dock_discodock(protein_path, ligand_mol, *, checkpoint=None, samples: int | None = None, latents: str = "prior",
                   pocket_center=None, seed: int = 0, device: str = "auto", crystal_mol=None,
                   rank: str | None = None, refine: str | None = None, keep_het: str = "auto",
                   random_starts: int | None = None, search_keep: int | None = None,
                   sites: int | None = None) -> list:
    """Ranked ``(pose, confidence or Vina score)`` pairs, best first, with the checkpoint's sampling defaults."""
    from discodock.sampling.pipeline import DockSettings, default_weights
    from discodock.sampling.site_docking import load_engine

    blind = pocket_center is None
    key = (str(checkpoint or default_weights(blind=blind)), str(device), sites)
    if key not in _DOCKERS:
        _DOCKERS[key] = load_engine(checkpoint, device=device, blind=blind, sites=sites)
    settings = DockSettings(samples=samples, latents=latents, rank=rank, refine=refine, keep_het=keep_het,
                            random_starts=random_starts, search_keep=search_keep)
    result = _DOCKERS[key].dock(protein_path, ligand_mol, name="benchmark", pocket_center=pocket_center,
                                settings=settings, seed=seed, crystal_mol=crystal_mol if latents == "oracle" else None)
    for p in result.poses:  # kept with the pose: a re-ranking reads Vina's score from the benchmark's SDF
        if p.vina_score is not None:
            p.mol.SetDoubleProp("vina_score", float(p.vina_score))
    return [(p.mol, p.confidence if p.confidence is not None else p.vina_score) for p in result.poses]


def _dock(entry: BenchmarkComplex, crystal, ligand, settings: BenchmarkSettings):
    """Run the method: (ranked pose Mols, their confidence/score)."""
    centre = crystal.GetConformer().GetPositions().mean(0) if settings.pocket else None
    if settings.method == "vina":
        from discodock.data.hetero import choose_hetero
        from discodock.data.parsing import load_protein
        from discodock.scoring.vina import POCKET_BOX_SIZE, get_receptor

        _, dropped = choose_hetero(load_protein(entry.protein).hetero, settings.keep_het, site=centre)
        receptor = get_receptor(entry.protein, cpu=settings.threads, drop_residues=frozenset(g.key for g in dropped))
        centre, size = receptor.blind_box() if centre is None else (centre, POCKET_BOX_SIZE)
        poses = receptor.dock(ligand, center=centre, size=size, exhaustiveness=settings.exhaustiveness,
                              num_poses=settings.samples, seed=settings.seed)
        for p in poses:
            p.mol.SetDoubleProp("vina_score", float(p.score))
        return [p.mol for p in poses], [p.score for p in poses]
    extra = {"crystal_mol": crystal} if settings.latents == "oracle" else {}
    ranked = dock_discodock(
        entry.protein, ligand, checkpoint=settings.checkpoint, samples=settings.samples,
        latents=settings.latents, pocket_center=None if centre is None else [float(c) for c in centre],
        seed=settings.seed, device=settings.device, rank=settings.rank, refine=settings.refine,
        keep_het=settings.keep_het, random_starts=settings.random_starts, search_keep=settings.search_keep,
        sites=settings.sites, **extra,
    )
    return [m for m, _ in ranked], [None if c is None else float(c) for _, c in ranked]


def _failure(entry: BenchmarkComplex, settings: BenchmarkSettings, reason: str, *,
             seconds: float | None = None, cpu_seconds: float | None = None) -> dict:
    """A failed complex as a worker result: the reason, and the time spent when it is known."""
    from discodock.eval.metrics import ComplexOutcome

    outcome = ComplexOutcome(id=entry.id, method=settings.label, seconds=seconds, cpu_seconds=cpu_seconds,
                             status=f"error: {reason}")
    return {"outcome": outcome, "checks": None, "pb_reason": None}


def benchmark_one(entry: BenchmarkComplex, settings: BenchmarkSettings) -> dict:
    """Benchmark one complex; never raises. Returns ``outcome`` (a ComplexOutcome), ``checks`` and
    ``pb_reason`` (PoseBusters)."""
    from rdkit import RDLogger

    from discodock.eval.metrics import ComplexOutcome

    RDLogger.DisableLog("rdApp.*")
    seconds = cpu_seconds = None
    try:
        if entry.problem:
            raise InputError(None, entry.problem)
        from discodock.data.parsing import load_ligand
        from discodock.eval.rmsd import SymmetryRMSD

        crystal = load_ligand(entry.ligand)
        ligand = fresh_ligand(crystal, seed=settings.seed)
        start, cpu_start = time.perf_counter(), time.process_time()
        poses, scores = _dock(entry, crystal, ligand, settings)
        seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
        if not poses:
            raise RuntimeError("the method returned no pose")
        rmsds = SymmetryRMSD(crystal=crystal)(poses)
        if settings.poses_dir:
            keep_poses(os.path.join(settings.poses_dir, f"{entry.id}.sdf"), poses, scores, rmsds)
    except Exception as err:  # one failing complex must not stop the run: record why
        return _failure(entry, settings, _one_line(err), seconds=seconds, cpu_seconds=cpu_seconds)
    checks, pb_valid, pb_reason = None, None, None
    if settings.posebusters:
        from discodock.eval.posebusters import check_pose

        result = check_pose(poses[0], crystal, entry.protein)
        checks, pb_valid, pb_reason = result.checks, result.pb_valid, result.reason
    outcome = ComplexOutcome(
        id=entry.id, method=settings.label, rmsds=tuple(float(r) for r in rmsds), scores=tuple(scores),
        seconds=seconds, cpu_seconds=cpu_seconds, status="ok", pb_valid=pb_valid,
    )
    return {"outcome": outcome, "checks": checks, "pb_reason": pb_reason}


def init_worker(threads: int, method: str, parent_pid: int) -> None:
    from discodock.worker_process import exit_with_parent

    exit_with_parent(parent_pid)
    os.environ["OMP_NUM_THREADS"] = str(threads)
    if method == "discodock":
        import torch

        torch.set_num_threads(threads)
