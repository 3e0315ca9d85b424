"""Confidence model: ranks sampled poses by the predicted probability that they lie within 2 A of the crystal.

A small invariant graph network (the encoder-sized trunk, no noise level, no latents) reads the complex with
the ligand at a candidate pose and outputs one logit. It is trained, as in DiffDock, on the score model's own
samples for the training complexes, labelled by their RMSD to the crystal pose (< 2 A: positive).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Sequence

import torch
from torch import Tensor, nn
from torch_geometric.data import HeteroData

from disco_core.training import JSONLLogger, progress
from discodock.data import keys as K
from discodock.data.graph import collate_complexes
from discodock.models.config import ModelConfig
from discodock.models.latent_encoder import run_unconditioned_trunk
from discodock.models.layers import mlp
from discodock.models.trunk import ComplexTrunk

RMSD_THRESHOLD = 2.0  # Angstrom: the success criterion the ranking should optimise


class ConfidenceModel(nn.Module):
    """p(RMSD < 2 A | complex, pose). Uses ``cfg.encoder`` sizes (no latents: the mode is irrelevant here)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        tc = dataclasses.replace(cfg.encoder)
        self.trunk = ComplexTrunk(tc, features=cfg.features, invariant_output=True)
        n_inv = sum(mul for mul, ir in self.trunk.out_irreps if ir.l == 0)
        self.head = mlp(2 * n_inv, 2 * tc.ns, 1)

    def forward(self, batch: HeteroData) -> Tensor:
        """Logits [B] for the ligand poses in ``batch[LIGAND].pos``."""
        out = run_unconditioned_trunk(self.trunk, batch, batch[K.LIGAND][K.POS])
        return self.head(out.pooled()).squeeze(-1)

    @torch.no_grad()
    def predict(self, data: HeteroData, positions: Tensor, *, batch_size: int = 16) -> Tensor:
        """Probabilities [S] for ``positions`` [S, N, 3], poses of the ligand of one complex ``data``."""
        was_training = self.training
        self.eval()
        out = []
        for start in range(0, positions.shape[0], batch_size):
            chunk = positions[start : start + batch_size]
            batch = collate_complexes([data] * chunk.shape[0]).to(positions.device)
            batch[K.LIGAND][K.POS] = chunk.reshape(-1, 3)
            out.append(torch.sigmoid(self(batch)))
        self.train(was_training)
        return torch.cat(out).cpu()


def _crystal(data: HeteroData) -> Tensor:
    return data[K.CRYSTAL_POS] if K.CRYSTAL_POS in data else data[K.LIGAND][K.POS]


def sample_training_poses(models, cfg, dataset: Sequence[HeteroData], *, samples: int, device: torch.device,
                          seed: int, show_progress: bool | None = None) -> list[tuple[HeteroData, Tensor, Tensor]]:
    """Per complex: (the view sampled on, [S, N, 3] poses with prior latents, [S] atom-order RMSD to the crystal,
    an upper bound of the symmetry-corrected one)."""
    from discodock.sampling.pipeline import Docker, DockSettings

    docker = Docker(models, cfg, device=device, checkpoint="(in training)", checkpoint_hash="")
    settings = DockSettings(samples=samples, steps=cfg.sampling.steps, latents="prior")
    gen = torch.Generator(device=device).manual_seed(seed)
    out = []
    for data in progress(dataset, desc="confidence poses", disable=None if show_progress is None else not show_progress):
        view = data
        if cfg.data.mode == "pocket":
            from discodock.data.pocket import crop_to_pocket

            center = _crystal(data).mean(0) + cfg.data.pocket_noise * torch.randn(3, generator=torch.Generator().manual_seed(seed))
            view = crop_to_pocket(data, center, cfg.data.pocket_radius, receptor_radius=cfg.data.receptor_radius,
                                  receptor_max_neighbours=cfg.data.receptor_max_neighbours)
        pos = docker.sample(view, settings=settings, generator=gen)
        rmsd = (pos - _crystal(view).unsqueeze(0)).pow(2).sum(-1).mean(-1).sqrt()
        out.append((view, pos, rmsd))
    return out


def train_confidence(cfg, models, train_set: Sequence[HeteroData], val_set: Sequence[HeteroData],
                     out_dir: str | Path, *, device: torch.device, show_progress: bool | None = None) -> dict:
    """Sample poses for the training (and validation) complexes, then fit the confidence classifier (BCE)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tc = cfg.train
    models.add_confidence()
    models.to(device)
    train_poses = sample_training_poses(models, cfg, train_set, samples=tc.confidence_samples, device=device,
                                        seed=tc.seed + 31, show_progress=show_progress)
    val_poses = sample_training_poses(models, cfg, val_set, samples=tc.confidence_samples, device=device,
                                      seed=tc.seed + 37, show_progress=show_progress) if val_set else []
    model = models.confidence
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=tc.lr)
    gen = torch.Generator().manual_seed(tc.seed + 41)
    logger = JSONLLogger(out_dir / "log.jsonl")
    pos_rate = float(torch.cat([r for _, _, r in train_poses]).lt(RMSD_THRESHOLD).float().mean())
    # Positives are rare for a weak score model: weight them so the classifier does not predict all-negative.
    pos_weight = torch.tensor((1 - pos_rate) / max(pos_rate, 1e-3), device=device).clamp(max=20.0)
    loss_fn = nn.BCEWithLogitsLoss(pos_weight=pos_weight)

    def make(items):
        views = [train_poses[i][0] for i in items]
        picks = [int(torch.randint(train_poses[i][1].shape[0], (1,), generator=gen)) for i in items]
        batch = collate_complexes(views).to(device)
        batch[K.LIGAND][K.POS] = torch.cat([train_poses[i][1][j] for i, j in zip(items, picks)]).to(device)
        labels = torch.stack([train_poses[i][2][j] for i, j in zip(items, picks)]).lt(RMSD_THRESHOLD).float()
        return batch, labels.to(device)

    for step in progress(range(1, tc.confidence_steps + 1), desc="confidence",
                         disable=None if show_progress is None else not show_progress):
        items = torch.randint(len(train_poses), (tc.batch_size,), generator=gen).tolist()
        batch, labels = make(items)
        loss = loss_fn(model(batch), labels)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), tc.grad_clip)
        opt.step()
        if step % tc.log_every == 0:
            logger.log(step=step, split="confidence_train", bce=loss.item())
    result = {"train_positive_rate": pos_rate}
    if val_poses:
        result.update(evaluate_ranking(model, val_poses))
        logger.log(step=tc.confidence_steps, split="confidence_val", **result)
    model.eval()
    return result


@torch.no_grad()
def evaluate_ranking(model: ConfidenceModel, poses) -> dict:
    """Top-1 success when ranking by confidence vs. by sample order (a random pick), on held-out samples."""
    top1_conf, top1_random, oracle = [], [], []
    for view, pos, rmsd in poses:
        conf = model.predict(view, pos.to(next(model.parameters()).device))
        top1_conf.append(float(rmsd[int(conf.argmax())] < RMSD_THRESHOLD))
        top1_random.append(float(rmsd[0] < RMSD_THRESHOLD))
        oracle.append(float(rmsd.min() < RMSD_THRESHOLD))
    n = max(len(poses), 1)
    return {"val_top1_confidence": sum(top1_conf) / n, "val_top1_unranked": sum(top1_random) / n,
            "val_oracle": sum(oracle) / n}
