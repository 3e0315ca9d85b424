"""``discodock train``: the same entry point as ``python -m discodock.training`` (and ``torchrun -m discodock.training``)."""

from discodock.training.cli import add_arguments, run

__all__ = ["add_arguments", "run"]
