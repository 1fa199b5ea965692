"""Where a predictor runs: its device, torch's threads beside it, and the threads that decode images.

Why a module of its own: both predictor kinds (the trained regressor in ``inference`` and the
zero-shot CLIP in ``zeroshot``) run the same way; kept here, below both, neither imports the other
for it.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import torch

from ..evidence.isolation import available_cores


def default_device() -> torch.device:
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


GPU_HOST_TORCH_THREADS = 1


def prepare_device(device: torch.device | None = None) -> torch.device:
    """The device a predictor runs on (CUDA when there is one). On the CPU torch gets one thread per core
    this process may use. Beside a GPU it gets ``GPU_HOST_TORCH_THREADS``: the host side of a GPU model
    is small tensors, yet torch's OpenMP pool of one thread per core spun after each of them, and on a
    16-core machine with an H200 that was 19 CPU-ms per image, taken from the inspection workers that
    feed the model (ViT-L/14 scan 343 -> 502 images/s with one thread, #18). Shared by both predictor kinds."""
    device = device or default_device()
    if device.type == "cpu":
        torch.set_num_threads(available_cores())
    elif device.type == "cuda":
        torch.set_num_threads(GPU_HOST_TORCH_THREADS)
    return device


def decoder_pool() -> ThreadPoolExecutor:
    """Threads that decode image files (Pillow releases the GIL while decoding)."""
    return ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1)), thread_name_prefix="geoloc-decode")


def batch_invariant(device: torch.device):
    """A context in which a model's answer for an image does not depend on the batch it is in (issue #28).

    On the CPU, scaled-dot-product attention is pinned to its reference ("math") implementation: the
    fused CPU kernel splits small attention problems by batch and rounds differently for one image than
    for sixteen (5e-8 on a 17-token, 8-wide head, which the head turned into 1e-5 degrees); the math
    path is one batched matrix product per image and head. Matrix products of CLIP's sizes were measured
    batch-invariant on this CPU already (and the fused kernel too at ViT-B/32 and ViT-L/14 sizes; the
    pin makes it hold for any size). Its cost, measured on the 2-core VM (batch 16, median of 5 runs):
    ViT-B/32-sized backbone 1.036 s vs 0.999 s (+4 %), four ViT-L/14 layers 3.25 s vs 3.05 s (+7 %).
    On a GPU nothing is changed (cuBLAS picks kernels by shape; not measured here): one device and
    one batch size give one answer there."""
    from contextlib import nullcontext

    from torch.nn.attention import SDPBackend, sdpa_kernel

    return sdpa_kernel(SDPBackend.MATH) if device.type == "cpu" else nullcontext()
