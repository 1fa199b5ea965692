"""Shared helpers of the two views (error levels, noise residual): decode and bound the PNG."""
from __future__ import annotations

import io

import numpy as np
from PIL import Image

VIEW_SIDE = 1024  # the PNG's longest side: enough to see beside the photo, small enough for a report


def decode_rgb(data: bytes) -> np.ndarray:
    """The stored pixels as RGB, not rotated by EXIF: JPEG's 8 x 8 grid is in stored orientation, and
    the views must line up with it."""
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))


def png_view(picture: np.ndarray, side: int = VIEW_SIDE) -> bytes:
    image = Image.fromarray(np.clip(picture, 0, 255).astype(np.uint8))
    image.thumbnail((side, side), Image.BOX)
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=False)
    return buffer.getvalue()
