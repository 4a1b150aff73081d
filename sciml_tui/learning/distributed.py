"""DDP plumbing for one run over several processes (torchrun sets RANK / WORLD_SIZE)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from sciml_tui.errors import UserError


@dataclass
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world > 1


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    if name == "auto":
        return torch.device(f"cuda:{local_rank}") if torch.cuda.is_available() else torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise UserError(f"device {name!r} asked for, but CUDA is not available here (use device: cpu or auto)")
        if name == "cuda":
            return torch.device(f"cuda:{local_rank}")
    try:
        return torch.device(name)
    except RuntimeError:
        raise UserError(f"unknown device {name!r} (auto, cpu, cuda or cuda:N)") from None


def init_distributed(device_name: str) -> tuple[Dist, torch.device]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    info = Dist(int(os.environ.get("RANK", "0")), world, int(os.environ.get("LOCAL_RANK", "0")))
    device = resolve_device(device_name, info.local_rank)
    if info.active and not dist.is_initialized():
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return info, device


def all_reduce_sum(t: torch.Tensor, info: Dist) -> torch.Tensor:
    if info.active:
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t


def barrier(info: Dist) -> None:
    if info.active:
        dist.barrier()


def shutdown(info: Dist) -> None:
    if info.active and dist.is_initialized():
        dist.destroy_process_group()
