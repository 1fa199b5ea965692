"""Photograph-like test pictures and forgeries of them, for the pixel forensics tests and benchmark.

These are NOT camera files: the repository ships no full-size camera JPEG (tests/data/exiftool_samples
holds camera files with their pictures cut to 8 x 8 pixels). What makes a photo hard for these checks is
texture at every scale (copy-move needs keypoints, ghosts need detail to re-quantise) and sensor grain
(noise residual), so the pictures are built from those: smooth gradients, 1/f noise summed over octaves,
blurred shapes and fine grain, then JPEG-encoded once by Pillow (libjpeg) at a camera-like quality, or
with a camera-like table that is no IJG quality (``CAMERA_LIKE_TABLES``)."""
from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

# Annex K tables scaled by hand-picked per-row factors, so no IJG quality and no editor preset equals
# them (cameras write their own tables in the same way); invented for these tests, no real camera's.
_ROW = (0.30, 0.28, 0.31, 0.33, 0.36, 0.40, 0.44, 0.47)


def _camera_like_tables() -> list[list[int]]:
    from geoloc_core.evidence.pixel_forensics.quantisation import ANNEX_K_CHROMINANCE, ANNEX_K_LUMINANCE
    return [[max(1, round(v * _ROW[i // 8])) for i, v in enumerate(base)]
            for base in (ANNEX_K_LUMINANCE, ANNEX_K_CHROMINANCE)]


def photo_like(seed: int, size: tuple[int, int] = (480, 360)) -> Image.Image:
    rng = np.random.default_rng(seed)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = rng.uniform(60, 190, 3)
    slope = rng.uniform(-60, 60, (3, 2))
    picture = np.stack([base[c] + slope[c, 0] * xx / w + slope[c, 1] * yy / h for c in range(3)], axis=-1)
    for octave in range(1, 8):  # 1/f texture: coarse blobs to fine detail
        cells = (max(2, w >> (8 - octave)), max(2, h >> (8 - octave)))
        noise = rng.normal(0, 1, (cells[1], cells[0], 3)).astype(np.float32)
        layer = np.stack([np.asarray(Image.fromarray(noise[..., c]).resize((w, h), Image.BICUBIC))
                          for c in range(3)], axis=-1)
        picture += layer * (38.0 / octave ** 0.9)
    shapes = Image.new("RGB", (w, h), (0, 0, 0))
    mask = Image.new("L", (w, h), 0)
    draw, mask_draw = ImageDraw.Draw(shapes), ImageDraw.Draw(mask)
    for _ in range(int(rng.integers(60, 120))):
        x0, y0 = rng.uniform(0, w), rng.uniform(0, h)
        box = [x0, y0, x0 + w * rng.uniform(0.01, 0.12), y0 + h * rng.uniform(0.01, 0.12)]
        colour = tuple(int(v) for v in rng.uniform(20, 235, 3))
        round_shape = rng.random() < 0.5
        (draw.ellipse if round_shape else draw.rectangle)(box, fill=colour)
        (mask_draw.ellipse if round_shape else mask_draw.rectangle)(box, fill=255)
    radius = float(rng.uniform(0.8, 2.5))
    shapes = np.asarray(shapes.filter(ImageFilter.GaussianBlur(radius)), np.float32)
    alpha = np.asarray(mask.filter(ImageFilter.GaussianBlur(radius)), np.float32)[..., None] / 255 * 0.9
    picture = picture * (1 - alpha) + (shapes + 0.6 * (picture - picture.mean())) * alpha  # objects keep texture
    picture += rng.normal(0, 2.0, picture.shape)  # sensor grain
    return Image.fromarray(np.clip(picture, 0, 255).astype(np.uint8))


def jpeg(image: Image.Image, quality: int | str = 92, camera_tables: bool = False, **save) -> bytes:
    buffer = io.BytesIO()
    if camera_tables:
        image.save(buffer, "JPEG", qtables=_camera_like_tables(), subsampling=2, **save)
    else:
        image.save(buffer, "JPEG", quality=quality, **save)
    return buffer.getvalue()


def decoded(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as image:
        return image.convert("RGB")


def double_compressed(image: Image.Image, first: int, second: int) -> bytes:
    return jpeg(decoded(jpeg(image, first)), second)


def copy_moved(image: Image.Image, seed: int, fraction: float = 0.2, angle: float = 0.0,
               scale: float = 1.0) -> tuple[Image.Image, tuple, tuple]:
    """The picture with a square region copied elsewhere in it (not overlapping), turned by ``angle``
    degrees and scaled by ``scale`` on the way; returns the picture, the source box and the box of the
    pasted copy as (left, top, right, bottom)."""
    rng = np.random.default_rng(seed + 10_000)
    w, h = image.size
    side = int(min(w, h) * fraction)
    patch, mask = image.crop((0, 0, side, side)), Image.new("L", (side, side), 255)
    if angle or scale != 1.0:
        size = max(1, round(side * scale))
        patch = patch.resize((size, size), Image.BICUBIC).rotate(angle, Image.BICUBIC, expand=True)
        mask = mask.resize((size, size)).rotate(angle, Image.NEAREST, expand=True)
    span = max(side, *patch.size)
    while True:
        sx, sy = int(rng.integers(0, w - side)), int(rng.integers(0, h - side))
        tx, ty = int(rng.integers(0, w - patch.width)), int(rng.integers(0, h - patch.height))
        if abs(sx - tx) >= span or abs(sy - ty) >= span:
            break
    source = (sx, sy, sx + side, sy + side)
    if angle or scale != 1.0:
        size = max(1, round(side * scale))
        patch = image.crop(source).resize((size, size), Image.BICUBIC).rotate(angle, Image.BICUBIC, expand=True)
    else:
        patch = image.crop(source)
    forged = image.copy()
    forged.paste(patch, (tx, ty), mask)
    left, top, right, bottom = mask.getbbox()
    return forged, source, (tx + left, ty + top, tx + right, ty + bottom)


def iou(a: tuple, b: tuple) -> float:
    left, top, right, bottom = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    inter = max(0, right - left) * max(0, bottom - top)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union else 0.0


HOSTILE_MAKE = "<img src=x onerror=alert(1)>![m](http://127.0.0.1:9/make.png)"  # HTML and Markdown image at once


def forged_photo(seed: int = 1, size: tuple[int, int] = (400, 300), make: str = HOSTILE_MAKE,
                 model: str = "EOS <b>5D</b>", gps: tuple[float, float] | None = (48.8584, 2.2945),
                 quality: int = 90) -> tuple[bytes, tuple, tuple]:
    """A copy-move forgery saved once by libjpeg (so the quantisation check also flags it beside the
    camera named in EXIF), with ``make``/``model`` (hostile by default) and a GPS point: the file an
    analyst uploads. Returns the bytes and the true source and target boxes."""
    import piexif

    from tests.imagegen import gps_exif
    forged, source, target = copy_moved(photo_like(seed, size), seed, fraction=0.25)
    zeroth = {piexif.ImageIFD.Make: make.encode("utf-8"), piexif.ImageIFD.Model: model.encode("utf-8")}
    exif = gps_exif(*(gps or (None, None)), **{"0th": zeroth})
    return jpeg(forged, quality, exif=exif), source, target
