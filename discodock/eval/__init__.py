"""discodock.eval."""
