"""The weights inside the package load, match their config, and recommend a ranking they can do."""

from discodock.sampling.pipeline import DEFAULT_WEIGHTS, WEIGHTS_DIR, load_docker


def test_shipped_weights_load_with_consistent_defaults():
    docker = load_docker(None, device="cpu")  # no --checkpoint: the shipped weights
    assert docker.checkpoint == str(DEFAULT_WEIGHTS)
    cfg = docker.cfg
    assert cfg.data.mode == "pocket" and not docker.supports_blind
    assert cfg.sampling.rank in ("confidence", "vina") and cfg.sampling.refine in ("none", "vina")
    if cfg.sampling.rank == "confidence":
        assert docker.models.confidence is not None
    if cfg.model.latent.active:
        assert docker.models.prior is not None
    total = sum(p.stat().st_size for p in WEIGHTS_DIR.iterdir() if p.is_file())
    assert total < 25 * 2**20  # the package must stay small
