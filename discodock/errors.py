"""Typed errors for bad user input.

Every problem a user can cause (a missing file, a malformed structure, a SMILES that does not parse...)
raises :class:`InputError`, whose message names the file and the problem in one line. The CLI prints that
line to stderr and exits with status 2; batch and dataset code catch it, record the reason and go on.
"""

from __future__ import annotations

from pathlib import Path


class InputError(ValueError):
    """A user-facing input problem: ``str(err)`` is one line naming the source and the problem."""

    def __init__(self, source: str | Path | None, problem: str):
        source = None if source is None else str(source)
        if source is not None and not source.isprintable():  # e.g. a SMILES with a newline: keep one line
            source = repr(source)
        self.source = source
        self.problem = " ".join(str(problem).split())  # keep it to one line
        super().__init__(self.problem if self.source is None else f"{self.source}: {self.problem}")


class ProteinError(InputError):
    """The receptor structure could not be used."""


class LigandError(InputError):
    """The ligand could not be used."""


class CheckpointError(InputError):
    """A checkpoint file is missing, corrupt or incompatible."""


class ConfigError(InputError):
    """A configuration file or option is invalid."""
