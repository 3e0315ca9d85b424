"""A ligand that kills its worker process (a native crash) becomes one error row; the others are docked."""

from pathlib import Path

from discodock.screen.engine import ScreenSpec
from discodock.screen.library import LibraryEntry
from discodock.screen.runner import _local_results
from discodock.screen.site import Site


def test_only_the_ligand_that_kills_a_worker_is_an_error(monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).parent))  # spawned workers inherit sys.path
    import crash_helper

    entries = [LibraryEntry(i, name) for i, name in enumerate(["a", "b", "boom", "c", "d", "e", "f"])]
    spec = ScreenSpec(protein="unused.pdb", site=Site(center=(0.0, 0.0, 0.0)))
    records = list(_local_results(spec, iter(entries), 2, task=crash_helper.task))
    by_id = {r["ligand_id"]: r for r in records}
    assert sorted(by_id) == sorted(e.ligand_id for e in entries) and len(records) == len(entries)
    assert by_id["boom"]["status"] == "error" and "worker process died" in by_id["boom"]["error"]
    assert all(r["status"] == "ok" for k, r in by_id.items() if k != "boom")
