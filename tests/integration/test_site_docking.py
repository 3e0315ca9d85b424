"""``discodock dock`` without a site: the shipped site predictor picks sites, the pocket weights dock in each."""

import json

import pytest
from rdkit import Chem

from discodock.cli import main
from discodock.eval.site_metrics import dca
from discodock.sampling.settings import DEFAULT_SITES

from .conftest import EXAMPLES

PROTEIN = EXAMPLES / "6ce6" / "6ce6_protein.pdb.gz"
LIGAND = EXAMPLES / "6ce6" / "6ce6_ligand.sdf"


def test_blind_docking_goes_through_the_predicted_sites(tmp_path):
    from discodock.models.site_predictor import WEIGHTS
    from discodock.sampling.pipeline import DEFAULT_WEIGHTS

    if not WEIGHTS.is_file():
        pytest.skip("no site predictor shipped")
    code = main(["dock", "--protein", str(PROTEIN), "--ligand", str(LIGAND), "--out", str(tmp_path / "out"),
                 "--samples", "2", "--steps", "2", "--refine", "none", "--name", "blind", "--quiet"])
    assert code == 0
    folder = tmp_path / "out" / "blind"
    info = json.loads((folder / "results.json").read_text())
    assert info["pocket_center"] is None and info["blind_mode"] == "sites"
    assert info["checkpoint"] == str(DEFAULT_WEIGHTS) and info["site_predictor"] == str(WEIGHTS)
    sites = info["sites"]
    assert 1 <= len(sites) <= DEFAULT_SITES and [s["rank"] for s in sites] == list(range(1, len(sites) + 1))
    probs = [s["probability"] for s in sites]
    assert all(0 < p <= 1 for p in probs) and sum(probs) <= 1.0 + 1e-6
    assert probs == sorted(probs, reverse=True)
    # every site was docked: its poses are among the ranks, and the ranks cover all poses exactly once
    ranks = sorted(r for s in sites for r in s["pose_ranks"])
    assert all(len(s["pose_ranks"]) == 2 for s in sites) and ranks == list(range(1, 2 * len(sites) + 1))
    assert len(info["poses"]) == 2 * len(sites)
    ligand = Chem.MolFromMolFile(str(LIGAND))
    # the crystal site is among those docked (6ce6 is found at top-3)
    assert min(dca(s["center"], ligand.GetConformer().GetPositions()) for s in sites) < 4.0
    site_of = {r: s["rank"] for s in sites for r in s["pose_ranks"]}
    for rank in ranks:
        mol = next(Chem.SDMolSupplier(str(folder / f"rank{rank}.sdf")))
        assert mol is not None and Chem.MolToSmiles(mol) == Chem.MolToSmiles(ligand)
        # each pose names the site it came from, as results.json does
        assert mol.GetIntProp("site") == site_of[rank]
        assert mol.GetDoubleProp("site_probability") == pytest.approx(sites[site_of[rank] - 1]["probability"])
    # ranked together by the pocket weights' ranking (Vina score here, as refine is off but rank is Vina)
    scores = [p["vina_score"] if info["ranked_by"] == "vina" else -p["confidence"] for p in info["poses"]]
    assert scores == sorted(scores)


def test_a_site_s_poses_do_not_depend_on_how_many_sites_are_docked(tmp_path):
    """Site i always docks with seed + i, so --sites 1 gives exactly the first site's poses of a 2-site run
    (what lets one validation run with many sites answer every smaller site count)."""
    from discodock.models.site_predictor import WEIGHTS

    if not WEIGHTS.is_file():
        pytest.skip("no site predictor shipped")
    common = ["dock", "--protein", str(PROTEIN), "--ligand", str(LIGAND), "--samples", "2", "--steps", "2",
              "--refine", "none", "--quiet", "--name", "blind"]
    assert main(common + ["--out", str(tmp_path / "two"), "--sites", "2"]) == 0
    assert main(common + ["--out", str(tmp_path / "one"), "--sites", "1"]) == 0
    two = json.loads((tmp_path / "two" / "blind" / "results.json").read_text())
    one = json.loads((tmp_path / "one" / "blind" / "results.json").read_text())
    assert len(two["sites"]) == 2 and len(one["sites"]) == 1
    assert one["sites"][0]["center"] == two["sites"][0]["center"]

    def coords(folder, ranks):
        return sorted(next(Chem.SDMolSupplier(str(folder / f"rank{r}.sdf"))).GetConformer().GetPositions()
                      .round(3).tolist() for r in ranks)

    assert coords(tmp_path / "one" / "blind", one["sites"][0]["pose_ranks"]) == \
        coords(tmp_path / "two" / "blind", two["sites"][0]["pose_ranks"])
    assert main(common + ["--out", str(tmp_path / "none"), "--sites", "0"]) == 2
