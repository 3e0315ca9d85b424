"""Confidence model: ranks sampled poses by the predicted probability that they lie within 2 A of the crystal.

A small invariant graph network (the encoder-sized trunk, no noise level, no latents) reads the complex with
the ligand at a candidate pose and outputs one logit. Its training (on the score model's own samples,
labelled by RMSD < 2 A, as in DiffDock) is :mod:`discodock.training.confidence`.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import Tensor, nn
from torch_geometric.data import HeteroData

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
