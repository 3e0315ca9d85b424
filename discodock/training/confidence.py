"""Training the confidence model: sample poses for the training complexes with the score model (prior
latents, each complex on its own seeded site view), label them by RMSD < 2 A to the crystal pose, and fit the
classifier by weighted binary cross-entropy."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import torch
from torch import Tensor, nn
from torch_geometric.data import HeteroData

from disco_core.training import JSONLLogger, optimizer_step, progress
from discodock.data import keys as K
from discodock.data.graph import collate_complexes
from discodock.data.pocket import crystal_pose
from discodock.models.confidence import RMSD_THRESHOLD, ConfidenceModel
from discodock.sampling.pipeline import Docker, DockSettings
from discodock.training.views import fixed_site_view


def sample_training_poses(models, cfg, dataset: Sequence[HeteroData], *, samples: int, device: torch.device,
                          seed: int, show_progress: bool | None = None) -> list[tuple[HeteroData, Tensor, Tensor]]:
    """Per complex: (the view sampled on, [S, N, 3] poses with prior latents, [S] atom-order RMSD to the crystal,
    an upper bound of the symmetry-corrected one)."""
    docker = Docker(models, cfg, device=device, checkpoint="(in training)", checkpoint_hash="")
    settings = DockSettings(samples=samples, latents="prior")
    gen = torch.Generator(device=device).manual_seed(seed)
    out = []
    for data in progress(dataset, desc="confidence poses", disable=None if show_progress is None else not show_progress):
        view = fixed_site_view(data, cfg, seed=seed, noisy=True)
        pos = docker.sample(view, settings=settings, generator=gen)
        rmsd = (pos - crystal_pose(view).unsqueeze(0)).pow(2).sum(-1).mean(-1).sqrt()
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
        optimizer_step(opt, loss, model.parameters(), grad_clip=tc.grad_clip)
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
