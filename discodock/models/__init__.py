"""discodock.models."""
