import pytest
import torch

from disco_core.latents.usage import usage_deficit


def test_usage_deficit_is_zero_for_uniform_use_and_log_k_for_collapse():
    uniform = torch.eye(8)[:, None, :] * 50.0  # [8, 1, 8]: each example confidently a different code
    collapsed = torch.zeros(8, 1, 8)
    collapsed[:, 0, 2] = 50.0
    assert usage_deficit(uniform).item() == pytest.approx(0.0, abs=1e-6)
    assert usage_deficit(collapsed).item() == pytest.approx(torch.log(torch.tensor(8.0)).item(), abs=1e-6)
