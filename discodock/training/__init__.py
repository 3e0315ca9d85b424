"""Training loops of the smaller models that are not part of ``discodock train``."""
