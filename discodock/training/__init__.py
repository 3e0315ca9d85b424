"""discodock.training: the score, prior and confidence stages (views, losses, loops, the ``train`` command), and
the site predictor's training (``python -m discodock.training.site``).

Training may import inference (it samples poses for the confidence model); inference never imports training.
"""
