"""discodock.diffusion."""
