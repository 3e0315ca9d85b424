#!/usr/bin/env python3
"""Coverage-guided fuzzing of discodock's input readers with atheris (libFuzzer for Python).

    DISCODOCK_FUZZ_READER=READER python tests/fuzz/harness.py [libFuzzer options] [CORPUS_DIR ...]

(the reader goes in the environment because libFuzzer's fork mode re-runs this script with its own
arguments). READER is one of pdb, cif, sdf, mol2, smiles, csv. Each input is handed to the reader the way a user's file
would be (written to a temporary file with the reader's suffix, or given as the SMILES string). The only
exception allowed to leave a reader is ``discodock.errors.InputError``; anything else is a finding.
atheris does not see inside RDKit's or gemmi's C++, and a segfault is not a Python exception, so long runs
use libFuzzer's fork mode (``-fork=1 -ignore_crashes=1``): each batch of inputs runs in a child process and
a native crash is caught, saved under ``-artifact_prefix`` and counted instead of ending the run.

``check(reader, data)`` is the same one-input check without atheris, for regression tests.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import numpy as np

READERS = ("pdb", "cif", "sdf", "mol2", "smiles", "csv")
SUFFIX = {"pdb": ".pdb", "cif": ".cif", "sdf": ".sdf", "mol2": ".mol2", "csv": ".csv"}
_TMP = None


def _tmpdir() -> Path:
    global _TMP
    if _TMP is None:
        _TMP = Path(tempfile.mkdtemp(prefix="discodock_fuzz_"))
    return _TMP


def _check_protein(protein) -> None:
    n = protein.num_residues
    assert n > 0
    assert protein.ca.shape == protein.n.shape == protein.c.shape == (n, 3)
    assert np.isfinite(protein.ca).all() and np.isfinite(protein.n).all() and np.isfinite(protein.c).all()
    assert len(protein.chain_ids) == len(protein.insertion_codes) == len(protein.residue_numbers) == n


def _check_ligand(mol) -> None:
    assert mol.GetNumAtoms() > 0
    assert all(a.GetAtomicNum() > 1 for a in mol.GetAtoms())
    if mol.GetNumConformers():
        assert np.isfinite(mol.GetConformer().GetPositions()).all()


def check(reader: str, data: bytes) -> None:
    """Run one input through ``reader``; raise only if something other than InputError escapes."""
    from discodock.data.parsing import load_ligand, load_protein
    from discodock.errors import InputError

    try:
        if reader == "smiles":
            text = data.decode("utf-8", errors="replace").replace("\x00", "")
            # A SMILES that names an existing file would be read as that file: not what we fuzz here.
            if not text.strip() or os.path.exists(text.strip()):
                return
            _check_ligand(load_ligand(text, max_heavy_atoms=150))
            return
        path = _tmpdir() / f"input{SUFFIX[reader]}"
        path.write_bytes(data)
        if reader in ("pdb", "cif"):
            from discodock.data.parsing import read_receptor_atoms

            _check_protein(load_protein(path))
            assert read_receptor_atoms(path)  # what Vina's receptor is written from
        elif reader in ("sdf", "mol2"):
            _check_ligand(load_ligand(path, max_heavy_atoms=150))
        else:
            from discodock.data.batch_rows import read_batch_csv, resolve_row

            for i, row in enumerate(read_batch_csv(path)):
                try:
                    resolve_row(row, i, csv_path=path)
                except InputError:
                    pass
    except InputError as err:
        assert "\n" not in str(err)  # one line


def main(argv: list[str]) -> None:
    import atheris

    reader = os.environ.get("DISCODOCK_FUZZ_READER", "")
    if reader not in READERS:
        sys.exit(f"set DISCODOCK_FUZZ_READER to one of {', '.join(READERS)}")
    with atheris.instrument_imports(include=["discodock"]):
        import discodock.data.batch_rows  # noqa: F401
        import discodock.data.parsing  # noqa: F401

    from rdkit import RDLogger

    RDLogger.DisableLog("rdApp.*")

    def one_input(data: bytes) -> None:
        check(reader, data)

    atheris.Setup(argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    main(sys.argv)
