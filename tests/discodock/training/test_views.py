"""Training views go through the one pocket crop; fixed views give each complex its own seeded site."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from discodock.config import load_docking_config
from discodock.data import keys as K
from discodock.data.pocket import crystal_pose, site_offset, site_view
from discodock.training.views import fixed_site_view, training_view

EXAMPLES = Path(__file__).resolve().parents[3] / "data" / "examples"


@pytest.fixture(scope="module")
def complexes():
    from discodock.data.graph import build_complex
    from discodock.data.parsing import load_ligand, load_protein

    out = []
    for name in ("6ce6", "3d6p"):
        ligand = load_ligand(EXAMPLES / name / f"{name}_ligand.sdf")
        crystal = torch.tensor(ligand.GetConformer().GetPositions(), dtype=torch.float32)
        out.append(build_complex(load_protein(EXAMPLES / name / f"{name}_protein.pdb.gz"), ligand,
                                 crystal_pos=crystal, pocket_radius=30.0, name=name))
    return out


def _offset(view, data):
    return view[K.POCKET_CENTER].reshape(3) - crystal_pose(data).mean(0)


def test_fixed_views_differ_between_complexes_and_repeat_per_seed(complexes):
    cfg = load_docking_config("cpu")
    a, b = complexes
    off_a = _offset(fixed_site_view(a, cfg, seed=3, noisy=True), a)
    off_b = _offset(fixed_site_view(b, cfg, seed=3, noisy=True), b)
    assert off_a.norm() > 1e-3 and off_b.norm() > 1e-3
    assert not torch.allclose(off_a, off_b)  # each complex its own offset (not one shared draw)
    torch.testing.assert_close(_offset(fixed_site_view(a, cfg, seed=3, noisy=True), a), off_a)
    assert not torch.allclose(_offset(fixed_site_view(a, cfg, seed=4, noisy=True), a), off_a)
    torch.testing.assert_close(_offset(fixed_site_view(a, cfg, seed=3, noisy=False), a), torch.zeros(3))


def test_training_view_draws_from_the_run_generator(complexes):
    cfg = load_docking_config("cpu_site")  # site noise uniform in a 2 A ball
    data = complexes[0]
    gen = torch.Generator().manual_seed(0)
    offsets = torch.stack([_offset(training_view(data, cfg, gen), data) for _ in range(200)])
    assert offsets.norm(dim=1).max() <= cfg.data.pocket_noise + 1e-5
    assert offsets.norm(dim=1).min() < 1.0 and offsets.norm(dim=1).max() > 1.5
    again = training_view(data, cfg, torch.Generator().manual_seed(0))
    torch.testing.assert_close(_offset(again, data), offsets[0])


def test_site_view_keeps_residues_within_the_radius(complexes):
    data = complexes[0]
    center = crystal_pose(data).mean(0)
    view = site_view(data, radius=12.0, offset=torch.tensor([1.0, 0.0, 0.0]))
    site = center + torch.tensor([1.0, 0.0, 0.0])
    dist = (view[K.RECEPTOR][K.POS] - site).norm(dim=1)
    assert (dist < 12.0).all()
    full = (data[K.RECEPTOR][K.POS] - site).norm(dim=1)
    assert int((full < 12.0).sum()) == view[K.RECEPTOR][K.POS].shape[0]
    assert view[K.RECEPTOR][K.SC_POS].shape == view[K.RECEPTOR][K.POS].shape


def test_ball_offsets_are_uniform_in_volume():
    gen = torch.Generator().manual_seed(0)
    r = torch.stack([site_offset(2.0, "ball", gen) for _ in range(4000)]).norm(dim=1)
    # Uniform in a ball of radius 2: P(r < 1) = 1/8.
    assert abs(float((r < 1.0).float().mean()) - 0.125) < 0.03
