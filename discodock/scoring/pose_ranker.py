"""The learned pose ranking: p(RMSD < 2 A) of each pose in a pool from its features
(:mod:`discodock.scoring.pose_features`: Vina's score against the pool, agreement within the pool, element-pair
contacts, polar contacts, clashes, burial).

A small network on features, not on the pose model's graphs, so it does not go stale when new pose weights
ship: it is trained on pools from several sources (diffusion samples, a null model, Vina's own search, each
followed by Vina's optimisation) for training complexes (:mod:`discodock.training.ranker`). The shipped
weights are ``discodock/weights/pose_ranker.pt``; their checkpoint carries the feature names, the feature
scaling and the config that made them.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn

from discodock.errors import CheckpointError
from discodock.scoring.pose_features import FEATURE_NAMES, pose_features

FORMAT = "discodock-pose-ranker"
SHIPPED_RANKER = Path(__file__).resolve().parents[1] / "weights" / "pose_ranker.pt"


class PoseRanker(nn.Module):
    """Logit of p(RMSD < 2 A) per pose from ``len(feature_names)`` features (scaled by the stored mean and
    standard deviation of the training features); ``hidden``: width of the two hidden layers (0: a linear
    model, logistic regression on the features).

    The logit is Vina's ranking plus a learned correction: ``-vina_weight * (score - best score in the pool)
    + net(features)`` with the network's last layer starting at zero, so the untrained ranker orders a pool
    exactly as Vina's score does, and training moves away from that only as far as it pays on held-out
    complexes."""

    def __init__(self, *, feature_names: tuple[str, ...] = tuple(FEATURE_NAMES), hidden: int = 64,
                 dropout: float = 0.1):
        super().__init__()
        self.feature_names, self.hidden, self.dropout = tuple(feature_names), int(hidden), float(dropout)
        n = len(self.feature_names)
        self.register_buffer("mean", torch.zeros(n))
        self.register_buffer("std", torch.ones(n))
        self.net = nn.Linear(n, 1) if hidden == 0 else nn.Sequential(
            nn.Linear(n, hidden), nn.SiLU(), nn.Dropout(dropout), nn.Linear(hidden, hidden), nn.SiLU(),
            nn.Dropout(dropout), nn.Linear(hidden, 1))
        last = self.net if hidden == 0 else self.net[-1]
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
        self._vina = self.feature_names.index("vina_minus_best")
        self.vina_weight = nn.Parameter(torch.tensor(1.0))  # per kcal/mol

    def forward(self, features: Tensor) -> Tensor:
        """[P] logits for [P, F] features."""
        return -self.vina_weight * features[:, self._vina] + self.net((features - self.mean) / self.std).squeeze(-1)

    @torch.no_grad()
    def score_pool(self, positions: Tensor, ligand_elements: list[str], receptor_pos, receptor_elements: list[str],
                   vina_scores) -> Tensor:
        """[P] probabilities for a pool of poses (arguments as for
        :func:`~discodock.scoring.pose_features.pose_features`)."""
        was_training = self.training
        self.eval()
        features = pose_features(positions, ligand_elements, receptor_pos, receptor_elements, vina_scores)
        out = torch.sigmoid(self(features.to(self.mean.device))).cpu()
        self.train(was_training)
        return out

    def config(self) -> dict:
        return {"feature_names": list(self.feature_names), "hidden": self.hidden, "dropout": self.dropout}

    def save(self, path: str | Path, *, extra: dict | None = None) -> None:
        """Write the weights with their config; ``extra``: how they were trained (data, sources, validation)."""
        torch.save({"format": FORMAT, "config": self.config(), "state": self.state_dict(), "extra": extra or {}},
                   path)


def load_pose_ranker(path: str | Path | None = None, *, device: torch.device | str = "cpu") -> PoseRanker:
    """The ranker at ``path`` (default: the shipped weights). CheckpointError if missing or not a ranker, or if
    its features are not the ones this version computes."""
    path = Path(path) if path else SHIPPED_RANKER
    if not path.is_file():
        raise CheckpointError(path, "pose ranker weights not found")
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CheckpointError(path, "not a discodock pose ranker checkpoint")
    cfg = ckpt["config"]
    if list(cfg["feature_names"]) != list(FEATURE_NAMES):
        raise CheckpointError(path, "the ranker was trained on other pose features than this version computes")
    model = PoseRanker(feature_names=tuple(cfg["feature_names"]), hidden=cfg["hidden"], dropout=cfg["dropout"])
    model.load_state_dict(ckpt["state"])
    return model.to(device).eval()
