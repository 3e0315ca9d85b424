"""disco_core.toy."""
