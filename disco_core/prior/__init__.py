"""disco_core.prior."""
