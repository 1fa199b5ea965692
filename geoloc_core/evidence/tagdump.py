"""Every metadata tag a file carries, grouped the way ``exiftool -a -G1`` groups them.

Why: the result card shows the dozen fields geoloc reasons with; an analyst reopening a finding
wants everything (MakerNote summaries, IPTC captions, XMP history, PNG text chunks) without
leaving the tool. exifread reads EXIF, GPS and MakerNotes (it already parses hostile files for
geoloc and knows the maker-note tables); Pillow reads IPTC, XMP and PNG/WebP text. Runs in the
isolated parser worker, like every parser of hostile bytes. Values stay raw text: the app shows
them in a table (plain text), never as Markdown or HTML.
"""
from __future__ import annotations

import io

MAX_VALUE_CHARS = 2000
# exifread's prefix -> exiftool's family-1 group name
EXIFREAD_GROUPS = {"Image": "IFD0", "Thumbnail": "IFD1", "EXIF": "ExifIFD", "GPS": "GPS", "Interoperability":
                   "InteropIFD", "MakerNote": "MakerNotes"}
IPTC_NAMES = {(1, 90): "CodedCharacterSet", (2, 5): "ObjectName", (2, 25): "Keywords", (2, 55): "DateCreated",
              (2, 60): "TimeCreated", (2, 80): "By-line", (2, 85): "By-lineTitle", (2, 90): "City",
              (2, 92): "Sub-location", (2, 95): "Province-State", (2, 100): "Country-PrimaryLocationCode",
              (2, 101): "Country-PrimaryLocationName", (2, 103): "OriginalTransmissionReference",
              (2, 105): "Headline", (2, 110): "Credit", (2, 115): "Source", (2, 116): "CopyrightNotice",
              (2, 120): "Caption-Abstract", (2, 122): "Writer-Editor"}


def _text(value: object) -> str:
    if isinstance(value, bytes):
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError:
            return f"(binary data, {len(value):,} bytes)"
        if any(ord(c) < 32 and c not in "\t\n\r" for c in text.rstrip("\x00")):
            return f"(binary data, {len(value):,} bytes)"
        value = text.rstrip("\x00")
    text = str(value)
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS] + f"... ({len(text):,} characters)"


def _flatten(prefix: str, value: object, rows: list[tuple[str, str, str]], group: str) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _flatten(f"{prefix}:{key}" if prefix else str(key), inner, rows, group)
    elif isinstance(value, (list, tuple)):
        if all(not isinstance(v, (dict, list, tuple)) for v in value):
            rows.append((group, prefix, _text(", ".join(str(v) for v in value))))
        else:
            for index, inner in enumerate(value):
                _flatten(f"{prefix}[{index}]", inner, rows, group)
    else:
        rows.append((group, prefix, _text(value)))


def tag_dump(data: bytes) -> list[tuple[str, str, str]]:
    """(group, tag, value) rows for every tag found; problems become rows in group "Warning"."""
    import exifread
    from PIL import Image, IptcImagePlugin

    from . import filefacts  # noqa: F401  (registers the HEIF opener)

    rows: list[tuple[str, str, str]] = []
    try:
        tags = exifread.process_file(io.BytesIO(data), details=True, extract_thumbnail=False)
        for key, value in tags.items():
            prefix, _, name = key.partition(" ")
            group = EXIFREAD_GROUPS.get(prefix, prefix)
            rows.append((group, name or prefix, _text(getattr(value, "printable", value))))
    except Exception:  # exifread on hostile bytes raises anything
        rows.append(("Warning", "EXIF", "EXIF could not be read completely (malformed)"))
    try:
        with Image.open(io.BytesIO(data)) as image:
            rows += [("File", "FileType", image.format or ""), ("File", "ImageWidth", str(image.width)),
                     ("File", "ImageHeight", str(image.height)), ("File", "ColorMode", image.mode)]
            iptc = IptcImagePlugin.getiptcinfo(image) or {}
            for (record, dataset), value in sorted(iptc.items()):
                values = value if isinstance(value, list) else [value]
                rows.append(("IPTC", IPTC_NAMES.get((record, dataset), f"{record}:{dataset}"),
                             _text("; ".join(_text(v) for v in values))))
            try:
                xmp = image.getxmp()
            except Exception:
                xmp = {}
            _flatten("", xmp, rows, "XMP")
            for key, value in image.info.items():
                if key in ("exif", "xmp", "icc_profile", "XML:com.adobe.xmp", "photoshop", "transparency"):
                    continue
                rows.append((f"{image.format or 'File'}-info", str(key), _text(value)))
            if image.info.get("icc_profile"):
                rows.append(("ICC_Profile", "ProfileSize", f"{len(image.info['icc_profile']):,} bytes"))
    except Exception:
        rows.append(("Warning", "Image", "not readable as an image: no image groups"))
    return rows
