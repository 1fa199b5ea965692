"""Calibration of the model's uncertainty with one scalar.

A network trained with a likelihood is often over- or under-confident on new data.
Multiplying every concentration kappa by one scalar s sharpens (s > 1) or widens (s < 1)
all regions together; s is fitted on the calibration split (data that neither trained the head
nor picked its epoch) so that the predicted 90 % region
holds 90 % of the true locations, then stored in the model config (``kappa_scale``).
"""
from __future__ import annotations

import math

import torch

from .distributions import angle_between, latlon_to_unit, mixture_radius_km, vmf_radius_km
from ..places.geodesy import EARTH_RADIUS_KM


def coverage_at_scale(unit, components, weights, kappa, targets_unit, scale: float, p: float = 0.9,
                      samples: int = 1024) -> float:
    """Share of targets within the p-region when concentrations are multiplied by ``scale``."""
    error_km = angle_between(unit, targets_unit) * EARTH_RADIUS_KM
    scaled = kappa * scale
    if kappa.shape[1] == 1:
        radius = vmf_radius_km(scaled[:, 0], p)
    else:
        generator = torch.Generator(device=unit.device).manual_seed(0)
        radius = mixture_radius_km(components, scaled, weights, unit, p, samples, generator)
    return float((error_km <= radius).float().mean())


def fit_kappa_scale(unit, components, weights, raw_kappa, true_lat, true_lon, target: float = 0.9,
                    iterations: int = 30) -> float:
    """Bisection on log(scale): coverage falls as the scale grows (regions shrink)."""
    targets_unit = latlon_to_unit(torch.as_tensor(true_lat, dtype=torch.float32),
                                  torch.as_tensor(true_lon, dtype=torch.float32))
    low, high = math.log(1e-4), math.log(1e4)
    for _ in range(iterations):
        middle = (low + high) / 2
        if coverage_at_scale(unit, components, weights, raw_kappa, targets_unit, math.exp(middle), target) >= target:
            low = middle  # still covering enough: can sharpen further
        else:
            high = middle
    return math.exp(low)
