"""Fixtures shared by the geometry and pose-diffusion tests: real ligands with rotatable-bond masks."""

import importlib.util
from pathlib import Path

import pytest
import torch


def _load_helper():
    # loaded by path so it works under any pytest import mode and cannot clash with other test modules
    path = Path(__file__).resolve().parent / "geometry" / "ligand_helper.py"
    spec = importlib.util.spec_from_file_location("_discodock_geometry_ligand_helper", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ligand_helper = _load_helper()


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def flexible_ligand():
    """5y12's ligand: 23 heavy atoms, 8 rotatable bonds by the helper's rule."""
    return ligand_helper.example_ligand("5y12")


@pytest.fixture(scope="session")
def ring_ligand():
    """3d6p's ligand: a nucleoside with a morpholine, 3 rotatable bonds."""
    return ligand_helper.example_ligand("3d6p")
