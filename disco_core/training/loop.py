"""Training-loop helpers: JSONL metric log, a progress bar, and resume from a checkpoint."""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from disco_core.training.checkpoint import load_checkpoint
from disco_core.training.ema import EMA
from disco_core.training.optimizer_state import repair_underflowed_moments


def _plain(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu()
        return value.item() if value.numel() == 1 else value.tolist()
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no NaN/inf; keep the information as text
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


class JSONLLogger:
    """Append one JSON object per line to ``path`` (``{"step": ..., "time": ..., **metrics}``).

    The file is opened per call, so a resumed run appends to the same log and a crash loses nothing.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def log(self, *, step: int, **metrics: Any) -> dict[str, Any]:
        record = {"step": int(step), "time": round(time.time(), 3)}
        record.update({key: _plain(value) for key, value in metrics.items()})
        with open(self.path, "a") as fh:
            fh.write(json.dumps(record) + "\n")
        return record

    def drop_after(self, step: int, *, splits: Iterable[str]) -> int:
        """Remove the records of ``splits`` logged after ``step``; returns how many went.

        A run killed between checkpoints logged steps that its resume will redo; without this the log
        would hold those steps twice, from two different trajectories."""
        if not self.path.is_file():
            return 0
        splits = set(splits)
        keep, dropped = [], 0
        for record in read_jsonl(self.path):
            if record.get("split") in splits and int(record.get("step", 0)) > step:
                dropped += 1
            else:
                keep.append(record)
        if dropped:
            tmp = self.path.with_suffix(self.path.suffix + ".tmp")
            tmp.write_text("".join(json.dumps(r) + "\n" for r in keep))
            tmp.replace(self.path)  # atomic: a crash here leaves the old log, not half of one
        return dropped


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """All records of a JSONL log (a truncated last line, from a crash mid-write, is skipped)."""
    records = []
    with open(path) as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return records


def progress(
    iterable: Iterable | None = None,
    *,
    total: int | None = None,
    desc: str | None = None,
    disable: bool | None = None,
    **kwargs: Any,
) -> tqdm:
    """A tqdm progress bar that stays silent when stderr is not a terminal, unless ``disable=False``."""
    if disable is None:
        disable = not sys.stderr.isatty()
    return tqdm(iterable, total=total, desc=desc, disable=disable, dynamic_ncols=True, **kwargs)


def training_state(
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    ema: EMA | None = None,
    *,
    scheduler: Any | None = None,
    generator: torch.Generator | None = None,
) -> dict[str, Any]:
    """Everything needed to continue training exactly: state dicts and the data generator's state."""
    state: dict[str, Any] = {"model": model.state_dict()}
    if optimizer is not None:
        state["optimizer"] = optimizer.state_dict()
    if ema is not None:
        state["ema"] = ema.state_dict()
    if scheduler is not None:
        state["scheduler"] = scheduler.state_dict()
    if generator is not None:
        state.update(generator_state(generator))
    return state


def generator_state(generator: torch.Generator) -> dict[str, Any]:
    """``{"generator": state, "generator_device": "cpu" | "cuda"}``, what :func:`restore_generator` reads."""
    return {"generator": generator.get_state(), "generator_device": generator.device.type}


def restore_generator(generator: torch.Generator, state: dict[str, Any], *, fallback_seed: int | None = None) -> bool:
    """Load ``state["generator"]`` into ``generator``; returns False when it had to reseed instead.

    A CPU generator's state cannot be loaded into a CUDA generator (or back), so a run continued on another
    device reseeds with ``fallback_seed`` (derive it from the seed and step to stay reproducible); without one
    that is an error. States saved before ``generator_device`` was recorded are taken as CPU states."""
    saved = state.get("generator_device", "cpu")
    if saved == generator.device.type:
        generator.set_state(state["generator"].cpu())
        return True
    if fallback_seed is None:
        raise ValueError(f"the saved noise generator is a {saved} one and this run's is on {generator.device.type}; "
                         "give a fallback seed to continue on this device")
    generator.manual_seed(fallback_seed)
    return False


def restore_training_state(
    state: dict[str, Any],
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    ema: EMA | None = None,
    *,
    scheduler: Any | None = None,
    generator: torch.Generator | None = None,
) -> None:
    """Inverse of ``training_state``: load each given object's saved state (KeyError if absent)."""
    model.load_state_dict(state["model"])
    if optimizer is not None:
        optimizer.load_state_dict(state["optimizer"])
        repair_underflowed_moments(optimizer)
    if ema is not None:
        ema.load_state_dict(state["ema"])
    if scheduler is not None:
        scheduler.load_state_dict(state["scheduler"])
    if generator is not None:
        restore_generator(generator, state)


def resume_or_start(
    path: str | Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    ema: EMA | None = None,
    *,
    scheduler: Any | None = None,
    generator: torch.Generator | None = None,
    map_location: str | torch.device = "cpu",
) -> int:
    """Restore from the checkpoint at ``path`` if it exists and return its step; else return 0.

    A file that exists but cannot be read raises ``CheckpointLoadError`` rather than silently
    restarting from scratch.
    """
    path = Path(path)
    if not path.exists():
        return 0
    ckpt = load_checkpoint(path, map_location=map_location)
    restore_training_state(
        ckpt["state"], model, optimizer, ema, scheduler=scheduler, generator=generator
    )
    return ckpt["step"]
