"""Append-only journal of finished work, and the manifest that pins a run's settings.

The journal is JSON Lines, one finished item per line, flushed and fsynced per item: a killed run loses at
most the items in flight. A line cut short by the kill is dropped (and cut off the file) when the journal is
reopened. The manifest is written once, atomically, by whichever process starts first; a later run whose
settings differ is refused, so one output folder never mixes results from different settings.
Both serve ``discodock screen`` (key: ligand ID) and the CSV batch of ``discodock dock`` (key: complex name).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from discodock.errors import ConfigError


class Journal:
    """``path``: the JSONL file; ``key``: the field that identifies an item (e.g. ``ligand_id``)."""

    def __init__(self, path: str | Path, *, key: str):
        self.path, self.key = Path(path), key
        self._fh = None

    def records(self) -> Iterator[dict]:
        """Complete records in the order written (a torn last line is skipped)."""
        if not self.path.is_file():
            return
        with open(self.path, "rb") as fh:
            for line in fh:
                if not line.endswith(b"\n"):
                    return  # the item in flight when the process was killed
                try:
                    yield json.loads(line)
                except ValueError:
                    continue

    def done(self) -> set[str]:
        return {str(r[self.key]) for r in self.records()}

    def _repair(self) -> None:
        """Cut a torn last line so that new records start on a line of their own."""
        if not self.path.is_file():
            return
        with open(self.path, "rb+") as fh:
            data_end = fh.seek(0, os.SEEK_END)
            if data_end == 0:
                return
            fh.seek(max(0, data_end - (1 << 20)))
            tail = fh.read()
            if tail.endswith(b"\n"):
                return
            cut = tail.rfind(b"\n")
            fh.truncate(data_end - len(tail) + cut + 1 if cut >= 0 else (0 if data_end <= len(tail) else data_end))

    def append(self, record: dict) -> None:
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._repair()
            self._fh = open(self.path, "a", encoding="utf-8")
        self._fh.write(json.dumps(record, separators=(",", ":")) + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def clear(self) -> None:
        """Empty the journal (after its records were compacted elsewhere)."""
        self.close()
        if self.path.exists():
            with open(self.path, "w"):
                pass

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def check_manifest(path: str | Path, settings: dict, *, ignore: tuple[str, ...] = ()) -> dict:
    """Write ``settings`` as the manifest at ``path`` if there is none; otherwise refuse (ConfigError, exit 2)
    when a setting differs from the recorded one. Keys in ``ignore`` are recorded but not compared."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".manifest_")
        with os.fdopen(fd, "w") as fh:
            json.dump(settings, fh, indent=2, sort_keys=True)
        try:
            os.link(tmp, path)  # atomic and fails if another process got there first
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    try:
        recorded = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise ConfigError(path, f"unreadable manifest ({err}); remove it only if the folder holds no results") from None
    current = json.loads(json.dumps(settings))  # tuples -> lists, as recorded
    changed = [k for k in sorted(set(recorded) | set(current))
               if k not in ignore and recorded.get(k) != current.get(k)]
    if changed:
        what = "; ".join(f"{k}: {recorded.get(k)!r} -> {current.get(k)!r}" for k in changed[:4])
        raise ConfigError(path, f"this output folder was made with other settings ({what}); use a new --out "
                                "folder or the recorded settings")
    return recorded
