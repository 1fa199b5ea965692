"""Raw forensic facts read from a file's bytes (run inside the isolated parser worker):
perceptual hash, embedded-thumbnail agreement, editing and re-sharing markers, C2PA
content credentials. Judgements about them live in ``checks.py``."""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from functools import lru_cache

from PIL import Image

from . import filefacts  # noqa: F401  (registers the HEIF opener)
from .information import pixel_spread

MARKER_SCAN_BYTES = 1024 * 1024  # markers live in the headers; never scan a whole huge file
MARKERS = (
    (b"Photoshop 3.0\x00", "Photoshop IRB block (APP13)"),
    (b"xmpMM:History", "XMP editing history"),
    (b"stEvt:softwareAgent", "XMP software agent entries"),
    (b"FBMD", "Facebook FBMD marker (IPTC): re-shared through Facebook/Instagram"),
    (b"<x:xmpmeta", "XMP metadata packet"),
)
# Every embedded C2PA manifest store is a JUMBF box labelled "c2pa"; a file without those four bytes
# has none, and skipping the reader for it saves ~1.7 ms per file (a memchr-speed search instead).
C2PA_LABEL = b"c2pa"
C2PA_REMOTE_HINT = b"provenance"  # XMP dcterms:provenance: a remote manifest, which the reader reports on
C2PA_MIME = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp", "tiff": "image/tiff",
             "heic": "image/heic", "heif": "image/heif", "avif": "image/avif", "gif": "image/gif"}


@dataclass
class ForensicFacts:
    phash: str | None = None  # 64-bit perceptual hash, hex
    pixel_spread: float | None = None  # grey-level standard deviation (information.py)
    thumbnail_distance: int | None = None  # phash bits differing between thumbnail and image (of 64)
    markers: list[str] = field(default_factory=list)
    xmp_creator_tool: str | None = None
    c2pa: dict | None = None  # None: not checked; {"present": False} when absent
    errors: list[str] = field(default_factory=list)


# The perceptual hash is imagehash's pHash (Hacker Factor's: 32x32 LANCZOS grey reduction, 2-D
# DCT-II, the 8x8 lowest frequencies against their median), computed with the DCT as a matrix
# product instead of ``scipy.fftpack``: importing scipy took 0.5 s of CPU in every parser worker
# (issue #18). Only the 8 lowest of the 32 frequencies are needed, so the matrix is 8x32.
# ``tests/test_throughput.py`` checks the bits equal ``imagehash.phash`` on a corpus of images.
PHASH_SIDE, PHASH_BITS_SIDE = 32, 8


@lru_cache(maxsize=1)
def _dct_low():
    """The 8x32 DCT matrix; numpy is imported on the first hash, not with the parsers: a metadata-only
    scan's parser processes never need it (0.05 s each, #35)."""
    import numpy as np

    return 2.0 * np.cos(np.pi * np.arange(PHASH_BITS_SIDE)[:, None] * (2 * np.arange(PHASH_SIDE)[None, :] + 1)
                        / (2 * PHASH_SIDE))


def _phash(image: Image.Image, loaded: bool = False):
    """pHash of an opened image (an ``imagehash.ImageHash``, same bits as ``imagehash.phash``); JPEGs
    decode at reduced DCT scale, since the hash only looks at a 32x32 version anyway. ``loaded``:
    the image is already decoded at that scale (first frame), as
    ``filefacts.inspect_bytes_keeping_pixels`` leaves it."""
    if not loaded:
        if image.format == "JPEG":
            image.draft("RGB", (128, 128))
        image.seek(0)
    return _phash_of_grey(image.convert("RGB").convert("L"))


def _phash_of_grey(grey: Image.Image):
    import numpy as np
    from imagehash import ImageHash

    dct = _dct_low()
    low = dct @ np.asarray(grey.resize((PHASH_SIDE, PHASH_SIDE), Image.Resampling.LANCZOS), dtype=np.float64) \
        @ dct.T
    # a coefficient that is zero in exact arithmetic (flat or symmetric images) comes out as rounding
    # noise of either sign here, where the FFT gives 0: snap it, or such images get random bits
    low[np.abs(low) < 1e-9 * max(1.0, abs(low[0, 0]))] = 0.0
    return ImageHash(low > np.median(low))


def jpeg_metadata_end(data: bytes) -> int:
    """Offset of a JPEG's first scan (SOS): every APPn/COM segment, so all of its metadata (EXIF, XMP,
    IPTC/Photoshop, C2PA's APP11 JUMBF), lies before it. ``len(data)`` when the segment chain is
    malformed, so a damaged or hostile file is searched whole, as before."""
    pos, end = 2, len(data)
    while pos + 4 <= end:
        if data[pos] != 0xFF:
            return end
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xDA:
            return pos
        if marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:  # stand-alone markers
            pos += 2
            continue
        length = int.from_bytes(data[pos + 2:pos + 4], "big")
        if length < 2:
            return end
        pos += 2 + length
    return end


def _metadata_region(data: bytes, file_type: str) -> bytes:
    """The bytes the editing markers are read from: a JPEG's segments before its first scan (searching
    the entropy-coded pixels too cost ~1 ms per phone photo, issue #18); other types' whole file."""
    return data[:jpeg_metadata_end(data)] if file_type == "jpeg" else data


def _creator_tool(head: bytes) -> str | None:
    start = head.find(b"CreatorTool")
    if start < 0:
        return None
    chunk = head[start:start + 200].decode("utf-8", "replace")
    for opener, closer in (('="', '"'), (">", "<")):
        if opener in chunk:
            value = chunk.split(opener, 1)[1].split(closer, 1)[0].strip()
            if value:
                return value[:100]
    return None


def read_c2pa(data: bytes, file_type: str) -> dict:
    """Content credentials, if any: signer, claim generator, actions, validation state.
    Remote manifest and OCSP fetching are switched off: nothing leaves the machine."""
    mime = C2PA_MIME.get(file_type)
    if mime is None:
        return {"present": False}
    # the label is looked for in the whole file (~0.1 ms): APP11 segments may sit between the scans of
    # a progressive JPEG, where the reader would still find a manifest the metadata region misses
    if C2PA_LABEL not in data and C2PA_REMOTE_HINT not in _metadata_region(data, file_type)[:MARKER_SCAN_BYTES]:
        return {"present": False}  # an embedded manifest store always carries its "c2pa" JUMBF label
    try:  # imported only for a file that may carry a manifest: 0.03-0.06 s per parser process otherwise (#35)
        import c2pa
    except ImportError:
        return {"present": False, "error": "c2pa-python is not installed"}
    try:
        settings = c2pa.Settings.from_dict({"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False}})
        reader = c2pa.Reader.try_create(mime, io.BytesIO(data), context=c2pa.Context(settings))
    except Exception as exc:
        return {"present": False, "error": f"{type(exc).__name__}: {str(exc)[:120]}"}
    if reader is None:
        return {"present": False}
    import json

    with reader:
        store = json.loads(reader.json())
        state = reader.get_validation_state()
    manifest = store.get("manifests", {}).get(store.get("active_manifest"), {})
    actions = []
    for assertion in manifest.get("assertions", []):
        if str(assertion.get("label", "")).startswith("c2pa.actions"):
            actions += [a.get("action") for a in assertion.get("data", {}).get("actions", [])]
    return {"present": True, "validation_state": state,
            "signer": (manifest.get("signature_info") or {}).get("issuer"),
            "claim_generator": manifest.get("claim_generator") or
            ", ".join(g.get("name", "") for g in manifest.get("claim_generator_info", [])),
            "actions": actions}


def read_forensic_facts(data: bytes, file_type: str, thumbnail: bytes | None,
                        decoded: Image.Image | None = None, pixels: bool = True) -> ForensicFacts:
    """``decoded``: the pixels the truncation check already decoded (``CHECK_DRAFT_SIZE``), so the
    file is not decoded a second time; None decodes here. ``pixels=False`` (``scan --metadata-only``,
    #35): only the facts in the metadata (markers, creator tool, C2PA); no hash, spread or thumbnail
    comparison, so nothing is decoded."""
    facts = ForensicFacts()
    head = _metadata_region(data, file_type)[:MARKER_SCAN_BYTES]
    facts.markers = [label for marker, label in MARKERS if marker in head]
    facts.xmp_creator_tool = _creator_tool(head)
    if not pixels:
        facts.c2pa = read_c2pa(data, file_type)
        return facts
    try:
        if decoded is not None and decoded.mode == "RGB":  # one grey image serves the hash and the spread
            grey = decoded.convert("L")
            main_hash = _phash_of_grey(grey)
            facts.pixel_spread = pixel_spread(grey)
        elif decoded is not None:
            main_hash = _phash(decoded, loaded=True)
            facts.pixel_spread = pixel_spread(decoded)
        else:
            with Image.open(io.BytesIO(data)) as image:
                main_hash = _phash(image)
                facts.pixel_spread = pixel_spread(image)
        facts.phash = str(main_hash)
        if thumbnail:
            with Image.open(io.BytesIO(thumbnail)) as thumb:
                facts.thumbnail_distance = int(main_hash - _phash(thumb))
    except Exception as exc:
        facts.errors.append(f"perceptual hash unavailable ({type(exc).__name__})")
    facts.c2pa = read_c2pa(data, file_type)
    return facts
