"""Vina's energy in torch (discodock.scoring.vina_energy) against Vina's own numbers on real poses: crystal,
Vina-optimised and randomly perturbed (rigid moves and torsion twists) poses of three shipped complexes."""

import copy
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from rdkit import Chem
from rdkit.Chem import rdMolTransforms
from scipy.spatial.transform import Rotation

from discodock.errors import LigandError
from discodock.scoring.pdbqt import ligand_pdbqt, pdbqt_to_poses
from discodock.scoring.vina import VinaReceptor
from discodock.scoring.vina_energy import VinaGridEnergy

EXAMPLES = Path(__file__).resolve().parents[3] / "data" / "examples"
MACROCYCLE = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "pdbbind_subset213" / "1qbu"
COMPLEXES = ("6ce6", "5n17", "5y12")
BOX = 22.0  # Angstrom
N_PERTURBED = 6
TORSION = Chem.MolFromSmarts("[!D1&!$(*#*)]-&!@[!D1&!$(*#*)]")


def load(cid):
    protein, ligand = EXAMPLES / cid / f"{cid}_protein.pdb.gz", EXAMPLES / cid / f"{cid}_ligand.sdf"
    if not protein.exists():
        pytest.skip(f"{protein} not shipped")
    return VinaReceptor(protein=protein, cpu=1), Chem.RemoveHs(Chem.MolFromMolFile(str(ligand)))


def with_positions(mol, xyz):
    out = Chem.Mol(mol)
    conf = out.GetConformer()
    for i, p in enumerate(xyz):
        conf.SetAtomPosition(i, p.tolist())
    return out


def perturbed(mol, rng, center):
    """``mol`` with each rotatable torsion twisted, then rotated and shifted a little, inside the box."""
    while True:
        out = Chem.Mol(mol)
        conf = out.GetConformer()
        for j, k in out.GetSubstructMatches(TORSION):
            i = next(a.GetIdx() for a in out.GetAtomWithIdx(j).GetNeighbors() if a.GetIdx() != k)
            l = next(a.GetIdx() for a in out.GetAtomWithIdx(k).GetNeighbors() if a.GetIdx() != j)
            angle = rdMolTransforms.GetDihedralRad(conf, i, j, k, l)
            rdMolTransforms.SetDihedralRad(conf, i, j, k, l, angle + rng.normal(0, 0.3))
        xyz = conf.GetPositions()
        mid = xyz.mean(0)
        xyz = Rotation.from_rotvec(rng.normal(0, 0.1, 3)).apply(xyz - mid) + mid + rng.normal(0, 0.4, 3)
        if (np.abs(xyz - center) < BOX / 2 - 1.0).all():
            return with_positions(out, xyz)


def vina_for(receptor, mol, center, no_refine):
    from vina import Vina

    v = Vina(sf_name="vina", cpu=1, seed=1, verbosity=0, no_refine=no_refine)
    v.set_receptor(str(receptor.pdbqt_path))
    v.set_ligand_from_string(ligand_pdbqt(mol))
    v.compute_vina_maps(center=center.tolist(), box_size=[BOX] * 3, force_even_voxels=True)
    return v


@pytest.fixture(scope="module")
def cases():
    """Per complex: the energies (cubic and linear), the poses, Vina's score() rows for each pose with exact
    receptor sums (default) and with its maps (no_refine), and optimize()'s score of the optimised pose."""
    rng = np.random.default_rng(0)
    out = []
    for cid in COMPLEXES:
        receptor, crystal = load(cid)
        center = crystal.GetConformer().GetPositions().mean(0)
        energies = {mode: VinaGridEnergy.build(receptor=receptor, ligand=crystal, center=center, size=BOX,
                                               interpolation=mode) for mode in ("cubic", "linear")}
        exact, mapped = vina_for(receptor, crystal, center, False), vina_for(receptor, crystal, center, True)
        optimised_score = float(exact.optimize()[0])
        optimised = pdbqt_to_poses(_pose_text(exact), crystal)[0]
        poses = [crystal, optimised] + [perturbed(crystal, rng, center) for _ in range(N_PERTURBED)]
        rows = {"exact": [], "mapped": []}
        for pose in poses:
            for key, v in (("exact", exact), ("mapped", mapped)):
                v.set_ligand_from_string(ligand_pdbqt(pose))
                rows[key].append(v.score())
        pos = torch.tensor(np.stack([p.GetConformer().GetPositions() for p in poses]), dtype=torch.float32)
        out.append(dict(cid=cid, energies=energies, pos=pos, exact=np.array(rows["exact"]),
                        mapped=np.array(rows["mapped"]), optimised_score=optimised_score, center=center))
    return out


def _pose_text(v):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pose.pdbqt"
        v.write_pose(str(path), overwrite=True)
        return path.read_text()


def components(energy, pos):
    with torch.no_grad():
        return energy.inter(pos).numpy(), energy.intra(pos).numpy(), energy.affinity(pos).numpy()


def test_linear_maps_reproduce_vinas_map_based_score(cases):
    """Trilinear interpolation of Vina's maps is what Vina's search evaluates: equal up to Vina's rounding
    of score() to 3 decimals, the 4 digits of the written maps and Vina's tabulated pair terms (measured max:
    inter 0.012 kcal/mol at +60 kcal/mol, intra 0.007)."""
    for case in cases:
        inter, intra, affinity = components(case["energies"]["linear"], case["pos"])
        ref = case["mapped"]
        np.testing.assert_allclose(inter, ref[:, 1], atol=0.003, rtol=5e-4, err_msg=case["cid"])
        np.testing.assert_allclose(intra, ref[:, 5], atol=0.015, err_msg=case["cid"])
        np.testing.assert_allclose(affinity, ref[:, 0], atol=0.003, rtol=5e-4, err_msg=case["cid"])


def test_cubic_energy_matches_vinas_reported_scores(cases):
    """The default (cubic B-spline on the 0.375 A maps) against Vina's score(), which sums receptor atoms
    exactly: correlation over all 24 poses and the largest error (measured: inter 0.11 kcal/mol, intra 0.008,
    affinity 0.08; on the poses with Vina inter < 0, inter 0.07 and affinity 0.06)."""
    ours, ref = [], []
    for case in cases:
        inter, intra, affinity = components(case["energies"]["cubic"], case["pos"])
        ours.append(np.stack([inter, intra, affinity], 1))
        ref.append(case["exact"][:, [1, 5, 0]])
    ours, ref = np.concatenate(ours), np.concatenate(ref)
    for k, (name, bound) in enumerate((("inter", 0.15), ("intra", 0.015), ("affinity", 0.12))):
        r = np.corrcoef(ours[:, k], ref[:, k])[0, 1]
        error = np.abs(ours[:, k] - ref[:, k]).max()
        assert r > 0.99 and error < bound, (name, r, error)


def test_affinity_of_optimised_pose_is_vinas_optimize_score(cases):
    """optimize()[0] is Vina's exact score of the optimised pose (measured error of ours: 0.044 kcal/mol)."""
    for case in cases:
        _, _, affinity = components(case["energies"]["cubic"], case["pos"][1:2])
        assert abs(affinity[0] - case["optimised_score"]) < 0.1, (case["cid"], affinity[0], case["optimised_score"])
        assert case["optimised_score"] < case["exact"][0, 0]  # the optimisation did move the crystal pose


def test_rotatable_bonds_are_vinas_branches(cases):
    case = cases[1]
    _, crystal = load(case["cid"])
    text = ligand_pdbqt(crystal)
    bonds = case["energies"]["cubic"].rotatable_bonds
    assert len(bonds) == sum(line.startswith("BRANCH") for line in text.splitlines()) > 0
    for i, j in bonds:
        bond = crystal.GetBondBetweenAtoms(i, j)
        assert bond is not None and not bond.IsInRing() and bond.GetBondType() == Chem.BondType.SINGLE


@pytest.mark.parametrize("mode", ["cubic", "linear"])
def test_gradient_matches_finite_differences(cases, mode):
    case = cases[1]
    energy = copy.deepcopy(case["energies"][mode]).double()  # .double() converts in place
    pos = case["pos"][2:4].double().requires_grad_(True)
    assert torch.autograd.gradcheck(energy, (pos,), eps=1e-6, atol=1e-4, rtol=1e-3)


def test_batch_equals_single_evaluations_and_outside_wall_points_back(cases):
    case = cases[0]
    energy = case["energies"]["cubic"]
    pos = case["pos"]
    batch = energy(pos)
    single = torch.cat([energy(pos[i:i + 1]) for i in range(len(pos))])
    torch.testing.assert_close(batch, single)
    # A pose pushed 3 A out of the box along +x: finite energy, and the gradient pushes it back in (-x).
    lower, upper = energy.box
    shift = float(upper[0] - pos[0, :, 0].max()) + 3.0
    out = (pos[:1] + torch.tensor([shift, 0.0, 0.0])).requires_grad_(True)
    e = energy(out)
    e.sum().backward()
    assert torch.isfinite(e).all() and e.item() > energy(pos[:1]).item()
    assert out.grad[0, :, 0].sum() > 0  # d e / d x > 0: moving in -x lowers the energy


def test_device_and_dtype_follow_the_module(cases):
    energy = cases[0]["energies"]["cubic"]
    pos = cases[0]["pos"][:2]
    device = "cuda" if torch.cuda.is_available() else "cpu"
    moved = energy.to(device)
    e = moved(pos.to(device))
    assert e.device.type == device and e.shape == (2,)
    torch.testing.assert_close(e.cpu(), energy.to("cpu")(pos), atol=1e-4, rtol=1e-5)
    assert copy.deepcopy(energy).double()(pos).dtype == torch.float64
    with pytest.raises(ValueError, match="pos must be"):
        energy(pos[:, :-1])


def test_ligand_vina_cannot_type_is_a_ligand_error():
    receptor, crystal = load("6ce6")
    center = crystal.GetConformer().GetPositions().mean(0)
    boronic = Chem.RWMol(crystal)
    boronic.GetAtomWithIdx(0).SetAtomicNum(5)  # an element Vina has no type for
    with pytest.raises(LigandError, match="no atom type"):
        VinaGridEnergy.build(receptor=receptor, ligand=boronic.GetMol(), center=center, size=BOX)
    flat = Chem.MolFromSmiles("CCO")  # no 3D conformer
    with pytest.raises(LigandError, match="conformer"):
        VinaGridEnergy.build(receptor=receptor, ligand=flat, center=center, size=BOX)


def test_macrocycle_closure_types_match_vina():
    """1qbu's ligand is a macrocycle: meeko opens the ring (CG0 carbons, G0 dummies) and Vina counts the pairs
    across it; the trilinear energy still equals Vina's map-based score."""
    protein, ligand_file = MACROCYCLE / "1qbu_protein.pdb.gz", MACROCYCLE / "1qbu_ligand.sdf"
    if not protein.exists():
        pytest.skip("shared data not available")
    receptor = VinaReceptor(protein=protein, cpu=1)
    ligand = Chem.RemoveHs(Chem.MolFromMolFile(str(ligand_file)))
    assert " CG0" in ligand_pdbqt(ligand)
    center = ligand.GetConformer().GetPositions().mean(0)
    energy = VinaGridEnergy.build(receptor=receptor, ligand=ligand, center=center, size=BOX, interpolation="linear")
    ref = vina_for(receptor, ligand, center, no_refine=True).score()
    pos = torch.tensor(ligand.GetConformer().GetPositions(), dtype=torch.float32)[None]
    inter, intra, affinity = components(energy, pos)
    assert abs(inter[0] - ref[1]) < 0.005 and abs(intra[0] - ref[5]) < 0.015 and abs(affinity[0] - ref[0]) < 0.005
