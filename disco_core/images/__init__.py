"""disco_core.images."""
