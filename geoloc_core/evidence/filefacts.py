"""Facts about a file's bytes: evidence hash, size, real type, pixel dimensions, decodability.

The type comes from the bytes (magic numbers), never from the extension, because
files from the open internet are routinely misnamed, and a renamed PDF or MP3
must be reported as what it is.
"""
from __future__ import annotations

import hashlib
import io
import re
import warnings as pywarnings
from dataclasses import dataclass, field

import filetype
from PIL import Image, UnidentifiedImageError

try:  # HEIC/HEIF support is optional at import time but pinned in requirements
    from pillow_heif import register_heif_opener

    register_heif_opener()
except ImportError:  # pragma: no cover - reported as "unsupported" per file instead
    pass

from .raw_formats import RAW_FORMATS, detect_raw

# Image types geoloc analyses. Others are detected and reported, not analysed.
RAW_IMAGE_TYPES = set(RAW_FORMATS)  # camera RAW: metadata from the container, pixels from raw_pixels.py
SUPPORTED_IMAGE_TYPES = {"jpeg", "png", "webp", "tiff", "heic", "heif", "avif", "gif", "bmp"} | RAW_IMAGE_TYPES
_EXTENSION_TO_TYPE = {"jpg": "jpeg", "tif": "tiff"}
_MIME_DESCRIPTIONS = {
    "application/pdf": "a PDF document",
    "audio/mpeg": "an MP3 audio file",
    "application/font-sfnt": "a font file",
    "application/font-woff": "a web font",
    "application/zip": "a zip archive",
}
_TYPE_LABELS = {"text": "text file", "empty": "empty file", "unknown": "unrecognised data", "woff": "web font"}


def describe_type(file_type: str) -> str:
    """A short label for a detected type, as a banner says it: "PDF", "MP3", "text file"."""
    return _TYPE_LABELS.get(file_type, (file_type or "unknown").upper())


@dataclass
class FileFacts:
    """What the bytes themselves say, independent of any metadata inside them."""

    size_bytes: int = 0
    sha256: str = ""
    file_type: str = "unknown"  # from magic bytes: jpeg, png, webp, tiff, heic, pdf, mp3, text, ...
    width: int | None = None
    height: int | None = None
    error: str | None = None  # set when the file cannot be analysed as an image
    warnings: list[str] = field(default_factory=list)
    pixels_from: str = ""  # camera RAW only: "preview" (embedded JPEG) or "raw" (demosaiced sensor data)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _looks_like_text(head: bytes) -> bool:
    if not head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(b >= 0x20 or b in (9, 10, 13) for b in head[:512])


def detect_type(data: bytes) -> tuple[str, str]:
    """(short type name, human description) from the leading bytes."""
    if not data:
        return "empty", "an empty file (0 bytes)"
    raw = detect_raw(data)  # before filetype, which calls a CR3 "mp4" and a NEF "tif"
    if raw:
        return raw, f"a {RAW_FORMATS[raw]} camera RAW file"
    kind = filetype.guess(data[:8192])
    if kind is not None:
        name = _EXTENSION_TO_TYPE.get(kind.extension, kind.extension)
        return name, _MIME_DESCRIPTIONS.get(kind.mime, f"{kind.mime} data")
    if data[:4] in (b"wOFF", b"wOF2"):
        return "woff", "a web font"
    from .video.formats import detect_transport_stream  # MPEG-TS has no magic number, only a packet rhythm

    stream = detect_transport_stream(data)
    if stream:
        return stream, "an MPEG transport stream (video)"
    if _looks_like_text(data[:4096]):
        return "text", "a text file"
    return "unknown", "data of an unrecognised type"


def inspect_bytes(data: bytes, decode_check: bool = True) -> FileFacts:
    """Hash, type and dimensions; optionally decode the pixels to catch truncation.

    Never raises for bad input: the reason lands in ``error``. Decompression bombs are
    refused by Pillow's own pixel limit (``Image.MAX_IMAGE_PIXELS``) before decoding.
    """
    facts, image = inspect_bytes_keeping_pixels(data, decode_check, keep_scale=False)
    if image is not None:
        image.close()
    return facts


# The truncation check decodes every byte anyway; decoding at the scale the perceptual hash needs
# (JPEG DCT scaling: the largest of 1/8, 1/4, 1/2 that keeps 128 px a side) lets the same pixels
# serve the hash and the information check, so a file is decoded once (issue #18).
CHECK_DRAFT_SIZE = (128, 128)


def inspect_bytes_keeping_pixels(data: bytes, decode_check: bool = True,
                                 keep_scale: bool = True) -> tuple[FileFacts, "Image.Image | None"]:
    """``inspect_bytes``, also returning the image decoded by the truncation check (JPEGs at reduced
    DCT scale, ``CHECK_DRAFT_SIZE``), or None when nothing was decoded. The caller closes it.
    ``keep_scale=False``: nobody needs the pixels, so JPEGs decode at 1/8 scale, the cheapest."""
    facts = FileFacts(size_bytes=len(data), sha256=sha256_hex(data))
    facts.file_type, description = detect_type(data)
    if facts.file_type not in SUPPORTED_IMAGE_TYPES:
        facts.error = f"not a supported image: the bytes are {description}"
        return facts, None
    if facts.file_type in RAW_IMAGE_TYPES:
        return _inspect_raw(data, facts, decode_check, keep_scale)
    decoded = None
    limit = Image.MAX_IMAGE_PIXELS
    try:
        with pywarnings.catch_warnings():
            pywarnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            try:
                facts.width, facts.height = image.size
                if limit and image.width * image.height > limit:
                    raise Image.DecompressionBombError("over limit")
                if decode_check:
                    if image.format == "JPEG":  # reduced DCT scale: still reads every byte, fast
                        image.draft("RGB", CHECK_DRAFT_SIZE if keep_scale else
                                    (max(1, image.width // 8), max(1, image.height // 8)))
                    image.load()
                    decoded, image = image, None
            finally:
                if image is not None:
                    image.close()
        return facts, decoded
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        if facts.width:
            shown = f"{facts.width}x{facts.height} = {facts.width * facts.height / 1e6:.0f} Mpx"
        else:  # Pillow refused in open(), before the size was exposed; its message carries the count
            match = re.search(r"\((\d+) pixels\)", str(exc))
            shown = f"{int(match.group(1)) / 1e6:.0f} Mpx" if match else "its declared size"
        facts.error = (f"refused as a possible decompression bomb: {shown} exceeds Pillow's safety limit "
                       f"of {limit / 1e6:.0f} Mpx")
    except UnidentifiedImageError:
        facts.error = f"{facts.file_type.upper()} signature but no decodable image (corrupt header)"
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError) as exc:
        text = str(exc) or type(exc).__name__
        if "truncated" in text.lower() or isinstance(exc, EOFError):
            facts.error = f"truncated {facts.file_type.upper()}: the image data ends early ({text[:100]})"
        else:
            facts.error = f"corrupt {facts.file_type.upper()} image data ({text[:120]})"
    except Exception as exc:  # decoders of hostile input raise anything
        facts.error = f"image could not be decoded ({type(exc).__name__}: {str(exc)[:120]})"
    return facts, None


def _inspect_raw(data: bytes, facts: FileFacts, decode_check: bool, keep_scale: bool):
    """A RAW file's picture (embedded preview or half-size demosaic, ``raw_pixels``) serves the decode check,
    the perceptual hash and the information check, as a JPEG's reduced-scale decode does."""
    from .raw_pixels import RawDecodeError, raw_picture

    if not decode_check:
        return facts, None
    try:
        picture = raw_picture(data, draft_side=CHECK_DRAFT_SIZE[0] if keep_scale else 64)
    except RawDecodeError as exc:
        facts.error = str(exc)
        return facts, None
    except MemoryError:
        facts.error = f"{facts.file_type.upper()} too large to decode within the memory limit"
        return facts, None
    facts.width, facts.height, facts.pixels_from = picture.width, picture.height, picture.pixels_from
    return facts, picture.image
