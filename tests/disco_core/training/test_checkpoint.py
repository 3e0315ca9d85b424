import copy
import os

import pytest
import torch
import yaml
from torch import nn

from disco_core.training import (
    EMA,
    CheckpointLoadError,
    load_checkpoint,
    restore_generator,
    resume_or_start,
    save_checkpoint,
    seed_everything,
    training_state,
)


def _tiny():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 8), nn.SiLU(), nn.BatchNorm1d(8), nn.Linear(8, 1))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    ema = EMA(model, decay=0.9, warmup=True)
    return model, opt, ema


def _step(model, opt, ema, gen):
    """One training step whose data comes from ``gen`` (so resume must restore it too)."""
    x = torch.randn(16, 3, generator=gen)
    y = x.sum(1, keepdim=True) + 0.1 * torch.randn(16, 1, generator=gen)
    loss = ((model(x) - y) ** 2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    ema.update(model)
    return loss.detach()


def test_save_load_roundtrip_writes_config_and_no_temp_files(tmp_path):
    model, opt, ema = _tiny()
    path = tmp_path / "run" / "checkpoint.pt"
    config = {"model": {"hidden": 8}, "lr": 0.01, "name": "tiny"}
    save_checkpoint(path, state=training_state(model, opt, ema), config=config, step=12, extra={"loss": 0.5})
    ckpt = load_checkpoint(path)
    assert ckpt["step"] == 12 and ckpt["config"] == config and ckpt["extra"] == {"loss": 0.5}
    for name, value in model.state_dict().items():
        assert torch.equal(ckpt["state"]["model"][name], value)
    assert yaml.safe_load((path.parent / "config.yaml").read_text()) == config
    assert sorted(os.listdir(path.parent)) == ["checkpoint.pt", "config.yaml"]
    # overwrite in place (the atomic rename replaces the old file)
    save_checkpoint(path, state=training_state(model), config=config, step=13)
    assert load_checkpoint(path)["step"] == 13


def test_two_checkpoints_in_one_folder_keep_their_own_config(tmp_path):
    model, _, _ = _tiny()
    for name, lr in (("a", 0.1), ("b", 0.2)):
        save_checkpoint(tmp_path / f"{name}.pt", state=training_state(model), config={"lr": lr}, step=1,
                        config_name=f"{name}.yaml")
    assert sorted(os.listdir(tmp_path)) == ["a.pt", "a.yaml", "b.pt", "b.yaml"]
    assert yaml.safe_load((tmp_path / "a.yaml").read_text()) == {"lr": 0.1}
    assert load_checkpoint(tmp_path / "b.pt")["config"] == {"lr": 0.2}


def test_dataclass_config_is_stored_as_plain_dict(tmp_path):
    import dataclasses

    @dataclasses.dataclass
    class Cfg:
        m: int = 1
        k: int = 8

    path = tmp_path / "c.pt"
    save_checkpoint(path, state={}, config=Cfg(), step=0)
    assert load_checkpoint(path)["config"] == {"m": 1, "k": 8}


def test_resume_gives_the_same_next_step(tmp_path):
    n = 5
    # uninterrupted run of n + 1 steps
    model, opt, ema = _tiny()
    gen = seed_everything(123)
    for _ in range(n):
        _step(model, opt, ema, gen)
    path = tmp_path / "ckpt.pt"
    save_checkpoint(path, state=training_state(model, opt, ema, generator=gen), config={}, step=n)
    loss_ref = _step(model, opt, ema, gen)
    params_ref = copy.deepcopy(model.state_dict())
    ema_ref = copy.deepcopy(ema.state_dict())

    # fresh objects (different init), resumed from the checkpoint
    torch.manual_seed(99)
    model2 = nn.Sequential(nn.Linear(3, 8), nn.SiLU(), nn.BatchNorm1d(8), nn.Linear(8, 1))
    opt2 = torch.optim.Adam(model2.parameters(), lr=1e-2)
    ema2 = EMA(model2, decay=0.9, warmup=True)
    gen2 = torch.Generator().manual_seed(0)
    step = resume_or_start(path, model2, opt2, ema2, generator=gen2)
    assert step == n
    loss2 = _step(model2, opt2, ema2, gen2)
    assert torch.equal(loss2, loss_ref)
    for name, value in params_ref.items():
        assert torch.equal(model2.state_dict()[name], value)
    assert ema2.state_dict()["num_updates"] == ema_ref["num_updates"] == n + 1
    for name, value in ema_ref["shadow"].items():
        assert torch.equal(ema2.shadow[name], value)


def test_generator_from_another_device_reseeds_only_when_allowed():
    gen = torch.Generator().manual_seed(7)
    state = training_state(nn.Linear(1, 1), generator=gen)
    assert state["generator_device"] == "cpu"
    expected = torch.rand(3, generator=gen)

    same = torch.Generator().manual_seed(0)
    assert restore_generator(same, state, fallback_seed=5)
    assert torch.equal(torch.rand(3, generator=same), expected)
    legacy = {"generator": state["generator"]}  # saved before the device was recorded: a CPU state
    assert restore_generator(same, legacy) and torch.equal(torch.rand(3, generator=same), expected)

    moved = dict(state, generator_device="cuda")  # as if saved on a GPU
    with pytest.raises(ValueError, match="cuda"):
        restore_generator(torch.Generator(), moved)
    other = torch.Generator().manual_seed(0)
    assert not restore_generator(other, moved, fallback_seed=5)
    assert torch.equal(torch.rand(3, generator=other), torch.rand(3, generator=torch.Generator().manual_seed(5)))


def test_resume_without_checkpoint_starts_at_zero(tmp_path):
    model, opt, ema = _tiny()
    before = copy.deepcopy(model.state_dict())
    assert resume_or_start(tmp_path / "none.pt", model, opt, ema) == 0
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


@pytest.mark.parametrize("kind", ["truncated", "garbage", "empty", "plain_tensor", "missing", "folder"])
def test_bad_checkpoint_raises_naming_the_file(tmp_path, kind):
    model, opt, ema = _tiny()
    path = tmp_path / f"bad_{kind}.pt"
    if kind == "truncated":
        save_checkpoint(path, state=training_state(model, opt, ema), config={"a": 1}, step=3)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif kind == "garbage":
        path.write_bytes(b"this is not a checkpoint\n" * 20)
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "plain_tensor":
        torch.save(torch.zeros(3), path)
    elif kind == "folder":
        path.mkdir()
    with pytest.raises(CheckpointLoadError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert str(path) in message and "\n" not in message
    assert isinstance(info.value, ValueError)
    if kind != "missing":
        with pytest.raises(CheckpointLoadError):
            resume_or_start(path, model, opt, ema)


def test_failed_save_keeps_the_previous_checkpoint(tmp_path):
    model, _, _ = _tiny()
    path = tmp_path / "ckpt.pt"
    save_checkpoint(path, state=training_state(model), config={}, step=1)

    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("cannot pickle")

    with pytest.raises(RuntimeError):
        save_checkpoint(path, state={"bad": Unpicklable()}, config={}, step=2)
    assert load_checkpoint(path)["step"] == 1
    assert sorted(os.listdir(tmp_path)) == ["ckpt.pt", "config.yaml"]
