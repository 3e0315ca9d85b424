"""discodock.sampling."""
