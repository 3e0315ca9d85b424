"""Which ligands a shard owns: every N-th one by library position, so shards never overlap and need no
coordination (a Slurm job array over a shared filesystem is the multi-machine path)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from discodock.errors import ConfigError


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` (0-based) of ``count``: it owns the ligands whose library position ``% count == index``."""

    index: int = 0
    count: int = 1

    def owns(self, position: int) -> bool:
        return position % self.count == self.index

    @property
    def name(self) -> str:
        return f"shard-{self.index}-of-{self.count}"


def parse_shard(text: str | None, environ=None) -> Shard:
    """``"I/N"`` (0 <= I < N), ``"auto"`` (Slurm array variables) or None (one shard)."""
    if text is None:
        return Shard()
    if text == "auto":
        return shard_from_slurm(os.environ if environ is None else environ)
    try:
        i, n = (int(v) for v in text.split("/"))
    except ValueError:
        raise ConfigError("--shard", f"expected I/N (e.g. 0/4) or auto, got {text!r}") from None
    if n < 1 or not 0 <= i < n:
        raise ConfigError("--shard", f"need 0 <= I < N, got {text!r}")
    return Shard(i, n)


def shard_from_slurm(environ) -> Shard:
    """Shard from ``SLURM_ARRAY_TASK_ID`` / ``_COUNT`` / ``_MIN``: array IDs need not start at 0 (``--array
    1-8`` gives shards 0..7 of 8). Arrays with a step (``--array 0-15:2``) are refused: the IDs would not
    cover 0..N-1."""
    try:
        task = int(environ["SLURM_ARRAY_TASK_ID"])
        count = int(environ["SLURM_ARRAY_TASK_COUNT"])
        low = int(environ.get("SLURM_ARRAY_TASK_MIN", 0))
    except KeyError as err:
        raise ConfigError("--shard", f"--shard auto needs Slurm's {err.args[0]} (run it inside a job array)") from None
    except ValueError:
        raise ConfigError("--shard", "Slurm's SLURM_ARRAY_TASK_* variables are not integers") from None
    high = environ.get("SLURM_ARRAY_TASK_MAX")
    if high is not None and int(high) - low + 1 != count:
        raise ConfigError("--shard", f"Slurm array IDs {low}-{high} are not contiguous for {count} tasks "
                                     "(use --array A-B without a step, or --shard I/N)")
    return parse_shard(f"{task - low}/{count}")
