import random

import numpy as np
import torch
from torch import nn

from disco_core.training import EMA, JSONLLogger, progress, read_jsonl, seed_everything


def test_seed_everything_reproduces_all_rngs():
    def draw():
        gen = seed_everything(42)
        return random.random(), np.random.rand(), torch.rand(1).item(), torch.rand(1, generator=gen).item()

    assert draw() == draw()
    seed_everything(43)
    assert random.random() != draw()[0]


def test_ema_update_is_the_exponential_average():
    torch.manual_seed(0)
    model = nn.Linear(4, 2)
    start = {k: v.clone() for k, v in model.state_dict().items()}
    ema = EMA(model, decay=0.75)
    with torch.no_grad():
        model.weight.add_(1.0)
    ema.update(model)
    assert torch.allclose(ema.shadow["weight"], 0.75 * start["weight"] + 0.25 * model.weight)
    assert torch.equal(ema.shadow["bias"], start["bias"])

    current = {k: v.clone() for k, v in model.state_dict().items()}
    with ema.applied_to(model):
        assert torch.allclose(model.weight, ema.shadow["weight"])
    assert torch.equal(model.weight, current["weight"])  # restored on exit

    other = nn.Linear(4, 2)
    ema.copy_to(other)
    assert torch.equal(other.weight, ema.shadow["weight"])

    restored = EMA(nn.Linear(4, 2), decay=0.1)
    restored.load_state_dict(ema.state_dict())
    assert restored.decay == 0.75 and restored.num_updates == 1
    assert torch.equal(restored.shadow["weight"], ema.shadow["weight"])


def test_ema_warmup_and_integer_buffers():
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    ema = EMA(model, decay=0.999, warmup=True)
    assert ema.current_decay() == 0.1  # (1 + 0) / (10 + 0)
    model.train()
    model(torch.randn(8, 2))
    ema.update(model)
    # num_batches_tracked is an integer buffer: copied, not averaged
    assert ema.shadow["1.num_batches_tracked"].item() == 1
    assert ema.current_decay() == 2 / 11
    for _ in range(10000):
        ema.num_updates += 1
    assert ema.current_decay() == 0.999


def test_jsonl_logger_appends_plain_records(tmp_path):
    path = tmp_path / "logs" / "train.jsonl"
    log = JSONLLogger(path)
    log.log(step=1, loss=torch.tensor(0.5), lr=1e-3, usage=torch.tensor([1, 2]), note="x")
    JSONLLogger(path).log(step=2, loss=np.float32(0.25), bad=float("nan"))  # a resumed run appends
    with open(path, "a") as fh:
        fh.write('{"step": 3, "lo')  # a crash mid-line
    records = read_jsonl(path)
    assert [r["step"] for r in records] == [1, 2]
    assert records[0]["loss"] == 0.5 and records[0]["usage"] == [1, 2] and records[0]["note"] == "x"
    assert records[1]["loss"] == 0.25 and records[1]["bad"] == "nan"
    assert all("time" in r for r in records)


def test_jsonl_logger_drops_only_the_named_splits_after_a_step(tmp_path):
    log = JSONLLogger(tmp_path / "log.jsonl")
    for step in (1, 2, 3):
        log.log(step=step, split="train")
    log.log(step=3, split="val")
    log.log(step=9, split="prior_train")  # another stage's own step count: kept
    assert log.drop_after(1, splits=("train", "val")) == 3
    assert [(r["split"], r["step"]) for r in read_jsonl(log.path)] == [("train", 1), ("prior_train", 9)]
    assert log.drop_after(1, splits=("train",)) == 0
    assert JSONLLogger(tmp_path / "none.jsonl").drop_after(0, splits=("train",)) == 0


def test_progress_is_silent_off_a_terminal_and_iterates_everything():
    bar = progress(range(5), desc="x")  # pytest captures stderr: not a TTY
    assert bar.disable
    assert list(bar) == [0, 1, 2, 3, 4]
    bar = progress(total=3, disable=True)
    bar.update(3)
    bar.close()
