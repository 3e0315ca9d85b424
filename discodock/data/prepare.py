"""Preprocessing complexes of the PDBBind layout into an on-disk cache of graphs.

Each complex becomes a graph (:func:`discodock.data.graph.build_complex`) with a conformer-matched ligand
pose (:func:`discodock.data.conformers.match_conformer`) written to ``<cache>/<key>/<id>.pt``, where
``<key>`` hashes the :class:`FeaturizationConfig` (and the feature and record versions): a config change
lands in a new directory, so stale graphs are never mixed in. Complexes that cannot be used are skipped,
with their reasons in ``<cache>/<key>/skipped.tsv``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import multiprocessing
import os
import sys
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import torch

from discodock.data.cache import (
    CONFORMER_POS,
    MATCHING_RMSD,
    RECORD_FORMAT,
    RECORD_SUFFIX,
    ComplexDataset,
    complex_to_record,
    save_record,
)
from discodock.data.pdbbind import complex_files, index_complexes, resolve_ids
from discodock.errors import InputError, LigandError

#: Bump when featurisation code changes what a prepared complex contains (invalidates caches).
FEATURE_VERSION = 3  # 2: residues carry SC_POS; 3: highest-occupancy altlocs, force-field residue names, salts removed

SKIPPED_FILE = "skipped.tsv"
CONFIG_FILE = "config.json"


@dataclass(frozen=True)
class FeaturizationConfig:
    """What preprocessing does; its hash keys the cache directory.

    Attributes:
        receptor_radius: receptor C-alpha radius graph cutoff (Angstrom).
        receptor_max_neighbours: neighbour cap of that graph (None: no cap).
        pocket_radius: crop the receptor to residues with a C-alpha within this distance (Angstrom) of
            the crystal ligand's centroid (None: the whole protein, as in blind docking).
        max_heavy_atoms: skip ligands larger than this (None: no limit).
        conformer_matching: replace the crystal pose by the conformer-matched pose as the ligand POS
            (and store the RDKit conformer it came from as CONFORMER_POS); off: POS is the crystal pose
            and no conformer is generated.
        mmff: MMFF-relax the RDKit conformer before matching.
        num_starts: starts of the torsion optimisation in conformer matching.
        seed: base seed; each complex's conformer uses ``seed`` mixed with a hash of its ID.
        embeddings_dir: optional folder of per-residue embeddings ``<id>.pt`` / ``<id>.npy``.
        atom_radius: also store the protein's heavy atoms within this distance (Angstrom) of the crystal
            ligand's centroid as receptor atom nodes (needs ``pocket_radius``; None: no atom nodes).
    """

    receptor_radius: float = 15.0
    receptor_max_neighbours: int | None = 24
    pocket_radius: float | None = None
    max_heavy_atoms: int | None = 150
    conformer_matching: bool = True
    mmff: bool = False
    num_starts: int = 16
    seed: int = 0
    embeddings_dir: str | None = None
    atom_radius: float | None = None

    def key(self) -> str:
        """Short stable hash of this config plus the feature and record versions."""
        payload = _payload(self)
        text = json.dumps(payload, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


def _payload(config: FeaturizationConfig) -> dict:
    """What keys the cache: the config (without ``atom_radius`` when it is None, so the caches made before
    atom nodes existed keep their key) and the versions."""
    fields = dataclasses.asdict(config)
    if fields["atom_radius"] is None:
        del fields["atom_radius"]
    return fields | {"feature_version": FEATURE_VERSION, "record_format": RECORD_FORMAT}


def cache_dir_for(cache_root: str | Path, config: FeaturizationConfig) -> Path:
    """The directory holding complexes prepared with ``config`` under ``cache_root``."""
    return Path(cache_root) / config.key()


def default_cache_root() -> Path:
    """``$DISCODOCK_CACHE/complexes``, else ``$XDG_CACHE_HOME/discodock/complexes`` (``~/.cache`` by default)."""
    if os.environ.get("DISCODOCK_CACHE"):
        return Path(os.environ["DISCODOCK_CACHE"]) / "complexes"
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "discodock" / "complexes"


# ------------------------------------------------------------------------------------ layout and splits


def _complex_seed(base: int, complex_id: str) -> int:
    return (int(base) * 1_000_003 + zlib.crc32(complex_id.encode())) % (2**31 - 1)


def _load_crystal_ligand(folder: Path, ligand_files: list[Path], config: FeaturizationConfig):
    from discodock.data.parsing import load_ligand

    if not ligand_files:
        raise LigandError(folder, f"no ligand file ({folder.name}_ligand.sdf or .mol2)")
    errors = []
    for path in ligand_files:
        try:
            mol = load_ligand(path, max_heavy_atoms=config.max_heavy_atoms)
        except LigandError as err:
            # A size-cap failure will not change with another file format.
            if "more than the limit" in err.problem:
                raise
            errors.append(err)
            continue
        if mol.GetNumConformers() == 0 or not mol.GetConformer().Is3D():
            errors.append(LigandError(path, "ligand file has no 3D coordinates"))
            continue
        return mol, path
    if len(errors) == 1:
        raise errors[0]
    others = [f"{e.source}: {e.problem}" for e in errors[1:]]
    raise LigandError(errors[0].source, "; ".join([errors[0].problem] + others))


def preprocess_complex(complex_id: str, folder: str | Path, config: FeaturizationConfig) -> dict:
    """One complex folder -> a cache record (see :mod:`discodock.data.cache`).

    Raises:
        InputError: (ProteinError / LigandError) when the complex cannot be used; the message says why.
    """
    from discodock.data.conformers import generate_conformer, match_conformer
    from discodock.data.graph import build_complex
    from discodock.data.parsing import load_embeddings, load_protein
    from discodock.errors import ProteinError

    protein_path, ligand_files = complex_files(folder, complex_id)
    if protein_path is None:
        raise ProteinError(Path(folder), f"no protein file ({complex_id}_protein.pdb[.gz] or .cif[.gz])")
    protein = load_protein(protein_path)
    if config.embeddings_dir is not None:
        emb_dir = Path(config.embeddings_dir)
        candidates = [emb_dir / f"{complex_id}{suffix}" for suffix in (".pt", ".npy")]
        emb_path = next((p for p in candidates if p.is_file()), None)
        if emb_path is None:
            raise ProteinError(emb_dir, f"no embedding file {complex_id}.pt or {complex_id}.npy")
        protein.embedding = load_embeddings(emb_path, num_residues=protein.num_residues)
    mol, ligand_path = _load_crystal_ligand(Path(folder), ligand_files, config)
    crystal = torch.as_tensor(mol.GetConformer().GetPositions(), dtype=torch.float32)
    if config.conformer_matching:
        seed = _complex_seed(config.seed, complex_id)
        conformer = generate_conformer(mol, seed=seed, mmff=config.mmff)
        match = match_conformer(mol, crystal, seed=seed, conformer=conformer, num_starts=config.num_starts)
        pos, residual, conformer_pos = match.pos, match.rmsd, match.conformer_pos
    else:
        # The crystal pose is the target; no RDKit conformer is needed (nor made: ETKDG dominates the cost).
        pos, residual, conformer_pos = crystal, math.nan, None
    data = build_complex(
        protein,
        mol,
        ligand_pos=pos,
        crystal_pos=crystal,
        pocket_radius=config.pocket_radius,
        receptor_radius=config.receptor_radius,
        receptor_max_neighbours=config.receptor_max_neighbours,
        name=complex_id,
        atom_radius=config.atom_radius,
    )
    if conformer_pos is not None:
        data[CONFORMER_POS] = conformer_pos
    data[MATCHING_RMSD] = torch.tensor([residual], dtype=torch.float32)
    record = complex_to_record(data)
    record["protein_file"] = str(protein_path)
    record["ligand_file"] = str(ligand_path)
    return record


@dataclass
class PrepareSummary:
    """Outcome of :func:`prepare_complexes`.

    Attributes:
        cache_dir: keyed directory holding the records.
        prepared: IDs written by this call; cached: IDs whose record already existed.
        skipped: ``{id: reason}``, also written to ``cache_dir / "skipped.tsv"``.
        matching_rmsd: ``{id: residual RMSD}`` for the complexes prepared by this call (with matching on).
        seconds: wall time of this call.
    """

    cache_dir: Path
    prepared: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    matching_rmsd: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    def reason_counts(self) -> dict[str, int]:
        """Skip reasons with file names and numbers stripped, most common first."""
        counts: dict[str, int] = {}
        for reason in self.skipped.values():
            counts[_reason_kind(reason)] = counts.get(_reason_kind(reason), 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def _reason_kind(reason: str) -> str:
    """A skip reason reduced to its kind (the problem, without the file name or parenthesised details)."""
    head, sep, tail = reason.partition(": ")
    text = tail if sep and " " not in head else reason  # drop a leading file name or ID
    text = text.split(" (", 1)[0]
    return "".join("#" if ch.isdigit() else ch for ch in text).strip()


def _one_line(text: str) -> str:
    return " ".join(str(text).replace("\t", " ").split())


def _prepare_task(task: tuple[str, str, FeaturizationConfig, str]) -> tuple[str, str, str | float]:
    """Worker: prepare one complex and write its record. Returns (id, "ok" | "skipped", rmsd | reason)."""
    complex_id, folder, config, out_path = task
    try:
        record = preprocess_complex(complex_id, folder, config)
        save_record(record, out_path)
        return complex_id, "ok", float(record["graph"][MATCHING_RMSD][0])
    except InputError as err:
        return complex_id, "skipped", _one_line(str(err))
    except Exception as err:  # a bug or an RDKit failure on odd input: skip it, but say it was unexpected
        return complex_id, "skipped", _one_line(f"unexpected error: {type(err).__name__}: {err}")


def _context():
    """Fork on Linux: workers inherit the imported libraries (a fresh import of torch, PyG and RDKit costs
    several seconds per worker); spawn elsewhere, where fork is unsafe or unavailable."""
    if sys.platform.startswith("linux"):
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def _init_worker(parent_pid: int) -> None:
    from discodock.worker_process import exit_with_parent

    exit_with_parent(parent_pid)
    torch.set_num_threads(1)


def prepare_complexes(
    roots: list[str | Path],
    *,
    ids: list[str] | None = None,
    cache_root: str | Path | None = None,
    config: FeaturizationConfig | None = None,
    workers: int = 1,
    limit: int | None = None,
    progress: bool = True,
) -> PrepareSummary:
    """Preprocess complexes into the cache (records that already exist are kept, not rebuilt).

    Args:
        roots: data roots in the PDBBind layout (searched in order).
        ids: complexes to prepare (default: every complex under the roots); IDs found in no root are skipped.
        cache_root: cache root (default :func:`default_cache_root`); records go to ``cache_root/<config key>``.
        config: featurisation config (default ``FeaturizationConfig()``).
        workers: parallel processes (<= 1: in this process).
        limit: prepare at most this many of the IDs (the first ones).
        progress: show a tqdm progress bar.
    """
    from tqdm import tqdm

    start = time.perf_counter()
    config = config or FeaturizationConfig()
    cache_dir = cache_dir_for(cache_root or default_cache_root(), config)
    config_path = cache_dir / CONFIG_FILE
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        if not config_path.exists():
            payload = _payload(config)
            config_path.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")
    except OSError as err:
        raise InputError(cache_dir, f"cannot write the cache directory ({err.strerror or err})") from None

    index = index_complexes(roots)
    wanted = list(index) if ids is None else list(ids)
    if limit is not None:
        wanted = wanted[: max(0, int(limit))]
    found, missing = resolve_ids(wanted, index)
    summary = PrepareSummary(cache_dir=cache_dir)
    for cid in missing:
        summary.skipped[cid] = f"{cid}: not found in any data folder ({', '.join(str(r) for r in roots)})"

    tasks = []
    for cid, folder in found.items():
        out = cache_dir / f"{cid}{RECORD_SUFFIX}"
        if out.exists():
            summary.cached.append(cid)
        else:
            tasks.append((cid, str(folder), config, str(out)))

    bar = tqdm(total=len(tasks), desc="prepare", unit="complex", disable=not progress, dynamic_ncols=True)
    if workers <= 1 or len(tasks) <= 1:
        results = map(_prepare_task, tasks)
        pool = None
    else:
        pool = _context().Pool(min(workers, len(tasks)), initializer=_init_worker, initargs=(os.getpid(),))
        results = pool.imap_unordered(_prepare_task, tasks, chunksize=1)
    try:
        for cid, status, value in results:
            if status == "ok":
                summary.prepared.append(cid)
                if not math.isnan(value):
                    summary.matching_rmsd[cid] = value
            else:
                summary.skipped[cid] = value
            bar.update(1)
    except BaseException:  # e.g. Ctrl-C: stop the workers now (written records stay; a rerun resumes)
        if pool is not None:
            pool.terminate()
        raise
    finally:
        bar.close()
        if pool is not None:
            pool.close()
            pool.join()
    _write_skipped(cache_dir / SKIPPED_FILE, summary.skipped)
    summary.seconds = time.perf_counter() - start
    return summary


def _write_skipped(path: Path, skipped: dict[str, str]) -> None:
    lines = ["complex_id\treason"] + [f"{cid}\t{_one_line(reason)}" for cid, reason in sorted(skipped.items())]
    path.write_text("\n".join(lines) + "\n")


def read_skipped(path: str | Path) -> dict[str, str]:
    """``{id: reason}`` from a ``skipped.tsv`` written by :func:`prepare_complexes`."""
    out = {}
    for line in Path(path).read_text().splitlines()[1:]:
        if line.strip():
            cid, _, reason = line.partition("\t")
            out[cid] = reason
    return out


def open_dataset(
    cache_root: str | Path | None = None,
    *,
    config: FeaturizationConfig | None = None,
    ids: list[str] | None = None,
) -> ComplexDataset:
    """The :class:`~discodock.data.cache.ComplexDataset` of complexes prepared with ``config``."""
    config = config or FeaturizationConfig()
    return ComplexDataset(cache_dir=cache_dir_for(cache_root or default_cache_root(), config), ids=ids)
