"""README's "Real-world inputs" table, one case per row: ``discodock dock`` on real (cropped) structures and
real ligand files with the tiny checkpoint. A docked case must write poses and print its warning; a refused
case must print one line on stderr, exit 2 and leave no result folder. Files: tests/data/real_inputs/."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from rdkit import Chem

from discodock.cli import main

from .conftest import REPO

DATA = REPO / "tests" / "data" / "real_inputs"
BIG_LIGAND = "C" * 199 + "O"  # a 200-heavy-atom alkanol
ACETAZOLAMIDE_NA = "CC(=O)Nc1nnc(S(=O)(=O)[NH-])s1.[Na+]"


def site(cid: str) -> str:
    xyz = Chem.MolFromMolFile(str(DATA / f"{cid}_ligand.sdf")).GetConformer().GetPositions().mean(0)
    return ",".join(f"{v:.3f}" for v in xyz)


def P(name):  # noqa: N802 - a receptor file of this folder
    return str(DATA / name)


# (README row label, protein, ligand, site of, extra args, "docked"/"refused", text expected on stderr)
CASES = [
    ("heme and biopterin cofactors next to the site (PDB)", P("1MMV_3AR_crop.pdb.gz"), P("1MMV_3AR_ligand.sdf"),
     "1MMV_3AR", [], "docked", "kept for Vina HEM B2750, H4B B2760; dropped ACT B2860"),
    ("the same as mmCIF", P("1MMV_3AR_crop.cif.gz"), P("1MMV_3AR_ligand.sdf"), "1MMV_3AR", [], "docked",
     "kept for Vina HEM B2750, H4B B2760; dropped ACT B2860"),
    ("zinc and calcium ions", P("1GKC_NFH_crop.pdb.gz"), P("1GKC_NFH_ligand.sdf"), "1GKC_NFH", [], "docked",
     "kept for Vina CA A1444, ZN A1450; dropped CA A1446, ZN A1451"),
    ("NADPH cofactor and phosphate", P("1IA1_TQ3_crop.pdb.gz"), P("1IA1_TQ3_ligand.sdf"), "1IA1_TQ3", [],
     "docked", "kept for Vina NDP B195; dropped PO4 B202"),
    ("ATP analogue, magnesium, acetate", P("1HQ2_PH2_crop.pdb.gz"), P("1HQ2_PH2_ligand.sdf"), "1HQ2_PH2", [],
     "docked", "kept for Vina MG A161, MG A162, APC A171; dropped ACT A164"),
    ("hemes more than 10 A from the site", P("1G9V_RQ3_crop.pdb.gz"), P("1G9V_RQ3_ligand.sdf"), "1G9V_RQ3", [],
     "docked", "dropped HEM A143, HEM B348, HEM C543"),
    ("--keep-het HEM (the user's choice)", P("1G9V_RQ3_crop.pdb.gz"), P("1G9V_RQ3_ligand.sdf"), "1G9V_RQ3",
     ["--keep-het", "HEM"], "docked", "kept for Vina HEM A143, HEM B348, HEM C543"),
    ("--keep-het none", P("1GKC_NFH_crop.pdb.gz"), P("1GKC_NFH_ligand.sdf"), "1GKC_NFH", ["--keep-het", "none"],
     "docked", "dropped CA A1444, CA A1446, ZN A1450, ZN A1451"),
    ("mercury ions near a glycoprotein site", P("1N1M_A3M_crop.pdb.gz"), P("1N1M_A3M_ligand.sdf"), "1N1M_A3M", [],
     "docked", "dropped HG A950, HG A951"),
    ("insertion codes (chymotrypsin numbering)", P("1LPZ_CMB_crop.pdb.gz"), P("1LPZ_CMB_ligand.sdf"), "1LPZ_CMB",
     [], "docked", None),
    ("alternate locations (A 0.4 / B 0.6) and insertion codes", P("altlocs_icodes_1lpz.pdb.gz"),
     P("1LPZ_CMB_ligand.sdf"), "1LPZ_CMB", [], "docked",
     "alternate locations in 27 residue(s); the highest-occupancy one is used"),
    ("NMR-style file, 3 models, explicit hydrogens", P("nmr_models_1kzk.pdb.gz"), P("1KZK_JE2_ligand.sdf"),
     "1KZK_JE2", [], "docked", "3 models in the file; the first is used"),
    ("Amber residue names (HIE/HID/HIP/ASH/GLH/LYN)", P("amber_names_1gkc.pdb.gz"), P("1GKC_NFH_ligand.sdf"),
     "1GKC_NFH", [], "docked", "force-field residue names read as standard residues: ASH->ASP, GLH->GLU, HID->HIS"),
    ("phosphorylated residues (TPO, SEP)", P("1xjd_crop.pdb.gz"), P("1xjd_ligand.sdf"), "1xjd", [], "docked",
     "modified residues read as their parent amino acid: SEP->SER, TPO->THR"),
    ("phosphotyrosine (PTR)", P("4e5w_crop.pdb.gz"), P("4e5w_ligand.sdf"), "4e5w", [], "docked",
     "modified residues read as their parent amino acid: PTR->TYR"),
    ("missing side-chain atoms", P("missing_sidechains_1k3u.pdb.gz"), P("1K3U_IAD_ligand.sdf"), "1K3U_IAD", [],
     "docked", "6 residue(s) lack side-chain atoms"),
    ("AlphaFold-style model (pLDDT in B-factors, no HETATM)", P("alphafold_style_1ia1.pdb.gz"),
     P("1IA1_TQ3_ligand.sdf"), "1IA1_TQ3", [], "docked", None),
    ("SDF record with a sodium counter-ion", P("1JD0_AZM_crop.pdb.gz"), P("salt_1jd0_ligand.sdf"), "1JD0_AZM", [],
     "docked", "ligand has 2 fragments; docked the largest organic one"),
    ("SMILES with a counter-ion", P("1JD0_AZM_crop.pdb.gz"), ACETAZOLAMIDE_NA, "1JD0_AZM", [], "docked",
     "removed [Na+]"),
    ("multi-molecule SDF", P("1GKC_NFH_crop.pdb.gz"), P("two_records.sdf"), "1GKC_NFH", [], "docked",
     "the file holds 2 molecules; the first is docked"),
    ("multi-molecule SDF, --ligand-index 2", P("1JD0_AZM_crop.pdb.gz"), P("two_records.sdf"), "1JD0_AZM",
     ["--ligand-index", "2"], "docked", None),
    ("undefined stereocentre in a SMILES", P("1JD0_AZM_crop.pdb.gz"), "CC(N)c1ccc(S(N)(=O)=O)cc1", "1JD0_AZM", [],
     "docked", "undefined stereo (1 stereocentre(s)); docked one isomer"),
    ("macrocycle (14-membered lactone)", P("1JD0_AZM_crop.pdb.gz"), "O=C1CCCCCCCCCCCCO1", "1JD0_AZM", [],
     "docked", None),
    ("one heavy atom (methane)", P("1JD0_AZM_crop.pdb.gz"), "C", "1JD0_AZM", [], "docked", None),
    ("multi-molecule SDF, --ligand-index 3", P("1JD0_AZM_crop.pdb.gz"), P("two_records.sdf"), "1JD0_AZM",
     ["--ligand-index", "3"], "refused", "--ligand-index 3 is out of range: the file holds 2 molecule record(s)"),
    ("only ions, no organic fragment", P("1JD0_AZM_crop.pdb.gz"), "[Na+].[Cl-]", "1JD0_AZM", [], "refused",
     "none of the ligand's 2 fragments contains carbon"),
    ("dummy atom (R-group) in a SMILES", P("1JD0_AZM_crop.pdb.gz"), "*c1ccccc1", "1JD0_AZM", [], "refused",
     "dummy or query atoms (*)"),
    ("200 heavy atoms", P("1JD0_AZM_crop.pdb.gz"), BIG_LIGAND, "1JD0_AZM", [], "refused",
     "ligand has 200 heavy atoms, more than the limit of 150 (--max-heavy-atoms)"),
    ("receptor with hetero groups only", "HETONLY", "CCO", "1JD0_AZM", [], "refused",
     "no amino-acid residues with a C-alpha atom"),
    ("residue names that are not text", "BADBYTES", "CCO", "1JD0_AZM", [], "refused",
     "names contain bytes that are not text"),
    ("--keep-het with a bad value", P("1JD0_AZM_crop.pdb.gz"), "CCO", "1JD0_AZM", ["--keep-het", "ZN;HEM"],
     "refused", "--keep-het: expected auto, none, all or residue names"),
]


def _special_receptor(kind: str, tmp_path: Path) -> str:
    path = tmp_path / f"{kind.lower()}.pdb"
    if kind == "HETONLY":
        path.write_text("HETATM    1 ZN    ZN A 901      10.000  10.000  10.000  1.00 20.00          ZN\n"
                        "HETATM    2  O   HOH A 902      12.000  10.000  10.000  1.00 20.00           O\nEND\n")
    else:  # an ATOM record whose residue name is not UTF-8
        path.write_bytes(b"ATOM      1  CA  \xff\xfeA A   1      10.000  10.000  10.000  1.00 20.00           C\nEND\n")
    return str(path)


@pytest.mark.parametrize("label, protein, ligand, site_of, extra, outcome, message", CASES,
                         ids=[re.sub(r"\W+", "_", c[0])[:40] for c in CASES])
def test_real_input(tmp_path, tiny_checkpoint, capsys, label, protein, ligand, site_of, extra, outcome, message):
    if protein in ("HETONLY", "BADBYTES"):
        protein = _special_receptor(protein, tmp_path)
    out = tmp_path / "out"
    code = main(["dock", "--protein", protein, "--ligand", ligand, "--pocket-center", site(site_of), "--out",
                 str(out), "--name", "case", "--checkpoint", str(tiny_checkpoint), "--samples", "1", "--steps", "2",
                 "--refine", "vina", "--rank", "vina", "--quiet", *extra])
    err = capsys.readouterr().err
    if outcome == "refused":
        assert code == 2
        lines = err.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], err
        assert not (out / "case").exists()
        return
    assert code == 0, err
    if message:
        assert message in err, err
    else:  # nothing to report about the input (the hetero-group line is always there when there are any)
        assert not [line for line in err.splitlines() if "warning:" in line and "hetero groups" not in line], err
    info = json.loads((out / "case" / "results.json").read_text())
    mol = next(Chem.SDMolSupplier(str(out / "case" / "rank1.sdf")))
    assert mol is not None and mol.GetNumAtoms() == info["ligand_heavy_atoms"]
    assert np.isfinite(mol.GetConformer().GetPositions()).all()
    assert all(p["vina_score"] is not None for p in info["poses"])  # Vina refined against the kept groups
    het = info["receptor_hetero"]
    assert het["model_nodes"] == "residues only" and set(het) >= {"kept_for_vina", "dropped"}
    if message and "kept for Vina" in message:
        assert het["kept_for_vina"] and all(g in message for g in het["kept_for_vina"])


def test_readme_table_lists_exactly_these_cases():
    text = (REPO / "README.md").read_text()
    section = text.split("### Real-world inputs", 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]
    rows = [line.split("|")[1].strip() for line in section.splitlines()
            if line.startswith("|") and not line.startswith("|---") and "input" not in line.split("|")[1]]
    assert rows == [c[0] for c in CASES]


def test_small_batch_skips_bad_rows_and_resumes(tmp_path, tiny_checkpoint, capsys):
    """A CSV of real inputs with bad rows of different kinds: the good rows dock, each bad row is reported
    with its reason, and a re-run (as after a kill) keeps finished rows instead of docking them again."""
    import csv

    het_only = _special_receptor("HETONLY", tmp_path)
    centre = site("1JD0_AZM")
    rows = [
        ("salt", P("1JD0_AZM_crop.pdb.gz"), P("salt_1jd0_ligand.sdf"), centre),
        ("bad_centre", P("1JD0_AZM_crop.pdb.gz"), "CCO", "1,2"),
        ("smiles_salt", P("1JD0_AZM_crop.pdb.gz"), ACETAZOLAMIDE_NA, centre),
        ("het_only", het_only, "CCO", centre),
        ("dummy", P("1JD0_AZM_crop.pdb.gz"), "*CC", centre),
        ("records", P("1GKC_NFH_crop.pdb.gz"), P("two_records.sdf"), site("1GKC_NFH")),
    ]
    path = tmp_path / "batch.csv"
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["complex_name", "protein_path", "ligand", "pocket_center"])
        writer.writerows(rows)
    args = ["dock", "--csv", str(path), "--out", str(tmp_path / "b"), "--checkpoint", str(tiny_checkpoint),
            "--samples", "1", "--steps", "2", "--refine", "none", "--rank", "confidence", "--quiet"]
    assert main(args) == 1
    summary = {r["complex_name"]: r for r in csv.DictReader(open(tmp_path / "b" / "summary.csv"))}
    assert [summary[n]["status"] for n in ("salt", "smiles_salt", "records")] == ["ok"] * 3
    assert "pocket_center" in summary["bad_centre"]["status"] and "row 2" in summary["bad_centre"]["status"]
    assert "no amino-acid residues" in summary["het_only"]["status"]
    assert "dummy or query atoms" in summary["dummy"]["status"]
    err = capsys.readouterr().err
    assert "removed [Na+]" in err and "the file holds 2 molecules" in err

    first = {n: (tmp_path / "b" / n / "results.json").stat().st_mtime_ns for n in ("salt", "smiles_salt", "records")}
    import shutil

    shutil.rmtree(tmp_path / "b" / "records")  # as if the batch had been killed before this row
    assert main(args) == 1
    summary = {r["complex_name"]: r for r in csv.DictReader(open(tmp_path / "b" / "summary.csv"))}
    assert len(summary) == 6 and summary["records"]["status"] == "ok"
    for n in ("salt", "smiles_salt"):  # kept, not docked again
        assert (tmp_path / "b" / n / "results.json").stat().st_mtime_ns == first[n] and summary[n]["status"] == "ok"
    assert float(summary["records"]["seconds"]) > 0
    assert main(args + ["--no-resume", "--seed", "1"]) == 1  # other settings: docked again
    assert (tmp_path / "b" / "salt" / "results.json").stat().st_mtime_ns != first["salt"]


def test_blind_docking_of_a_receptor_above_the_residue_limit_is_refused(tmp_path, tiny_checkpoint, capsys,
                                                                        monkeypatch):
    from discodock.sampling import pipeline

    monkeypatch.setattr(pipeline, "MAX_BLIND_RESIDUES", 50)  # the crop has 67 residues
    code = main(["dock", "--protein", P("1JD0_AZM_crop.pdb.gz"), "--ligand", "CCO", "--out", str(tmp_path / "o"),
                 "--checkpoint", str(tiny_checkpoint), "--quiet"])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(lines) == 1
    assert "67 residues: blind docking is limited to 50 (memory); give --pocket-center" in lines[0]
