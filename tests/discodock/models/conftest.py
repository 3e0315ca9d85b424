"""Fixtures for the model tests: small real complexes from data/examples, configs and rigid motions."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

from discodock.data import keys as K

EXAMPLES = Path(__file__).resolve().parents[3] / "data" / "examples"
NAMES = ("6ce6", "3d6p")


def _load(name: str, pocket_radius: float, **atoms):
    from discodock.data.graph import build_complex
    from discodock.data.parsing import load_ligand, load_protein

    folder = EXAMPLES / name
    if not folder.is_dir():
        pytest.skip(f"example complex {name} not found in {EXAMPLES}")
    protein = load_protein(folder / f"{name}_protein.pdb.gz")
    ligand = load_ligand(folder / f"{name}_ligand.sdf")
    crystal = torch.tensor(ligand.GetConformer().GetPositions(), dtype=torch.float32)
    return build_complex(protein, ligand, crystal_pos=crystal, pocket_radius=pocket_radius, name=name, **atoms)


@pytest.fixture(scope="session")
def complexes():
    """Two pocket-cropped (12 A) real complexes, ligand at its crystal pose."""
    return [_load(name, 12.0) for name in NAMES]


@pytest.fixture(scope="session")
def atom_complexes():
    """The same two complexes with their heavy atoms within 10 A of the site as nodes (an all-atom pocket)."""
    return [_load(name, 12.0, atom_radius=10.0) for name in NAMES]


@pytest.fixture(scope="session")
def small_complex():
    """One complex cropped to residues within 9 A of the ligand centre (few items, for enumeration)."""
    return _load(NAMES[0], 9.0)


@pytest.fixture
def collate():
    from discodock.data.graph import collate_complexes

    return collate_complexes


@pytest.fixture
def make_cfg():
    """A tiny model config with the given latent mode (global: m=2 latents of k=4 codes; contact: the pointer
    latents as a ligand atom and a residue)."""
    from discodock.models.config import load_model_config, with_latent

    def make(mode: str = "pointer", **score):
        cfg = load_model_config("tiny")
        if mode == "global":
            cfg = with_latent(cfg, mode="global", m=2, k=4)
        elif mode == "none":
            cfg = with_latent(cfg, mode="none", m=0)
        elif mode == "contact":  # m = 2 pointer latents as a contact: a ligand atom, then a residue
            cfg = dataclasses.replace(cfg, latent=dataclasses.replace(cfg.latent, pointer_targets="contact"))
        if score:
            cfg = dataclasses.replace(cfg, score=dataclasses.replace(cfg.score, **score))
        return cfg

    return make


@pytest.fixture
def build(make_cfg):
    """``(cfg, model)``: a model class built on the tiny config with a latent mode, after seeding torch with 0;
    ``double=True`` gives it in float64 and eval mode (for equivariance checks)."""

    def make(cls, mode: str, *, double: bool = False):
        cfg = make_cfg(mode)
        torch.manual_seed(0)
        model = cls(cfg)
        return cfg, (model.double().eval() if double else model)

    return make


_COORDS = ((K.LIGAND, K.POS), (K.RECEPTOR, K.POS), (K.RECEPTOR, K.N_POS), (K.RECEPTOR, K.C_POS), (K.RECEPTOR, K.SC_POS),
           (K.RECEPTOR_ATOM, K.POS))
_FLOATS = ((K.LIGAND, K.X), (K.RECEPTOR, K.X), (K.LIGAND_BOND, K.EDGE_ATTR), (K.RECEPTOR_ATOM, K.X))


def _stores(batch, fields):
    """The (store, key) pairs of ``fields`` present in ``batch`` (without creating absent node types)."""
    present = set(batch.node_types) | set(batch.edge_types)
    return [(node, key) for node, key in fields if node in present and key in batch[node]]


def _global_coords(batch):
    return [key for key in (K.CRYSTAL_POS, K.POCKET_CENTER) if key in batch.keys()]


@pytest.fixture
def as_dtype():
    """A copy of a complex batch with every float field in ``dtype``."""

    def convert(batch, dtype):
        out = batch.clone()
        for node, key in _stores(out, _COORDS + _FLOATS):
            out[node][key] = out[node][key].to(dtype)
        for key in _global_coords(out):
            out[key] = out[key].to(dtype)
        return out

    return convert


@pytest.fixture
def move():
    """A copy of a batch with every coordinate (ligand, C-alpha, N, C, crystal pose, pocket) mapped x -> R x + t."""

    def apply(batch, rot, shift):
        out = batch.clone()
        for node, key in _stores(out, _COORDS):
            out[node][key] = out[node][key] @ rot.T + shift
        for key in _global_coords(out):
            out[key] = out[key] @ rot.T + shift
        return out

    return apply


@pytest.fixture
def rigid_motion():
    """A random proper rotation [3, 3] and translation [3] (float64)."""
    from discodock.geometry.rigid import random_rotations

    def draw(seed: int = 0):
        gen = torch.Generator().manual_seed(seed)
        rot = random_rotations(1, generator=gen, dtype=torch.float64)[0]
        return rot, 10.0 * torch.randn(3, generator=gen, dtype=torch.float64)

    return draw
