"""Training DisCo-DiffDock: the score model (+ latent encoder, end to end), the AR prior, the confidence model.

``python -m discodock.train`` (or ``discodock train``) runs one stage; ``torchrun --nproc_per_node=K -m
discodock.train ...`` runs the same code under DDP (gloo on CPU, NCCL on GPU) with a DistributedSampler.

Stages:
- ``score``: encoder reads the crystal complex -> straight-through latents (dropped with p) -> the score net
  denoises a perturbed pose; loss = sum over pose components of MSE / expected score norm (no KL term).
- ``prior``: codes from the frozen encoder are cached once; the AR prior learns them by cross-entropy from
  the protein + a fresh RDKit conformer at the site in a random orientation.
- ``confidence``: see :mod:`discodock.confidence`.

Checkpoints hold the model, optimiser, EMA, the data sampler's position and every random generator, with the
resolved config, so a killed run resumes with no lost progress and the same next step.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import sys
import time
from pathlib import Path
from typing import Any, Iterator, Sequence

import torch
from torch import Tensor, nn
from torch_geometric.data import HeteroData

from disco_core.training import (
    EMA, JSONLLogger, generator_state, linear_decay_lr, load_checkpoint, progress, restore_generator,
    save_checkpoint, set_lr,
)
from discodock.config import DockingConfig, load_docking_config
from discodock.data import keys as K
from discodock.data.graph import collate_complexes
from discodock.data.pocket import crop_to_pocket, place_reference_ligand, site_offset
from discodock.diffusion.components import Pose, perturb_pose
from discodock.diffusion.loss import score_matching_loss
from discodock.errors import CheckpointError, ConfigError, InputError
from discodock.models.config import ModelConfig
from discodock.models.latent_encoder import LatentEncoder
from discodock.models.prior import DockingPrior
from discodock.models.score_net import ScoreNet


# ------------------------------------------------------------------------------------------------- models


class DockingModels(nn.Module):
    """The networks of one checkpoint: score net, latent encoder and prior (when latents are on), confidence."""

    def __init__(self, cfg: ModelConfig, *, with_confidence: bool = False):
        super().__init__()
        self.cfg = cfg
        self.score = ScoreNet(cfg)
        self.encoder = LatentEncoder(cfg) if cfg.latent.active else None
        self.prior = DockingPrior(cfg) if cfg.latent.active else None
        self.confidence = None
        if with_confidence:
            from discodock.confidence import ConfidenceModel

            self.confidence = ConfidenceModel(cfg)

    def add_confidence(self) -> None:
        from discodock.confidence import ConfidenceModel

        if self.confidence is None:
            self.confidence = ConfidenceModel(self.cfg)


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device", "CUDA was asked for but no CUDA device is available")
    return device


# ------------------------------------------------------------------------------------------- data to batch


def training_view(data: HeteroData, cfg: DockingConfig, generator: torch.Generator) -> HeteroData:
    """The graph the score net trains on: pocket mode crops the receptor around a noisy site centre."""
    if cfg.data.mode != "pocket":
        return data
    crystal = data[K.CRYSTAL_POS] if K.CRYSTAL_POS in data else data[K.LIGAND][K.POS]
    center = crystal.mean(0) + site_offset(cfg.data.pocket_noise, cfg.data.pocket_noise_shape, generator)
    return crop_to_pocket(
        data, center, cfg.data.pocket_radius,
        receptor_radius=cfg.data.receptor_radius, receptor_max_neighbours=cfg.data.receptor_max_neighbours,
    )


def make_batch(items: Sequence[HeteroData], cfg: DockingConfig, generator: torch.Generator,
               device: torch.device) -> HeteroData:
    return collate_complexes([training_view(d, cfg, generator) for d in items]).to(device)


class EpochSampler:
    """Deterministic shuffled epochs over ``n`` items, split across DDP ranks; its position is saved and restored
    so a resumed run sees exactly the batches it would have seen."""

    def __init__(self, n: int, *, seed: int, rank: int = 0, world: int = 1):
        if n == 0:
            raise InputError(None, "the training set is empty")
        self.n, self.seed, self.rank, self.world = n, seed, rank, world
        self.epoch, self.offset = 0, 0

    def _order(self) -> list[int]:
        g = torch.Generator().manual_seed(self.seed + 7919 * self.epoch)
        order = torch.randperm(self.n, generator=g).tolist()
        order += order[: (-len(order)) % self.world]  # pad so every rank gets the same count
        return order[self.rank :: self.world]

    def next(self, k: int) -> list[int]:
        out: list[int] = []
        while len(out) < k:
            order = self._order()
            take = order[self.offset : self.offset + k - len(out)]
            out += take
            self.offset += len(take)
            if self.offset >= len(order):
                self.epoch, self.offset = self.epoch + 1, 0
        return out

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "offset": self.offset}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.epoch, self.offset = int(state["epoch"]), int(state["offset"])


# ------------------------------------------------------------------------------------------------- losses


def score_predictions(
    models: DockingModels, batch: HeteroData, cfg: DockingConfig, generator: torch.Generator,
    *, t: Tensor | None = None, p_drop: float | None = None, latent_generator: torch.Generator | None = None,
) -> tuple[dict[str, Tensor], dict[str, Tensor], dict[str, Tensor]]:
    """Noise the batch's poses and predict their scores (latents from the encoder, straight-through).

    ``latent_generator`` (default ``generator``) draws the encoder's Gumbel noise; validation gives it its own
    so the noise draws on the poses are the same with and without latents. Returns ``(pred, targets,
    item_sigmas)`` as :func:`~discodock.diffusion.loss.score_matching_loss` takes them.
    """
    schedule = cfg.diffusion.schedule()
    b = int(batch.num_graphs)
    device = batch[K.LIGAND][K.POS].device
    gen_device = generator.device
    latents = None
    if models.encoder is not None:
        p = cfg.model.latent.dropout if p_drop is None else p_drop
        latents = models.encoder.encode(batch, temperature=1.0, generator=latent_generator or generator, p_drop=p)
        latents.pop("codes", None)
    if t is None:
        t = schedule.sample_times(b, generator=generator, device=gen_device)
    sigmas = {k: v.to(device) for k, v in schedule.sigmas(t.to(device)).items()}
    pose = Pose.from_complex(batch)
    noisy, targets, item_sigmas = perturb_pose(pose, sigmas, generator=generator)
    batch[K.LIGAND][K.POS] = noisy.pos
    pred = models.score(batch, sigma=sigmas, latents=latents)
    return pred, targets, item_sigmas


def score_loss(
    models: DockingModels, batch: HeteroData, cfg: DockingConfig, generator: torch.Generator,
    *, t: Tensor | None = None, p_drop: float | None = None, latent_generator: torch.Generator | None = None,
) -> tuple[Tensor, dict[str, Tensor]]:
    """Denoising score-matching loss of one batch (see :func:`score_predictions`)."""
    return score_matching_loss(*score_predictions(
        models, batch, cfg, generator, t=t, p_drop=p_drop, latent_generator=latent_generator
    ))


def _ddp_wrap(module: nn.Module, device: torch.device) -> nn.Module:
    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return module
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(module, device_ids=ids, find_unused_parameters=True)


# ------------------------------------------------------------------------------------------------ trainer


@dataclasses.dataclass
class StageResult:
    step: int
    best_val: float
    out_dir: Path


def _rank_world() -> tuple[int, int]:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


class _ScoreModule(nn.Module):
    """Score net + encoder as one module so DDP and the optimiser see both (trained end to end); its forward
    is the loss, so under DDP the gradients are synchronised."""

    def __init__(self, models: DockingModels):
        super().__init__()
        self.score = models.score
        self.encoder = models.encoder

    def forward(self, batch: HeteroData, cfg: DockingConfig, generator: torch.Generator):
        return score_loss(self, batch, cfg, generator)


def train_score(
    cfg: DockingConfig,
    train_set: Sequence[HeteroData],
    val_set: Sequence[HeteroData],
    out_dir: str | Path,
    *,
    resume: bool = False,
    device: str | torch.device = "auto",
    max_steps: int | None = None,
    show_progress: bool | None = None,
) -> StageResult:
    """Train score net + encoder end to end; checkpoints ``last.pt`` every ``ckpt_every`` steps and ``best.pt``
    by validation loss (EMA weights). ``max_steps`` stops early (e.g. to test resume)."""
    tc = cfg.train
    device = resolve_device(device)
    out_dir = Path(out_dir)
    rank, world = _rank_world()
    is_main = rank == 0
    out_dir.mkdir(parents=True, exist_ok=True)

    torch.manual_seed(tc.seed)
    models = DockingModels(cfg.model).to(device)
    last = out_dir / "last.pt"
    if tc.init_from and not (resume and last.exists()):
        _init_score_models(models, tc.init_from, cfg, device)  # before the EMA copies the weights
    module = _ScoreModule(models)
    optimizer = torch.optim.AdamW(module.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)
    ema = EMA(module, decay=tc.ema_decay, warmup=True)  # early averages must not be dominated by the init
    generator = torch.Generator(device=device).manual_seed(tc.seed * 1000 + rank)
    cpu_gen = torch.Generator().manual_seed(tc.seed * 1000 + 500 + rank)
    sampler = EpochSampler(len(train_set), seed=tc.seed, rank=rank, world=world)
    step, best_val = 0, math.inf

    if resume and last.exists():
        ckpt = _load(last, device)
        st = ckpt["state"]
        models.load_state_dict(st["models"], strict=False)
        optimizer.load_state_dict(st["optimizer"])
        ema.load_state_dict(st["ema"])
        _restore_generator(generator, st, seed=tc.seed * 1000 + rank, step=ckpt["step"])
        cpu_gen.set_state(st["cpu_generator"].cpu())  # map_location may have put it on the GPU
        sampler.load_state_dict(st["sampler"])
        step, best_val = ckpt["step"], float(ckpt["extra"].get("best_val", math.inf))
        if not tc.init_from:  # a resume need not name the warm start again; the checkpoints still record it
            tc.init_from = (ckpt.get("config") or {}).get("train", {}).get("init_from")
    elif resume:
        print(f"discodock train: no checkpoint at {last}; starting from {tc.init_from or 'scratch'}",
              file=sys.stderr)

    ddp = _ddp_wrap(module, device)
    logger = JSONLLogger(out_dir / "log.jsonl") if is_main else None
    if logger is not None and resume:
        logger.drop_after(step, splits=("train", "val"))
    total = tc.steps if max_steps is None else min(tc.steps, max_steps)

    def checkpoint(path: Path) -> None:
        state = {
            "models": models.state_dict(), "optimizer": optimizer.state_dict(), "ema": ema.state_dict(),
            **generator_state(generator), "cpu_generator": cpu_gen.get_state(), "sampler": sampler.state_dict(),
        }
        save_checkpoint(path, state=state, config=cfg.to_dict(), step=step,
                        extra={"stage": "score", "best_val": best_val})

    bar = progress(total=total, initial=step, desc="score", disable=None if show_progress is None else not show_progress) \
        if is_main else None
    t_last = time.perf_counter()
    while step < total:
        module.train()
        items = [train_set[i] for i in sampler.next(tc.batch_size)]
        batch = make_batch(items, cfg, cpu_gen, device)
        loss, terms = ddp(batch, cfg, generator)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(module.parameters(), tc.grad_clip)
        lr = linear_decay_lr(step, lr=tc.lr, start=tc.lr_decay_start, end=tc.lr_decay_end or tc.steps,
                             final_lr=tc.final_lr)
        set_lr(optimizer, lr)
        if torch.isfinite(loss):
            optimizer.step()
            ema.update(module)
        step += 1
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.3f}")
        if logger is not None and (step % tc.log_every == 0 or step == total):
            now = time.perf_counter()
            logger.log(step=step, split="train", loss=loss.item(), grad_norm=float(grad_norm), lr=lr,
                       **{f"loss_{k}": v.item() for k, v in terms.items()}, sec_per_step=(now - t_last) / tc.log_every)
            t_last = now
        if is_main and val_set and (step % tc.val_every == 0 or step == total):
            with ema.applied_to(module):
                val = validate_score(models, val_set, cfg, device=device)
            logger.log(step=step, split="val", **val)
            if val["loss"] < best_val:
                best_val = val["loss"]
                with ema.applied_to(module):
                    export_weights(models, cfg, out_dir / "best_weights.pt", step=step, extra={"val": val})
        if is_main and (step % tc.ckpt_every == 0 or step == total):
            checkpoint(last)
    if bar is not None:
        bar.close()
    if world > 1:
        _check_replicas_agree(module)
    if is_main:
        with ema.applied_to(module):
            export_weights(models, cfg, out_dir / "weights.pt", step=step)
    return StageResult(step=step, best_val=best_val, out_dir=out_dir)


def _init_score_models(models: DockingModels, path: str, cfg: DockingConfig, device: torch.device) -> None:
    """Warm start: copy the score net and encoder of another checkpoint (exported weights; a training state's
    raw weights). The networks must match; diffusion and data settings may differ (pocket -> blind)."""
    src, src_cfg, _ = load_models(path, device=device)
    if src_cfg.model != cfg.model:
        raise ConfigError(path, "--init-from checkpoint has other networks than this config (model section differs)")
    for name in ("score", "encoder"):
        if getattr(src, name) is not None:  # an m = 0 model has no encoder (equal configs: neither has)
            getattr(models, name).load_state_dict(getattr(src, name).state_dict())


def _restore_generator(generator: torch.Generator, state: dict[str, Any], *, seed: int, step: int) -> None:
    """A run moved between devices (say, continued on a GPU) cannot load its generator state; it reseeds from
    its seed and step: it goes on reproducibly, but not bit for bit as it would have on the first device."""
    if not restore_generator(generator, state, fallback_seed=seed + 104_729 * step):
        print(f"discodock train: resuming on {generator.device.type} a run checkpointed on "
              f"{state['generator_device']}; the noise generator restarts from the seed and step {step} "
              "(reproducible, not identical to an uninterrupted run)", file=sys.stderr)


def _check_replicas_agree(module: nn.Module, *, rtol: float = 1e-5) -> None:
    """Under DDP every rank must end with the same weights (gradients were all-reduced); a parameter that
    never received a synchronised gradient would drift silently, so compare a checksum across ranks."""
    flat = torch.cat([p.detach().reshape(-1).double() for p in module.parameters()])
    mine = torch.stack([flat.sum(), flat.abs().sum(), (flat * torch.arange(flat.numel(), device=flat.device)).sum()])
    everyone = [torch.zeros_like(mine) for _ in range(torch.distributed.get_world_size())]
    torch.distributed.all_gather(everyone, mine)
    for other in everyone[1:]:
        if not torch.allclose(other, everyone[0], rtol=rtol, atol=1e-8):
            raise RuntimeError(f"DDP replicas diverged: weight checksums {everyone[0].tolist()} vs {other.tolist()}")


@torch.no_grad()
def validate_score(models: DockingModels, val_set: Sequence[HeteroData], cfg: DockingConfig, *,
                   device: torch.device, seed: int = 1234) -> dict[str, float]:
    """Validation loss per component at each diffusion time of ``train.val_times`` on fixed noise draws (the
    same each time and, the latents having their own generator, the same with and without latents, so curves
    compare).

    Returns ``loss`` and ``loss_<comp>`` averaged over the times, plus ``loss_<comp>_t<t>`` per time. The
    per-time figures matter: near t = 1 the torsion and rotation targets are almost pure noise (the kernel
    is nearly uniform), so their loss there stays near 1 for any model and hides progress at low t.
    """
    models.eval()
    n = min(len(val_set), cfg.train.val_batches * cfg.train.batch_size)
    sums: dict[str, float] = {}
    count = 0
    for t_val in cfg.train.val_times:
        gen = torch.Generator(device=device).manual_seed(seed)
        latent_gen = torch.Generator(device=device).manual_seed(seed + 1)
        cpu_gen = torch.Generator().manual_seed(seed)
        for start in range(0, n, cfg.train.batch_size):
            items = [val_set[i] for i in range(start, min(n, start + cfg.train.batch_size))]
            batch = make_batch(items, cfg, cpu_gen, device)
            t = torch.full((len(items),), float(t_val), device=device)
            loss, terms = score_loss(models, batch, cfg, gen, t=t, p_drop=0.0, latent_generator=latent_gen)
            k = len(items)
            sums["loss"] = sums.get("loss", 0.0) + loss.item() * k
            for name, v in terms.items():
                sums[f"loss_{name}"] = sums.get(f"loss_{name}", 0.0) + v.item() * k
                key = f"loss_{name}_t{t_val:g}"
                sums[key] = sums.get(key, 0.0) + v.item() * k * len(cfg.train.val_times)
            count += k
    models.train()
    return {k: v / max(count, 1) for k, v in sums.items()}


# --------------------------------------------------------------------------------------------- weights io


def export_weights(models: DockingModels, cfg: DockingConfig, path: str | Path, *, step: int,
                   extra: dict[str, Any] | None = None) -> Path:
    """A small inference checkpoint: model weights (EMA when called inside ``ema.applied_to``) + config."""
    state = {"models": {k: v.detach().cpu() for k, v in models.state_dict().items()}}
    return save_checkpoint(path, state=state, config=cfg.to_dict(), step=step,
                           extra={"kind": "weights", **(extra or {})})


def _load(path: str | Path, device: torch.device | str = "cpu") -> dict[str, Any]:
    from disco_core.training.checkpoint import CheckpointLoadError

    try:
        return load_checkpoint(path, map_location=device)
    except CheckpointLoadError as err:
        raise CheckpointError(None, str(err)) from None


def load_models(path: str | Path, *, device: str | torch.device = "cpu") -> tuple[DockingModels, DockingConfig, dict]:
    """Rebuild the networks of a checkpoint (training or exported weights) from the config inside it."""
    from discodock.config import docking_config_from_dict

    ckpt = _load(path, device)
    try:
        score_cfg = ckpt["config"].get("model", {}).get("score", {})
        if "tor_edge_lmax" not in score_cfg:  # made before 2026-11-28, with the torsion head of then
            score_cfg.update(tor_edge_lmax=1, tor_fourier=0)
        cfg = docking_config_from_dict(ckpt["config"], source=path)
        state = ckpt["state"]["models"]
    except (KeyError, TypeError):
        raise CheckpointError(path, "not a discodock checkpoint (no model weights or config inside)") from None
    has_conf = any(k.startswith("confidence.") for k in state)
    models = DockingModels(cfg.model, with_confidence=has_conf)
    missing, unexpected = models.load_state_dict(state, strict=False)
    if unexpected or any(not k.startswith(("prior.", "confidence.")) for k in missing):
        raise CheckpointError(path, f"weights do not match the config inside it "
                                    f"({len(missing)} missing, {len(unexpected)} unexpected tensors)")
    ckpt["missing"] = missing
    return models.to(device).eval(), cfg, ckpt


# -------------------------------------------------------------------------------------------------- prior


@torch.no_grad()
def cache_codes(models: DockingModels, dataset: Sequence[HeteroData], cfg: DockingConfig, *,
                device: torch.device, batch_size: int = 8) -> list[Tensor]:
    """Deterministic (argmax) codes of the frozen encoder for every complex, as each complex's own item
    indices (``codes_to_local``), computed on the same pocket view the prior will see."""
    from discodock.models.latents import codes_to_local

    models.eval()
    out: list[Tensor] = []
    gen = torch.Generator().manual_seed(cfg.train.seed + 17)
    for start in range(0, len(dataset), batch_size):
        items = [_prior_view(dataset[i], cfg, gen, crop_seed=i) for i in range(start, min(len(dataset), start + batch_size))]
        batch = collate_complexes(items).to(device)
        codes = models.encoder.encode(batch, sample=False)["codes"]
        out.extend(codes_to_local(batch, codes).cpu().unbind(0))
    return out


def _prior_view(data: HeteroData, cfg: DockingConfig, gen: torch.Generator, *, crop_seed: int) -> HeteroData:
    """Deterministic pocket view for the prior: the receptor is cropped around the crystal centroid (no noise),
    so the encoder's items and the prior's items are the same residues."""
    if cfg.data.mode != "pocket":
        return data
    crystal = data[K.CRYSTAL_POS] if K.CRYSTAL_POS in data else data[K.LIGAND][K.POS]
    return crop_to_pocket(data, crystal.mean(0), cfg.data.pocket_radius,
                          receptor_radius=cfg.data.receptor_radius,
                          receptor_max_neighbours=cfg.data.receptor_max_neighbours)


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
    views = [_prior_view(d, cfg, gen, crop_seed=i) for i, d in enumerate(train_set)]
    val_views = [_prior_view(d, cfg, gen, crop_seed=i) for i, d in enumerate(val_set)]
    prior = models.prior
    prior.train()
    opt = torch.optim.AdamW(prior.parameters(), lr=tc.prior_lr)
    sampler = EpochSampler(len(views), seed=tc.seed + 5)
    logger = JSONLLogger(out_dir / "log.jsonl")
    from discodock.models.latents import codes_to_global

    def nll(idx: list[int], src_views, src_codes) -> Tensor:
        batch = collate_complexes([place_reference_ligand(src_views[i], gen) for i in idx]).to(device)
        local = torch.stack([src_codes[i] for i in idx]).to(device)
        return prior.loss(batch, codes_to_global(batch, local))

    result = {}
    for step in progress(range(1, tc.prior_steps + 1), desc="prior",
                         disable=None if show_progress is None else not show_progress):
        loss = nll(sampler.next(tc.batch_size), views, train_codes)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(prior.parameters(), tc.grad_clip)
        opt.step()
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


# ---------------------------------------------------------------------------------------------------- cli


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", required=True, help="configs/docking/<name>.yaml or a preset name (tiny, cpu, ...)")
    p.add_argument("--data", nargs="+", required=True, help="PDBBind-layout folder(s) or a prepared cache folder")
    p.add_argument("--train-ids", required=True, help="file with one complex ID per line")
    p.add_argument("--val-ids", help="file with one complex ID per line (validation)")
    p.add_argument("--out", required=True, help="run folder (checkpoints, log.jsonl, config.yaml)")
    p.add_argument("--stage", choices=["score", "prior", "confidence"], default="score")
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    p.add_argument("--cache", help="preprocessed-complex cache folder (default: OUT/../cache)")
    p.add_argument("--workers", type=int, default=1, help="processes for preprocessing")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--steps", type=int, help="override train.steps (or prior/confidence steps for those stages)")
    p.add_argument("--latent-mode", choices=["none", "pointer", "global"], help="override model.latent.mode")
    p.add_argument("--init-from", help="score stage: start from this checkpoint's score net and encoder "
                                        "(same model config; e.g. a blind run from a pocket model)")
    p.add_argument("--from-checkpoint", help="score checkpoint for --stage prior/confidence (default OUT/weights.pt)")
    p.add_argument("--quiet", action="store_true")


def run(args: argparse.Namespace) -> int:
    overrides: dict[str, Any] = {}
    if args.latent_mode:
        overrides["model.latent.mode"] = args.latent_mode
    if args.init_from:
        if not Path(args.init_from).is_file():
            raise InputError(args.init_from, "--init-from checkpoint not found")
        overrides["train.init_from"] = str(args.init_from)
    if args.steps is not None:
        key = {"score": "train.steps", "prior": "train.prior_steps", "confidence": "train.confidence_steps"}
        overrides[key[args.stage]] = args.steps
    cfg = load_docking_config(args.config, overrides)
    _maybe_init_distributed(args.device)
    from discodock.data.training_set import load_training_complexes

    cache = args.cache or str(Path(args.out).resolve().parent / "cache")
    train_set = load_training_complexes(args.data, args.train_ids, cfg, cache=cache, workers=args.workers,
                                        progress_bar=not args.quiet)
    val_set = load_training_complexes(args.data, args.val_ids, cfg, cache=cache, workers=args.workers,
                                      progress_bar=not args.quiet) if args.val_ids else []
    show = False if args.quiet else None
    if args.stage == "score":
        res = train_score(cfg, train_set, val_set, args.out, resume=args.resume, device=args.device,
                          show_progress=show)
        print(f"score stage: {res.step} steps, best validation loss {res.best_val:.4f}; weights in {res.out_dir}/weights.pt")
        return 0
    ckpt_path = args.from_checkpoint or str(Path(args.out) / "weights.pt")
    device = resolve_device(args.device)
    models, ckpt_cfg, source = load_models(ckpt_path, device=device)
    ckpt_cfg.train = dataclasses.replace(ckpt_cfg.train, **{k.split(".", 1)[1]: v for k, v in overrides.items()
                                                           if k.startswith("train.")})
    if args.stage == "prior":
        res = train_prior(ckpt_cfg, models, train_set, val_set, args.out, device=device, show_progress=show)
        export_weights(models, ckpt_cfg, Path(args.out) / "weights.pt", step=source["step"], extra={"prior": res})
        print(f"prior stage: {res}; weights (score + prior) in {args.out}/weights.pt")
        return 0
    from discodock.confidence import train_confidence

    res = train_confidence(ckpt_cfg, models, train_set, val_set, args.out, device=device, show_progress=show)
    export_weights(models, ckpt_cfg, Path(args.out) / "weights.pt", step=source["step"], extra={"confidence": res})
    print(f"confidence stage: {res}; weights in {args.out}/weights.pt")
    return 0


def _maybe_init_distributed(device: str) -> None:
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or torch.distributed.is_initialized():
        return
    backend = "nccl" if resolve_device(device).type == "cuda" else "gloo"
    torch.distributed.init_process_group(backend=backend)
    if backend == "nccl":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m discodock.train", description=__doc__.splitlines()[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except InputError as err:
        print(f"discodock train: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
