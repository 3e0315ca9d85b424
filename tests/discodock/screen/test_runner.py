"""``discodock screen`` end to end on a real receptor with the shipped weights and tiny settings: two shards,
one killed mid-run (SIGKILL) and resumed, merged with no duplicate and no lost ligand; bad ligands become
error rows; a bad receptor or site stops the command before any work; changed settings are refused."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from discodock.cli import main

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = REPO / "data" / "examples" / "3d6p"
PROTEIN = EXAMPLE / "3d6p_protein.pdb.gz"
REFERENCE = EXAMPLE / "3d6p_ligand.sdf"
TINY = ["--samples", "2", "--steps", "3", "--refine", "none", "--quiet"]
SMILES = ["CCOc1ccccc1C(=O)N", "c1ccccc1O", "CC(=O)Nc1ccc(O)cc1", "OC(=O)c1ccccc1O", "Cc1ccncc1",
          "NCCc1ccc(O)c(O)c1", "CC(C)Cc1ccc(C(C)C(=O)O)cc1", "c1ccc2[nH]ccc2c1", "OCC(O)CO", "CN1CCCC1c1cccnc1",
          "C1CC(C)(C)(C)(C)C1", "O=C(O)CCc1ccccc1"]


def _library(path: Path) -> list[str]:
    ids = [f"mol{i:02d}" for i in range(len(SMILES))]
    path.write_text("".join(f"{s} {i}\n" for s, i in zip(SMILES, ids)))
    return ids


def _screen(lib, out, *extra):
    return ["screen", "--protein", str(PROTEIN), "--autobox-ligand", str(REFERENCE), "--ligands", str(lib),
            "--out", str(out), *TINY, *extra]


def test_two_shards_one_killed_and_resumed_merge_without_duplicates_or_losses(tmp_path, capsys):
    lib = tmp_path / "lib.smi"
    ids = _library(lib)
    out = tmp_path / "screen"
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "discodock.cli", *_screen(lib, out, "--shard", "0/2")]
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    journal = out / "shard-0-of-2" / "journal.jsonl"
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        if journal.is_file() and journal.read_text().count("\n") >= 2:
            break
        time.sleep(0.02)
    assert proc.poll() is None, f"shard 0 ended before it could be killed: {proc.communicate()}"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    done_before = journal.read_text().count("\n")
    assert 2 <= done_before < 6
    assert not list((out / "shard-0-of-2").glob("part-*.parquet"))  # killed before its compaction

    # Shard 1 here (in-process) while shard 0 sits killed; then shard 0 again: it resumes.
    assert main(_screen(lib, out, "--shard", "1/2")) == 0
    # The resumed run uses 2 local worker processes (each loads the model once).
    resumed = subprocess.run(cmd + ["--workers", "2"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{6 - done_before - 1} docked, 1 errors this run" in resumed.stdout  # only the unfinished ones
    assert "6/6 finished" in resumed.stdout

    hits = tmp_path / "hits.parquet"
    assert main(["screen-merge", str(out), "--out", str(hits), "--sdf", str(tmp_path / "hits.sdf"), "--top", "3"]) == 0
    assert "12 ligands, 11 ok, 1 errors" in capsys.readouterr().out
    table = pq.read_table(hits).to_pylist()
    assert sorted(r["ligand_id"] for r in table) == sorted(ids)  # no duplicate, none lost
    ok = [r for r in table if r["status"] == "ok"]
    assert [r["vina_score"] for r in ok] == sorted(r["vina_score"] for r in ok)  # best first
    assert table[-1]["status"] == "error" and "valence" in table[-1]["error"]  # errors last, with the reason
    assert all(r["seed"] == 0 and len(r["model_sha256"]) == 64 and r["heavy_atoms"] for r in ok)
    from rdkit import Chem

    poses = [m for m in Chem.SDMolSupplier(str(tmp_path / "hits.sdf"))]
    assert [m.GetProp("ligand_id") for m in poses] == [r["ligand_id"] for r in ok[:3]]
    assert all(m.GetIntProp("rank") == 1 and m.GetNumConformers() for m in poses)


def test_bad_sdf_record_and_bad_smiles_are_error_rows(tmp_path):
    from rdkit import Chem

    lib = tmp_path / "lib.sdf"
    good = Chem.MolToMolBlock(Chem.MolFromMolFile(str(REFERENCE)))
    lib.write_text("ref" + good[good.index("\n"):] + "$$$$\nbroken\n  junk\n\n  3  2  0  0\n$$$$\n")
    out = tmp_path / "sdf"
    assert main(_screen(lib, out)) == 0
    rows = {r["ligand_id"]: r for r in pq.read_table(out / "shard-0-of-1" / "part-00000.parquet").to_pylist()}
    assert rows["ref"]["status"] == "ok" and rows["ref"]["smiles"]
    assert rows["broken"]["status"] == "error" and "unreadable SDF record" in rows["broken"]["error"]

    lib2 = tmp_path / "lib.smi"
    lib2.write_text("c1ccccc1O phenol\nnot_a_smiles junk\n")
    assert main(_screen(lib2, tmp_path / "smi")) == 0
    rows = {r["ligand_id"]: r for r in pq.read_table(tmp_path / "smi" / "shard-0-of-1" / "part-00000.parquet").to_pylist()}
    assert rows["phenol"]["status"] == "ok"
    assert "does not parse" in rows["junk"]["error"]

    # Same folder, other settings: refused with a clear message, nothing docked.
    assert main(_screen(lib2, tmp_path / "smi", "--samples", "3")) == 2


@pytest.mark.parametrize("change, needle", [
    ({"--protein": "garbage"}, "bad.pdb: "),
    ({"--pocket-center": "500,500,500"}, "no residue has its C-alpha"),
])
def test_bad_receptor_or_site_exits_2_before_any_work(tmp_path, capsys, change, needle):
    lib = tmp_path / "lib.smi"
    _library(lib)
    args = _screen(lib, tmp_path / "out")
    if "--protein" in change:
        bad = tmp_path / "bad.pdb"
        bad.write_text("this is not a structure\n")
        args[args.index("--protein") + 1] = str(bad)
    else:
        i = args.index("--autobox-ligand")
        args[i:i + 2] = ["--pocket-center", change["--pocket-center"]]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0]
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_the_default_search_screens_real_ligands(tmp_path):
    """The shipped defaults (a search on Vina's energy from random starts) through the screen's shared maps."""
    lib = tmp_path / "lib.smi"
    lib.write_text("CC(=O)Nc1ccc(O)cc1 paracetamol\nOC(=O)c1ccccc1O salicylic\n")
    out = tmp_path / "screen"
    assert main(["screen", "--protein", str(PROTEIN), "--autobox-ligand", str(REFERENCE), "--ligands", str(lib),
                 "--out", str(out), "--quiet"]) == 0
    rows = [r for p in sorted((out / "shard-0-of-1").glob("part-*.parquet")) for r in pq.read_table(p).to_pylist()]
    assert sorted(r["ligand_id"] for r in rows) == ["paracetamol", "salicylic"]
    assert all(r["status"] == "ok" and r["vina_score"] < -3 for r in rows), rows


def test_retry_errors_replaces_error_rows(tmp_path, capsys):
    """Ligands that time out are error rows; a plain re-run leaves them, ``--retry-errors`` docks them again and
    the new rows replace the errors (one row per ligand, poses for each)."""
    lib = tmp_path / "lib.smi"
    lib.write_text("CC(=O)Nc1ccc(O)cc1 paracetamol\nOC(=O)c1ccccc1O salicylic\nnot_a_smiles junk\n")
    out = tmp_path / "screen"
    assert main(_screen(lib, out, "--timeout-s", "0.001")) == 0
    assert "0 docked, 3 errors this run" in capsys.readouterr().out
    assert main(_screen(lib, out)) == 0
    assert "0 docked, 0 errors this run" in capsys.readouterr().out  # errors are finished unless retried
    assert main(_screen(lib, out, "--retry-errors")) == 0
    assert "2 docked, 1 errors this run (" in capsys.readouterr().out
    hits = tmp_path / "hits.parquet"
    assert main(["screen-merge", str(out), "--out", str(hits), "--sdf", str(tmp_path / "hits.sdf")]) == 0
    rows = {r["ligand_id"]: r for r in pq.read_table(hits).to_pylist()}
    assert len(pq.read_table(hits)) == 3
    assert rows["paracetamol"]["status"] == rows["salicylic"]["status"] == "ok"
    assert "does not parse" in rows["junk"]["error"]  # still an error, with its new reason
    from rdkit import Chem

    titles = [m.GetProp("ligand_id") for m in Chem.SDMolSupplier(str(tmp_path / "hits.sdf"))]
    assert sorted(set(titles)) == ["paracetamol", "salicylic"]
    assert main(_screen(lib, out, "--retry-errors")) == 0  # nothing docked twice once ok
    assert "0 docked, 1 errors this run" in capsys.readouterr().out
