"""The prior stage: codes from the frozen encoder are cached once; the AR prior learns them by cross-entropy
from the protein + a fresh RDKit conformer at the site in a random orientation (what it sees at docking)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import torch
from torch import Tensor
from torch_geometric.data import HeteroData

from disco_core.training import JSONLLogger, optimizer_step, progress
from discodock.config import DockingConfig
from discodock.data.graph import collate_complexes
from discodock.data.pocket import place_reference_ligand
from discodock.errors import ConfigError
from discodock.models.bundle import DockingModels, resolve_device
from discodock.models.latents import codes_to_global, codes_to_local
from discodock.training.sampler import EpochSampler
from discodock.training.views import fixed_site_view


@torch.no_grad()
def cache_codes(models: DockingModels, dataset: Sequence[HeteroData], cfg: DockingConfig, *,
                device: torch.device, batch_size: int = 8) -> list[Tensor]:
    """Deterministic (argmax) codes of the frozen encoder for every complex, as each complex's own item
    indices (``codes_to_local``), computed on the same pocket view the prior will see."""
    models.eval()
    out: list[Tensor] = []
    for start in range(0, len(dataset), batch_size):
        items = [fixed_site_view(dataset[i], cfg, seed=cfg.train.seed, noisy=False) for i in range(start, min(len(dataset), start + batch_size))]
        batch = collate_complexes(items).to(device)
        codes = models.encoder.encode(batch, sample=False)["codes"]
        out.extend(codes_to_local(batch, codes).cpu().unbind(0))
    return out


def train_prior(cfg: DockingConfig, models: DockingModels, train_set: Sequence[HeteroData],
                val_set: Sequence[HeteroData], out_dir: str | Path, *, device: str | torch.device = "auto",
                show_progress: bool | None = None) -> dict[str, float]:
    """Second stage: cache codes from the frozen encoder, then fit the AR prior by cross-entropy."""
    device = resolve_device(device)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if models.prior is None:
        raise ConfigError(None, "this model has no latents (m = 0): there is no prior to train")
    models.to(device)
    tc = cfg.train
    gen = torch.Generator().manual_seed(tc.seed + 99)
    train_codes = cache_codes(models, train_set, cfg, device=device)
    val_codes = cache_codes(models, val_set, cfg, device=device) if val_set else []
    torch.save({"train": train_codes, "val": val_codes}, out_dir / "codes.pt")
    views = [fixed_site_view(d, cfg, seed=tc.seed, noisy=False) for i, d in enumerate(train_set)]
    val_views = [fixed_site_view(d, cfg, seed=tc.seed, noisy=False) for i, d in enumerate(val_set)]
    prior = models.prior
    prior.train()
    opt = torch.optim.AdamW(prior.parameters(), lr=tc.prior_lr)
    sampler = EpochSampler(len(views), seed=tc.seed + 5)
    logger = JSONLLogger(out_dir / "log.jsonl")

    def nll(idx: list[int], src_views, src_codes) -> Tensor:
        batch = collate_complexes([place_reference_ligand(src_views[i], gen) for i in idx]).to(device)
        local = torch.stack([src_codes[i] for i in idx]).to(device)
        return prior.loss(batch, codes_to_global(batch, local))

    result = {}
    for step in progress(range(1, tc.prior_steps + 1), desc="prior",
                         disable=None if show_progress is None else not show_progress):
        loss = nll(sampler.next(tc.batch_size), views, train_codes)
        optimizer_step(opt, loss, prior.parameters(), grad_clip=tc.grad_clip)
        if step % tc.log_every == 0:
            logger.log(step=step, split="prior_train", nll=loss.item())
        if val_views and (step % tc.val_every == 0 or step == tc.prior_steps):
            prior.eval()
            with torch.no_grad():
                vals = [nll(list(range(s, min(len(val_views), s + tc.batch_size))), val_views, val_codes).item()
                        for s in range(0, len(val_views), tc.batch_size)]
            prior.train()
            result = {"val_nll": sum(vals) / len(vals), "train_nll": loss.item()}
            logger.log(step=step, split="prior_val", **result)
    prior.eval()
    return result
