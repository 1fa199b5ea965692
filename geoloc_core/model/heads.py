"""The geolocation parts on top of the frozen backbone, as small swappable modules (timm style).

``LocationHead``: the thesis's two Transformer encoder layers that refine CLIP token
embeddings. ``RegressionHead``: turns the refined summary token into K location
components (a unit 3-vector or normalised lat/lon each), their mixture weights and
von Mises-Fisher concentrations.
"""
from __future__ import annotations

import math

import torch
from torch import nn

LOG_KAPPA_MIN, LOG_KAPPA_MAX = -2.0, 20.0  # kappa from ~0.14 (whole globe) to ~5e8 (~0.3 km)


class LocationHead(nn.Module):
    """Project backbone tokens to ``width`` and refine them with ``num_layers`` encoder layers."""

    def __init__(self, in_dim: int, width: int, num_layers: int, num_heads: int, mlp_ratio: float, dropout: float):
        super().__init__()
        self.input_proj = nn.Linear(in_dim, width)
        layer = nn.TransformerEncoderLayer(width, num_heads, dim_feedforward=int(width * mlp_ratio), dropout=dropout,
                                           activation="gelu", batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=num_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(width)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, T, in_dim) -> (B, width): the refined first (CLS) token."""
        refined = self.encoder(self.input_proj(tokens))
        return self.norm(refined[:, 0])


def rowwise_linear(layer: nn.Linear, x: torch.Tensor) -> torch.Tensor:
    """``layer(x)`` for a (B, D) batch, each row computed alone in one fixed order.

    Why (issue #28): a (B, D) x (D, K) matrix product runs another kernel for one row than for sixteen,
    and the two round differently (1e-7 here, which the unit-vector normalisation turned into 1e-5
    degrees): one file's prediction changed with the files it was batched with. A product and a sum
    over D per row cost nothing at the head's size and do not depend on B."""
    return (x.unsqueeze(-2) * layer.weight).sum(-1) + layer.bias


class RegressionHead(nn.Module):
    """Summary vector -> K location components with weights and concentrations."""

    def __init__(self, width: int, num_components: int, output_mode: str, uncertainty: bool):
        super().__init__()
        self.num_components = num_components
        self.coord_dim = 3 if output_mode == "sphere" else 2
        self.uncertainty = uncertainty
        self.location = nn.Linear(width, num_components * self.coord_dim)
        self.mixture_logits = nn.Linear(width, num_components) if num_components > 1 else None
        self.log_kappa = nn.Linear(width, num_components) if uncertainty else None
        if self.log_kappa is not None:  # start broad (~country scale), learn to sharpen
            nn.init.zeros_(self.log_kappa.weight)
            nn.init.constant_(self.log_kappa.bias, math.log(50.0))

    def forward(self, summary: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        batch = summary.shape[0]
        coords = rowwise_linear(self.location, summary).view(batch, self.num_components, self.coord_dim)
        if self.mixture_logits is not None:
            log_weights = torch.log_softmax(rowwise_linear(self.mixture_logits, summary), dim=-1)
        else:
            log_weights = summary.new_zeros(batch, 1)
        kappa = None
        if self.log_kappa is not None:
            kappa = torch.exp(rowwise_linear(self.log_kappa, summary).clamp(LOG_KAPPA_MIN, LOG_KAPPA_MAX))
        return coords, log_weights, kappa
