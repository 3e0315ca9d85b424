"""Golden poses: the shipped pocket weights' seeded poses for the four ``data/examples`` complexes.

The path pinned is the diffusion sampler then one Vina local optimisation (``--refine vina``, no random
starts): the model's own poses. The Monte Carlo search has its own tests; its Metropolis steps would turn
last-bit differences between CPUs into different poses.

Docking with a fixed seed must give the same poses, in the same order, as when the golden file was written,
within ``TOLERANCE`` Angstrom per atom: a refactor cannot silently change docking. A deliberate change of
the model or the sampler rewrites the file (``python tests/integration/test_golden_poses.py --write``) in
the same commit, which makes the change visible in review.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from rdkit import Chem

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "data" / "golden_poses.npz"
EXAMPLES = REPO / "data" / "examples"
COMPLEXES = ("3d6p", "5n17", "5y12", "6ce6")
TOLERANCE = 1e-3  # Angstrom, per atom
SAMPLES, STEPS, SEED = 4, 10, 0


def dock_examples() -> dict[str, np.ndarray]:
    """``{name: [S, N, 3] ranked pose coordinates, name_scores: [S] Vina scores}``: the shipped weights' samples,
    refined by Vina's local optimisation and ranked by its score."""
    from discodock.sampling.pipeline import DockSettings, load_docker

    docker = load_docker(device="cpu")
    out: dict[str, np.ndarray] = {}
    for name in COMPLEXES:
        folder = EXAMPLES / name
        crystal = Chem.MolFromMolFile(str(folder / f"{name}_ligand.sdf"))
        site = np.round(crystal.GetConformer().GetPositions().mean(0), 1).tolist()
        result = docker.dock(folder / f"{name}_protein.pdb.gz", str(folder / f"{name}_ligand.sdf"), name=name,
                             pocket_center=site, settings=DockSettings(samples=SAMPLES, steps=STEPS, refine="vina", rank="vina"), seed=SEED)
        out[name] = np.stack([p.mol.GetConformer().GetPositions() for p in result.poses])
        out[f"{name}_scores"] = np.array([p.vina_score for p in result.poses], dtype=np.float64)
    return out


@pytest.mark.slow
def test_seeded_poses_match_the_golden_file():
    golden = np.load(GOLDEN)
    now = dock_examples()
    for name in COMPLEXES:
        assert now[name].shape == golden[name].shape, name
        err = np.linalg.norm(now[name] - golden[name], axis=-1).max()
        assert err < TOLERANCE, f"{name}: poses moved by up to {err:.2e} A"
        np.testing.assert_allclose(now[f"{name}_scores"], golden[f"{name}_scores"], atol=1e-3)


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        raise SystemExit("usage: python tests/integration/test_golden_poses.py --write")
    np.savez_compressed(GOLDEN, **dock_examples())
    print(f"wrote {GOLDEN}")
