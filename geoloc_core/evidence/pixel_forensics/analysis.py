"""All pixel checks of one file in one call, made for the isolated worker (``evidence/isolation.py``).

Why one call: the checks decode hostile bytes at full resolution (a JPEG's grid is lost at any reduced
scale), so they must run where a crafted file can only kill or stall a worker process with a memory cap,
never the app; one call is one pipe round trip. Why each check is caught on its own: a file that breaks
one check (a CMYK JPEG, a picture too small to search) still gets the others (``PixelForensics.errors``).
Why its own deadline: at 12 MP the checks together took 7.5-10 s on the 2-core VM (benchmarks/README.md,
"Pixel forensics") and the cost grows with the pixel count up to Pillow's 89 MP limit, well past a
metadata parse's 20 s."""
from __future__ import annotations

import dataclasses
import io
import warnings

from PIL import Image

from .. import filefacts  # noqa: F401  (registers the HEIF opener: the checks read HEIC too)
from .copy_move import check_copy_move
from .double_compression import check_double_compression
from .error_level import check_error_level
from .noise import check_noise
from .orientation import orient_box, orient_grid, orient_png, read_orientation
from .quantisation import check_quantisation
from .record import PixelForensics

PIXEL_TIMEOUT_S = 180.0
CHECKS = ("quantisation", "double_compression", "error_level", "noise", "copy_move")


def analyse_pixels(data: bytes, make: str = "", model: str = "") -> PixelForensics:
    """Run every pixel check on the file's bytes (call it inside the isolated worker). ``make`` and
    ``model`` are the EXIF Make and Model the caller read (the quantisation check compares them with the
    tables). A picture over Pillow's pixel limit is refused before any check decodes it. The views, the
    map and the boxes come back turned by the EXIF Orientation, lying on the photo as it is shown."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                if Image.MAX_IMAGE_PIXELS and width * height > Image.MAX_IMAGE_PIXELS:
                    raise Image.DecompressionBombError(f"{width}x{height} pixels")
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        return PixelForensics(errors={"file": f"refused as a possible decompression bomb ({str(exc)[:120]})"})
    except Image.UnidentifiedImageError:
        return PixelForensics(errors={"file": "not a picture the checks can read (no image format recognised)"})
    except Exception as exc:  # decoders of hostile input raise anything
        return PixelForensics(errors={"file": f"not a picture the checks can read ({_sentence(exc)})"})
    runs = {"quantisation": lambda: check_quantisation(data, make or "", model or ""),
            "double_compression": lambda: check_double_compression(data),
            "error_level": lambda: check_error_level(data),
            "noise": lambda: check_noise(data),
            "copy_move": lambda: check_copy_move(data)}
    results, errors = {}, {}
    for name in CHECKS:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                results[name] = runs[name]()
        except MemoryError:
            errors[name] = "ran out of memory on this picture"
        except Exception as exc:  # one check's failure is reported, the others still run
            errors[name] = _sentence(exc)
    return _as_shown(PixelForensics(**results, errors=errors), read_orientation(data), (width, height))


def _sentence(exc: Exception) -> str:
    """What went wrong, for an analyst: the decoder's own words, without Python's exception names."""
    text = " ".join(str(exc).split())[:160]
    if "truncated" in text.lower() or "end of file" in text.lower():
        return f"the picture's data is cut short, so its pixels could not all be decoded ({text})"
    return f"the pixels could not be read ({text})" if text else "the pixels could not be read"


def _as_shown(found: PixelForensics, orientation: int, size: tuple[int, int]) -> PixelForensics:
    if orientation == 1:
        return found
    changes = {}
    for name in ("error_level", "noise"):
        view = getattr(found, name)
        if view is not None:
            changes[name] = dataclasses.replace(view, png=orient_png(view.png, orientation))
    if found.double_compression is not None:
        changes["double_compression"] = dataclasses.replace(
            found.double_compression, map=orient_grid(found.double_compression.map, orientation))
    if found.copy_move is not None:
        pairs = tuple(dataclasses.replace(p, source=orient_box(p.source, size, orientation),
                                          target=orient_box(p.target, size, orientation))
                      for p in found.copy_move.pairs)
        changes["copy_move"] = dataclasses.replace(found.copy_move, pairs=pairs)
    return dataclasses.replace(found, **changes)


def analyse_file(path: str, sha256: str, make: str = "", model: str = "") -> PixelForensics:
    """``analyse_pixels`` of a file on disk, read here in the worker (no copy of its bytes through the pipe),
    and only when its bytes still hash to ``sha256``, what the rest of the finding was made from."""
    import hashlib

    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        return PixelForensics(errors={"file": f"the file could not be read again for the pixel checks ({exc.strerror or exc})"})
    if sha256 and hashlib.sha256(data).hexdigest() != sha256:
        return PixelForensics(errors={"file": "the file changed on disk after it was inspected: its pixels were not checked"})
    return analyse_pixels(data, make, model)
