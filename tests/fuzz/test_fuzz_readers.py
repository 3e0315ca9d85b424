"""The readers never let anything but InputError escape: every input the fuzzers found (tests/fuzz/regressions),
a short seeded atheris run of each harness, and Hypothesis property tests over mutated real files."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
from harness import READERS, check  # noqa: E402

REGRESSIONS = sorted((HERE / "regressions").iterdir())
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("path", REGRESSIONS, ids=[p.name for p in REGRESSIONS])
def test_inputs_that_once_escaped(path):
    check(path.name.split("-", 1)[0], path.read_bytes())


@pytest.mark.skipif(importlib.util.find_spec("atheris") is None, reason="atheris not installed (pip install -e .[dev])")
@pytest.mark.parametrize("reader", READERS)
def test_seeded_atheris_run(reader, tmp_path):
    """A short coverage-guided run from the committed seeds; a finding fails the test and is saved under tmp."""
    env = dict(os.environ, DISCODOCK_FUZZ_READER=reader, OMP_NUM_THREADS="1")
    corpus = tmp_path / "corpus"  # libFuzzer adds what it finds to its corpus: keep the committed seeds as they are
    shutil.copytree(HERE / "seeds" / reader, corpus)
    proc = subprocess.run(
        [sys.executable, str(HERE / "harness.py"), "-runs=150", "-seed=1", "-timeout=30",
         f"-artifact_prefix={tmp_path}/", str(corpus)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Done 150 runs" in proc.stderr


def _mutate(text: str, edits) -> bytes:
    lines = text.splitlines()
    for line_no, col, new in edits:
        i = line_no % len(lines)
        line = lines[i]
        c = col % (len(line) + 1)
        lines[i] = line[:c] + new + line[c + len(new):]
    return ("\n".join(lines) + "\n").encode("utf-8", errors="surrogatepass")


EDITS = st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 90), st.text(max_size=8)), min_size=1, max_size=6)


@FAST
@given(edits=EDITS)
def test_mutated_pdb_only_input_errors(edits):
    check("pdb", _mutate((HERE / "seeds" / "pdb" / "het_altloc.pdb").read_text(), edits))


@FAST
@given(edits=EDITS)
def test_mutated_cif_only_input_errors(edits):
    check("cif", _mutate((HERE / "seeds" / "cif" / "crop4.cif").read_text(), edits))


@FAST
@given(edits=EDITS)
def test_mutated_sdf_only_input_errors(edits):
    check("sdf", _mutate((HERE / "seeds" / "sdf" / "6ce6_ligand.sdf").read_text(), edits))


@FAST
@given(edits=EDITS)
def test_mutated_mol2_only_input_errors(edits):
    check("mol2", _mutate((HERE / "seeds" / "mol2" / "6ce6_ligand.mol2").read_text(), edits))


@FAST
@given(text=st.text(alphabet=st.sampled_from(list("CNOSPFClBrI[]()=#@+-.*0123456789cnos/\\%Hh:")), max_size=40))
def test_smiles_like_text_only_input_errors(text):
    check("smiles", text.encode())


@FAST
@given(cells=st.lists(st.lists(st.text(max_size=12), min_size=1, max_size=5), min_size=1, max_size=5))
def test_csv_rows_only_input_errors(cells):
    import csv
    import io

    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["complex_name", "protein_path", "ligand", "pocket_center"])
    writer.writerows(cells)
    check("csv", buf.getvalue().encode("utf-8", errors="surrogatepass"))
