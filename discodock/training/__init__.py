"""discodock.training: the score, prior and confidence stages (views, losses, loops, the ``train`` command).

Training may import inference (it samples poses for the confidence model); inference never imports training.
"""
