"""What the readers make of real-world files (tests/data/real_inputs, see build.py there): altlocs, models,
force-field and modified residue names, hetero groups and the --keep-het choice, Vina's receptor from the same
reader, and the ligand tidying (fragments, records, stereo, macrocycles, size)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rdkit import Chem

from discodock.data import parsing
from discodock.data.featurize import rotatable_bonds
from discodock.data.hetero import choose_hetero, parse_keep_het
from discodock.data.parsing import ligand_warnings, load_ligand, load_protein, read_receptor_atoms
from discodock.errors import ConfigError, LigandError, ProteinError

DATA = Path(__file__).resolve().parents[2] / "data" / "real_inputs"


def _site(cid):
    return Chem.MolFromMolFile(str(DATA / f"{cid}_ligand.sdf")).GetConformer().GetPositions().mean(0)


def test_altlocs_keep_the_highest_occupancy_conformer():
    plain, alt = load_protein(DATA / "1LPZ_CMB_crop.pdb.gz"), load_protein(DATA / "altlocs_icodes_1lpz.pdb.gz")
    assert alt.num_residues == plain.num_residues and "A" in alt.insertion_codes  # insertion codes kept
    shift = alt.ca - plain.ca
    moved = np.abs(shift[:, 0] - 0.8) < 1e-3  # build.py moved conformer B (occupancy 0.6) by +0.8 A in x
    assert moved.sum() == 27 and np.allclose(shift[~moved], 0, atol=1e-3)
    assert any("alternate locations in 27 residue(s)" in w for w in alt.warnings)
    # Vina's receptor is read the same way: its C-alphas are the model's.
    ca = {(a[3], a[4], a[5]): a[6] for a in read_receptor_atoms(DATA / "altlocs_icodes_1lpz.pdb.gz") if a[1] == "CA"
          and a[0] == "ATOM"}
    got = np.array([ca[(c, n, i)] for c, n, i in zip(alt.chain_ids, alt.residue_numbers.tolist(), alt.insertion_codes)])
    assert np.allclose(got, alt.ca, atol=1e-3)


def test_nmr_models_first_model_only():
    first, nmr = load_protein(DATA / "1KZK_JE2_crop.pdb.gz"), load_protein(DATA / "nmr_models_1kzk.pdb.gz")
    assert np.allclose(first.ca, nmr.ca) and nmr.warnings == ["3 models in the file; the first is used"]
    assert len(read_receptor_atoms(DATA / "nmr_models_1kzk.pdb.gz")) == len(read_receptor_atoms(DATA / "1KZK_JE2_crop.pdb.gz"))


def test_amber_names_are_their_residues():
    plain, amber = load_protein(DATA / "1GKC_NFH_crop.pdb.gz"), load_protein(DATA / "amber_names_1gkc.pdb.gz")
    assert amber.residue_types == plain.residue_types and "HIS" in amber.residue_types
    assert amber.warnings == ["force-field residue names read as standard residues: ASH->ASP, GLH->GLU, HID->HIS, "
                              "HIE->HIS, HIP->HIS, LYN->LYS"]


@pytest.mark.parametrize("name, parents", [("1xjd_crop.pdb.gz", {"SER", "THR"}), ("4e5w_crop.pdb.gz", {"TYR"})])
def test_modified_residues_take_their_parent_type(name, parents):
    protein = load_protein(DATA / name)
    assert parents <= set(protein.residue_types) and "UNK" not in protein.residue_types
    assert any(w.startswith("modified residues read as their parent") for w in protein.warnings)


def test_mmcif_and_pdb_read_alike():
    a, b = load_protein(DATA / "1MMV_3AR_crop.pdb.gz"), load_protein(DATA / "1MMV_3AR_crop.cif.gz")
    assert a.residue_types == b.residue_types and np.allclose(a.ca, b.ca)
    assert [g.label for g in a.hetero] == [g.label for g in b.hetero]


def test_keep_het_choices():
    protein = load_protein(DATA / "1MMV_3AR_crop.pdb.gz")
    site = _site("1MMV_3AR")
    labels = lambda gs: [g.label for g in gs]  # noqa: E731
    kept, dropped = choose_hetero(protein.hetero, "auto", site=site)
    assert labels(kept) == ["HEM B2750", "H4B B2760"] and labels(dropped) == ["ACT B2860"]
    assert labels(choose_hetero(protein.hetero, "none", site=site)[0]) == []
    assert len(choose_hetero(protein.hetero, "all", site=site)[0]) == len(protein.hetero)
    assert sorted(labels(choose_hetero(protein.hetero, "act,hem", site=site)[0])) == ["ACT B2860", "HEM B2750"]
    far = load_protein(DATA / "1G9V_RQ3_crop.pdb.gz")
    assert choose_hetero(far.hetero, "auto", site=_site("1G9V_RQ3"))[0] == []  # hemes > 10 A from the site
    assert [g.name for g in choose_hetero(far.hetero, "auto", site=None)[0]] == ["HEM"] * 3  # blind: all kept
    for bad in ("ZN;HEM", ",", "TOOLONGNAME"):
        with pytest.raises(ConfigError):
            parse_keep_het(bad)


def test_vina_receptor_gets_the_chosen_hetero_groups():
    from discodock.scoring.pdbqt import receptor_pdbqt

    path = DATA / "1MMV_3AR_crop.cif.gz"  # mmCIF works for Vina's receptor too
    _, dropped = choose_hetero(load_protein(path).hetero, "auto", site=_site("1MMV_3AR"))
    names = lambda text: {line[17:20].strip() for line in text.splitlines()}  # noqa: E731
    every = names(receptor_pdbqt(path))
    chosen = names(receptor_pdbqt(path, drop_residues=frozenset(g.key for g in dropped)))
    assert {"HEM", "H4B", "ACT"} <= every and {"HEM", "H4B"} <= chosen and "ACT" not in chosen


def test_receptor_atom_limit(monkeypatch):
    monkeypatch.setattr(parsing.protein, "MAX_RECEPTOR_ATOMS", 500)
    with pytest.raises(ProteinError, match="more than the limit of 500"):
        load_protein(DATA / "1G9V_RQ3_crop.pdb.gz")


def test_salt_fragment_removed_same_atoms_as_the_plain_ligand():
    salt, plain = load_ligand(DATA / "salt_1jd0_ligand.sdf"), load_ligand(DATA / "1JD0_AZM_ligand.sdf")
    assert Chem.MolToSmiles(salt) == Chem.MolToSmiles(plain)
    assert np.allclose(salt.GetConformer().GetPositions(), plain.GetConformer().GetPositions())
    assert "removed [Na+]" in ligand_warnings(salt)[0]


def test_ligand_index_picks_the_record():
    first, second = load_ligand(DATA / "two_records.sdf"), load_ligand(DATA / "two_records.sdf", index=2)
    assert Chem.MolToSmiles(first) == Chem.MolToSmiles(load_ligand(DATA / "1GKC_NFH_ligand.sdf"))
    assert Chem.MolToSmiles(second) == Chem.MolToSmiles(load_ligand(DATA / "1JD0_AZM_ligand.sdf"))
    assert ligand_warnings(second) == [] and "2 molecules" in ligand_warnings(first)[0]
    with pytest.raises(LigandError, match="out of range"):
        load_ligand(DATA / "two_records.sdf", index=3)


def test_undefined_stereo_is_one_deterministic_isomer():
    a, b = load_ligand("CC(N)C(F)CO"), load_ligand("CC(N)C(F)CO")
    assert Chem.MolToSmiles(a) == Chem.MolToSmiles(b) and "@" in Chem.MolToSmiles(a)
    assert not [c for c in Chem.FindMolChiralCenters(a, includeUnassigned=True, useLegacyImplementation=False)
                if c[1] == "?"]
    assert "undefined stereo (2 stereocentre(s))" in ligand_warnings(a)[0]
    assert ligand_warnings(load_ligand("C[C@H](N)[C@@H](F)CO")) == []  # given stereo is kept, no warning


def test_undefined_stereo_picks_an_isomer_that_embeds():
    """An adamantyl amide (a DUD-E decoy): its bridgeheads read as undefined stereocentres, and the first isomer
    in enumeration order is a cage that cannot exist; the one picked must embed."""
    from discodock.data.conformers import generate_conformer

    smiles = "c1cc(ccc1C(=O)N2CCCC2)NC(=O)CCNC(=O)NC34CC5CC(C3)CC(C5)C4"
    mol = load_ligand(smiles)
    assert Chem.MolToSmiles(mol) == Chem.MolToSmiles(load_ligand(smiles))  # still deterministic
    assert "undefined stereo (4 stereocentre(s))" in ligand_warnings(mol)[0]
    assert generate_conformer(mol, seed=0).GetConformer().Is3D()


def test_macrocycle_ring_bonds_are_not_torsions():
    mol = load_ligand("O=C1CCCCCCCCCCCCO1.CCO")  # a 14-membered lactone (with ethanol as solvent)
    assert mol.GetNumAtoms() == 15
    bonds, _ = rotatable_bonds(mol)
    assert len(bonds) == 0  # every single bond is in the ring


@pytest.mark.parametrize("spec, problem", [
    ("*c1ccccc1", "dummy or query atoms"), ("[Na+].[Cl-]", "contains carbon"), ("C" * 151, "more than the limit"),
    ("O.O.[Fe+2]", "contains carbon"),
])
def test_ligand_refusals(spec, problem):
    with pytest.raises(LigandError, match=problem.replace("(", r"\(")):
        load_ligand(spec, max_heavy_atoms=150)
