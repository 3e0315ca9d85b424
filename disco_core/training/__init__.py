"""disco_core.training."""
