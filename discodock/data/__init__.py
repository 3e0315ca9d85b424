"""discodock.data."""
