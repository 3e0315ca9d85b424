"""discodock.geometry."""
