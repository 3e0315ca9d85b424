"""The CSV batch format: column checks up front, each row checked on its own with a reason."""

from __future__ import annotations

import pytest

from discodock.data.batch_rows import parse_center, read_batch_csv, resolve_row
from discodock.errors import InputError


def test_rows_resolve_relative_paths_and_centres(tmp_path):
    (tmp_path / "p.pdb").write_text("x")
    (tmp_path / "l.sdf").write_text("x")
    csv = tmp_path / "b.csv"
    csv.write_text('complex_name,protein_path,ligand,pocket_center\na,p.pdb,l.sdf,"1, 2,3"\nb,p.pdb,CCO,\n')
    rows = read_batch_csv(csv)
    a, b = (resolve_row(r, i, csv_path=csv) for i, r in enumerate(rows))
    assert a.protein == str(tmp_path / "p.pdb") and a.ligand == str(tmp_path / "l.sdf") and a.pocket_center == (1, 2, 3)
    assert b.ligand == "CCO" and b.pocket_center is None


@pytest.mark.parametrize("row, problem", [
    ({"complex_name": "x", "protein_path": "", "ligand": "CCO"}, "empty protein_path or ligand"),
    ({"complex_name": "x", "protein_path": "p", "ligand": "CCO", "pocket_center": "1,2"}, "pocket_center"),
    ({"complex_name": "x", "protein_path": "p", "ligand": "CCO", "pocket_center": "nan,0,0"}, "pocket_center"),
    ({"complex_name": "..", "protein_path": "p", "ligand": "CCO"}, "folder name"),
    ({"complex_name": "a/b", "protein_path": "p", "ligand": "CCO"}, "folder name"),
])
def test_bad_rows_name_the_row(tmp_path, row, problem):
    with pytest.raises(InputError) as info:
        resolve_row(row, 4, csv_path=tmp_path / "b.csv")
    assert "row 5" in str(info.value) and problem in str(info.value)


def test_csv_file_problems(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"complex_name,protein_path\n\xff\xfe,x\n")
    with pytest.raises(InputError, match="lacks the column"):
        read_batch_csv(bad)
    with pytest.raises(InputError, match="not found"):
        read_batch_csv(tmp_path / "none.csv")
    with pytest.raises(ValueError):
        parse_center("1,2,inf")
