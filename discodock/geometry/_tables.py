"""Lazily built lookup tables over log(sigma), cached in memory and in a user cache directory.

Tables are built on first use (never at import), stored as float64 on the CPU, and written to
``$DISCODOCK_CACHE`` (default ``~/.cache/discodock``) under a name keyed by the table's parameters, so a
change of parameters builds a new table instead of reading a stale one. An unwritable cache directory only
costs a rebuild in the next process.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
import warnings
from pathlib import Path
from typing import Callable

import torch

_MEMORY: dict[tuple[str, str], dict[str, torch.Tensor]] = {}


def cache_dir() -> Path:
    """The directory for cached tables: ``$DISCODOCK_CACHE`` or ``~/.cache/discodock``."""
    env = os.environ.get("DISCODOCK_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "discodock"


def cached_table(
    name: str, params: dict, build: Callable[[], dict[str, torch.Tensor]]
) -> dict[str, torch.Tensor]:
    """The table ``name`` for ``params``: from memory, else from the disk cache, else ``build()`` (then saved)."""
    key = hashlib.sha1(json.dumps(params, sort_keys=True).encode()).hexdigest()[:16]
    if (name, key) in _MEMORY:
        return _MEMORY[(name, key)]
    path = cache_dir() / f"{name}-{key}.pt"
    table = None
    if path.is_file():
        try:
            loaded = torch.load(path, map_location="cpu", weights_only=True)
            if loaded.get("params") == json.dumps(params, sort_keys=True):
                table = loaded["tensors"]
        except Exception:  # a corrupt or foreign file: rebuild and overwrite it
            table = None
    if table is None:
        table = build()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{name}-", suffix=".tmp")
            os.close(fd)
            torch.save({"params": json.dumps(params, sort_keys=True), "tensors": table}, tmp)
            os.chmod(tmp, 0o644)  # mkstemp makes it private; a cache is fine to share
            os.replace(tmp, path)  # atomic: concurrent processes never read a half-written file
        except OSError as err:
            warnings.warn(f"could not cache table {name} in {path.parent}: {err}", stacklevel=3)
    _MEMORY[(name, key)] = table
    return table


def log_sigma_grid(sigma_lo: float, sigma_hi: float, n: int) -> torch.Tensor:
    """``n`` sigmas, uniform in log between ``sigma_lo`` and ``sigma_hi`` (float64)."""
    return torch.linspace(math.log(sigma_lo), math.log(sigma_hi), n, dtype=torch.float64).exp()


def log_sigma_position(sigma: torch.Tensor, sigma_lo: float, sigma_hi: float, n: int):
    """Where ``sigma`` falls on the grid of :func:`log_sigma_grid`: ``(i0, frac)`` with ``0 <= i0 < n - 1`` and
    ``frac`` in [0, 1] (clamped at both ends)."""
    h = (math.log(sigma_hi) - math.log(sigma_lo)) / (n - 1)
    x = ((sigma.double().log() - math.log(sigma_lo)) / h).clamp(0, n - 1)
    i0 = x.floor().long().clamp(max=n - 2)
    return i0, x - i0


def cumulative_trapezoid(y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Running trapezoid integral of ``y`` over ``x`` along the last dimension, starting at 0."""
    steps = 0.5 * (y[..., 1:] + y[..., :-1]) * (x[..., 1:] - x[..., :-1])
    return torch.cat([torch.zeros_like(steps[..., :1]), steps.cumsum(-1)], -1)


def invert_cdf(cdf: torch.Tensor, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Row-wise inverse of a non-decreasing ``cdf [R, M]`` sampled at ``x [R, M]``, at levels ``u [R, K]``,
    linear within grid cells."""
    j = torch.searchsorted(cdf, u.contiguous(), right=True).clamp(1, cdf.shape[-1] - 1)
    c0, c1 = cdf.gather(-1, j - 1), cdf.gather(-1, j)
    x0, x1 = x.gather(-1, j - 1), x.gather(-1, j)
    frac = ((u - c0) / (c1 - c0).clamp_min(1e-300)).clamp(0, 1)
    return x0 + frac * (x1 - x0)
