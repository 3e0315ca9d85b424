"""disco_core.training: seeding, EMA, learning-rate decay, a small experiment loop (fit.fit_with_ema), atomic checkpoints with config, resume, progress bar, JSONL log."""

from disco_core.training.checkpoint import CheckpointLoadError, load_checkpoint, save_checkpoint
from disco_core.training.ema import EMA
from disco_core.training.lr import linear_decay_lr, set_lr
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
from disco_core.training.optimizer_state import compact_optimizer_state, repair_underflowed_moments
from disco_core.training.seed import seed_everything
from disco_core.training.step import optimizer_step

__all__ = [
    "EMA",
    "CheckpointLoadError",
    "compact_optimizer_state",
    "JSONLLogger",
    "generator_state",
    "linear_decay_lr",
    "load_checkpoint",
    "optimizer_step",
    "progress",
    "read_jsonl",
    "restore_generator",
    "repair_underflowed_moments",
    "restore_training_state",
    "resume_or_start",
    "save_checkpoint",
    "seed_everything",
    "set_lr",
    "training_state",
]
