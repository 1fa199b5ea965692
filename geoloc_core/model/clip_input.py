"""CLIP's input pixels made where the file is inspected: in the isolated parser worker.

Why (issue #18): on a CPU the backbone uses every core, and each image also needs a decode at the
model's scale (~8 ms for a phone photo) and CLIP's resize and centre crop (~5 ms with the Hugging
Face processor, which ran on the model's own thread, between its batches). Done in the parser
workers instead, next to the inspection that already has the bytes, the scan process only
stacks uint8 crops and looks their normalised values up in a table, and the bytes the model
sees are the bytes that were hashed, read once, by the worker.

The crop is the Hugging Face ``CLIPImageProcessorPil`` recipe step for step (shortest edge resized
with the processor's resampling filter, ``int(size * long / short)`` for the long edge, centre crop
at ``(h - crop) // 2``, rescale in float64 then float32, ``(x - mean) / std`` in float32), so the
pixel values are the processor's, bit for bit (``tests/test_throughput.py`` compares them). A
processor configured any other way (padding, square resize, a crop larger than the resize) has no
``ClipInputSpec`` and is run as before.

No torch at module level: the parser workers import this module.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Sequence

import numpy as np
from PIL import Image

from ..evidence.imaging import ImageDecodeError, load_rgb
from ..evidence.information import too_little_information


@dataclass(frozen=True)
class ClipInputSpec:
    """Everything of a standard CLIP processor that decides its pixels (picklable: sent to workers)."""

    shortest_edge: int
    crop: int
    resample: int
    rescale_factor: float
    mean: tuple[float, float, float]
    std: tuple[float, float, float]

    @classmethod
    def from_processor(cls, processor: Any) -> "ClipInputSpec | None":
        """The spec of a Hugging Face image processor that follows CLIP's recipe; None otherwise."""
        size, crop = dict(getattr(processor, "size", None) or {}), dict(getattr(processor, "crop_size", None) or {})
        standard = (getattr(processor, "backend", "") == "pil"
                    and all(getattr(processor, flag, False) for flag in
                            ("do_resize", "do_center_crop", "do_rescale", "do_normalize", "do_convert_rgb"))
                    and not getattr(processor, "do_pad", False)
                    and set(k for k, v in size.items() if v) == {"shortest_edge"}
                    and crop.get("height") and crop.get("height") == crop.get("width")
                    and crop["height"] <= size["shortest_edge"]
                    and len(processor.image_mean) == 3 and len(processor.image_std) == 3)
        if not standard:
            return None
        resample = processor.resample if processor.resample is not None else Image.Resampling.BILINEAR
        return cls(int(size["shortest_edge"]), int(crop["height"]), int(resample), float(processor.rescale_factor),
                   tuple(float(m) for m in processor.image_mean), tuple(float(s) for s in processor.image_std))

    def crop_of(self, image: Image.Image) -> np.ndarray:
        """The resized, centre-cropped RGB pixels (crop x crop x 3, uint8) of an RGB image."""
        width, height = image.size
        short, long = (width, height) if width <= height else (height, width)
        new_short, new_long = self.shortest_edge, int(self.shortest_edge * long / short)
        new_height, new_width = (new_long, new_short) if width <= height else (new_short, new_long)
        resized = np.asarray(image.resize((new_width, new_height), resample=self.resample))
        top, left = (new_height - self.crop) // 2, (new_width - self.crop) // 2
        return np.ascontiguousarray(resized[top:top + self.crop, left:left + self.crop])

    def crop_from_bytes(self, data: bytes) -> np.ndarray:
        """File bytes -> the crop: decoded at a JPEG draft of ``shortest_edge`` (what
        ``preprocessing.model_input_side`` gives for this processor), oriented, resized, cropped."""
        return self.crop_of(load_rgb(data, draft_side=self.shortest_edge))

    def value_table(self) -> np.ndarray:
        """(3, 256) float32: the normalised value of every 8-bit level in each channel, computed by the
        processor's own arithmetic (float64 rescale, float32 cast, ``(x - mean) / std`` in float32).

        Why a table: the input is uint8, so normalising is a lookup. The arithmetic over a batch of 16
        crops took ~30 ms of one core (five passes over 2.4 million values, one of them in float64);
        the lookup is one pass, a third of that, with the same bits. Near a fast GPU that thread was
        what the model waited for (#18). Computed once per spec."""
        return _value_table(self)

    def pixel_values(self, crops: Sequence[np.ndarray], device: Any = None):
        """The model's input tensor (N x 3 x crop x crop, float32) from ``crop_of`` results. On a GPU the
        uint8 crops are sent (a quarter of the bytes) and looked up there."""
        import torch

        table = self.value_table()
        stacked = np.stack(crops)  # N x H x W x 3, uint8
        if device is not None and torch.device(device).type == "cuda":
            levels = torch.from_numpy(stacked).to(device).permute(0, 3, 1, 2).long()
            offsets = torch.tensor([0, 256, 512], device=levels.device).view(1, 3, 1, 1)
            return torch.from_numpy(table).to(device).view(-1)[levels + offsets].contiguous()
        channels_first = np.ascontiguousarray(stacked.transpose(0, 3, 1, 2))
        out = np.empty(channels_first.shape, np.float32)
        for channel in range(3):
            np.take(table[channel], channels_first[:, channel], out=out[:, channel])
        return torch.from_numpy(out)


@lru_cache(maxsize=None)
def _value_table(spec: ClipInputSpec) -> np.ndarray:
    import torch

    levels = torch.arange(256, dtype=torch.float64).repeat(3, 1)
    scaled = (levels * spec.rescale_factor).float()
    mean = torch.tensor(spec.mean, dtype=torch.float32).view(3, 1)
    std = torch.tensor(spec.std, dtype=torch.float32).view(3, 1)
    return ((scaled - mean) / std).numpy()


def same_spec(predictors: Sequence[Any]) -> ClipInputSpec | None:
    """The one input spec every loaded predictor shares (their crops can be made once), else None."""
    specs = {getattr(p, "input_spec", None) for p in predictors if p is not None}
    return specs.pop() if len(specs) == 1 and None not in specs else None


def inspect_with_model_input(data: bytes, inspector, spec: ClipInputSpec) -> tuple:
    """``inspector(data)`` plus the model's crop (or why there is none): (facts, exif, forensic, crop,
    decode error). Runs in the isolated worker, on the bytes it hashed."""
    facts, exif, forensic = inspector(data)
    crop = error = None
    if facts.error is None and too_little_information(
            facts.width, facts.height, forensic.pixel_spread if forensic is not None else None) is None:
        try:
            crop = spec.crop_from_bytes(data)
        except ImageDecodeError as exc:
            error = str(exc)
    return facts, exif, forensic, crop, error

