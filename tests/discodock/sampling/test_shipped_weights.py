"""The weights inside the package load, match their config, and recommend a ranking they can do."""

from pathlib import Path

import pytest
import yaml

from discodock.sampling import pipeline
from discodock.sampling.pipeline import DEFAULT_BLIND_WEIGHTS, DEFAULT_WEIGHTS, WEIGHTS_DIR, load_docker
from discodock.sampling.site_docking import load_engine


def _check_defaults(docker):
    cfg = docker.cfg
    assert cfg.sampling.rank in ("confidence", "vina") and cfg.sampling.refine in ("none", "vina", "search")
    if cfg.sampling.rank == "confidence":
        assert docker.models.confidence is not None
    if cfg.model.latent.active:
        assert docker.models.prior is not None
    # the YAML beside the weights is the config they carry (sampling defaults included)
    side = yaml.safe_load(Path(docker.checkpoint).with_suffix(".yaml").read_text())
    assert side["data"]["mode"] == cfg.data.mode and side["sampling"] == cfg.to_dict()["sampling"]


def test_shipped_weights_load_with_consistent_defaults():
    docker = load_docker(None, device="cpu")  # no --checkpoint: the shipped weights
    assert docker.checkpoint == str(DEFAULT_WEIGHTS)
    assert docker.cfg.data.mode == "pocket" and not docker.supports_blind
    _check_defaults(docker)
    total = sum(p.stat().st_size for p in WEIGHTS_DIR.iterdir() if p.is_file())
    assert total < 25 * 2**20  # the package must stay small


@pytest.mark.skipif(not DEFAULT_BLIND_WEIGHTS.is_file(), reason="no blind weights shipped")
def test_shipped_blind_weights_load_with_consistent_defaults():
    docker = load_docker(DEFAULT_BLIND_WEIGHTS, device="cpu", blind=True)
    assert docker.checkpoint == str(DEFAULT_BLIND_WEIGHTS)
    assert docker.cfg.data.mode == "blind" and docker.supports_blind
    _check_defaults(docker)


def test_without_a_site_the_default_is_site_finding_then_the_pocket_weights(monkeypatch, tmp_path):
    from discodock.models.site_predictor import WEIGHTS
    from discodock.sampling.site_docking import SiteDocker

    if not WEIGHTS.is_file():
        pytest.skip("no site predictor shipped")
    docker = load_engine(None, device="cpu", blind=True)
    assert isinstance(docker, SiteDocker) and docker.supports_blind
    assert docker.checkpoint == str(DEFAULT_WEIGHTS) and docker.cfg.data.mode == "pocket"
    if DEFAULT_BLIND_WEIGHTS.is_file():  # no site predictor: the whole-receptor blind weights
        monkeypatch.setattr("discodock.models.site_predictor.WEIGHTS", tmp_path / "absent.pt")
        assert load_engine(None, device="cpu", blind=True).checkpoint == str(DEFAULT_BLIND_WEIGHTS)


def test_without_blind_weights_a_run_without_a_site_falls_back_to_the_pocket_ones(monkeypatch, tmp_path):
    monkeypatch.setattr(pipeline, "DEFAULT_BLIND_WEIGHTS", tmp_path / "absent.pt")
    assert pipeline.default_weights(blind=True) == DEFAULT_WEIGHTS
    assert pipeline.default_weights(blind=False) == DEFAULT_WEIGHTS
