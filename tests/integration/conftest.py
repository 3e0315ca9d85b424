"""Shared fixtures for the end-to-end tests: real example complexes and a tiny checkpoint trained once."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "data" / "examples"
IDS = ["6ce6", "5y12", "5n17", "3d6p"]


def fit_one_batch(models, batch, cfg, params, *, steps: int) -> list[dict]:
    """``steps`` Adam steps on one batch with the same noise draws each time; the loss terms per step."""
    from discodock.training.score import score_loss

    opt = torch.optim.Adam(params, lr=3e-3)
    history = []
    for _ in range(steps):
        loss, terms = score_loss(models, batch.clone(), cfg, torch.Generator().manual_seed(2), p_drop=0.0)
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append({k: v.item() for k, v in terms.items()} | {"total": loss.item()})
    first, last = history[0], history[-1]
    assert last["total"] < 0.5 * first["total"], (first, last)
    for name in ("tr", "rot", "tor"):
        assert last[name] < first[name], (name, first, last)
    return history


def tiny_config(**overrides):
    from discodock.config import load_docking_config

    base = {
        "train.steps": 40, "train.batch_size": 2, "train.lr": 3e-3, "train.val_every": 20, "train.ckpt_every": 5,
        "train.val_batches": 2, "train.log_every": 5, "train.prior_steps": 10, "train.confidence_steps": 5,
        "train.confidence_samples": 2, "diffusion.tr_max": 6.0, "sampling.steps": 4,
    }
    base.update(overrides)
    return load_docking_config("tiny", base)


@pytest.fixture(scope="session")
def example_complexes():
    """The four shipped example complexes as graphs (crystal pose as the target, full receptor)."""
    from discodock.data.graph import build_complex
    from discodock.data.parsing import load_ligand, load_protein

    out = []
    for pid in IDS:
        mol = load_ligand(EXAMPLES / pid / f"{pid}_ligand.sdf")
        crystal = torch.tensor(mol.GetConformer().GetPositions(), dtype=torch.float32)
        out.append(build_complex(load_protein(EXAMPLES / pid / f"{pid}_protein.pdb.gz"), mol, crystal_pos=crystal,
                                 name=pid))
    return out


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory, example_complexes):
    """A tiny model (score + prior + confidence) trained for a few steps: enough to exercise every stage."""
    from discodock.training.confidence import train_confidence
    from discodock.models.bundle import export_weights, load_models
    from discodock.training.prior import train_prior
    from discodock.training.score import train_score

    torch.manual_seed(0)
    out = tmp_path_factory.mktemp("tiny_run")
    cfg = tiny_config(**{"train.steps": 4})
    train_score(cfg, example_complexes[:3], example_complexes[3:], out, show_progress=False)
    models, cfg, _ = load_models(out / "weights.pt")
    train_prior(cfg, models, example_complexes[:3], [], out, device=torch.device("cpu"), show_progress=False)
    train_confidence(cfg, models, example_complexes[:2], [], out, device=torch.device("cpu"), show_progress=False)
    return export_weights(models, cfg, out / "final.pt", step=4)
