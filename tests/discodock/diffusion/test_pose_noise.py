import math

import torch

from discodock.diffusion.noise import DiffusionConfig, PoseNoiseSchedule


def test_defaults_and_geometric_interpolation():
    s = PoseNoiseSchedule()
    ends = {name: (s.sigmas(0.0)[name].item(), s.sigmas(1.0)[name].item()) for name in ("tr", "rot", "tor")}
    assert math.isclose(ends["tr"][0], 0.1, rel_tol=1e-6) and math.isclose(ends["tr"][1], 19.0, rel_tol=1e-6)
    assert math.isclose(ends["rot"][0], 0.03, rel_tol=1e-6) and math.isclose(ends["rot"][1], 1.55, rel_tol=1e-6)
    assert math.isclose(ends["tor"][0], 0.0314, rel_tol=1e-6) and math.isclose(ends["tor"][1], 3.1416, rel_tol=1e-6)
    t = torch.rand(7)
    sig = s.sigmas(t)
    for name, (lo, hi) in ends.items():
        # log sigma is linear in t
        assert torch.allclose(sig[name].log(), (1 - t) * math.log(lo) + t * math.log(hi), atol=1e-5)
        h = 1e-3
        fd = (s[name].sigma(t + h) ** 2 - s[name].sigma(t - h) ** 2) / (2 * h)
        assert torch.allclose(s.g2(t)[name], fd, rtol=1e-3)


def test_round_trip_through_the_ranges():
    s = DiffusionConfig(tr_max=10.0, rot_min=0.05).schedule()
    assert s.ranges() == DiffusionConfig(tr_max=10.0, rot_min=0.05)
    again = PoseNoiseSchedule(s.ranges())
    t = torch.linspace(0, 1, 5)
    for name in ("tr", "rot", "tor"):
        assert torch.equal(again.sigmas(t)[name], s.sigmas(t)[name])
    assert s.times(4).tolist() == [1.0, 0.75, 0.5, 0.25, 0.0]
