"""Per-residue binding-site classifier: an invariant message-passing network over the receptor's residues.

It reads :class:`discodock.data.site_residues.SiteGraph` (invariant node and edge features), so its output
does not change when the protein is rotated or moved. It returns one logit per residue: how likely the
residue lines the ligand's binding site. Its softmax over residues is the prior of the site-picking
(pointer) latent; :mod:`discodock.sampling.sites` turns the probabilities into a few distinct sites.

Weights ship as ``discodock/weights/site_predictor.pt``: ``{"format": "discodock-site-predictor",
"config": {...}, "state": state_dict}``, so a checkpoint rebuilds its own network.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from discodock.data.site_residues import EDGE_FEATURE_DIM, NODE_FEATURE_DIM, SiteGraph
from discodock.errors import CheckpointError

FORMAT = "discodock-site-predictor"
WEIGHTS = Path(__file__).resolve().parents[1] / "weights" / "site_predictor.pt"


@dataclass(frozen=True)
class SitePredictorConfig:
    """Network sizes. ``hidden``: channels per residue; ``layers``: message-passing rounds; ``k``: the
    nearest-C-alpha neighbours of each residue; ``use_ligand``: feed the ligand scalars (else zeros)."""

    hidden: int = 64
    layers: int = 4
    k: int = 16
    dropout: float = 0.1
    use_ligand: bool = True


def _mlp(i: int, h: int, o: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(i, h), nn.SiLU(), nn.Linear(h, o))


class _Layer(nn.Module):
    def __init__(self, h: int, dropout: float):
        super().__init__()
        self.message = _mlp(2 * h + EDGE_FEATURE_DIM, h, h)
        self.update = _mlp(2 * h, h, h)
        self.norm = nn.LayerNorm(h)
        self.drop = nn.Dropout(dropout)

    def forward(self, h: Tensor, edge_index: Tensor, edge_attr: Tensor) -> Tensor:
        j, i = edge_index
        m = self.message(torch.cat([h[i], h[j], edge_attr], dim=1))
        agg = torch.zeros_like(h).index_add_(0, i, m)
        deg = torch.zeros(h.shape[0], 1, device=h.device).index_add_(0, i, torch.ones_like(m[:, :1]))
        agg = agg / deg.clamp_min(1.0)
        return self.norm(h + self.drop(self.update(torch.cat([h, agg], dim=1))))


class SitePredictor(nn.Module):
    """logits [R] = f(residue graph). Batches are concatenated graphs (edge indices offset)."""

    def __init__(self, *, config: SitePredictorConfig | None = None):
        super().__init__()
        self.config = config or SitePredictorConfig()
        h = self.config.hidden
        self.embed = _mlp(NODE_FEATURE_DIM, h, h)
        self.layers = nn.ModuleList([_Layer(h, self.config.dropout) for _ in range(self.config.layers)])
        self.head = _mlp(h, h, 1)

    def forward(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor) -> Tensor:
        if not self.config.use_ligand:
            x = x.clone()
            x[:, NODE_FEATURE_DIM - 4:] = 0.0
        h = self.embed(x)
        for layer in self.layers:
            h = layer(h, edge_index, edge_attr)
        return self.head(h).squeeze(-1)

    @torch.no_grad()
    def probabilities(self, graph: SiteGraph) -> Tensor:
        """Per-residue probability of lining the binding site: [R] in (0, 1)."""
        was = self.training
        self.eval()
        dev = next(self.parameters()).device
        out = torch.sigmoid(self(graph.x.to(dev), graph.edge_index.to(dev), graph.edge_attr.to(dev))).cpu()
        self.train(was)
        return out

    def export(self) -> dict:
        return {"format": FORMAT, "config": asdict(self.config), "state": self.state_dict()}


def load_site_predictor(path: str | Path | None = None, *, device: str | torch.device = "cpu") -> SitePredictor:
    """The site predictor of an exported file or a training checkpoint (default: the shipped weights)."""
    path = Path(path) if path is not None else WEIGHTS
    if not path.is_file():
        raise CheckpointError(path, "site-predictor weights not found")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # a corrupt or foreign file: torch raises many types
        raise CheckpointError(path, f"cannot read site-predictor weights ({type(err).__name__})") from None
    if isinstance(obj, dict) and "model" in obj and isinstance(obj["model"], dict):
        obj = obj["model"]  # a training checkpoint holds the exported model under "model"
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise CheckpointError(path, "not a discodock site-predictor file")
    model = SitePredictor(config=SitePredictorConfig(**obj["config"]))
    try:
        model.load_state_dict(obj["state"])
    except RuntimeError:
        raise CheckpointError(path, "site-predictor weights do not match the config inside the file") from None
    return model.to(device).eval()
