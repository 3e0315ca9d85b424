"""``discodock dock``: --autobox-ligand, and a CSV batch killed mid-run resumes without re-docking finished rows
(the screen journal serves the batch too)."""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from rdkit import Chem

from discodock.cli import main

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = REPO / "data" / "examples" / "3d6p"
TINY = ["--samples", "2", "--steps", "3", "--refine", "none", "--quiet"]


def test_autobox_ligand_sets_the_site(tmp_path):
    out = tmp_path / "single"
    assert main(["dock", "--protein", str(EXAMPLE / "3d6p_protein.pdb.gz"), "--ligand", "CC(=O)Nc1ccc(O)cc1",
                 "--autobox-ligand", str(EXAMPLE / "3d6p_ligand.sdf"), "--out", str(out), "--name", "p", *TINY]) == 0
    info = json.loads((out / "p" / "results.json").read_text())
    ref = Chem.MolFromMolFile(str(EXAMPLE / "3d6p_ligand.sdf")).GetConformer().GetPositions().mean(0)
    assert np.allclose(info["pocket_center"], ref, atol=1e-4)


def test_killed_csv_batch_resumes_without_redocking(tmp_path):
    rows = [{"complex_name": f"c{i}", "protein_path": str(EXAMPLE / "3d6p_protein.pdb.gz"), "ligand": smi,
             "autobox_ligand": str(EXAMPLE / "3d6p_ligand.sdf")}
            for i, smi in enumerate(["c1ccccc1O", "CC(=O)Nc1ccc(O)cc1", "Cc1ccncc1", "OC(=O)c1ccccc1O"])]
    table = tmp_path / "batch.csv"
    with open(table, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    out = tmp_path / "batch"
    cmd = [sys.executable, "-m", "discodock.cli", "dock", "--csv", str(table), "--out", str(out), *TINY]
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    journal = out / "batch_journal.jsonl"
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        if journal.is_file() and journal.read_text().count("\n") >= 1:
            break
        time.sleep(0.02)
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGTERM)
    proc.wait()
    finished = [json.loads(line)["complex_name"] for line in journal.read_text().splitlines()]
    assert 1 <= len(finished) < 4
    stamps = {n: (out / n / "rank1.sdf").stat().st_mtime_ns for n in finished}

    resumed = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert f"4/4 complexes docked ({len(finished)} already docked by an earlier run)" in resumed.stdout
    assert {n: (out / n / "rank1.sdf").stat().st_mtime_ns for n in finished} == stamps  # not re-docked
    summary = list(csv.DictReader(open(out / "summary.csv")))
    assert [r["complex_name"] for r in summary] == ["c0", "c1", "c2", "c3"]
    assert all(r["status"] == "ok" for r in summary)

    # Other settings into the same folder: refused before any docking.
    assert main(["dock", "--csv", str(table), "--out", str(out), "--samples", "3", "--steps", "3", "--quiet"]) == 2
