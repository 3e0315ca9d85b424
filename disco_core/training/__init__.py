"""disco_core.training: seeding, EMA, atomic checkpoints with config, resume, progress bar, JSONL log."""

from disco_core.training.checkpoint import CheckpointLoadError, load_checkpoint, save_checkpoint
from disco_core.training.ema import EMA
from disco_core.training.loop import (
    JSONLLogger,
    generator_state,
    progress,
    read_jsonl,
    restore_generator,
    restore_training_state,
    resume_or_start,
    training_state,
)
from disco_core.training.seed import seed_everything

__all__ = [
    "EMA",
    "CheckpointLoadError",
    "JSONLLogger",
    "generator_state",
    "load_checkpoint",
    "progress",
    "read_jsonl",
    "restore_generator",
    "restore_training_state",
    "resume_or_start",
    "save_checkpoint",
    "seed_everything",
    "training_state",
]
