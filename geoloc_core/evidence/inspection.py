"""Everything geoloc learns from a file's bytes alone, in one call for the isolated worker.

One function per depth of inspection, so the benchmark can ask exactly what
``exiftool -n`` would be asked (``inspect_exif_and_hash``) and the pipeline asks for
all of it (``inspect_file``). Both run inside ``isolation.IsolatedWorker``: they parse
hostile bytes.
"""
from __future__ import annotations

from .exif import ExifFacts, read_exif
from .filefacts import SUPPORTED_IMAGE_TYPES, FileFacts, inspect_bytes, inspect_bytes_keeping_pixels
from .embedded_metadata import read_embedded_metadata
from .forensic_facts import ForensicFacts, read_forensic_facts
from .metadata_blocks import read_blocks
from .mwg import reconcile


def inspect_exif_and_hash(data: bytes) -> tuple[FileFacts, ExifFacts | None]:
    """The evidence-core facts only (hash, type, dimensions, decodability, EXIF): what
    ``exiftool -n`` would be asked for. ``inspect_file`` adds the forensic facts."""
    facts = inspect_bytes(data)
    return facts, (read_exif(data) if facts.file_type in SUPPORTED_IMAGE_TYPES else None)


def read_metadata(data: bytes) -> ExifFacts:
    """EXIF with the IPTC/XMP claims reconciled into ``exif.claims`` and the metadata blocks compared: the
    part of an inspection that reads no pixels, shared by the full and the metadata-only one (#35)."""
    exif = read_exif(data)
    embedded = read_embedded_metadata(data)
    exif.claims = reconcile(exif, embedded)
    exif.warnings.extend(embedded.warnings)
    try:
        exif.blocks = read_blocks(data, exif, embedded)
    except Exception as exc:  # a block shape nobody foresaw must not cost the file's other facts
        exif.warnings.append(f"metadata blocks not compared ({type(exc).__name__})")
    return exif


def inspect_file(data: bytes) -> tuple[FileFacts, ExifFacts | None, ForensicFacts | None]:
    """File facts and, for images, EXIF (with the IPTC/XMP claims reconciled into ``exif.claims``)
    and forensic facts. Runs inside the isolated worker. The pixels are decoded once: the truncation
    check's reduced-scale decode also serves the perceptual hash and the information check."""
    facts, decoded = inspect_bytes_keeping_pixels(data)
    try:
        if facts.file_type not in SUPPORTED_IMAGE_TYPES:
            return facts, None, None
        exif = read_metadata(data)
        forensic = (read_forensic_facts(data, facts.file_type, exif.thumbnail, decoded=decoded)
                    if facts.error is None else None)
        exif.thumbnail = None  # compared already; not carried further
        return facts, exif, forensic
    finally:
        if decoded is not None:
            decoded.close()


def inspect_metadata_only(data: bytes) -> tuple[FileFacts, ExifFacts | None, ForensicFacts | None]:
    """``inspect_file`` without a pixel decode (``scan --metadata-only``, #35): hash, type and the
    header's dimensions, EXIF/IPTC/XMP, metadata blocks, markers and C2PA; no truncation check, no
    perceptual hash, no pixel spread, no thumbnail comparison. The first pass over an archive: it reads
    what exiftool reads, and a truncated file's pixels are never touched."""
    facts = inspect_bytes(data, decode_check=False)
    if facts.file_type not in SUPPORTED_IMAGE_TYPES:
        return facts, None, None
    exif = read_metadata(data)
    forensic = (read_forensic_facts(data, facts.file_type, None, pixels=False)
                if facts.error is None else None)
    exif.thumbnail = None
    return facts, exif, forensic


def inspect_file_at(path: str, inspector=inspect_file, *extra):
    """``inspector(bytes, *extra)`` over the file at ``path``, read here, in the isolated worker: a
    folder scan then never copies a file through the pipe to the worker (issue #18). The caller has
    made ``FileSource.read``'s checks (size limit) and reads the file itself if this fails."""
    with open(path, "rb") as handle:
        return inspector(handle.read(), *extra)
