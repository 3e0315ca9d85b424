"""AutoDock Vina (discodock.scoring): receptor PDBQT, a real pocket docking, rescoring, local optimisation."""

import gzip
from pathlib import Path

import numpy as np
import pytest
from rdkit import Chem

from discodock.data.conformers import generate_conformer
from discodock.eval.rmsd import SymmetryRMSD, match_atoms
from discodock.scoring.pdbqt import read_pdb_atoms, receptor_pdbqt
from discodock.scoring.vina import VinaReceptor

EXAMPLES = Path(__file__).resolve().parents[3] / "data" / "examples"
VALID_TYPES = {"C", "A", "N", "NA", "OA", "SA", "HD", "Zn", "Mg", "Ca", "Fe", "Mn", "Cl", "Na", "K"}


def files(cid):
    protein, ligand = EXAMPLES / cid / f"{cid}_protein.pdb.gz", EXAMPLES / cid / f"{cid}_ligand.sdf"
    if not protein.exists():
        pytest.skip(f"{protein} not shipped")
    return protein, Chem.RemoveHs(Chem.MolFromMolFile(str(ligand)))


def translated(mol, shift):
    """A copy of ``mol`` with every atom moved by ``shift`` (Angstrom)."""
    out = Chem.Mol(mol)
    conf = out.GetConformer()
    for i in range(out.GetNumAtoms()):
        conf.SetAtomPosition(i, (np.array(conf.GetAtomPosition(i)) + shift).tolist())
    return out


def parse_pdbqt(text):
    rows = []
    for line in text.splitlines():
        assert line.startswith("ATOM  ")
        rows.append((line[17:20].strip(), np.array([float(line[30:38]), float(line[38:46]), float(line[46:54])]),
                     line[77:].strip()))
    return rows


@pytest.mark.parametrize("strip_h", [False, True])
def test_receptor_pdbqt_types_and_polar_hydrogens(tmp_path, strip_h):
    protein, _ = files("6ce6")
    if strip_h:  # like the PDBQT-derived shared sets: heavy atoms only
        lines = [l for l in gzip.open(protein, "rt") if not (l.startswith(("ATOM", "HETATM")) and l[76:78].strip() == "H")]
        protein = tmp_path / "noh.pdb"
        protein.write_text("".join(lines))
    rows = parse_pdbqt(receptor_pdbqt(protein))
    heavy_in = [a for a in read_pdb_atoms(protein) if a.element != "H" and a.resname != "HOH"]
    assert all(t in VALID_TYPES for _, _, t in rows)
    assert not any(res == "HOH" for res, _, _ in rows)
    assert sum(t != "HD" for _, _, t in rows) == len(heavy_in)
    heavy = np.array([x for _, x, t in rows if t != "HD"])
    heavy_types = [t for _, _, t in rows if t != "HD"]
    hd = np.array([x for _, x, t in rows if t == "HD"])
    assert len(hd) > 50  # backbone NH alone gives ~one per residue
    dist = np.linalg.norm(hd[:, None] - heavy[None], axis=-1)
    nearest = dist.argmin(1)
    assert (dist.min(1) < 1.3).all()
    assert {heavy_types[i] for i in nearest} <= {"N", "NA", "OA", "SA"}


def test_pocket_docking_returns_valid_poses():
    protein, crystal = files("5n17")
    ligand = generate_conformer(Chem.MolFromSmiles(Chem.MolToSmiles(crystal)), seed=0, mmff=True)
    receptor = VinaReceptor(protein=protein, cpu=1)
    centre = crystal.GetConformer().GetPositions().mean(0)
    poses = receptor.dock(ligand, center=centre, size=20.0, exhaustiveness=1, num_poses=3, seed=0)
    assert 1 <= len(poses) <= 3
    scores = [p.score for p in poses]
    assert np.isfinite(scores).all() and scores == sorted(scores) and scores[0] < -4.0
    bonds = [(b.GetBeginAtomIdx(), b.GetEndAtomIdx()) for b in ligand.GetBonds()]
    start = ligand.GetConformer().GetPositions()
    for p in poses:
        # Same molecule in the input's atom order: the identity is a graph match and bond lengths are kept.
        assert Chem.MolToSmiles(p.mol) == Chem.MolToSmiles(ligand)
        assert (match_atoms(p.mol, ligand) == np.arange(ligand.GetNumAtoms())).all()
        xyz = p.mol.GetConformer().GetPositions()
        assert np.allclose([np.linalg.norm(xyz[i] - xyz[j]) for i, j in bonds],
                           [np.linalg.norm(start[i] - start[j]) for i, j in bonds], atol=0.02)
        assert (np.abs(xyz - centre) <= 10.0 + 1e-3).all()  # inside the 20 A box
    rmsd = SymmetryRMSD(crystal=crystal)([p.mol for p in poses])
    assert np.isfinite(rmsd).all()


def test_score_and_local_optimize_of_the_crystal_pose():
    protein, crystal = files("5n17")
    receptor = VinaReceptor(protein=protein, cpu=1)
    far = translated(crystal, [40.0, 0.0, 0.0])
    crystal_score, far_score = receptor.score_poses([crystal, far])
    assert crystal_score < -5.0  # a real binder in its site
    assert abs(far_score) < 0.5  # 40 A away: no contacts at all
    refined = receptor.local_optimize(crystal)
    assert refined.score <= crystal_score + 1e-3
    assert SymmetryRMSD(crystal=crystal)(refined.mol)[0] < 1.0


def test_scattered_poses_are_scored_like_single_ones():
    # Poses far apart get their own maps; each score must equal scoring that pose alone.
    protein, crystal = files("5n17")
    receptor = VinaReceptor(protein=protein, cpu=1)
    shifted = translated(crystal, [0.0, 25.0, 0.0])
    together = receptor.score_poses([crystal, shifted])
    alone = [receptor.score(crystal), receptor.score(shifted)]
    assert together == pytest.approx(alone, abs=0.02)
    assert together[0] < together[1]


def test_refinement_that_walks_off_its_map_is_redone_not_fatal(monkeypatch):
    """Vina can stop an optimisation with "ligand is outside the grid box" (seen once in 400 benchmark poses);
    that pose is redone alone on a wider map, and kept unrefined if that fails too, instead of failing the
    whole complex. The failure is injected: the first optimisation of each Vina object raises it."""
    from vina import Vina

    protein, crystal = files("5n17")
    receptor = VinaReceptor(protein=protein, cpu=1)
    moved = translated(crystal, [1.0, 0.0, 0.0])
    real_optimize = Vina.optimize
    calls = []

    def flaky(self, *args, **kwargs):
        calls.append(1)
        if len(calls) in fail_on:
            raise RuntimeError("Vina runtime error: The ligand is outside the grid box. Increase the size ...")
        return real_optimize(self, *args, **kwargs)

    monkeypatch.setattr(Vina, "optimize", flaky)
    unrefined = receptor.score(moved)
    fail_on = {1}  # the first pose fails on the shared map, then succeeds alone on a wider one
    first, second = receptor.local_optimize_poses([moved, moved])
    assert len(calls) == 3
    assert first.score == pytest.approx(second.score, abs=0.05) and first.score < unrefined
    calls.clear()
    fail_on = {1, 2}  # fails on the wider map too: kept as it was, with its own score
    kept, refined = receptor.local_optimize_poses([moved, moved])
    assert kept.score == pytest.approx(unrefined, abs=0.05) and refined.score < unrefined
    assert np.allclose(kept.mol.GetConformer().GetPositions(), moved.GetConformer().GetPositions())
    for result in (first, second, kept, refined):
        assert result.mol.GetNumAtoms() == crystal.GetNumAtoms()


BORONIC_ACID = "OB(O)c1ccc(CC(=O)O)cc1"  # boron: an element AutoDock Vina has no atom type for


def test_elements_vina_cannot_type_are_named_before_vina_fails_on_them():
    from meeko import MoleculePreparation, PDBQTWriterLegacy
    from vina import Vina

    from discodock.errors import LigandError
    from discodock.scoring.pdbqt import ligand_pdbqt, vina_untyped_elements

    _, crystal = files("5n17")
    assert vina_untyped_elements(crystal) == []
    boron = generate_conformer(Chem.MolFromSmiles(BORONIC_ACID), seed=0, mmff=False)
    assert vina_untyped_elements(boron) == ["B"]
    with pytest.raises(LigandError, match="no atom type for element.s. B"):
        ligand_pdbqt(boron)
    # The check mirrors Vina itself: meeko writes the PDBQT, and Vina refuses to read it.
    text, ok, _ = PDBQTWriterLegacy.write_string(MoleculePreparation().prepare(Chem.AddHs(boron, addCoords=True))[0])
    assert ok
    with pytest.raises(TypeError, match="Atom type B"):
        Vina(verbosity=0).set_ligand_from_string(text)
