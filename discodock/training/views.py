"""What each network trains on: the complex seen from its binding site (pocket mode) or whole (blind mode).

Every view goes through :func:`discodock.data.pocket.site_view`, the one pocket crop. The score stage draws a
fresh site offset per step from the run's generator (a user's site is never exactly the crystal centroid);
the prior and the confidence stage use one fixed view per complex: the prior crops at the crystal centroid
so the encoder's and the prior's items are the same residues, and the confidence stage draws each complex's
site offset from a generator seeded by the run's seed and the complex's name.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch_geometric.data import HeteroData

from discodock.config import DockingConfig
from discodock.data import keys as K
from discodock.data.graph import collate_complexes
from discodock.data.pocket import complex_generator, site_offset, site_view


def _crop(data: HeteroData, cfg: DockingConfig, offset: torch.Tensor | None) -> HeteroData:
    d = cfg.data
    return site_view(data, radius=d.pocket_radius, offset=offset, receptor_radius=d.receptor_radius,
                     receptor_max_neighbours=d.receptor_max_neighbours, **d.atom_view())


def training_view(data: HeteroData, cfg: DockingConfig, generator: torch.Generator) -> HeteroData:
    """The score stage's view: the receptor cropped around the crystal centroid plus a random site offset."""
    if cfg.data.mode != "pocket":
        return data
    return _crop(data, cfg, site_offset(cfg.data.pocket_noise, cfg.data.pocket_noise_shape, generator))


def fixed_site_view(data: HeteroData, cfg: DockingConfig, *, seed: int, noisy: bool) -> HeteroData:
    """One view per complex, the same every call: at the crystal centroid (``noisy=False``) or offset by a
    draw seeded from ``seed`` and the complex's name (``noisy=True``: two complexes get different offsets)."""
    if cfg.data.mode != "pocket":
        return data
    offset = None
    if noisy:
        name = data[K.NAME] if K.NAME in data else ""
        offset = site_offset(cfg.data.pocket_noise, cfg.data.pocket_noise_shape, complex_generator(seed, name))
    return _crop(data, cfg, offset)


def make_batch(items: Sequence[HeteroData], cfg: DockingConfig, generator: torch.Generator,
               device: torch.device) -> HeteroData:
    """A batch of training views on ``device``."""
    return collate_complexes([training_view(d, cfg, generator) for d in items]).to(device)
