"""Checkpoints: model/optimizer/EMA state + the resolved config + the step, written atomically.

A checkpoint is a ``torch.save`` of a plain dict (tensors, numbers, strings, lists, dicts), so it loads
with ``torch.load(weights_only=True)``: no pickled classes or code. The resolved config is also written
as ``config.yaml`` beside it, so a run folder says how it was made.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
import yaml

from disco_core.config import to_dict

FORMAT = "disco_core.checkpoint"
VERSION = 1


class CheckpointLoadError(ValueError):
    """A checkpoint file is missing, truncated or not a checkpoint; the message names the file."""


def _atomic_write(path: Path, write) -> None:
    """Write through ``write(fileobj)`` to a temporary file in ``path``'s folder, then rename over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        # Same folder, so the rename is atomic: readers see the old file or the new one, never half.
        os.replace(tmp, path)
    except BaseException:
        _unlink_quietly(tmp)
        raise


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _plain_config(config: Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        config = to_dict(config)
    if not isinstance(config, dict):
        raise TypeError(f"config must be a dict or a dataclass, got {type(config).__name__}")
    return to_dict(config)


def save_checkpoint(
    path: str | Path,
    *,
    state: dict[str, Any],
    config: dict[str, Any] | Any,
    step: int,
    extra: dict[str, Any] | None = None,
    config_name: str = "config.yaml",
) -> Path:
    """Write a checkpoint to ``path`` atomically and its config as YAML beside it (``config_name``).

    Args:
        path: checkpoint file (e.g. ``run/checkpoint.pt``); its folder is created.
        state: state dicts by name (``model``, ``optimizer``, ``ema``, ...), see ``training_state``.
        config: the resolved config (a dict or a dataclass; stored as plain dicts).
        step: the number of optimisation steps done.
        extra: any other plain data (metrics, RNG states, ...).
        config_name: file name of the YAML copy (several checkpoints sharing a folder need one each).

    Returns:
        The checkpoint path.
    """
    path = Path(path)
    config = _plain_config(config)
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "state": state,
        "config": config,
        "step": int(step),
        "extra": extra,
    }
    _atomic_write(path, lambda fh: torch.save(payload, fh))
    text = yaml.safe_dump(config, sort_keys=False).encode()
    _atomic_write(path.parent / config_name, lambda fh: fh.write(text))
    return path


def _one_line(exc: BaseException) -> str:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    first = first[:160]
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def load_checkpoint(
    path: str | Path, *, map_location: str | torch.device = "cpu", weights_only: bool = True
) -> dict[str, Any]:
    """Read a checkpoint written by ``save_checkpoint``.

    Returns:
        A dict with keys ``state``, ``config``, ``step`` and ``extra``.

    Raises:
        CheckpointLoadError: the file is missing, truncated, corrupt or not a disco_core checkpoint.
    """
    path = Path(path)
    if not path.exists():
        raise CheckpointLoadError(f"{path}: checkpoint file not found")
    if not path.is_file():
        raise CheckpointLoadError(f"{path}: not a file")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=weights_only)
    except Exception as exc:  # torch raises many kinds for bad files; all mean "unreadable"
        raise CheckpointLoadError(
            f"{path}: not a readable checkpoint (truncated or corrupt?) [{_one_line(exc)}]"
        ) from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointLoadError(f"{path}: not a disco_core checkpoint (no '{FORMAT}' marker)")
    if int(payload.get("version", -1)) > VERSION:
        raise CheckpointLoadError(
            f"{path}: checkpoint format version {payload['version']} is newer than this code ({VERSION})"
        )
    missing = [key for key in ("state", "config", "step") if key not in payload]
    if missing:
        raise CheckpointLoadError(f"{path}: checkpoint lacks {', '.join(missing)}")
    return {
        "state": payload["state"],
        "config": payload["config"],
        "step": int(payload["step"]),
        "extra": payload.get("extra"),
    }
