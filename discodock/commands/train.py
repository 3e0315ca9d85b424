"""``discodock train``: the same entry point as ``python -m discodock.train`` (and ``torchrun -m discodock.train``)."""

from discodock.train import add_arguments, run

__all__ = ["add_arguments", "run"]
