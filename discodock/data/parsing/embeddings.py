"""Per-residue embeddings a user supplies (e.g. ESM), read from .npy or .pt and checked against the receptor."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from discodock.data.parsing.files import _check_file
from discodock.errors import ProteinError


def _check_embedding(array: np.ndarray, source, num_residues: int | None) -> np.ndarray:
    if array.ndim != 2:
        raise ProteinError(source, f"expected a [residues, features] embedding array, got shape {tuple(array.shape)}")
    if num_residues is not None and array.shape[0] != num_residues:
        raise ProteinError(
            source, f"embedding has {array.shape[0]} rows but the protein has {num_residues} residues"
        )
    if not np.isfinite(array).all():
        raise ProteinError(source, "embedding contains NaN or infinite values")
    return array.astype(np.float32, copy=False)


def load_embeddings(path: str | Path, *, num_residues: int | None = None) -> np.ndarray:
    """Per-residue embeddings [R, D] float32 from a .npy or .pt file, checked against ``num_residues``.

    A .pt file may hold a tensor, a list of per-chain tensors (concatenated in order), or a dict with
    one tensor or ESM's ``{"representations": {layer: tensor}}`` (the highest layer is used).
    """
    import torch

    path = Path(path)
    _check_file(path, ProteinError)
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            array = np.load(path, allow_pickle=False)
        elif suffix == ".pt":
            obj = torch.load(path, map_location="cpu", weights_only=True)
            if isinstance(obj, dict) and "representations" in obj:
                reps = obj["representations"]
                obj = reps[max(reps)] if isinstance(reps, dict) else reps
            if isinstance(obj, dict):
                tensors = [v for v in obj.values() if isinstance(v, torch.Tensor)]
                if len(tensors) != 1:
                    raise ProteinError(path, "expected one embedding tensor in the .pt dict")
                obj = tensors[0]
            if isinstance(obj, (list, tuple)):
                obj = torch.cat([torch.as_tensor(t) for t in obj], dim=0)
            if not isinstance(obj, torch.Tensor):
                raise ProteinError(path, f"unsupported embedding content ({type(obj).__name__})")
            array = obj.detach().float().numpy()
        else:
            raise ProteinError(path, "unsupported embedding file type (use .npy or .pt)")
    except ProteinError:
        raise
    except Exception as err:  # corrupt file: numpy / torch raise many types
        raise ProteinError(path, f"cannot read embeddings ({type(err).__name__}: {err})") from None
    return _check_embedding(np.asarray(array, dtype=np.float32), path, num_residues)


# ----------------------------------------------------------------------------------------------- ligands
