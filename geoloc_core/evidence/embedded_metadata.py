"""XMP and IPTC-IIM as written in a file: the *written* claims (place, caption, creator, date).

Why these libraries:
* Pillow (already a dependency for every container geoloc reads) finds the packets:
  the XMP packet of JPEG, PNG, WebP and TIFF (``info["xmp"]``), pillow-heif's for
  HEIC/AVIF, the Photoshop resources of JPEG (``info["photoshop"]``: the IPTC block
  0x0404 and the IPTC digest 0x0425) and TIFF (tags 33723 and 34377), and its
  ``IptcImagePlugin.getiptcinfo`` parses the IIM datasets.
* defusedxml parses the XMP: XML from a file is hostile, and defusedxml refuses a DTD
  outright (``forbid_dtd``), so no entity expansion ("billion laughs") and no external
  entity can happen, whatever the packet says. A binding to exiv2 would also read maker
  notes, but its XMP parser is C++ whose entity handling we cannot switch off or test
  from Python; geoloc reads the one maker-note value it needs (Canon's LensModel)
  through exifread instead (``exif.py``).

Values are kept raw (strings as written) with exiftool's group:tag names, so that
``mwg.py`` can reconcile them and say where each one came from. Runs inside the
isolated worker; every problem becomes a warning, never an exception.
"""
from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass, field

from .text_limits import MAX_TEXT_CHARS  # IPTC Caption-Abstract allows 2000 bytes; never megabytes

MAX_XMP_BYTES = 2 * 1024 * 1024  # a standard XMP packet fits one 64 KB JPEG segment; refuse absurd ones

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
# exiftool's family-1 group names for the namespaces geoloc reads
NAMESPACES = {
    "http://purl.org/dc/elements/1.1/": "XMP-dc",
    "http://ns.adobe.com/photoshop/1.0/": "XMP-photoshop",
    "http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/": "XMP-iptcCore",
    "http://iptc.org/std/Iptc4xmpExt/2008-02-29/": "XMP-iptcExt",
    "http://ns.adobe.com/xap/1.0/": "XMP-xmp",
    "http://ns.adobe.com/exif/1.0/": "XMP-exif",
    "http://ns.adobe.com/tiff/1.0/": "XMP-tiff",
    "http://cipa.jp/exif/1.0/": "XMP-exifEX",
    "http://ns.adobe.com/exif/1.0/aux/": "XMP-aux",
    "http://ns.camerabits.com/photomechanic/1.0/": "XMP-photomech",  # Photo Mechanic's TimeCreated
}
# IPTC-IIM application record (2:xx) datasets geoloc reads, with exiftool's names
IPTC_DATASETS = {
    (2, 80): "By-line", (2, 90): "City", (2, 92): "Sub-location", (2, 95): "Province-State",
    (2, 100): "Country-PrimaryLocationCode", (2, 101): "Country-PrimaryLocationName",
    (2, 120): "Caption-Abstract", (2, 55): "DateCreated", (2, 60): "TimeCreated",
    (2, 62): "DigitalCreationDate", (2, 63): "DigitalCreationTime",
}
UTF8_ESCAPE = b"\x1b%G"  # 1:90 CodedCharacterSet for UTF-8


@dataclass
class EmbeddedMetadata:
    """XMP and IPTC values as written, keyed "Group:Tag" (e.g. "XMP-photoshop:City", "IPTC:City").
    A value is a string, or a list of strings for lists (dc:creator, repeated IPTC By-line)."""

    xmp: dict[str, str | list[str]] = field(default_factory=dict)
    iptc: dict[str, str | list[str]] = field(default_factory=dict)
    iptc_digest_current: str | None = None  # MD5 of the IPTC block as it is now (hex)
    iptc_digest_stored: str | None = None  # Photoshop 0x0425: MD5 written when XMP was last synchronised
    warnings: list[str] = field(default_factory=list)


def _clip(text: str) -> str:
    text = text.replace("\x00", "").strip()
    return text[:MAX_TEXT_CHARS]


# --- XMP -------------------------------------------------------------------------------------

def _xmp_packet(image, data: bytes, warnings: list[str]) -> bytes | None:
    raw = image.info.get("xmp")
    if raw is None and image.format == "PNG":
        raw = _png_trailing_xmp(data, warnings)
    if raw is None:
        return None
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    if len(raw) > MAX_XMP_BYTES:
        warnings.append(f"XMP packet of {len(raw):,} bytes refused (over {MAX_XMP_BYTES:,}); not read")
        return None
    return bytes(raw)


def _png_trailing_xmp(data: bytes, warnings: list[str]) -> bytes | None:
    """The XMP iTXt chunk written *after* the image data (legal, and exiftool reads it), which Pillow
    only reaches by decoding every pixel: walk the chunk headers instead, inflating at most MAX_XMP_BYTES."""
    import struct
    import zlib

    position = 8
    while position + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        body = data[position + 8:position + 8 + length]
        position += 12 + length
        if kind == b"IEND":
            break
        if kind != b"iTXt" or not body.startswith(b"XML:com.adobe.xmp\x00"):
            continue
        rest = body[len(b"XML:com.adobe.xmp\x00"):]
        if len(rest) < 2:
            return None
        compressed, text = rest[0], rest[2:]
        text = text.split(b"\x00", 2)[-1] if text.count(b"\x00") >= 2 else b""  # skip language and translated keyword
        if not compressed:
            return text
        inflater = zlib.decompressobj()
        try:
            out = inflater.decompress(text, MAX_XMP_BYTES + 1)
        except zlib.error:
            warnings.append("compressed XMP chunk is corrupt; not read")
            return None
        return out
    return None


def _packet_text(packet: bytes) -> str | None:
    """The packet as text. XMP may be UTF-8 or UTF-16/32 (the spec allows all; exiftool's own
    sample is UTF-16 BE); the byte order mark sits inside ``<?xpacket begin=...>``, not in front."""
    if packet.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    elif packet[:1] == b"\x00" and packet[1:2] != b"\x00":
        encoding = "utf-16-be"
    elif packet[1:2] == b"\x00" and packet[:1] != b"\x00" and packet[3:4] != b"\x00":
        encoding = "utf-16-le"
    else:
        encoding = "utf-8"
    try:
        return packet.decode(encoding)
    except UnicodeDecodeError:
        return packet.decode("utf-8", "replace") if encoding == "utf-8" else None


def _strip_packet_wrapper(packet: bytes) -> bytes:
    """The XML between <x:xmpmeta> (or a bare <rdf:RDF>) and its end tag, re-encoded as UTF-8;
    a DOCTYPE written before it is kept, so that defusedxml sees it and refuses the packet."""
    text = _packet_text(packet)
    if not text:
        return b""
    starts = [i for i in (text.find("<x:xmpmeta"), text.find("<x:xapmeta"), text.find("<rdf:RDF")) if i >= 0]
    if not starts:
        return b""
    start = min(starts)
    ends = [text.rfind(tag) + len(tag) for tag in ("</x:xmpmeta>", "</x:xapmeta>", "</rdf:RDF>") if tag in text]
    end = max(ends, default=len(text))
    doctype = text.find("<!DOCTYPE")
    prefix = text[doctype:start] if 0 <= doctype < start else ""
    return (prefix + text[start:end]).encode("utf-8")


def _local(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        uri, _, name = tag[1:].partition("}")
        return uri, name
    return "", tag


def _element_value(element) -> str | list[str] | None:
    """Text of a simple property, the items of rdf:Seq/Bag, the x-default of an rdf:Alt."""
    resource = element.get(f"{{{RDF}}}resource")
    if resource is not None:
        return _clip(resource)
    container = next(iter(element), None)
    if container is None:
        return _clip(element.text or "") or None
    uri, name = _local(container.tag)
    if uri == RDF and name in ("Seq", "Bag", "Alt"):
        items = [li for li in container if _local(li.tag) == (RDF, "li")]
        if name == "Alt":
            chosen = next((li for li in items if li.get(XML_LANG) == "x-default"), items[0] if items else None)
            return _clip(chosen.text or "") or None if chosen is not None else None
        values = [_clip(li.text or "") for li in items]
        return [v for v in values if v] or None
    return None


def _struct_fields(element) -> dict[str, str]:
    """Fields of an XMP struct, written as rdf:parseType="Resource", a nested rdf:Description or attributes."""
    out: dict[str, str] = {}
    holders = [element] + [child for child in element if _local(child.tag) == (RDF, "Description")]
    for holder in holders:
        for key, value in holder.attrib.items():
            uri, name = _local(key)
            if uri and uri != RDF:
                out[name] = _clip(value)
        for child in holder:
            uri, name = _local(child.tag)
            if uri == RDF:
                continue
            value = _element_value(child)
            if isinstance(value, str) and value:
                out[name] = value
    return out


def parse_xmp(packet: bytes, warnings: list[str]) -> dict[str, str | list[str]]:
    """The properties geoloc reads from one XMP packet, keyed like exiftool ("XMP-dc:Creator").
    ``XMP-iptcExt:LocationShown<Field>`` / ``LocationCreated<Field>`` hold the first struct's fields."""
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import ParseError, fromstring

    body = _strip_packet_wrapper(packet)
    if not body:
        warnings.append("XMP packet present but holds no rdf:RDF; not read")
        return {}
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        warnings.append(f"XMP refused: it declares a DTD or entities ({type(exc).__name__}), which XMP never needs")
        return {}
    except (ParseError, ValueError) as exc:
        warnings.append(f"XMP is not well-formed XML ({str(exc)[:100]}); not read")
        return {}
    values: dict[str, str | list[str]] = {}
    for description in root.iter(f"{{{RDF}}}Description"):
        for key, value in description.attrib.items():
            uri, name = _local(key)
            group = NAMESPACES.get(uri)
            if group:
                values.setdefault(f"{group}:{_upper_first(name)}", _clip(value))
        for child in description:
            uri, name = _local(child.tag)
            group = NAMESPACES.get(uri)
            if not group:
                continue
            if group == "XMP-iptcExt" and name in ("LocationShown", "LocationCreated"):
                container = next(iter(child), None)
                first = None
                if container is not None and _local(container.tag)[0] == RDF:
                    first = next((li for li in container if _local(li.tag) == (RDF, "li")), None)
                struct = _struct_fields(first if first is not None else child)
                for field_name, field_value in struct.items():
                    values.setdefault(f"{group}:{name}{field_name}", field_value)
                continue
            value = _element_value(child)
            if value:
                values.setdefault(f"{group}:{_upper_first(name)}", value)
    return values


def _upper_first(name: str) -> str:
    return name[:1].upper() + name[1:]


# --- IPTC-IIM ----------------------------------------------------------------------------------

def _iptc_block(image) -> tuple[bytes | None, bytes | None]:
    """(raw IPTC block, stored IPTC digest) from JPEG APP13 or TIFF tags."""
    from PIL import JpegImagePlugin, TiffImagePlugin

    if isinstance(image, JpegImagePlugin.JpegImageFile):
        photoshop = image.info.get("photoshop") or {}
        block, digest = photoshop.get(0x0404), photoshop.get(0x0425)
        return (block if isinstance(block, bytes) else None), (digest if isinstance(digest, bytes) else None)
    if isinstance(image, TiffImagePlugin.TiffImageFile):
        block = image.tag_v2._tagdata.get(TiffImagePlugin.IPTC_NAA_CHUNK)
        digest = None
        try:
            digest = (image.get_photoshop_blocks().get(0x0425) or {}).get("data")
        except Exception:
            pass
        return (bytes(block) if block else None), digest
    return None, None


def _decode_iptc(raw: bytes, utf8: bool) -> str:
    if utf8:
        return raw.decode("utf-8", "replace")
    try:  # no CodedCharacterSet: exiftool reads Latin (cp1252); valid non-ASCII UTF-8 is almost surely UTF-8
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", "replace")


def parse_iptc(block: bytes, warnings: list[str]) -> dict[str, str | list[str]]:
    from PIL import IptcImagePlugin

    class _Holder:  # getiptcinfo wants an image; hand it the block the way it reads IPTC files
        pass

    holder = _Holder()
    holder.__class__ = IptcImagePlugin.IptcImageFile
    holder.info, holder.fp = {}, io.BytesIO(block)
    try:
        holder._open()
    except (IndexError, KeyError):  # reached the end of the datasets (no image record): normal for IIM in JPEG
        pass
    except Exception as exc:
        warnings.append(f"IPTC block partly unreadable ({type(exc).__name__}: {str(exc)[:80]})")
    datasets = {k: v for k, v in holder.info.items() if isinstance(k, tuple)}
    charset = datasets.get((1, 90))
    charset = charset[0] if isinstance(charset, list) else charset
    utf8 = bool(charset) and UTF8_ESCAPE in charset
    values: dict[str, str | list[str]] = {}
    for key, name in IPTC_DATASETS.items():
        raw = datasets.get(key)
        if raw is None:
            continue
        items = [_clip(_decode_iptc(r, utf8)) for r in (raw if isinstance(raw, list) else [raw]) if r]
        items = [i for i in items if i]
        if items:
            values[f"IPTC:{name}"] = items if name == "By-line" and len(items) > 1 else items[0]
    return values


def read_embedded_metadata(data: bytes) -> EmbeddedMetadata:
    """XMP and IPTC of an image file. Never raises; nothing here decodes pixels."""
    from PIL import Image

    from . import filefacts  # noqa: F401  (registers the HEIF opener)

    from .raw_formats import detect_raw, exif_tiffs, xmp_and_iptc

    meta = EmbeddedMetadata()
    raw = detect_raw(data)
    if raw in ("raf", "x3f"):  # their XMP/IPTC, if any, sits in the embedded JPEG, read as a JPEG
        jpegs = [block for _, block in exif_tiffs(data, raw)]
        return read_embedded_metadata(jpegs[0]) if jpegs and jpegs[0][:2] == b"\xff\xd8" else meta
    try:
        if raw:
            packet, block = xmp_and_iptc(data, raw)
            digest = None
            if packet is not None and len(packet) > MAX_XMP_BYTES:
                meta.warnings.append(f"XMP packet of {len(packet):,} bytes refused (over {MAX_XMP_BYTES:,}); not read")
                packet = None
        else:
            with Image.open(io.BytesIO(data)) as image:
                packet = _xmp_packet(image, data, meta.warnings)
                block, digest = _iptc_block(image)
    except Exception as exc:
        meta.warnings.append(f"XMP/IPTC could not be read ({type(exc).__name__})")
        return meta
    if packet:
        meta.xmp = parse_xmp(packet, meta.warnings)
    if block:
        meta.iptc_digest_current = hashlib.md5(block).hexdigest()
        meta.iptc = parse_iptc(block, meta.warnings)
    if digest and len(digest) == 16:
        meta.iptc_digest_stored = digest.hex()
    return meta


_XMP_GPS = re.compile(r"^\s*(\d{1,3}),(\d{1,2}(?:\.\d+)?)(?:,(\d{1,2}(?:\.\d+)?))?\s*([NSEW])\s*$", re.IGNORECASE)


def xmp_coordinate(text: str | None) -> float | None:
    """XMP's "DDD,MM.mmmmN" / "DDD,MM,SSN" GPS notation (XMP spec part 2) -> signed degrees."""
    if not text:
        return None
    match = _XMP_GPS.match(text)
    if not match:
        try:
            return float(text)
        except ValueError:
            return None
    degrees = int(match.group(1)) + float(match.group(2)) / 60 + float(match.group(3) or 0) / 3600
    return -degrees if match.group(4).upper() in "SW" else degrees
