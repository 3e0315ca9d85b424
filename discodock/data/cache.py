"""On-disk records of preprocessed complexes, and the torch Dataset that reads them.

One file per complex, written with ``torch.save`` and read with ``torch.load(weights_only=True)``: it holds
only plain tensors, strings and numbers (the ligand as an MDL molblock string), never pickled classes, so
a cache survives library upgrades. Files are written atomically (temporary name, then rename) so that an
interrupted run never leaves a truncated record behind.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from rdkit import Chem, rdBase
from torch_geometric.data import HeteroData

from discodock.data import keys as K
from discodock.errors import InputError

#: Version of the record layout below; part of the cache key.
RECORD_FORMAT = 1
RECORD_SUFFIX = ".pt"

# Extra graph-level fields of prepared training complexes (besides those in discodock.data.keys):
CONFORMER_POS = "conformer_pos"  # [N, 3] float: the RDKit conformer that conformer matching started from
MATCHING_RMSD = "matching_rmsd"  # [1] float: residual RMSD (A) of the matched pose (NaN when not matched)

_EDGE_SEP = "__"


def _store_key(type_) -> str:
    return _EDGE_SEP.join(type_) if isinstance(type_, tuple) else type_


def _store_type(key: str):
    parts = key.split(_EDGE_SEP)
    return tuple(parts) if len(parts) == 3 else key


def complex_to_record(data: HeteroData) -> dict:
    """A complex as a dict of plain tensors / strings (MOL as a molblock with its first conformer)."""
    record: dict = {"format": RECORD_FORMAT, "stores": {}, "graph": {}}
    for store in data.node_stores + data.edge_stores:
        key = _store_key(store._key)
        record["stores"][key] = {name: value for name, value in store.items() if isinstance(value, torch.Tensor)}
    for name, value in data.items():  # graph-level attributes
        if name == K.MOL:
            record["molblock"] = Chem.MolToMolBlock(value)
        elif isinstance(value, torch.Tensor):
            record["graph"][name] = value
        elif isinstance(value, (str, int, float)):
            record[name] = value
    return record


def record_to_complex(record: dict) -> HeteroData:
    """Inverse of :func:`complex_to_record`."""
    data = HeteroData()
    for key, fields in record["stores"].items():
        store = data[_store_type(key)]
        for name, value in fields.items():
            store[name] = value
    for name, value in record["graph"].items():
        data[name] = value
    for name, value in record.items():
        if name not in ("format", "stores", "graph", "molblock"):
            data[name] = value
    if "molblock" in record:
        with rdBase.BlockLogs():
            mol = Chem.MolFromMolBlock(record["molblock"], removeHs=False)
            if mol is None:  # keep the graph usable even if RDKit's perception changed
                mol = Chem.MolFromMolBlock(record["molblock"], sanitize=False, removeHs=False)
        data[K.MOL] = mol
    return data


def save_record(record: dict, path: str | Path) -> None:
    """Write one record atomically."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    torch.save(record, tmp)
    os.replace(tmp, path)


def load_record(path: str | Path) -> dict:
    """Read one record (plain data only; refuses pickled objects)."""
    try:
        record = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise InputError(path, "cached complex not found") from None
    except Exception as err:
        raise InputError(path, f"unreadable cached complex ({type(err).__name__}: {err}); delete it to rebuild") from None
    if not isinstance(record, dict) or record.get("format") != RECORD_FORMAT:
        raise InputError(path, f"cached complex has an incompatible format (expected format {RECORD_FORMAT})")
    return record


class ComplexDataset(torch.utils.data.Dataset):
    """Prepared complexes of one cache directory (see :func:`discodock.data.prepare.prepare_complexes`).

    Each item is a ``HeteroData`` with the fields of :mod:`discodock.data.keys`: the ligand POS is the
    conformer-matched pose (the crystal pose when matching was off), CRYSTAL_POS the crystal pose,
    CONFORMER_POS the RDKit conformer it was matched from (only with matching), MATCHING_RMSD the
    residual (NaN without matching). Batch with
    :func:`discodock.data.graph.collate_complexes`.

    Args:
        cache_dir: the keyed cache directory holding ``<id>.pt`` files.
        ids: complexes to include, in this order (default: every record in the directory, sorted). IDs
            without a record (skipped at preparation) are left out and listed in ``self.missing``.
    """

    def __init__(self, *, cache_dir: str | Path, ids: list[str] | None = None):
        self.cache_dir = Path(cache_dir)
        if not self.cache_dir.is_dir():
            raise InputError(self.cache_dir, "cache directory not found; run `discodock prepare` first")
        available = {p.name[: -len(RECORD_SUFFIX)] for p in self.cache_dir.glob(f"*{RECORD_SUFFIX}")}
        if ids is None:
            self.ids = sorted(available)
            self.missing: list[str] = []
        else:
            self.ids = [i for i in ids if i in available]
            self.missing = [i for i in ids if i not in available]

    def __len__(self) -> int:
        return len(self.ids)

    def path(self, index: int) -> Path:
        return self.cache_dir / f"{self.ids[index]}{RECORD_SUFFIX}"

    def __getitem__(self, index: int) -> HeteroData:
        return record_to_complex(load_record(self.path(index)))
