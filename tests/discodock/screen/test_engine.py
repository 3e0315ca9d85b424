"""Engine pieces: site-wide Vina maps agree with per-pose maps; the per-ligand time limit; the manifest records resolved settings."""

import time
from pathlib import Path

import numpy as np
import pytest
from rdkit import Chem

from discodock.screen.engine import SiteMapsVina, time_limit
from discodock.screen.site import AUTOBOX_ADD, autobox

EXAMPLE = Path(__file__).resolve().parents[3] / "data" / "examples" / "3d6p"


def test_autobox_covers_the_reference_ligand():
    site = autobox(EXAMPLE / "3d6p_ligand.sdf")
    xyz = Chem.MolFromMolFile(str(EXAMPLE / "3d6p_ligand.sdf")).GetConformer().GetPositions()
    assert np.allclose(site.center, xyz.mean(0))
    half = np.asarray(site.size) / 2
    assert (np.abs(xyz - site.center) <= half - AUTOBOX_ADD + 1e-6).all()


def test_site_maps_score_like_per_pose_maps():
    from discodock.scoring.vina import VinaReceptor

    receptor = VinaReceptor(protein=EXAMPLE / "3d6p_protein.pdb.gz")
    crystal = Chem.MolFromMolFile(str(EXAMPLE / "3d6p_ligand.sdf"))
    site_vina = SiteMapsVina(receptor, autobox(EXAMPLE / "3d6p_ligand.sdf"))
    shared = site_vina.score_poses([crystal])[0]
    own = receptor.score_poses([crystal])[0]
    assert shared < -3 and abs(shared - own) < 0.3  # same function, grids placed differently
    refined = site_vina.local_optimize_poses([crystal])[0]
    assert refined.score <= shared + 1e-6
    far = Chem.Mol(crystal)  # outside the site box: scored on maps of its own, not on the shared ones
    conf = far.GetConformer()
    for i in range(far.GetNumAtoms()):
        p = conf.GetAtomPosition(i)
        conf.SetAtomPosition(i, (p.x + 30.0, p.y, p.z))
    assert not site_vina._inside(far)
    assert site_vina.score_poses([far])[0] == pytest.approx(receptor.score_poses([far])[0])


def test_time_limit_interrupts_a_slow_ligand():
    t0 = time.perf_counter()
    with pytest.raises(TimeoutError, match="--timeout-s"):
        with time_limit(0.2):
            time.sleep(5)
    assert time.perf_counter() - t0 < 2
    with time_limit(None):
        pass


def test_time_limit_is_not_swallowed_by_a_broad_except():
    """Docking code has ``except Exception`` fallbacks (RDKit stereo enumeration, ...); the alarm must get past
    them, or the ligand runs on with no limit."""
    t0 = time.perf_counter()
    with pytest.raises(TimeoutError, match="--timeout-s"):
        with time_limit(0.2):
            try:
                time.sleep(5)
            except Exception:
                pass
            time.sleep(5)
    assert time.perf_counter() - t0 < 2


def test_manifest_records_the_checkpoints_defaults_resolved():
    """Options left out take the checkpoint's values, and the manifest records those values, so a run that
    names them explicitly resumes one that left them out (and a different value is still refused)."""
    from discodock.screen.engine import ScreenEngine, ScreenSpec

    site = autobox(EXAMPLE / "3d6p_ligand.sdf")
    common = dict(protein=str(EXAMPLE / "3d6p_protein.pdb.gz"), site=site, rank="vina")
    implicit = ScreenEngine(ScreenSpec(**common))
    cfg = implicit.docker.cfg.sampling
    assert implicit.settings.samples == cfg.samples and implicit.settings.steps == cfg.steps
    explicit = ScreenEngine(ScreenSpec(**common, samples=cfg.samples, steps=cfg.steps, ode=cfg.ode,
                                       temperature=cfg.temperature, prior_temperature=cfg.prior_temperature))
    assert implicit.manifest() == explicit.manifest()
    assert implicit.manifest()["samples"] == cfg.samples
    other = ScreenEngine(ScreenSpec(**common, samples=cfg.samples + 1))
    assert other.manifest()["samples"] == cfg.samples + 1
