"""disco_core.latents."""
