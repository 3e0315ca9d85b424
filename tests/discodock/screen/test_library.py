"""Library readers: IDs, duplicates, formats, and unreadable records passed on as errors (no crash)."""

import gzip

import pytest

from discodock.errors import InputError
from discodock.screen.library import library_records, read_library


def test_smiles_ids_duplicates_and_blank_lines(tmp_path):
    lib = tmp_path / "lib.smi"
    lib.write_text("CCO ethanol\n\n# a comment\nc1ccccc1\nCCN amine extra words\nCCO ethanol\nCCO ethanol\n")
    stats = {}
    entries = list(read_library(lib, stats=stats))
    assert [e.ligand_id for e in entries] == ["ethanol", "line-4", "amine", "ethanol#2", "ethanol#3"]
    assert [e.position for e in entries] == [0, 1, 2, 3, 4]
    assert entries[1].smiles == "c1ccccc1"
    assert stats == {"records": 5, "renamed_duplicates": 2}
    assert library_records(lib) == 5


def test_csv_and_gzip(tmp_path):
    lib = tmp_path / "lib.csv.gz"
    with gzip.open(lib, "wt") as fh:
        fh.write("id,SMILES,other\na,CCO,1\n,CCN,2\nc,,3\n")
    entries = list(read_library(lib))
    assert [e.ligand_id for e in entries] == ["a", "row-2", "c"]
    assert entries[2].error == "empty SMILES"
    assert library_records(lib) == 3


def test_sdf_records_with_a_broken_one(tmp_path):
    from rdkit import Chem

    good = Chem.MolToMolBlock(Chem.MolFromSmiles("CCO"))
    lib = tmp_path / "lib.sdf"
    lib.write_text("first\n" + good.split("\n", 1)[1] + "$$$$\n" + "\n  garbage\nnot a molfile\n$$$$\n" + good + "$$$$\n")
    entries = list(read_library(lib))
    assert [e.ligand_id for e in entries] == ["first", "record-2", "record-3"]
    assert all(e.molblock for e in entries)


@pytest.mark.parametrize("name, text, needle", [
    ("lib.txt", "CCO\n", "unknown ligand library format"),
    ("lib.csv", "name,value\nx,1\n", "needs a 'smiles' column"),
])
def test_bad_library_is_an_input_error(tmp_path, name, text, needle):
    lib = tmp_path / name
    lib.write_text(text)
    with pytest.raises(InputError, match=needle):
        list(read_library(lib))


def test_missing_library(tmp_path):
    with pytest.raises(InputError, match="not found"):
        list(read_library(tmp_path / "none.smi"))
