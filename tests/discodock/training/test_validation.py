"""The unexplained fraction: 1 for a zero predictor, 0 for a perfect one, pooled over complexes."""

from __future__ import annotations

import torch

from discodock.training.validation import unexplained_fraction


def test_unexplained_fraction_pools_sums_and_resamples():
    zero = torch.tensor([4.0, 1.0, 5.0], dtype=torch.float64)
    assert float(unexplained_fraction(zero.clone(), zero)) == 1.0  # predicting zero explains nothing
    assert float(unexplained_fraction(torch.zeros(3, dtype=torch.float64), zero)) == 0.0
    err = torch.tensor([1.0, 1.0, 0.0], dtype=torch.float64)
    assert abs(float(unexplained_fraction(err, zero)) - 2.0 / 10.0) < 1e-12  # pooled, not a mean of ratios
    sel = torch.tensor([[0, 0, 0], [1, 2, 2]])
    boot = unexplained_fraction(err, zero, sel)
    assert boot.shape == (2,)
    torch.testing.assert_close(boot, torch.tensor([0.25, 1.0 / 11.0], dtype=torch.float64))
