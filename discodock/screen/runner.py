"""Running a screen shard: one writer (this process) and K local worker processes or a Dask cluster.

Only this process writes the shard's journal and Parquet parts, so workers can be killed at any time and
the output stays consistent. Work is handed out a few ligands ahead of the results, never the whole library,
so memory stays flat in library size.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from discodock.screen.engine import ScreenSpec, dock_chunk, engine_for
from discodock.screen.journal import Journal, check_manifest
from discodock.screen.library import LibraryEntry, check_library, library_records, read_library
from discodock.screen.shards import Shard
from discodock.screen.table import JOURNAL, MANIFEST, compact, finished_ids

COMPACT_EVERY = 256  # ligands journaled between Parquet compactions


@dataclass
class ShardSummary:
    shard: str
    owned: int  # ligands of the library in this shard
    finished_before: int  # already done when this run started (resume)
    ok: int = 0
    errors: int = 0
    seconds: float = 0.0


def _file_sha256(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _init_worker(parent_pid: int) -> None:
    from discodock.worker_process import exit_with_parent

    exit_with_parent(parent_pid)
    import torch

    torch.set_num_threads(1)  # K workers on K cores


def _crash_record(entry: LibraryEntry, spec: ScreenSpec) -> dict:
    return {"ligand_id": entry.ligand_id, "position": entry.position, "smiles": entry.smiles, "status": "error",
            "error": "the worker process died while docking this ligand (a native crash or out of memory)",
            "seed": spec.seed, "poses": []}


def _local_results(spec: ScreenSpec, todo: Iterable[LibraryEntry], workers: int, *, task=dock_chunk) -> Iterator[dict]:
    """Records of ``todo`` from this process (``workers`` 1) or a pool of worker processes. When a worker
    dies (a native crash in RDKit or Vina, the OOM killer), the ligands it may have held are retried one at a
    time in a fresh pool, so only the ligand that kills a worker alone becomes an error row."""
    if workers <= 1:
        engine = engine_for(spec)
        for entry in todo:
            yield engine.dock_entry(entry)
        return
    import multiprocessing as mp
    from collections import deque
    from concurrent.futures.process import BrokenProcessPool

    it, suspects = iter(todo), deque()
    exhausted = False
    while True:
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"),
                                   initializer=_init_worker, initargs=(os.getpid(),))
        pending: dict = {}
        lost: list[LibraryEntry] = []
        try:
            while True:
                # Suspects from a crash run alone; otherwise keep a few ligands per worker in flight.
                limit = 1 if suspects else 2 * workers
                while len(pending) < limit and (suspects or not exhausted):
                    if suspects:
                        if pending:
                            break
                        entry = suspects.popleft()
                    else:
                        entry = next(it, None)
                        if entry is None:
                            exhausted = True
                            break
                    pending[pool.submit(task, spec, [entry])] = entry
                if not pending:
                    return
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    entry = pending.pop(fut)
                    try:
                        records = fut.result()
                    except BrokenProcessPool:
                        lost.append(entry)
                        continue
                    yield from records
                if lost:
                    lost.extend(pending.values())  # in flight on the broken pool: their results are gone
                    break
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        if len(lost) == 1:
            yield _crash_record(lost[0], spec)  # it was alone in flight: it is the culprit
        else:
            suspects.extend(lost)


def run_shard(spec: ScreenSpec, *, library: str | Path, out: str | Path, shard: Shard, workers: int = 1,
              dask_address: str | None = None, quiet: bool = False, dry_run: bool = False,
              compact_every: int = COMPACT_EVERY, retry_errors: bool = False) -> ShardSummary:
    """Dock the shard's unfinished ligands (``retry_errors``: and those that finished with an error, whose new
    rows replace the error rows); returns what was done. Raises InputError before any work when the
    receptor, site, library or output folder is unusable, or when the folder holds other settings."""
    from disco_core.training import progress

    library = check_library(library)
    engine = engine_for(spec)  # the receptor and site are checked here, before any ligand
    out = Path(out)
    if dry_run:
        return _dry_run(spec, library, shard)
    settings = engine.manifest()
    settings.update(library=library.name, library_sha256=_file_sha256(library), shards=shard.count)
    check_manifest(out / MANIFEST, settings)
    shard_dir = out / shard.name
    shard_dir.mkdir(parents=True, exist_ok=True)
    compact(shard_dir)  # rows left in the journal by a killed run
    done = finished_ids(shard_dir, ok_only=retry_errors)
    owned = sum(1 for p in range(library_records(library)) if shard.owns(p))
    summary = ShardSummary(shard=shard.name, owned=owned, finished_before=len(done))
    stats: dict = {}
    todo = (e for e in read_library(library, stats=stats) if shard.owns(e.position) and e.ligand_id not in done)

    if dask_address:
        from discodock.screen.dask_runner import dask_results

        results = dask_results(spec, todo, address=dask_address)
    else:
        results = _local_results(spec, todo, workers)
    journal = Journal(shard_dir / JOURNAL, key="ligand_id")
    t0, since_compact = time.perf_counter(), 0
    bar = progress(total=owned, initial=len(done), desc=f"ligands ({shard.name})", unit="lig",
                   disable=True if quiet else None)
    try:
        for record in results:
            journal.append(record)
            if record["status"] == "ok":
                summary.ok += 1
            else:
                summary.errors += 1
                if not quiet:
                    bar.write(f"discodock screen: {record['ligand_id']}: error: {record['error']}", file=sys.stderr)
            bar.update(1)
            since_compact += 1
            if since_compact >= compact_every:
                journal.close()
                compact(shard_dir)
                since_compact = 0
    finally:
        bar.close()
        journal.close()
    compact(shard_dir)
    summary.seconds = time.perf_counter() - t0
    if stats.get("renamed_duplicates"):
        print(f"discodock screen: {library}: {stats['renamed_duplicates']} duplicate ligand ID(s) made unique "
              "with a #2, #3... suffix", file=sys.stderr)
    return summary


def _dry_run(spec: ScreenSpec, library: Path, shard: Shard) -> ShardSummary:
    """Prepare everything and parse every ligand of the shard, without docking or writing results."""
    from discodock.screen.engine import check_ligands

    t0 = time.perf_counter()
    ok, bad = check_ligands((e for e in read_library(library) if shard.owns(e.position)),
                            max_heavy_atoms=spec.max_heavy_atoms)
    return ShardSummary(shard=shard.name, owned=ok + bad, finished_before=0, ok=ok, errors=bad,
                        seconds=time.perf_counter() - t0)
