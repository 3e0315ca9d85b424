"""The Dask path: a real LocalCluster with 2 worker processes docks a small library; one writer collects."""

from pathlib import Path

import pyarrow.parquet as pq
import pytest

distributed = pytest.importorskip("distributed")

from discodock.cli import main  # noqa: E402

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = REPO / "data" / "examples" / "3d6p"


def test_local_cluster_with_two_workers_docks_a_library(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(REPO))  # worker processes import this checkout
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setattr("discodock.screen.dask_runner.CHUNK", 1)  # several tasks, so both workers get some
    lib = tmp_path / "lib.smi"
    smiles = ["c1ccccc1O", "CC(=O)Nc1ccc(O)cc1", "Cc1ccncc1", "OC(=O)c1ccccc1O", "CCO", "not_a_smiles"]
    lib.write_text("".join(f"{s} d{i}\n" for i, s in enumerate(smiles)))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=40) as cluster:
        out = tmp_path / "dask"
        code = main(["screen", "--protein", str(EXAMPLE / "3d6p_protein.pdb.gz"), "--autobox-ligand",
                     str(EXAMPLE / "3d6p_ligand.sdf"), "--ligands", str(lib), "--out", str(out), "--samples", "2",
                     "--steps", "3", "--refine", "none", "--quiet", "--dask", cluster.scheduler_address])
        assert code == 0
        with distributed.Client(cluster) as client:
            # each worker built its own engine (model + receptor), once, and docked part of the library
            engines = client.run(lambda: len(__import__("discodock.screen.engine").screen.engine._ENGINES))
    assert "5 docked, 1 errors this run" in capsys.readouterr().out
    rows = pq.read_table(out / "shard-0-of-1" / "part-00000.parquet").to_pylist()
    assert sorted(r["ligand_id"] for r in rows) == [f"d{i}" for i in range(6)]
    assert sum(engines.values()) == 2 and all(n == 1 for n in engines.values()), engines
