"""Tiny end-to-end training on real complexes: the loss falls, a killed run resumes exactly, stages chain."""

import json

import pytest
import torch

from discodock.models.bundle import load_models
from discodock.training.score import train_score

from .conftest import fit_one_batch, tiny_config


def test_score_loss_falls_on_a_fixed_batch(example_complexes):
    """Gradient reaches every part (encoder via straight-through latents, score net): repeated steps on one
    batch of two real complexes with the same noise draws drive every component's loss down."""
    from discodock.data.graph import collate_complexes
    from discodock.models.bundle import DockingModels
    from discodock.training.views import make_batch

    torch.manual_seed(0)
    cfg = tiny_config()
    models = DockingModels(cfg.model)
    params = list(models.score.parameters()) + list(models.encoder.parameters())
    batch = make_batch(example_complexes[:2], cfg, torch.Generator().manual_seed(1), torch.device("cpu"))
    fit_one_batch(models, batch, cfg, params, steps=30)
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in models.encoder.parameters())


def test_score_training_run_logs_and_exports(tmp_path, example_complexes):
    cfg = tiny_config(**{"train.steps": 6, "train.val_every": 3})
    result = train_score(cfg, example_complexes[:2], example_complexes[3:], tmp_path, show_progress=False)
    assert result.step == 6 and result.best_val < float("inf")
    log = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    val = [r for r in log if r["split"] == "val"]
    assert len(val) == 2 and {"loss_tr", "loss_rot", "loss_tor"} <= set(val[-1])
    models, _, ckpt = load_models(tmp_path / "weights.pt")
    assert ckpt["step"] == 6 and (tmp_path / "best_weights.pt").is_file()


def test_resume_gives_the_same_next_steps(tmp_path, example_complexes):
    """With the learning rate decaying across the interruption, so the schedule must hold no hidden state."""
    cfg = tiny_config(**{"train.steps": 6, "train.ckpt_every": 3, "train.val_every": 1000,
                         "train.lr_decay_start": 2, "train.lr_decay_end": 5, "train.final_lr": 1e-5,
                         "train.log_every": 1})
    data = example_complexes[:3]
    straight = tmp_path / "straight"
    train_score(cfg, data, [], straight, show_progress=False)
    split = tmp_path / "split"
    train_score(cfg, data, [], split, max_steps=3, show_progress=False)  # "killed" after step 3
    with open(split / "log.jsonl", "a") as fh:  # ... having logged a step past its last checkpoint
        fh.write(json.dumps({"step": 4, "split": "train", "loss": 99.0}) + "\n")
    train_score(cfg, data, [], split, resume=True, show_progress=False)
    a = torch.load(straight / "last.pt", weights_only=True)["state"]["models"]
    b = torch.load(split / "last.pt", weights_only=True)["state"]["models"]
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-5, atol=1e-6, msg=k)
    log_a = [json.loads(x) for x in (straight / "log.jsonl").read_text().splitlines()]
    log_b = [json.loads(x) for x in (split / "log.jsonl").read_text().splitlines()]
    assert abs(log_a[-1]["loss"] - log_b[-1]["loss"]) < 1e-4
    # the redone steps appear once, with the resumed run's figures
    after = [(r["split"], r["step"], round(r["loss"], 4)) for r in log_b if r["step"] > 3]
    assert after == [(r["split"], r["step"], round(r["loss"], 4)) for r in log_a if r["step"] > 3]
    # the update from step k to k + 1 (logged at k + 1) uses the rate at k: constant to 2, linear to 5
    lrs = {r["step"]: r["lr"] for r in log_b if r["split"] == "train"}
    assert lrs[1] == lrs[2] == lrs[3] == cfg.train.lr
    assert cfg.train.lr > lrs[4] > lrs[5] > lrs[6] == pytest.approx(cfg.train.final_lr)


def test_resume_across_devices_reseeds_reproducibly(tmp_path, example_complexes, capsys):
    """A CPU generator state cannot be loaded on a GPU (or back): a run continued on another device reseeds
    from its seed and step, says so, and two such resumes agree."""
    cfg = tiny_config(**{"train.steps": 4, "train.ckpt_every": 2, "train.val_every": 1000})
    data = example_complexes[:3]
    finals = []
    for name in ("a", "b"):
        out = tmp_path / name
        train_score(cfg, data, [], out, max_steps=2, show_progress=False)
        ckpt = torch.load(out / "last.pt", weights_only=True)
        assert ckpt["state"]["generator_device"] == "cpu"
        ckpt["state"]["generator_device"] = "cuda"  # as if it had been written on a GPU
        torch.save(ckpt, out / "last.pt")
        result = train_score(cfg, data, [], out, resume=True, show_progress=False)
        assert result.step == 4
        assert "checkpointed on cuda" in capsys.readouterr().err
        finals.append(torch.load(out / "last.pt", weights_only=True)["state"]["models"])
    for k in finals[0]:
        torch.testing.assert_close(finals[0][k], finals[1][k], msg=k)


def test_checkpoint_carries_config(tiny_checkpoint):
    models, cfg, ckpt = load_models(tiny_checkpoint)
    assert ckpt["config"]["model"]["latent"]["m"] == 2
    assert models.prior is not None and models.confidence is not None
    assert (tiny_checkpoint.parent / "config.yaml").is_file()


def test_checkpoint_from_before_the_torsion_head_keys_loads_with_its_own_head(tmp_path):
    """Checkpoints written before ``tor_edge_lmax`` / ``tor_fourier`` existed hold the l = 1 torsion head without
    the dihedral term; loading one must rebuild that head, not today's default, and keep its outputs."""
    from discodock.models.bundle import DockingModels, export_weights

    cfg = tiny_config(**{"model.score.tor_edge_lmax": 1, "model.score.tor_fourier": 0})
    torch.manual_seed(0)
    models = DockingModels(cfg.model)
    path = export_weights(models, cfg, tmp_path / "old.pt", step=1)
    payload = torch.load(path, weights_only=True)
    assert payload["config"].pop("config_version") == 3  # checkpoints of then carried no version
    for key in ("tor_edge_lmax", "tor_fourier"):
        del payload["config"]["model"]["score"][key]
    torch.save(payload, path)
    loaded, loaded_cfg, _ = load_models(path)
    assert (loaded_cfg.model.score.tor_edge_lmax, loaded_cfg.model.score.tor_fourier) == (1, 0)
    for name, value in models.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[name], value, msg=name)


def test_checkpoint_from_a_newer_discodock_is_refused(tmp_path):
    from discodock.errors import ConfigError
    from discodock.models.bundle import DockingModels, export_weights

    cfg = tiny_config()
    path = export_weights(DockingModels(cfg.model), cfg, tmp_path / "new.pt", step=1)
    payload = torch.load(path, weights_only=True)
    payload["config"]["config_version"] = 99
    torch.save(payload, path)
    with pytest.raises(ConfigError, match="config version 99 is newer"):
        load_models(path)


def test_init_from_warm_starts_a_blind_run_from_a_pocket_model(tmp_path, example_complexes, tiny_checkpoint):
    """--init-from copies score net and encoder (the noise range and data mode may differ); with a zero
    learning rate the exported weights are exactly the source's, so nothing of the random init leaks in
    through the EMA. Other networks are refused."""
    from discodock.errors import ConfigError

    cfg = tiny_config(**{"train.steps": 2, "train.lr": 0.0, "train.init_from": str(tiny_checkpoint),
                         "data.mode": "blind", "diffusion.tr_max": 19.0})
    train_score(cfg, example_complexes[:2], [], tmp_path / "warm", show_progress=False)
    src, _, _ = load_models(tiny_checkpoint)
    warm, warm_cfg, _ = load_models(tmp_path / "warm" / "weights.pt")
    assert warm_cfg.train.init_from == str(tiny_checkpoint) and warm_cfg.data.mode == "blind"
    for name in ("score", "encoder"):
        a, b = getattr(src, name).state_dict(), getattr(warm, name).state_dict()
        for k in a:
            torch.testing.assert_close(a[k], b[k], msg=f"{name}.{k}")
    resumed = tiny_config(**{"train.steps": 3, "train.lr": 0.0, "data.mode": "blind", "diffusion.tr_max": 19.0})
    train_score(resumed, example_complexes[:2], [], tmp_path / "warm", resume=True, show_progress=False)
    assert load_models(tmp_path / "warm" / "weights.pt")[1].train.init_from == str(tiny_checkpoint)
    other = tiny_config(**{"train.steps": 1, "train.init_from": str(tiny_checkpoint), "model.latent.mode": "none"})
    with pytest.raises(ConfigError, match="other networks"):
        train_score(other, example_complexes[:2], [], tmp_path / "other", show_progress=False)


def test_init_from_warm_starts_a_model_without_latents(tmp_path, example_complexes):
    """The m = 0 ablation has no encoder; its warm start copies the score net alone."""
    pocket = tiny_config(**{"train.steps": 1, "model.latent.mode": "none"})
    train_score(pocket, example_complexes[:2], [], tmp_path / "m0", show_progress=False)
    source = tmp_path / "m0" / "weights.pt"
    blind = tiny_config(**{"train.steps": 1, "train.lr": 0.0, "model.latent.mode": "none", "data.mode": "blind",
                           "diffusion.tr_max": 19.0, "train.init_from": str(source)})
    train_score(blind, example_complexes[:2], [], tmp_path / "blind", show_progress=False)
    src, warm = load_models(source)[0], load_models(tmp_path / "blind" / "weights.pt")[0]
    assert warm.encoder is None
    for k, v in src.score.state_dict().items():
        torch.testing.assert_close(v, warm.score.state_dict()[k], msg=k)


def test_init_from_adds_the_contact_pull_head(tmp_path, example_complexes):
    """A contact-latent model warm-starts a copy with the contact-pull head: the shared tensors are copied and
    the new head starts at zero (so the parent's scores are kept), then learns."""
    contact = {"model.latent.pointer_targets": "contact", "model.score.site_features": True}
    parent = tiny_config(**{"train.steps": 1, **contact})
    train_score(parent, example_complexes[:2], [], tmp_path / "parent", show_progress=False)
    source = tmp_path / "parent" / "weights.pt"
    child = tiny_config(**{"train.steps": 1, "train.lr": 0.0, "train.init_from": str(source),
                           "model.score.contact_pull": True, **contact})
    train_score(child, example_complexes[:2], [], tmp_path / "child", show_progress=False)
    src, warm = load_models(source)[0], load_models(tmp_path / "child" / "weights.pt")[0]
    for k, v in src.score.state_dict().items():
        torch.testing.assert_close(v, warm.score.state_dict()[k], msg=k)
    assert warm.score.contact_pull[-1].weight.abs().sum() == 0
    trained = tiny_config(**{"train.steps": 4, "train.init_from": str(source), "model.score.contact_pull": True,
                             **contact})
    train_score(trained, example_complexes[:2], [], tmp_path / "trained", show_progress=False)
    assert load_models(tmp_path / "trained" / "weights.pt")[0].score.contact_pull[-1].weight.abs().sum() > 0


def test_score_draws_without_latents_ignore_the_encoder(example_complexes):
    """The latent ablation of benchmarks/diagnostics/val_loss.py: with p_drop = 1 the scores do not depend on
    the encoder (the null latents), with p_drop = 0 they do; the noise draws are the same either way."""
    from discodock.models.bundle import DockingModels
    from discodock.training.validation import score_draws

    torch.manual_seed(0)
    cfg = tiny_config()
    models = DockingModels(cfg.model).eval()
    kw = dict(repeats=1, seed=3, batch_size=2)
    with_latents = score_draws(models, cfg, example_complexes[:2], 0.7, **kw)
    dropped = score_draws(models, cfg, example_complexes[:2], 0.7, p_drop=1.0, **kw)
    with torch.no_grad():
        for p in models.encoder.parameters():
            p.add_(torch.randn_like(p))
    changed = score_draws(models, cfg, example_complexes[:2], 0.7, **kw)
    dropped_again = score_draws(models, cfg, example_complexes[:2], 0.7, p_drop=1.0, **kw)
    for c in ("tr", "rot", "tor"):
        torch.testing.assert_close(dropped[1][c], with_latents[1][c])  # same draws: same targets
        torch.testing.assert_close(dropped_again[0][c], dropped[0][c])
    assert any(not torch.allclose(changed[0][c], with_latents[0][c]) for c in ("tr", "rot", "tor"))
