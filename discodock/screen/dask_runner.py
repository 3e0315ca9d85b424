"""Screening on a Dask cluster (``--dask tcp://scheduler:8786``): ligand chunks go to the cluster's workers,
results come back to the one writing process. Each Dask worker builds its engine once (model, receptor,
Vina maps; they do not pickle) through :func:`~discodock.screen.engine.engine_for` and reuses it for every
chunk. Needs the optional extra ``pip install "discodock[dask]"``. The per-ligand ``--timeout-s`` is not
applied on Dask workers (they run tasks in threads); use Dask's own worker limits there.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from discodock.errors import ConfigError
from discodock.screen.engine import ScreenSpec, dock_chunk
from discodock.screen.library import LibraryEntry

CHUNK = 4  # ligands per task: small enough to lose little when a worker dies, large enough to amortise


def _chunks(entries: Iterable[LibraryEntry], size: int) -> Iterator[list[LibraryEntry]]:
    chunk: list[LibraryEntry] = []
    for e in entries:
        chunk.append(e)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def dask_results(spec: ScreenSpec, todo: Iterable[LibraryEntry], *, address: str, chunk: int | None = None,
                 client=None) -> Iterator[dict]:
    """Records of ``todo`` docked on the cluster at ``address`` (or an existing ``client``), in completion order."""
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise ConfigError("--dask", 'needs dask.distributed: pip install "discodock[dask]"') from None
    own = client is None
    if own:
        try:
            client = Client(address, timeout="30s")
        except (OSError, TimeoutError) as err:
            raise ConfigError("--dask", f"cannot reach the Dask scheduler at {address} ({err})") from None
    try:
        n_workers = max(1, len(client.scheduler_info().get("workers", {})))
        chunks = _chunks(todo, chunk or CHUNK)
        queue = as_completed()
        for c in (next(chunks, None) for _ in range(2 * n_workers)):
            if c is not None:
                queue.add(client.submit(dock_chunk, spec, c, pure=False))
        for fut in queue:
            records = fut.result()
            fut.release()
            nxt = next(chunks, None)
            if nxt is not None:
                queue.add(client.submit(dock_chunk, spec, nxt, pure=False))
            yield from records
    finally:
        if own:
            client.close()
