"""Multi-GPU and multi-node training through PyTorch's own engine: torchrun + DistributedDataParallel.

torchrun sets RANK, LOCAL_RANK and WORLD_SIZE; without them this is a single process.
NCCL on CUDA, Gloo on CPU (which is how the test suite exercises the same code path).

Long waits (one rank extracting features while another is done) never sit in a collective:
NCCL aborts a collective after 10 minutes. They watch the shared cache folder instead
(``feature_cache.build_cache``); collectives here are short.
"""
from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist


@dataclass
class DistContext:
    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()


def init_distributed() -> DistContext:
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if torch.cuda.is_available():
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    rank = dist.get_rank() if world_size > 1 else 0
    return DistContext(rank=rank, local_rank=local_rank, world_size=world_size, device=device)


def cleanup_distributed() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def reduce_sums(ctx: DistContext, values: list[float]) -> list[float]:
    """Sum of each value over all ranks (every rank gets the sums)."""
    if not ctx.enabled:
        return list(values)
    tensor = torch.tensor(values, dtype=torch.float64, device=ctx.device)
    dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor.tolist()


def reduce_max(ctx: DistContext, value: float) -> float:
    if not ctx.enabled:
        return value
    tensor = torch.tensor([value], dtype=torch.float64, device=ctx.device)
    dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
    return float(tensor.item())


class NotSharedError(RuntimeError):
    """A folder that all ranks must share is private to some node."""


def ensure_shared_dir(folder: str | Path, ctx: DistContext, what: str = "data.cache_dir") -> None:
    """Refuse to go on when ranks do not see the same folder (e.g. a node-local disk on several nodes):
    they would each rebuild the feature cache, and a partial cache on one node is never completed.
    Rank 0 writes a random token file; every rank looks for it; all ranks raise together."""
    if not ctx.enabled:
        return
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    token = [secrets.token_hex(8) if ctx.is_main else None]
    marker = None
    if ctx.is_main:
        marker = folder / f".shared-check-{token[0]}"
        marker.write_text(socket.gethostname(), encoding="utf-8")
    dist.broadcast_object_list(token, src=0)
    seen = (folder / f".shared-check-{token[0]}").is_file()
    report: list = [None] * ctx.world_size
    dist.all_gather_object(report, (ctx.rank, socket.gethostname(), seen))
    if marker is not None:
        marker.unlink(missing_ok=True)
    blind = [(rank, host) for rank, host, ok in report if not ok]
    if blind:
        hosts = ", ".join(f"rank {rank} on {host}" for rank, host in blind[:8])
        raise NotSharedError(
            f"{what} {folder} is not shared between the ranks: {hosts} cannot see a file that rank 0 wrote there. "
            f"Put it on storage every node mounts at the same path (NFS, Lustre, GPFS), or fill it once with "
            f"training.extract_features on such storage; training on node-local copies would rebuild and "
            f"overwrite the cache on each node.")
