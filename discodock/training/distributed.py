"""Running a training stage under ``torchrun`` (DDP): process group, model wrapping and a final check that
every replica ended with the same weights."""

from __future__ import annotations

import os

import torch
from torch import nn

from discodock.models.bundle import resolve_device


def rank_world() -> tuple[int, int]:
    """(this process's rank, number of processes); (0, 1) outside DDP."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


def ddp_wrap(module: nn.Module, device: torch.device) -> nn.Module:
    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return module
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(module, device_ids=ids, find_unused_parameters=True)


def check_replicas_agree(module: nn.Module, *, rtol: float = 1e-5) -> None:
    """Under DDP every rank must end with the same weights (gradients were all-reduced); a parameter that
    never received a synchronised gradient would drift silently, so compare a checksum across ranks."""
    flat = torch.cat([p.detach().reshape(-1).double() for p in module.parameters()])
    mine = torch.stack([flat.sum(), flat.abs().sum(), (flat * torch.arange(flat.numel(), device=flat.device)).sum()])
    everyone = [torch.zeros_like(mine) for _ in range(torch.distributed.get_world_size())]
    torch.distributed.all_gather(everyone, mine)
    for other in everyone[1:]:
        if not torch.allclose(other, everyone[0], rtol=rtol, atol=1e-8):
            raise RuntimeError(f"DDP replicas diverged: weight checksums {everyone[0].tolist()} vs {other.tolist()}")


def init_distributed(device: str) -> None:
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or torch.distributed.is_initialized():
        return
    backend = "nccl" if resolve_device(device).type == "cuda" else "gloo"
    torch.distributed.init_process_group(backend=backend)
    if backend == "nccl":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))


def finish_distributed() -> None:
    """Tear the process group down before exit (under DDP; nothing otherwise)."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
