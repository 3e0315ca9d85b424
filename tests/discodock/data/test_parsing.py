"""Receptor and ligand parsing on the shipped example complexes and on small hand-made files."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

import numpy as np
import pytest
import torch
from rdkit import Chem

from discodock.data.parsing import load_embeddings, load_ligand, load_protein
from discodock.errors import InputError, LigandError, ProteinError

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = REPO / "data" / "examples"
SHARED = REPO / ".." / "shared" / "data"
EXAMPLE_IDS = sorted(p.name for p in EXAMPLES.iterdir() if p.is_dir())


def _protein_path(cid: str) -> Path:
    return EXAMPLES / cid / f"{cid}_protein.pdb.gz"


def _biopython_residues(path: Path) -> list[tuple[str, int, str, str]]:
    """Amino-acid residues with a C-alpha, counted independently with Biopython (first model)."""
    from Bio.PDB import PDBParser
    from Bio.PDB.Polypeptide import is_aa

    with gzip.open(path, "rt") as fh:
        structure = PDBParser(QUIET=True).get_structure("x", fh)
    out = []
    for res in structure[0].get_residues():
        if is_aa(res, standard=False) and "CA" in res and res["CA"].element == "C":
            out.append((res.get_parent().id, res.id[1], res.id[2].strip(), res.get_resname()))
    return out


def test_example_ids_present():
    assert len(EXAMPLE_IDS) >= 3


@pytest.mark.parametrize("cid", EXAMPLE_IDS)
def test_protein_residues_match_biopython(cid):
    protein = load_protein(_protein_path(cid))
    expected = _biopython_residues(_protein_path(cid))
    got = list(zip(protein.chain_ids, protein.residue_numbers.tolist(), protein.insertion_codes))
    assert got == [e[:3] for e in expected]
    assert protein.ca.dtype == np.float32 and protein.ca.shape == (len(expected), 3)
    assert protein.n.shape == protein.c.shape == protein.ca.shape
    # backbone geometry: N-CA and CA-C bonds are ~1.46 / ~1.52 A
    d_nca = np.linalg.norm(protein.n - protein.ca, axis=1)
    d_cac = np.linalg.norm(protein.c - protein.ca, axis=1)
    assert np.median(d_nca) == pytest.approx(1.46, abs=0.03)
    assert np.median(d_cac) == pytest.approx(1.52, abs=0.03)
    assert len(protein.sequence) == protein.num_residues


def test_protein_residue_counts_match_manifest():
    manifest = SHARED / "manifest.csv"
    if not manifest.is_file():
        pytest.skip("shared data not available")
    rows = {r["complex_id"]: r for r in csv.DictReader(manifest.open()) if r["set"] == "pdbbind_subset213"}
    for cid in EXAMPLE_IDS:
        # the manifest counts standard residues (Biopython, ATOM records); the examples have no modified ones
        assert load_protein(_protein_path(cid)).num_residues == int(rows[cid]["protein_residues"])


def _atom(serial, name, resn, chain, resi, xyz, element, *, het=False, altloc=" ", icode=" "):
    rec = "HETATM" if het else "ATOM  "
    x, y, z = xyz
    return (f"{rec}{serial:5d} {name:<4s}{altloc}{resn:>3s} {chain}{resi:4d}{icode}   "
            f"{x:8.3f}{y:8.3f}{z:8.3f}  1.00  0.00          {element:>2s}")


def _residue(serial, resn, chain, resi, origin, *, het=False, icode=" ", atoms=("N", "CA", "C", "O"), altloc=" "):
    ox, oy, oz = origin
    offsets = {"N": (-1.2, 0.8, 0.0), "CA": (0.0, 0.0, 0.0), "C": (1.4, 0.5, 0.0), "O": (1.6, 1.7, 0.0),
               "SE": (0.0, -2.0, 1.0)}
    lines = []
    for name in atoms:
        dx, dy, dz = offsets[name]
        element = "SE" if name == "SE" else name[0]
        lines.append(_atom(serial, name, resn, chain, resi, (ox + dx, oy + dy, oz + dz), element,
                           het=het, altloc=altloc, icode=icode))
        serial += 1
    return lines


def test_protein_chains_altlocs_insertions_modified_hetero(tmp_path):
    lines = []
    lines += _residue(1, "ALA", "A", 1, (0, 0, 0))
    lines += _residue(10, "GLY", "A", 52, (4, 0, 0))
    lines += _residue(20, "SER", "A", 52, (8, 0, 0), icode="A")  # insertion code
    lines += _residue(30, "MSE", "A", 53, (12, 0, 0), het=True, atoms=("N", "CA", "C", "O", "SE"))  # -> MET
    lines += _residue(40, "LEU", "A", 54, (16, 0, 0), atoms=("N", "C", "O"))  # no CA: skipped
    lines += _residue(50, "VAL", "A", 55, (20, 0, 0), atoms=("CA", "C", "O"))  # no N: N set to CA
    # altlocs: first one kept
    lines.append(_atom(60, "N", "THR", "B", 7, (-1.2, 10.8, 0), "N"))
    lines.append(_atom(61, "CA", "THR", "B", 7, (0.0, 10.0, 0), "C", altloc="A"))
    lines.append(_atom(62, "CA", "THR", "B", 7, (0.5, 10.5, 0), "C", altloc="B"))
    lines.append(_atom(63, "C", "THR", "B", 7, (1.4, 10.5, 0), "C"))
    lines.append(_atom(70, "ZN", "ZN", "B", 101, (5, 5, 5), "ZN", het=True))
    lines.append(_atom(71, "CA", "CA", "B", 102, (6, 6, 6), "CA", het=True))  # calcium ion, not a C-alpha
    lines.append(_atom(72, "O", "HOH", "B", 201, (7, 7, 7), "O", het=True))
    lines.append(_atom(73, "C1", "LIG", "B", 301, (8, 8, 8), "C", het=True))
    path = tmp_path / "toy.pdb"
    path.write_text("\n".join(lines) + "\nEND\n")

    protein = load_protein(path)
    assert protein.residue_types == ["ALA", "GLY", "SER", "MET", "VAL", "THR"]
    assert protein.chain_ids == ["A", "A", "A", "A", "A", "B"]
    assert protein.residue_numbers.tolist() == [1, 52, 52, 53, 55, 7]
    assert protein.insertion_codes == ["", "", "A", "", "", ""]
    np.testing.assert_allclose(protein.ca[-1], [0.0, 10.0, 0.0], atol=1e-6)  # altloc A
    np.testing.assert_allclose(protein.n[4], protein.ca[4])  # missing N -> CA
    assert protein.chain_sequences() == {"A": "AGSMV", "B": "T"}


def test_protein_mmcif_matches_pdb(tmp_path):
    import gemmi

    cid = EXAMPLE_IDS[0]
    structure = gemmi.read_structure(str(_protein_path(cid)))
    structure.setup_entities()
    cif = tmp_path / f"{cid}.cif"
    structure.make_mmcif_document().write_file(str(cif))
    a, b = load_protein(_protein_path(cid)), load_protein(cif)
    assert a.residue_types == b.residue_types
    np.testing.assert_allclose(a.ca, b.ca, atol=1e-3)


def test_embeddings_npy_pt_and_length_check(tmp_path):
    cid = EXAMPLE_IDS[0]
    n = load_protein(_protein_path(cid)).num_residues
    emb = np.random.default_rng(0).normal(size=(n, 8)).astype(np.float32)
    np.save(tmp_path / "e.npy", emb)
    torch.save({"representations": {6: torch.zeros(n, 4), 33: torch.from_numpy(emb)}}, tmp_path / "e.pt")
    for name in ("e.npy", "e.pt"):
        protein = load_protein(_protein_path(cid), embeddings=tmp_path / name)
        np.testing.assert_allclose(protein.embedding, emb)
    np.save(tmp_path / "short.npy", emb[:-3])
    with pytest.raises(ProteinError, match=rf"short\.npy: embedding has {n - 3} rows but the protein has {n} residues"):
        load_protein(_protein_path(cid), embeddings=tmp_path / "short.npy")
    with pytest.raises(ProteinError, match="file not found"):
        load_embeddings(tmp_path / "absent.pt")


def _nan_pdb() -> str:
    lines = _residue(1, "ALA", "A", 1, (0, 0, 0))
    lines[1] = lines[1][:30] + f"{'nan':>8s}" + lines[1][38:]
    return "\n".join(lines) + "\nEND\n"


def _one_line_error(tmp_path, name: str, content: str | None, error: type, reader) -> Exception:
    """Write ``content`` (None: no file) to ``name``, read it, and check the error is one line naming the file."""
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    with pytest.raises(error) as info:
        reader(path)
    message = str(info.value)
    assert message.startswith(str(path)) and "\n" not in message
    return info.value


@pytest.mark.parametrize(
    "name, content, problem",
    [
        ("absent.pdb", None, "file not found"),
        ("empty.pdb", "", "file is empty"),
        ("garbage.pdb", "this is not a structure\nat all\n", "not a structure"),
        ("water.pdb", _atom(1, "O", "HOH", "A", 1, (0, 0, 0), "O", het=True) + "\n"
         + _atom(2, "ZN", "ZN", "A", 2, (2, 0, 0), "ZN", het=True) + "\nEND\n", "no amino-acid residues"),
        ("nan.pdb", _nan_pdb(), "NaN"),
    ],
)
def test_protein_errors(tmp_path, name, content, problem):
    err = _one_line_error(tmp_path, name, content, ProteinError, load_protein)
    assert problem in str(err) and isinstance(err, InputError)


# ------------------------------------------------------------------------------------------------ ligands


@pytest.mark.parametrize("cid", EXAMPLE_IDS)
def test_ligand_sdf_and_mol2(cid):
    sdf = load_ligand(EXAMPLES / cid / f"{cid}_ligand.sdf")
    mol2 = load_ligand(EXAMPLES / cid / f"{cid}_ligand.mol2")
    assert all(a.GetAtomicNum() > 1 for a in sdf.GetAtoms())
    assert sdf.GetNumAtoms() == mol2.GetNumAtoms()
    # same atoms in the same order and the same bonds (mol2 may protonate acids differently)
    assert [a.GetSymbol() for a in sdf.GetAtoms()] == [a.GetSymbol() for a in mol2.GetAtoms()]
    bonds = lambda m: {tuple(sorted((b.GetBeginAtomIdx(), b.GetEndAtomIdx()))) for b in m.GetBonds()}  # noqa: E731
    assert bonds(sdf) == bonds(mol2)
    assert sdf.GetConformer().Is3D()
    np.testing.assert_allclose(sdf.GetConformer().GetPositions(), mol2.GetConformer().GetPositions(), atol=1e-3)


def test_ligand_keeps_stereo_and_charges_against_manifest():
    manifest = SHARED / "manifest.csv"
    if not manifest.is_file():
        pytest.skip("shared data not available")
    rows = {r["complex_id"]: r for r in csv.DictReader(manifest.open()) if r["set"] == "pdbbind_subset213"}
    for cid in EXAMPLE_IDS:
        mol = load_ligand(EXAMPLES / cid / f"{cid}_ligand.sdf")
        assert Chem.MolToSmiles(mol) == rows[cid]["ligand_smiles"]
        assert mol.GetNumAtoms() == int(rows[cid]["ligand_heavy_atoms"])


def test_ligand_from_smiles_keeps_stereo():
    mol = load_ligand("C[C@H](N)C(=O)O")
    assert mol.GetNumConformers() == 0
    assert Chem.MolToSmiles(mol) == Chem.MolToSmiles(Chem.MolFromSmiles("C[C@H](N)C(=O)O"))
    assert load_ligand("F/C=C/F").GetBondBetweenAtoms(1, 2).GetStereo() != Chem.BondStereo.STEREONONE


def test_ligand_pdb_file(tmp_path):
    cid = EXAMPLE_IDS[0]
    sdf = load_ligand(EXAMPLES / cid / f"{cid}_ligand.sdf")
    path = tmp_path / "lig.pdb"
    Chem.MolToPDBFile(sdf, str(path))
    mol = load_ligand(path)
    assert mol.GetNumAtoms() == sdf.GetNumAtoms()
    np.testing.assert_allclose(mol.GetConformer().GetPositions(), sdf.GetConformer().GetPositions(), atol=1e-3)


def _bad_mol2() -> str:
    lines = ["@<TRIPOS>MOLECULE", "pentavalent", " 6 5 0 0 0", "SMALL", "NO_CHARGES", "", "@<TRIPOS>ATOM"]
    xyz = [(0, 0, 0), (1.5, 0, 0), (-1.5, 0, 0), (0, 1.5, 0), (0, -1.5, 0), (0, 0, 1.5)]
    for i, (x, y, z) in enumerate(xyz, 1):
        lines.append(f"{i:7d} C{i:<4d} {x:10.4f}{y:10.4f}{z:10.4f} C.3     1  LIG1        0.0000")
    lines.append("@<TRIPOS>BOND")
    lines += [f"{b:6d}{1:6d}{b + 1:6d}    1" for b in range(1, 6)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    "name, content, problem",
    [
        ("absent.sdf", None, "file not found"),
        ("empty.sdf", "", "file is empty"),
        ("blank.sdf", "\n\n  \n", "file is empty"),
        ("garbage.sdf", "this is not\na molecule\nat all\n", "not a valid SDF"),
        ("garbage.mol2", "@<TRIPOS>MOLECULE\nnonsense\n", "not a valid mol2"),
        ("pentavalent.mol2", _bad_mol2(), "impossible valence"),
    ],
)
def test_ligand_file_errors(tmp_path, name, content, problem):
    assert problem in str(_one_line_error(tmp_path, name, content, LigandError, load_ligand))


@pytest.mark.parametrize(
    "smiles, problem",
    [
        ("C1CC(", "SMILES does not parse"),
        ("not_a_molecule", "SMILES does not parse"),
        ("C(C)(C)(C)(C)C", "impossible valence"),
        ("[Na+]", "only metal atoms"),
        ("[Zn+2].[Fe+3]", "only metal atoms"),
        ("[H][H]", "no heavy atoms"),
    ],
)
def test_ligand_smiles_errors(smiles, problem):
    with pytest.raises(LigandError) as info:
        load_ligand(smiles)
    assert str(info.value).startswith(smiles) and problem in str(info.value)


def test_ligand_size_cap():
    smiles = "C" * 30
    assert load_ligand(smiles, max_heavy_atoms=30).GetNumAtoms() == 30
    with pytest.raises(LigandError, match="31 heavy atoms, more than the limit of 30"):
        load_ligand("C" * 31, max_heavy_atoms=30)


def test_ligand_nan_coordinates(tmp_path):
    cid = EXAMPLE_IDS[0]
    text = (EXAMPLES / cid / f"{cid}_ligand.sdf").read_text().splitlines()
    counts = next(i for i, line in enumerate(text) if line.rstrip().endswith("V2000"))
    line = text[counts + 1]
    text[counts + 1] = f"{'nan':>10s}" + line[10:]
    path = tmp_path / "nan.sdf"
    path.write_text("\n".join(text) + "\n")
    # RDKit itself refuses "nan" in a molfile; either way it is a one-line error naming the file
    with pytest.raises(LigandError, match=r"nan\.sdf: (coordinates contain NaN|not a valid SDF)"):
        load_ligand(path)
