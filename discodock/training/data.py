"""Training complexes for ``discodock train``: prepare (cached) and load them with the run's data config."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence

from torch_geometric.data import HeteroData

from discodock.config import DockingConfig
from discodock.data import keys as K
from discodock.data.pdbbind import read_split
from discodock.data.prepare import FeaturizationConfig, open_dataset, prepare_complexes
from discodock.errors import InputError

# Pocket-mode records keep residues this far beyond the training crop, so the noisy site centre
# (pocket_noise per axis) never reaches outside what was cached.
POCKET_MARGIN = 10.0


def featurization_for(cfg: DockingConfig) -> FeaturizationConfig:
    """The preprocessing a run's data config needs (its hash keys the cache)."""
    d = cfg.data
    return FeaturizationConfig(
        receptor_radius=d.receptor_radius,
        receptor_max_neighbours=d.receptor_max_neighbours,
        pocket_radius=d.pocket_radius + POCKET_MARGIN if d.mode == "pocket" else None,
        max_heavy_atoms=d.max_heavy_atoms,
        conformer_matching=d.conformer_matching,
        # Atoms are cached with the same margin as the residues; each view crops them to atom_radius.
        atom_radius=d.atom_radius + POCKET_MARGIN if d.pocket_atoms else None,
    )


def load_training_complexes(
    roots: Sequence[str | Path], ids_file: str | Path, cfg: DockingConfig, *, cache: str | Path,
    workers: int = 1, progress_bar: bool = True,
) -> list[HeteroData]:
    """Prepare (or reuse) the cached complexes listed in ``ids_file`` and load them into memory.

    Complexes that cannot be used are skipped with their reason in ``<cache>/<key>/skipped.tsv``; a summary
    line goes to stderr.
    """
    ids_file = Path(ids_file)
    if not ids_file.is_file():
        raise InputError(ids_file, "ID list not found")
    return load_complexes(roots, read_split(ids_file), cfg, cache=cache, source=ids_file, workers=workers,
                          progress_bar=progress_bar)


def load_complexes(
    roots: Sequence[str | Path], ids: Sequence[str], cfg: DockingConfig, *, cache: str | Path,
    source: str | Path | None = None, workers: int = 1, progress_bar: bool = True,
) -> list[HeteroData]:
    """:func:`load_training_complexes` for IDs already in hand; ``source`` names them in messages."""
    ids = list(ids)
    if not ids:
        raise InputError(source, "ID list is empty")
    for root in roots:
        if not Path(root).is_dir():
            raise InputError(root, "data folder not found")
    fc = featurization_for(cfg)
    summary = prepare_complexes(list(roots), ids=ids, cache_root=cache, config=fc, workers=workers,
                                progress=progress_bar)
    dataset = open_dataset(cache, config=fc, ids=ids)
    items = [dataset[i] for i in range(len(dataset))]
    kept = [d for d in items if d[K.RECEPTOR][K.POS].shape[0] <= cfg.data.max_residues]
    too_big = (f", {len(items) - len(kept)} over data.max_residues = {cfg.data.max_residues}"
               if len(kept) < len(items) else "")
    items = kept
    name = Path(source).name if source is not None else f"{len(ids)} IDs"
    print(f"{name}: {len(items)} of {len(ids)} complexes usable ({len(summary.skipped)} skipped, reasons in "
          f"{summary.cache_dir}/skipped.tsv{too_big})", file=sys.stderr)
    if not items:
        raise InputError(source, "none of the listed complexes could be prepared")
    return items
