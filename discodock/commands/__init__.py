"""discodock.commands."""
