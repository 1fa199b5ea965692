"""The geolocation model: frozen CLIP ViT -> two-layer Transformer location head -> regression head.

Follows the thesis "Geo-Localization of Images: Predicting Locations from Images Using
Regression-Based Models", with two additions an analyst needs: a seam-free ``sphere``
output and a calibrated von Mises-Fisher uncertainty (optionally a mixture, giving
top-k candidate locations with weights).

Composite-model pattern (transformers 5): the backbone's ``vision_config`` lives inside
our config and the backbone is *built* from it in ``__init__``; pretrained CLIP weights
are loaded by the separate constructor ``from_backbone``. The backbone is frozen after
every load, because ``requires_grad=False`` set in ``__init__`` does not survive
``from_pretrained``.

Precision: the backbone may run in bf16/fp16 (autocast or a half backbone), but the head and
the loss always run in fp32 with autocast switched off: bf16 keeps 8 bits of mantissa, which
rounds a unit-vector output by up to ~25 km and made the 1 km column meaningless.

Retrieval refinement (``retrieval.RetrievalIndex``, optional): when an index is attached
(``from_pretrained`` loads one saved beside the weights), the nearest training images inside
the regressor's predicted region move the point onto a landmark seen in training.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn
from transformers import AutoConfig, CLIPVisionModel, PreTrainedModel
from transformers.utils import ModelOutput
from transformers.utils import logging as hf_logging

from .configuration_geolocator import GeoLocatorConfig
from ..places.geodesy import EARTH_RADIUS_KM
from .heads import LocationHead, RegressionHead
from .distributions import (angle_between, latlon_to_unit, mixture_radius_km, unit_to_latlon, vmf_mixture_nll,
                        vmf_radius_km)

AutoConfig.register("geolocator", GeoLocatorConfig, exist_ok=True)
TEXT_TOWER_PREFIXES = ("text_model.", "text_projection", "visual_projection", "logit_scale")


def load_vision_tower(source: str, log: Callable[[str], None] | None) -> CLIPVisionModel:
    """CLIP vision weights from a hub id or folder, quietly.

    Hub CLIP checkpoints are whole CLIP models; transformers reports every text-tower tensor as
    an unexpected key (a 24-line table for ViT-L/14). That is expected here, so it becomes one
    short notice; missing vision weights are a real problem and raise."""
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        backbone, info = CLIPVisionModel.from_pretrained(source, output_loading_info=True)
    finally:
        hf_logging.set_verbosity(verbosity)
    if info.get("missing_keys"):
        missing = sorted(info["missing_keys"])
        raise ValueError(f"{source} lacks {len(missing)} CLIP vision weights (e.g. {missing[0]}); is it a CLIP "
                         f"vision model?")
    unexpected = list(info.get("unexpected_keys") or [])
    text = [k for k in unexpected if k.startswith(TEXT_TOWER_PREFIXES)]
    other = [k for k in unexpected if not k.startswith(TEXT_TOWER_PREFIXES)]
    if log is not None and text:
        log(f"backbone {source}: using its vision tower; the text tower ({len(text)} tensors) is not needed "
            f"and was skipped")
    if log is not None and other:
        log(f"backbone {source}: {len(other)} unrecognised tensors ignored (e.g. {sorted(other)[0]})")
    return backbone


@dataclass
class GeoLocatorOutput(ModelOutput):
    """What a forward pass returns; fields are read by name, never by position.

    loss: training loss (when ``labels`` are given). lat, lon: point estimate in degrees
    (B,), lon in [-180, 180). unit: point estimate as unit vector (B, 3). components: (B, K, 3)
    unit vectors, weights: (B, K) mixture weights, kappa: (B, K) calibrated concentrations
    (None without uncertainty). distance_km: great-circle error of the point estimate (with labels).
    """

    loss: torch.Tensor | None = None
    lat: torch.Tensor | None = None
    lon: torch.Tensor | None = None
    unit: torch.Tensor | None = None
    components: torch.Tensor | None = None
    weights: torch.Tensor | None = None
    kappa: torch.Tensor | None = None
    distance_km: torch.Tensor | None = None
    refined: torch.Tensor | None = None  # (B,) bool: point moved onto a retrieved training image


class GeoLocatorPreTrainedModel(PreTrainedModel):
    config_class = GeoLocatorConfig
    base_model_prefix = "geolocator"
    main_input_name = "pixel_values"
    _no_split_modules = ["CLIPEncoderLayer"]

    def _init_weights(self, module: nn.Module) -> None:
        """Nothing to do: the head keeps PyTorch's default initialisation (what
        nn.TransformerEncoderLayer is designed for; RegressionHead sets its own kappa bias),
        and the backbone is initialised by CLIPVisionModel itself or loaded from weights."""


class GeoLocator(GeoLocatorPreTrainedModel):
    def __init__(self, config: GeoLocatorConfig):
        super().__init__(config)
        self.backbone = CLIPVisionModel(config.vision_config)
        hidden = config.vision_config.hidden_size
        self.location_head = LocationHead(hidden, config.head_width, config.num_head_layers,
                                          config.num_attention_heads, config.mlp_ratio, config.dropout)
        self.regression_head = RegressionHead(config.head_width, config.num_components, config.output_mode,
                                              config.uncertainty)
        self.retrieval = None  # optional RetrievalIndex; not a parameter, saved in its own files
        self.post_init()

    # ----- construction and freezing -------------------------------------------------------
    @classmethod
    def from_backbone(cls, backbone_name_or_path: str | os.PathLike, log: Callable[[str], None] | None = None,
                      **config_kwargs) -> "GeoLocator":
        """A new model around pretrained CLIP vision weights (Hugging Face id or local folder).

        The head is freshly initialised: train it before use (see ``training/``). ``log`` receives
        one short notice when the checkpoint also holds a text tower (a full CLIP model)."""
        backbone = load_vision_tower(str(backbone_name_or_path), log)
        config = GeoLocatorConfig(vision_config=backbone.config.to_dict(),
                                  backbone_name_or_path=str(backbone_name_or_path), **config_kwargs)
        model = cls(config)
        model.backbone.load_state_dict(backbone.state_dict())
        model.freeze_backbone()
        return model

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *args, load_retrieval: bool = True,
                        **kwargs) -> "GeoLocator":
        """Load a saved geoloc model; a retrieval index saved beside it is attached unless
        ``load_retrieval=False`` (inference works without one)."""
        config = kwargs.get("config") or GeoLocatorConfig.from_pretrained(pretrained_model_name_or_path)
        kwargs["config"] = config
        if config.backbone_bundled:
            model = super().from_pretrained(pretrained_model_name_or_path, *args, **kwargs)
        else:  # backbone keys are missing by design: do not report them as a problem
            verbosity = hf_logging.get_verbosity()
            hf_logging.set_verbosity_error()
            try:
                model = super().from_pretrained(pretrained_model_name_or_path, *args, **kwargs)
            finally:
                hf_logging.set_verbosity(verbosity)
        if not model.config.backbone_bundled:
            source = model.config.backbone_name_or_path
            if not source:
                raise ValueError("this model was saved without its backbone and does not record where it came from")
            backbone = load_vision_tower(source, None)
            model.backbone.load_state_dict(backbone.state_dict())
        model.freeze_backbone()
        model.retrieval = None
        if load_retrieval and os.path.isdir(str(pretrained_model_name_or_path)):
            from .retrieval import RetrievalIndex

            model.retrieval = RetrievalIndex.load(pretrained_model_name_or_path)
        return model

    def save_pretrained(self, save_directory, include_backbone: bool = True, **kwargs) -> None:
        """Save config + safetensors. ``include_backbone=False`` stores only the head (small),
        and loading then fetches the backbone from ``backbone_name_or_path``."""
        self.config.backbone_bundled = include_backbone
        if not include_backbone:
            kwargs["state_dict"] = {k: v for k, v in self.state_dict().items() if not k.startswith("backbone.")}
        super().save_pretrained(save_directory, **kwargs)
        self.config.backbone_bundled = True
        if getattr(self, "retrieval", None) is not None:
            self.retrieval.save(save_directory)

    def freeze_backbone(self) -> None:
        for parameter in self.backbone.parameters():
            parameter.requires_grad_(False)
        self.backbone.eval()

    def train(self, mode: bool = True) -> "GeoLocator":
        super().train(mode)
        self.backbone.eval()  # frozen: dropout/statistics of the backbone never change
        return self

    # ----- forward ------------------------------------------------------------------------
    @torch.no_grad()
    def extract_features(self, pixel_values: torch.Tensor, return_pooled: bool = False):
        """Backbone outputs that feed the head: (B, T, H) tokens or (B, H) pooled embedding.
        This is exactly what the training feature cache stores. ``return_pooled`` also returns the
        pooled embedding (B, H) as the backbone computed it (what the retrieval index holds)."""
        outputs = self.backbone(pixel_values=pixel_values)
        features = outputs.pooler_output if self.config.feature_source == "pooled" else outputs.last_hidden_state
        return (features, outputs.pooler_output) if return_pooled else features

    def forward(self, pixel_values: torch.Tensor | None = None, features: torch.Tensor | None = None,
                labels: torch.Tensor | None = None, **kwargs) -> GeoLocatorOutput:
        """``labels``: (B, 2) true (lat, lon) in degrees. Give ``pixel_values`` or cached ``features``."""
        pooled = None
        if features is None:
            if pixel_values is None:
                raise ValueError("forward needs pixel_values or cached features")
            features, pooled = self.extract_features(pixel_values, return_pooled=True)
        with torch.autocast(features.device.type, enabled=False):  # the head and the loss in fp32, always
            output = self._head(features.float(), labels)
        if self.retrieval is not None and labels is None:
            queries = pooled.float() if pooled is not None else self.retrieval_embedding(features)
            self.retrieval.refine_output(output, queries, self.region_radii_km)
        return output

    def retrieval_embedding(self, features: torch.Tensor) -> torch.Tensor:
        """The pooled CLIP embedding from head input features (post-layernorm CLS token). Prefer the
        backbone's own ``pooler_output``: a CLS token rounded to fp16 (as cached) loses detail."""
        if features.dim() == 2:
            return features.float()
        norm = getattr(self.backbone, "post_layernorm", None) or self.backbone.vision_model.post_layernorm
        with torch.no_grad(), torch.autocast(features.device.type, enabled=False):
            return torch.nn.functional.layer_norm(features[:, 0].float(), norm.normalized_shape, norm.weight.float(),
                                                  norm.bias.float(), norm.eps)

    def _head(self, features: torch.Tensor, labels: torch.Tensor | None) -> GeoLocatorOutput:
        if features.dim() == 2:
            features = features.unsqueeze(1)
        summary = self.location_head(features)
        coords, log_weights, kappa = self.regression_head(summary)
        if self.config.output_mode == "sphere":
            components = coords / coords.norm(dim=-1, keepdim=True).clamp_min(1e-6)
        else:
            normalized = torch.tanh(coords)
            components = latlon_to_unit(normalized[..., 0] * 90.0, normalized[..., 1] * 180.0)
        top = log_weights.argmax(dim=-1)
        unit = components[torch.arange(components.shape[0], device=components.device), top]
        lat, lon = unit_to_latlon(unit)
        if kappa is not None:
            kappa = kappa.float() * self.config.kappa_scale
        output = GeoLocatorOutput(lat=lat, lon=lon, unit=unit, components=components, weights=log_weights.exp(),
                                  kappa=kappa)
        if labels is not None:
            output.loss, output.distance_km = self._loss(labels.float(), coords, components, unit, log_weights, kappa)
        return output

    def _loss(self, labels, coords, components, unit, log_weights, kappa):
        target = latlon_to_unit(labels[:, 0], labels[:, 1])
        angle = angle_between(unit, target)
        if self.config.output_mode == "sphere":
            loss = angle.mean()  # great-circle distance in Earth radii
        else:  # the thesis: regression on normalised (lat / 90, lon / 180)
            top = log_weights.argmax(dim=-1)
            predicted = torch.tanh(coords[torch.arange(coords.shape[0], device=coords.device), top])
            normalized_target = torch.stack([labels[:, 0] / 90.0, labels[:, 1] / 180.0], dim=-1)
            loss = nn.functional.mse_loss(predicted, normalized_target)
        if kappa is not None:
            loss = loss + self.config.nll_weight * vmf_mixture_nll(target, components, kappa, log_weights).mean()
        return loss, angle.detach() * EARTH_RADIUS_KM

    # ----- uncertainty --------------------------------------------------------------------
    def region_radii_km(self, output: GeoLocatorOutput, probabilities=(0.5, 0.9), samples: int = 4096,
                        seed: int = 0) -> list[torch.Tensor] | None:
        """Radius in km of the cap around the point estimate holding each probability. Exact for one
        component; sampled (fixed seed, repeatable) for a mixture. None without uncertainty."""
        if output.kappa is None:
            return None
        if output.kappa.shape[1] == 1:
            return [vmf_radius_km(output.kappa[:, 0], p) for p in probabilities]
        generator = torch.Generator(device=output.unit.device).manual_seed(seed)
        return [mixture_radius_km(output.components, output.kappa, output.weights, output.unit, p, samples, generator)
                for p in probabilities]
