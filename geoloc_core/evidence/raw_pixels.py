"""The picture the model sees from a camera RAW file: its embedded full-size preview, else a bounded demosaic.

Why the preview first: every RAW camera embeds the JPEG it would have written (the camera's own
rendering, full size or close to it), which decodes in milliseconds under the same Pillow limits as any
JPEG; demosaicing the sensor data (LibRaw, through ``rawpy``) costs seconds and memory, and renders
colours with generic settings. So the largest embedded JPEG is used when it is at least
``PREVIEW_MIN_SIDE`` pixels on its long side (more than any model input needs) or at least half the
sensor's long side (what a half-size demosaic would give); otherwise LibRaw demosaics at half size
(``half_size=True``: each 2x2 filter block becomes one pixel, four times fewer pixels than the sensor,
no interpolation), and only when the sensor holds at most Pillow's pixel limit (``Image.MAX_IMAGE_PIXELS``,
the decompression-bomb limit every other image meets). Which one was used is reported as
``pixels_from`` ("preview" or "raw"), because a preview may differ from the sensor data (a camera can
write its preview after in-camera edits; an editor can replace it).

Runs inside the isolated worker (hostile bytes, C decoders), as every decode does.
"""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps

from .raw_formats import RAW_FORMATS, detect_raw, jpeg_size, orientation, preview_jpegs

PREVIEW_MIN_SIDE = 1024
PREVIEW = "preview"
RAW = "raw"
_TRANSPOSE = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
              5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
              8: Image.Transpose.ROTATE_90}


class RawDecodeError(ValueError):
    """No picture could be taken from the RAW file; the message says why."""


@dataclass
class RawPicture:
    image: Image.Image  # oriented 8-bit RGB
    pixels_from: str  # PREVIEW or RAW
    width: int  # of the preview, or of the sensor's visible area (before halving)
    height: int


def _libraw(data: bytes):
    """An opened ``rawpy.RawPy`` or None when LibRaw does not read the file (the caller closes it)."""
    try:
        import rawpy
    except ImportError:  # pragma: no cover - pinned in requirements.txt
        return None
    try:
        return rawpy.imread(io.BytesIO(data))
    except Exception:  # LibRaw's errors on unsupported or damaged files
        return None


def _libraw_preview(raw) -> bytes | None:
    try:
        import rawpy

        thumb = raw.extract_thumb()
    except Exception:
        return None
    if thumb.format == rawpy.ThumbFormat.JPEG and bytes(thumb.data[:2]) == b"\xff\xd8":
        return bytes(thumb.data)
    return None


def best_preview(data: bytes, fmt: str, raw=None) -> tuple[bytes, tuple[int, int]] | None:
    """The largest embedded JPEG (by its SOF dimensions) that the container or LibRaw points to."""
    candidates = preview_jpegs(data, fmt)
    if raw is not None:
        extra = _libraw_preview(raw)
        if extra:
            candidates.append(extra)
    sized = [(jpeg_size(j), j) for j in candidates]
    sized = [(size, j) for size, j in sized if size]
    if not sized:
        return None
    size, jpeg = max(sized, key=lambda item: item[0][0] * item[0][1])
    return jpeg, size


def _decode_preview(jpeg: bytes, draft_side: int | None, turn: int) -> Image.Image:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(io.BytesIO(jpeg)) as image:
            if draft_side:
                scale = min(image.width, image.height) / draft_side
                if scale >= 2:
                    image.draft("RGB", (int(image.width / scale), int(image.height / scale)))
            own = image.getexif().get(0x0112)
            picture = ImageOps.exif_transpose(image) if own and own != 1 else image.copy()
    if not own and turn in _TRANSPOSE:  # the RAW's IFD0 orientation, which previews seldom repeat
        picture = picture.transpose(_TRANSPOSE[turn])
    return picture.convert("RGB")


def _demosaic(raw, fmt: str) -> Image.Image:
    import numpy as np

    sizes = raw.sizes
    limit = Image.MAX_IMAGE_PIXELS
    sensor = sizes.raw_width * sizes.raw_height
    if limit and sensor > limit:
        raise RawDecodeError(f"{RAW_FORMATS[fmt]} sensor of {sensor / 1e6:.0f} Mpx exceeds the {limit / 1e6:.0f} Mpx "
                             "decode limit and the file has no usable preview")
    rgb = raw.postprocess(half_size=True, output_bps=8, use_camera_wb=True)
    return Image.fromarray(np.ascontiguousarray(rgb), "RGB")


def raw_picture(data: bytes, draft_side: int | None = 512) -> RawPicture:
    """The oriented RGB picture of a RAW file and where it came from; RawDecodeError when there is none.
    Order: a preview large enough (module docstring), else the half-size demosaic, else any preview."""
    fmt = detect_raw(data)
    if fmt is None:
        raise RawDecodeError("not a camera RAW file")
    name = RAW_FORMATS[fmt]
    raw = _libraw(data)
    problems: list[str] = []
    try:
        found = best_preview(data, fmt, raw)
        sensor_side = max(raw.sizes.width, raw.sizes.height) if raw is not None else 0
        large = found is not None and max(found[1]) >= min(PREVIEW_MIN_SIDE, sensor_side / 2)
        if large:
            picture = _try_preview(data, fmt, found, draft_side, problems)
            if picture is not None:
                return picture
        if raw is None:
            problems.append("no sensor data LibRaw can read")
        else:
            try:
                width, height = raw.sizes.width, raw.sizes.height  # before postprocess halves them
                return RawPicture(_demosaic(raw, fmt), RAW, width, height)
            except RawDecodeError as exc:
                problems.append(str(exc))
            except Exception as exc:  # LibRaw's errors on damaged or stripped sensor data
                problems.append(f"the sensor data could not be decoded ({type(exc).__name__}: {str(exc)[:100]})")
        if found is not None and not large:
            picture = _try_preview(data, fmt, found, draft_side, problems)
            if picture is not None:
                return picture
        if found is None:
            problems.insert(0, "no embedded preview")
        raise RawDecodeError(f"{name}: no picture: " + "; ".join(problems) + " (its metadata is still read)")
    finally:
        if raw is not None:
            raw.close()


def _try_preview(data: bytes, fmt: str, found, draft_side: int | None, problems: list[str]) -> RawPicture | None:
    jpeg, (width, height) = found
    try:
        return RawPicture(_decode_preview(jpeg, draft_side, orientation(data, fmt)), PREVIEW, width, height)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        problems.append(f"the embedded preview was refused as a possible decompression bomb ({exc})")
    except Exception as exc:  # decoders of hostile input raise anything
        problems.append(f"the embedded preview could not be decoded ({type(exc).__name__}: {str(exc)[:100]})")
    return None
