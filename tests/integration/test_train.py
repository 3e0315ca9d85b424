"""Tiny end-to-end training on real complexes: the loss falls, a killed run resumes exactly, stages chain."""

import json

import torch

from discodock.train import load_models, train_score, validate_score

from .conftest import tiny_config


def _val(models, data, cfg):
    return validate_score(models, data, cfg, device=torch.device("cpu"))["loss"]


def test_score_training_loss_falls(tmp_path, example_complexes):
    """Overfitting one real complex: the validation loss (fixed noise draws) on it drops clearly."""
    from discodock.train import DockingModels

    torch.manual_seed(0)
    cfg = tiny_config(**{"train.steps": 60, "train.lr": 5e-3, "train.val_every": 1000, "train.ema_decay": 0.0})
    data = example_complexes[:1]
    before = _val(DockingModels(cfg.model).eval(), data, cfg)
    result = train_score(cfg, data, [], tmp_path, show_progress=False)
    models, _, _ = load_models(tmp_path / "weights.pt")
    after = _val(models, data, cfg)
    assert result.step == 60
    assert after < 0.8 * before, (before, after)
    log = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert {"loss_tr", "loss_rot", "loss_tor"} <= set(log[-1])


def test_resume_gives_the_same_next_steps(tmp_path, example_complexes):
    cfg = tiny_config(**{"train.steps": 6, "train.ckpt_every": 3, "train.val_every": 1000})
    data = example_complexes[:3]
    straight = tmp_path / "straight"
    train_score(cfg, data, [], straight, show_progress=False)
    split = tmp_path / "split"
    train_score(cfg, data, [], split, max_steps=3, show_progress=False)  # "killed" after step 3
    train_score(cfg, data, [], split, resume=True, show_progress=False)
    a = torch.load(straight / "last.pt", weights_only=True)["state"]["models"]
    b = torch.load(split / "last.pt", weights_only=True)["state"]["models"]
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-5, atol=1e-6, msg=k)
    log_a = [json.loads(x) for x in (straight / "log.jsonl").read_text().splitlines()]
    log_b = [json.loads(x) for x in (split / "log.jsonl").read_text().splitlines()]
    assert abs(log_a[-1]["loss"] - log_b[-1]["loss"]) < 1e-4


def test_checkpoint_carries_config(tiny_checkpoint):
    models, cfg, ckpt = load_models(tiny_checkpoint)
    assert ckpt["config"]["model"]["latent"]["m"] == 2
    assert models.prior is not None and models.confidence is not None
    assert (tiny_checkpoint.parent / "config.yaml").is_file()
