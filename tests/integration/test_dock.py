"""``discodock dock`` end to end on a real complex with a tiny checkpoint: valid SDFs, batch CSV, bad inputs."""

import csv
import json

import pytest
from rdkit import Chem

from discodock.cli import main

from .conftest import EXAMPLES

PROTEIN = EXAMPLES / "6ce6" / "6ce6_protein.pdb.gz"
LIGAND = EXAMPLES / "6ce6" / "6ce6_ligand.sdf"
CENTER = "-2.2,3.4,7.3"  # the 6ce6 crystal ligand centroid (Angstrom)
BORONIC_ACID = "OB(O)c1ccc(CC(=O)O)cc1"  # boron: an element AutoDock Vina has no atom type for


def _dock(tmp_path, ckpt, *extra, out="out"):
    return main(["dock", "--protein", str(PROTEIN), "--ligand", str(LIGAND), "--out", str(tmp_path / out),
                 "--checkpoint", str(ckpt), "--samples", "3", "--steps", "3", "--pocket-center", CENTER,
                 "--quiet", *extra])


def test_dock_writes_valid_ranked_sdfs(tmp_path, tiny_checkpoint):
    assert _dock(tmp_path, tiny_checkpoint, "--name", "x") == 0
    folder = tmp_path / "out" / "x"
    ref = Chem.MolFromMolFile(str(LIGAND))
    confidences = []
    for rank in (1, 2, 3):
        mol = next(Chem.SDMolSupplier(str(folder / f"rank{rank}.sdf")))
        assert mol is not None
        assert Chem.MolToSmiles(mol) == Chem.MolToSmiles(ref)  # same molecule: bond orders, charges, stereo
        assert mol.GetNumAtoms() == ref.GetNumAtoms() and all(a.GetAtomicNum() > 1 for a in mol.GetAtoms())
        assert mol.GetIntProp("rank") == rank
        confidences.append(mol.GetDoubleProp("confidence"))
    assert confidences == sorted(confidences, reverse=True)
    info = json.loads((folder / "results.json").read_text())
    assert info["seed"] == 0 and len(info["poses"]) == 3 and info["checkpoint_sha256"]
    assert (folder / "complex_rank1.pdb").read_text().count("LIG") >= ref.GetNumAtoms()


def test_dock_is_deterministic_for_a_seed(tmp_path, tiny_checkpoint):
    assert _dock(tmp_path, tiny_checkpoint, "--name", "a", "--seed", "7") == 0
    assert _dock(tmp_path, tiny_checkpoint, "--name", "b", "--seed", "7") == 0
    a = (tmp_path / "out" / "a" / "rank1.sdf").read_text()
    b = (tmp_path / "out" / "b" / "rank1.sdf").read_text()
    assert a == b


def test_dock_from_smiles_and_csv_batch_with_bad_row(tmp_path, tiny_checkpoint, capsys):
    rows = [
        {"complex_name": "good", "protein_path": str(PROTEIN), "ligand": "OC(=O)CCc1nc2ccccc2s1", "pocket_center": CENTER},
        {"complex_name": "bad_smiles", "protein_path": str(PROTEIN), "ligand": "C1CC(", "pocket_center": CENTER},
        {"complex_name": "no_protein", "protein_path": str(tmp_path / "missing.pdb"), "ligand": "CCO", "pocket_center": CENTER},
    ]
    path = tmp_path / "batch.csv"
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    code = main(["dock", "--csv", str(path), "--out", str(tmp_path / "batch"), "--checkpoint", str(tiny_checkpoint),
                 "--samples", "2", "--steps", "2", "--quiet"])
    assert code == 1  # some rows failed
    summary = {r["complex_name"]: r for r in csv.DictReader(open(tmp_path / "batch" / "summary.csv"))}
    assert summary["good"]["status"] == "ok"
    assert summary["bad_smiles"]["status"].startswith("error:") and "SMILES" in summary["bad_smiles"]["status"]
    assert summary["no_protein"]["status"].startswith("error:") and "missing.pdb" in summary["no_protein"]["status"]
    assert (tmp_path / "batch" / "good" / "rank1.sdf").is_file()
    assert not (tmp_path / "batch" / "bad_smiles").exists() and not (tmp_path / "batch" / "no_protein").exists()


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--protein", "MISSING.pdb", "--ligand", "CCO"], "MISSING.pdb"),
        (["--protein", str(PROTEIN), "--ligand", "C1CC("], "SMILES"),
        (["--protein", str(PROTEIN), "--ligand", "[Na+]"], "metal"),
        (["--protein", str(PROTEIN), "--ligand", str(LIGAND), "--samples", "0"], "--samples"),
        (["--protein", str(PROTEIN), "--ligand", str(LIGAND), "--checkpoint", "CORRUPT"], "checkpoint"),
        (["--protein", str(PROTEIN), "--ligand", str(LIGAND)], "--pocket-center"),
    ],
)
def test_bad_inputs_one_line_exit_2(tmp_path, tiny_checkpoint, capsys, args, needle):
    args = list(args)
    if "CORRUPT" in args:
        bad = tmp_path / "bad.pt"
        bad.write_bytes(b"not a checkpoint")
        args[args.index("CORRUPT")] = str(bad)
    elif "--checkpoint" not in args:
        args += ["--checkpoint", str(tiny_checkpoint)]
    if "--pocket-center" not in args and needle != "--pocket-center":
        args += ["--pocket-center", CENTER]
    code = main(["dock", *args, "--out", str(tmp_path / "o"), "--samples" if "--samples" not in args else "--quiet",
                 *(["2"] if "--samples" not in args else []), "--steps", "2"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and needle.lower() in err[0].lower(), err
    assert not any((tmp_path / "o").glob("*/rank1.sdf"))


def test_unwritable_output_folder(tmp_path, tiny_checkpoint, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code = main(["dock", "--protein", str(PROTEIN), "--ligand", str(LIGAND), "--out", str(blocker / "sub"),
                 "--checkpoint", str(tiny_checkpoint), "--pocket-center", CENTER])
    assert code == 2 and "not writable" in capsys.readouterr().err


def test_blind_checkpoint_docks_without_a_site(tmp_path, example_complexes, tiny_checkpoint, monkeypatch):
    """A blind-mode model (whole receptor, translation prior around the protein centre) trains through every
    stage and docks with no --pocket-center; without --checkpoint, a batch docks rows with a site on the
    default (pocket) weights and rows without one on the default blind weights."""
    import torch

    from discodock.models.bundle import export_weights, load_models
    from discodock.training.prior import train_prior
    from discodock.training.score import train_score

    from .conftest import tiny_config

    torch.manual_seed(0)
    cfg = tiny_config(**{"train.steps": 3, "data.mode": "blind", "diffusion.tr_max": 19.0})
    train_score(cfg, example_complexes[:2], [], tmp_path / "run", show_progress=False)
    models, cfg, _ = load_models(tmp_path / "run" / "weights.pt")
    cfg.train.prior_steps = 3
    train_prior(cfg, models, example_complexes[:2], [], tmp_path / "run", device=torch.device("cpu"),
                show_progress=False)
    ckpt = export_weights(models, cfg, tmp_path / "blind.pt", step=3)
    code = main(["dock", "--protein", str(PROTEIN), "--ligand", str(LIGAND), "--out", str(tmp_path / "out"),
                 "--checkpoint", str(ckpt), "--samples", "2", "--steps", "3", "--name", "b", "--quiet"])
    assert code == 0
    folder = tmp_path / "out" / "b"
    mol = next(Chem.SDMolSupplier(str(folder / "rank1.sdf")))
    assert mol is not None and mol.GetNumAtoms() == Chem.MolFromMolFile(str(LIGAND)).GetNumAtoms()
    assert json.loads((folder / "results.json").read_text())["pocket_center"] is None

    from discodock.sampling import pipeline

    monkeypatch.setattr(pipeline, "DEFAULT_WEIGHTS", tiny_checkpoint)
    monkeypatch.setattr(pipeline, "DEFAULT_BLIND_WEIGHTS", ckpt)
    # without a shipped site predictor, a row without a site falls back to the blind weights
    monkeypatch.setattr("discodock.models.site_predictor.WEIGHTS", tmp_path / "no_site_predictor.pt")
    rows = [{"complex_name": "site", "protein_path": str(PROTEIN), "ligand": str(LIGAND), "pocket_center": CENTER},
            {"complex_name": "nosite", "protein_path": str(PROTEIN), "ligand": str(LIGAND), "pocket_center": ""}]
    table = tmp_path / "batch.csv"
    with open(table, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    assert main(["dock", "--csv", str(table), "--out", str(tmp_path / "batch"), "--samples", "2", "--steps", "2",
                 "--quiet"]) == 0
    used = {n: json.loads((tmp_path / "batch" / n / "results.json").read_text())["checkpoint"]
            for n in ("site", "nosite")}
    assert used == {"site": str(tiny_checkpoint), "nosite": str(ckpt)}


def test_a_ligand_vina_cannot_type_is_docked_without_vina(tmp_path, tiny_checkpoint, capsys):
    """A boronic acid asked for Vina refinement and ranking: docked anyway, ranked by the confidence model,
    with a warning that says why Vina was skipped (Vina itself cannot read a boron atom)."""
    smiles = BORONIC_ACID
    code = main(["dock", "--protein", str(PROTEIN), "--ligand", smiles, "--out", str(tmp_path / "out"),
                 "--checkpoint", str(tiny_checkpoint), "--samples", "3", "--steps", "3", "--pocket-center", CENTER,
                 "--name", "boron", "--refine", "vina", "--rank", "vina", "--quiet"])
    assert code == 0
    assert "no atom type for B" in capsys.readouterr().err
    folder = tmp_path / "out" / "boron"
    confidences = []
    for rank in (1, 2, 3):
        mol = next(Chem.SDMolSupplier(str(folder / f"rank{rank}.sdf")))
        assert mol is not None and Chem.MolToSmiles(mol) == Chem.CanonSmiles(smiles)
        assert not mol.HasProp("vina_score")
        confidences.append(mol.GetDoubleProp("confidence"))
    assert confidences == sorted(confidences, reverse=True)
    info = json.loads((folder / "results.json").read_text())
    assert any("no atom type for B" in w for w in info["warnings"])
    # In a batch the row succeeds and the same warning names the row.
    path = tmp_path / "batch.csv"
    path.write_text(f'complex_name,protein_path,ligand,pocket_center\nboron_row,{PROTEIN},{smiles},"{CENTER}"\n')
    code = main(["dock", "--csv", str(path), "--out", str(tmp_path / "batch"), "--checkpoint", str(tiny_checkpoint),
                 "--samples", "2", "--steps", "2", "--refine", "vina", "--quiet"])
    assert code == 0
    assert "boron_row: warning: AutoDock Vina has no atom type for B" in capsys.readouterr().err


def test_without_a_confidence_model_a_ligand_vina_cannot_type_keeps_sample_order(tmp_path, capsys):
    """The shipped pocket weights rank by Vina and have no confidence model: a boron ligand's poses are
    written unranked, in sample order, and results.json says so."""
    code = main(["dock", "--protein", str(PROTEIN), "--ligand", BORONIC_ACID, "--out",
                 str(tmp_path / "out"), "--samples", "3", "--steps", "3", "--pocket-center", CENTER, "--name", "b",
                 "--quiet"])
    assert code == 0
    assert "left in sample order" in capsys.readouterr().err
    info = json.loads((tmp_path / "out" / "b" / "results.json").read_text())
    assert info["ranked_by"] == "none" and info["refine"] == "none"
    assert [p["sample_index"] for p in info["poses"]] == [0, 1, 2]
    assert all(p["vina_score"] is None and p["confidence"] is None for p in info["poses"])
    # Asked to rank by a confidence model the weights lack: one warning, for what was actually done.
    code = main(["dock", "--protein", str(PROTEIN), "--ligand", BORONIC_ACID, "--out",
                 str(tmp_path / "out"), "--samples", "3", "--steps", "3", "--pocket-center", CENTER, "--name", "c",
                 "--rank", "confidence", "--quiet"])
    assert code == 0
    warnings = [line for line in capsys.readouterr().err.splitlines()
                if "warning" in line and "warning: receptor:" not in line and "warning: ligand:" not in line]
    assert len(warnings) == 1 and "left in sample order" in warnings[0], warnings
    assert json.loads((tmp_path / "out" / "c" / "results.json").read_text())["ranked_by"] == "none"
    # The default (a search on Vina's energy from random starts, no samples) cannot run: diffusion samples instead.
    code = main(["dock", "--protein", str(PROTEIN), "--ligand", BORONIC_ACID, "--out", str(tmp_path / "out"),
                 "--steps", "3", "--pocket-center", CENTER, "--name", "d", "--quiet"])
    assert code == 0 and "no search; 10 diffusion samples instead" in capsys.readouterr().err
    info = json.loads((tmp_path / "out" / "d" / "results.json").read_text())
    assert info["samples"] == 10 and [p["sample_index"] for p in info["poses"]] == list(range(10))
