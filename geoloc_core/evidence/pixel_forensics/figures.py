"""The pictures an analyst reads the pixel checks on: the photo with the copy-move pairs outlined, the
double-compression map laid over the photo, and the error-level and noise views, all the same size.

Why here, in the isolated worker, and not in the page: drawing on the photo means decoding the file's
bytes, which are hostile; ``pixel_figures`` runs the checks and draws in the same worker call, so the app
and the reports only receive small, bounded PNG or JPEG pictures made by geoloc. One function serves the
Verify card, a reopened finding and both reports, so they show the same pictures."""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageOps

from .analysis import analyse_pixels
from .orientation import read_orientation
from .record import PixelForensics

FIGURE_SIDE = 1024  # the longest side of every figure (the views' own bound, views.VIEW_SIDE)
# one colour per copy-move pair (both boxes of a pair alike, so the eye pairs them): magenta, cyan, yellow,
# green on any photo, each with a black edge around it
PAIR_COLOURS = ((255, 0, 255), (0, 230, 255), (255, 220, 0), (60, 255, 60))
OVERLAY_COLOUR = (255, 40, 40)
OVERLAY_ALPHA = 0.65  # at a map value of 1


@dataclass(frozen=True)
class PixelFigures:
    """The checks' record and the pictures made from it, encoded as ``image_format`` ("PNG" or "JPEG");
    a picture that could not be made is b"" (the record's ``errors`` says why when the file failed)."""

    forensics: PixelForensics
    outlined: bytes = b""  # the photo as shown, copy-move pairs outlined and numbered
    overlay: bytes = b""  # the photo with the double-compression map over it; b"" when there is no map
    error_level: bytes = b""
    noise: bytes = b""
    image_format: str = "PNG"


def pixel_figures(data: bytes, make: str = "", model: str = "", side: int = FIGURE_SIDE,
                  image_format: str = "PNG") -> PixelFigures:
    """Run every check and draw its figures (call it inside the isolated worker). ``side`` bounds every
    picture; ``image_format`` "JPEG" makes them small enough for a report."""
    found = analyse_pixels(data, make, model)
    if "file" in found.errors:
        return PixelFigures(found, image_format=image_format)
    try:
        photo, full = _shown_photo(data, side)
    except Exception:  # the checks read it; a photo that will not decode again only loses its drawings
        photo, full = None, (0, 0)
    outlined = overlay = b""
    if photo is not None:
        scale = photo.width / full[0] if full[0] else 1.0
        outlined = _encode(_outline_pairs(photo, found, scale), image_format)
        if found.double_compression is not None and found.double_compression.map:
            overlay = _encode(_overlay_map(photo, found, scale), image_format)
    views = [_reencode(getattr(found, name).png if getattr(found, name) is not None else b"", side, image_format)
             for name in ("error_level", "noise")]
    return PixelFigures(found, outlined, overlay, *views, image_format=image_format)


def _shown_photo(data: bytes, side: int) -> tuple[Image.Image, tuple[int, int]]:
    """The photo as shown (EXIF orientation applied), longest side at most ``side``, and its full size as
    shown (the boxes' coordinates)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            if image.format == "JPEG":
                image.draft("RGB", (max(1, width * side // max(width, height)), max(1, height * side // max(width, height))))
            image.seek(0)
            shown = ImageOps.exif_transpose(image).convert("RGB")
    full = (height, width) if read_orientation(data) in (5, 6, 7, 8) else (width, height)
    shown.thumbnail((side, side))
    return shown, full


def _outline_pairs(photo: Image.Image, found: PixelForensics, scale: float) -> Image.Image:
    """Each pair's two boxes in one colour, numbered, joined by a line from centre to centre."""
    picture = photo.copy()
    draw = ImageDraw.Draw(picture)
    width = max(2, round(max(picture.size) / 300))
    pairs = found.copy_move.pairs if found.copy_move is not None else ()
    for number, pair in enumerate(pairs, 1):
        colour = PAIR_COLOURS[(number - 1) % len(PAIR_COLOURS)]
        boxes = [tuple(round(v * scale) for v in box) for box in (pair.source, pair.target)]
        centres = [((b[0] + b[2]) / 2, (b[1] + b[3]) / 2) for b in boxes]
        draw.line(centres, fill=(0, 0, 0), width=width + 2)
        draw.line(centres, fill=colour, width=max(1, width // 2))
        for box in boxes:
            draw.rectangle(box, outline=(0, 0, 0), width=width + 2)
            draw.rectangle(box, outline=colour, width=width)
            label = str(number)
            x, y = box[0] + width + 2, box[1] + width + 1
            draw.rectangle((x - 1, y - 1, x + 8 * len(label) + 2, y + 12), fill=(0, 0, 0))
            draw.text((x + 1, y), label, fill=colour)
    return picture


def _overlay_map(photo: Image.Image, found: PixelForensics, scale: float) -> Image.Image:
    """The double-compression map over a greyed photo: red where a block was compressed only once (what a
    part pasted or changed after the first save looks like), clear where it carries the earlier compression."""
    result = found.double_compression
    grid = np.clip(np.asarray(result.map, dtype=np.float32), 0.0, 1.0)
    rows, cols = grid.shape
    cell = max(1, result.block_pixels) * scale
    size = (max(1, min(photo.width, round(cols * cell))), max(1, min(photo.height, round(rows * cell))))
    alpha = Image.fromarray((grid * 255).astype(np.uint8), "L").resize(size, Image.NEAREST)
    alpha = alpha.point(lambda v: round(v * OVERLAY_ALPHA))
    base = ImageOps.grayscale(photo).convert("RGB")
    layer = Image.new("RGB", size, OVERLAY_COLOUR)
    base.paste(layer, (0, 0), alpha)
    return base


def _encode(picture: Image.Image, image_format: str) -> bytes:
    buffer = io.BytesIO()
    if image_format == "JPEG":
        picture.convert("RGB").save(buffer, "JPEG", quality=85)
    else:
        picture.save(buffer, "PNG")
    return buffer.getvalue()


def _reencode(png: bytes, side: int, image_format: str) -> bytes:
    """A view (a PNG the checks made) bounded by ``side`` and in ``image_format``."""
    if not png:
        return b""
    with Image.open(io.BytesIO(png)) as view:
        if image_format == "PNG" and max(view.size) <= side:
            return png
        view = view.convert("RGB")
    view.thumbnail((side, side))
    return _encode(view, image_format)
