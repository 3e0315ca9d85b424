"""disco_core.diffusion."""
