"""The score stage: the encoder reads the crystal complex -> straight-through latents (dropped with p) -> the
score net denoises a perturbed pose; loss = sum over pose components of MSE / expected score norm (no KL term).

Checkpoints hold the model, optimiser, EMA, the data sampler's position and every random generator, with the
resolved config, so a killed run resumes with no lost progress and the same next step.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import torch
from torch import Tensor, nn
from torch_geometric.data import HeteroData

from disco_core.training import (
    EMA, JSONLLogger, generator_state, linear_decay_lr, optimizer_step, progress, repair_underflowed_moments,
    restore_generator, save_checkpoint, set_lr,
)
from discodock.config import DockingConfig
from discodock.diffusion.components import perturb_pose
from discodock.diffusion.pose import Pose
from discodock.diffusion.loss import score_matching_loss
from discodock.data import keys as K
from discodock.errors import ConfigError
from discodock.models.bundle import DockingModels, export_weights, load_models, read_checkpoint, resolve_device
from discodock.training.distributed import check_replicas_agree, ddp_wrap, rank_world
from discodock.training.sampler import EpochSampler
from discodock.training.views import make_batch


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


@dataclasses.dataclass
class StageResult:
    step: int
    best_val: float
    out_dir: Path


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
    rank, world = rank_world()
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
        ckpt = read_checkpoint(last, device)
        st = ckpt["state"]
        models.load_state_dict(st["models"], strict=False)
        optimizer.load_state_dict(st["optimizer"])
        if repaired := repair_underflowed_moments(optimizer):  # a state committed with float16 moments
            print(f"discodock train: {last}: {repaired} second moments had underflowed to 0 (float16); set to the "
                  "first moment squared", file=sys.stderr)
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

    ddp = ddp_wrap(module, device)
    logger = JSONLLogger(out_dir / "log.jsonl") if is_main else None
    if logger is not None and resume:
        logger.drop_after(step, splits=("train", "val"))
    total = tc.steps if max_steps is None else min(tc.steps, max_steps)

    def checkpoint(path: Path) -> None:
        state = {
            "models": models.state_dict(), "optimizer": optimizer.state_dict(), "ema": ema.state_dict(),
            **generator_state(generator), "cpu_generator": cpu_gen.get_state(), "sampler": sampler.state_dict(),
        }
        save_checkpoint(path, state=state, config=cfg.to_checkpoint_dict(), step=step,
                        extra={"stage": "score", "best_val": best_val})

    bar = progress(total=total, initial=step, desc="score", disable=None if show_progress is None else not show_progress) \
        if is_main else None
    t_last = time.perf_counter()
    while step < total:
        module.train()
        items = [train_set[i] for i in sampler.next(tc.batch_size)]
        batch = make_batch(items, cfg, cpu_gen, device)
        loss, terms = ddp(batch, cfg, generator)
        lr = linear_decay_lr(step, lr=tc.lr, start=tc.lr_decay_start, end=tc.lr_decay_end or tc.steps,
                             final_lr=tc.final_lr)
        set_lr(optimizer, lr)
        grad_norm = optimizer_step(optimizer, loss, module.parameters(), grad_clip=tc.grad_clip, skip_nonfinite=True)
        if torch.isfinite(loss):
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
        check_replicas_agree(module)
    if is_main:
        with ema.applied_to(module):
            export_weights(models, cfg, out_dir / "weights.pt", step=step)
    return StageResult(step=step, best_val=best_val, out_dir=out_dir)


def _init_score_models(models: DockingModels, path: str, cfg: DockingConfig, device: torch.device) -> None:
    """Warm start: copy the score net and encoder of another checkpoint (exported weights; a training state's
    raw weights). The networks must match, except that this config may add the contact-pull head (which
    starts at zero, so the warm start keeps the parent's scores); diffusion and data settings may differ
    (pocket -> blind)."""
    src, src_cfg, _ = load_models(path, device=device)
    added = cfg.model.score.contact_pull and not src_cfg.model.score.contact_pull
    parent = dataclasses.replace(cfg.model, score=dataclasses.replace(cfg.model.score, contact_pull=False)) \
        if added else cfg.model
    if src_cfg.model != parent:
        raise ConfigError(path, "--init-from checkpoint has other networks than this config (model section differs)")
    for name in ("score", "encoder"):
        if getattr(src, name) is not None:  # an m = 0 model has no encoder (equal configs: neither has)
            missing, _ = getattr(models, name).load_state_dict(getattr(src, name).state_dict(), strict=not added)
            assert all(k.startswith(("contact_pull.", "contact_rbf.")) for k in missing), missing


def _restore_generator(generator: torch.Generator, state: dict[str, Any], *, seed: int, step: int) -> None:
    """A run moved between devices (say, continued on a GPU) cannot load its generator state; it reseeds from
    its seed and step: it goes on reproducibly, but not bit for bit as it would have on the first device."""
    if not restore_generator(generator, state, fallback_seed=seed + 104_729 * step):
        print(f"discodock train: resuming on {generator.device.type} a run checkpointed on "
              f"{state['generator_device']}; the noise generator restarts from the seed and step {step} "
              "(reproducible, not identical to an uninterrupted run)", file=sys.stderr)


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
