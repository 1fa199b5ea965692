"""Decode untrusted image bytes into the RGB picture a model should see.

EXIF orientation is applied first (a phone's portrait photo is stored sideways),
animated files contribute their first frame, and palette/alpha/CMYK/16-bit images
are flattened to 8-bit RGB on white, so every supported file reaches the model
in one well-defined form.
"""
from __future__ import annotations

import io
import warnings

from PIL import Image, ImageOps

from . import filefacts  # noqa: F401  (registers the HEIF opener)


class ImageDecodeError(ValueError):
    """The bytes could not be turned into an RGB image; the message says why."""


def load_rgb(data: bytes, draft_side: int | None = 512) -> Image.Image:
    """Oriented 8-bit RGB image. ``draft_side`` lets JPEG decode at reduced scale (fast, still
    at least that many pixels on the short side); pass None for full resolution. A camera RAW file gives
    its embedded preview or a bounded demosaic (``raw_pixels``)."""
    from .raw_formats import detect_raw

    if detect_raw(data):
        from .raw_pixels import RawDecodeError, raw_picture

        try:
            return raw_picture(data, draft_side).image
        except RawDecodeError as exc:
            raise ImageDecodeError(str(exc)) from None
        except MemoryError:
            raise ImageDecodeError("camera RAW file too large to decode within the memory limit") from None
    try:
        with Image.open(io.BytesIO(data)) as image:
            if draft_side and image.format == "JPEG":
                scale = min(image.width, image.height) / draft_side
                if scale >= 2:
                    image.draft("RGB", (int(image.width / scale), int(image.height / scale)))
            image.seek(0)
            oriented = ImageOps.exif_transpose(image)
            return _to_rgb(oriented)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:  # the warning, when made an error
        raise ImageDecodeError(f"refused as a possible decompression bomb ({exc})") from None
    except Exception as exc:  # decoders of hostile input raise anything
        raise ImageDecodeError(f"image could not be decoded ({type(exc).__name__}: {str(exc)[:120]})") from None


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        image = image.point(lambda v: v / 256).convert("L")
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image.convert("RGBA"), mask=image.convert("RGBA").getchannel("A"))
        return background
    return image.convert("RGB")


PREVIEW_SIDE = 1024


def preview_png(data: bytes, max_side: int = PREVIEW_SIDE) -> bytes:
    """A bounded PNG thumbnail (longest side ``max_side``) of untrusted image bytes, for display.

    Why: the app must never decode an unvetted upload in the server process (a 0.66 MB
    13000 x 13000 PNG once took the server from 553 to 3,886 MiB). Call this inside the isolated
    worker; it applies Pillow's pixel limit as a hard error (``filefacts`` does the same), so the
    picture shown is exactly what the analysis accepted, and only a small PNG crosses back."""
    buffer = io.BytesIO()
    _bounded(data, max_side).save(buffer, "PNG")
    return buffer.getvalue()


def preview_jpeg(data: bytes, max_side: int, quality: int = 80) -> bytes:
    """``preview_png`` as a JPEG (a report's thumbnail); call it inside the isolated worker likewise."""
    buffer = io.BytesIO()
    _bounded(data, max_side).save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def _bounded(data: bytes, max_side: int) -> Image.Image:
    """The oriented RGB picture, longest side at most ``max_side``; a decompression bomb is an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image = load_rgb(data, draft_side=max_side)
    image.thumbnail((max_side, max_side))
    return image
