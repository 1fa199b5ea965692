"""Configuration of the geolocation model: every architectural choice in one documented object.

A saved model folder (``config.json`` + ``model.safetensors``) rebuilds exactly from this
config; it also records what the model was trained on and its evaluation table, so the
app can show an analyst what stands behind a prediction.
"""
from __future__ import annotations

from typing import Literal

from huggingface_hub.dataclasses import strict
from transformers import CLIPVisionConfig, PreTrainedConfig


@strict
class GeoLocatorConfig(PreTrainedConfig):
    r"""
    Args:
        vision_config (`dict` or `CLIPVisionConfig`):
            Architecture of the frozen CLIP vision backbone (kept inside this config so the
            model builds offline from the folder alone).
        backbone_name_or_path (`str`, *optional*):
            Hugging Face id or local folder the backbone weights came from (provenance; and
            where they are reloaded from when the folder was saved without them).
        backbone_bundled (`bool`, defaults to True):
            Whether ``model.safetensors`` contains the backbone weights (one folder is then a
            complete model for an air-gapped workstation).
        feature_source (`"tokens"` or `"pooled"`):
            Which backbone output feeds the head: all tokens of the last hidden state (the
            thesis's choice) or the pooled CLS embedding only (a 1-token sequence; far smaller
            feature caches).
        head_width (`int`), num_head_layers (`int`, defaults to 2), num_attention_heads (`int`),
        mlp_ratio (`float`), dropout (`float`):
            The location head: Transformer encoder layers refining the backbone tokens.
        output_mode (`"sphere"` or `"latlon"`):
            ``sphere`` (default): a 3-vector normalised onto the unit sphere, with great-circle
            loss in km; ``latlon``: normalised latitude/longitude with the thesis's regression
            (mean squared error) loss.
        num_components (`int`, defaults to 1):
            Number of von Mises-Fisher mixture components (candidate locations); 1 is the
            thesis's single point. More than 1 needs ``uncertainty``.
        uncertainty (`bool`, defaults to True):
            Predict a vMF concentration per component and train with its negative log-likelihood,
            giving 50 % / 90 % radii per image.
        nll_weight (`float`): weight of the vMF negative log-likelihood in the loss.
        kappa_scale (`float`, defaults to 1.0):
            Calibration: concentrations are multiplied by this scalar at inference; fitted on
            validation data so that 90 % regions hold 90 % of true locations.
        trained_on (`dict`, *optional*): data sets, sizes and training settings, for the record.
        evaluation (`dict`, *optional*): the evaluation table of this checkpoint, for the record.
    """

    model_type = "geolocator"
    sub_configs_defaults = {"vision_config": CLIPVisionConfig}

    vision_config: dict | CLIPVisionConfig | None = None
    backbone_name_or_path: str | None = None
    backbone_bundled: bool = True
    feature_source: Literal["tokens", "pooled"] = "tokens"
    head_width: int = 512
    num_head_layers: int = 2
    num_attention_heads: int = 8
    mlp_ratio: float = 4.0
    dropout: float = 0.1
    output_mode: Literal["sphere", "latlon"] = "sphere"
    num_components: int = 1
    uncertainty: bool = True
    nll_weight: float = 1.0
    kappa_scale: float = 1.0
    trained_on: dict | None = None
    evaluation: dict | None = None

    def validate_architecture(self):
        """Part of `@strict`-powered validation."""
        if self.head_width % self.num_attention_heads != 0:
            raise ValueError(f"head_width ({self.head_width}) must be a multiple of num_attention_heads "
                             f"({self.num_attention_heads})")
        if self.num_components < 1:
            raise ValueError("num_components must be >= 1")
        if self.num_components > 1 and not self.uncertainty:
            raise ValueError("a mixture (num_components > 1) needs uncertainty=True: its weights are trained "
                             "by the von Mises-Fisher likelihood")
        if self.kappa_scale <= 0:
            raise ValueError("kappa_scale must be positive")
