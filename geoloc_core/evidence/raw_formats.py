"""Camera RAW files: which format the bytes are, where their EXIF lives, and which JPEG previews they carry.

Why a reader of container structure here, beside exifread and LibRaw (``rawpy``): exifread reads the
TIFF-based RAW files (CR2, NEF, NRW, ARW, DNG, ORF, RW2, PEF, SRW, IIQ) as it reads a TIFF, but not the
others, and LibRaw exposes neither make, model nor GPS. The others keep a TIFF-structured EXIF block (or a
JPEG that holds one) at a place their container says, so finding it takes a few lines each:

* CR3 (ISO-BMFF): the ``CMT1``-``CMT4`` boxes inside Canon's ``uuid`` box are IFD0, ExifIFD, the maker
  notes and the GPS IFD, each a TIFF of its own; the ``PRVW`` box holds a 1620-pixel JPEG preview.
* RAF: the header points to a full JPEG (EXIF included) at bytes 84-91.
* MRW: the ``TTW`` block is a TIFF with the EXIF.
* X3F: newer Sigma files embed a JPEG preview with EXIF (an ``SECi`` section of format 18); every X3F
  has a ``SECp`` property list (CAMMANUF, CAMMODEL, TIME) in UTF-16.
* CRW: Canon's CIFF heap (``ciff.py``), also found inside some JPEGs.

Every offset read from the file is checked against its length before use; every walk is bounded.
"""
from __future__ import annotations

import struct

# format -> (maker, long name) for messages and README's table
RAW_FORMATS = {
    "cr2": "Canon CR2", "cr3": "Canon CR3", "crw": "Canon CRW (CIFF)", "nef": "Nikon NEF", "nrw": "Nikon NRW",
    "arw": "Sony ARW", "dng": "Adobe DNG", "raf": "Fujifilm RAF", "orf": "Olympus ORF", "rw2": "Panasonic RW2",
    "pef": "Pentax PEF", "srw": "Samsung SRW", "mrw": "Minolta MRW", "iiq": "Phase One IIQ", "x3f": "Sigma X3F",
}
TIFF_BASED = {"cr2", "nef", "nrw", "arw", "dng", "orf", "rw2", "pef", "srw", "iiq"}
MAX_IFD_ENTRIES = 1000  # no real IFD has more; a hostile count cannot make us loop for long
MAX_IFDS = 64
MAX_BOXES = 4096
# TIFF-based RAW files by IFD0 Make, when no header says the format (NEF, ARW, PEF and SRW are plain TIFF)
_MAKES = (("NIKON", "nef"), ("SONY", "arw"), ("SAMSUNG", "srw"), ("PENTAX", "pef"), ("RICOH IMAGING", "pef"),
          ("ASAHI", "pef"))
_RAW_COMPRESSIONS = {32767, 32769, 32770, 32772, 34316, 34713, 65000, 65535}  # vendor raw codecs (not 32773 PackBits)
_CFA = 32803  # PhotometricInterpretation of a colour filter array: raw sensor data
_LINEAR_RAW = 34892


def is_tiff(data: bytes) -> bool:
    return data[:4] in (b"II*\x00", b"MM\x00*")


def detect_raw(data: bytes) -> str | None:
    """The RAW format of the bytes ("nef", "cr3", ...), or None. From the bytes, never the name."""
    head = data[:32]
    if head[:4] == b"II*\x00" and head[8:10] == b"CR":
        return "cr2"
    if head[4:12] == b"ftypcrx ":
        return "cr3"
    if head[:2] == b"II" and head[6:14] == b"HEAPCCDR":
        return "crw"
    if head.startswith(b"FUJIFILMCCD-RAW"):
        return "raf"
    if head[:4] == b"\x00MRM":
        return "mrw"
    if head[:4] == b"FOVb":
        return "x3f"
    if head[:4] in (b"IIRO", b"IIRS", b"MMOR"):
        return "orf"
    if head[:4] == b"IIU\x00":
        return "rw2"
    if not is_tiff(data):
        return None
    if head[8:12] == b"IIII":
        return "iiq"
    tiff = Tiff(data)
    ifd0 = tiff.ifd(tiff.first_ifd())
    if 0xC612 in ifd0:  # DNGVersion
        return "dng"
    make = (tiff.ascii(ifd0.get(0x010F)) or "").upper()
    fmt = next((f for prefix, f in _MAKES if make.startswith(prefix)), None)
    if fmt is None or not _holds_raw(tiff, ifd0):
        return None  # a camera maker's ordinary TIFF is a TIFF
    if fmt == "nef" and (tiff.ascii(ifd0.get(0x0110)) or "").upper().startswith("COOLPIX"):
        return "nrw"  # Nikon's compact cameras write the NEF structure under this name
    return fmt


def _holds_raw(tiff: "Tiff", ifd0: dict) -> bool:
    """Sensor data in IFD0 or a SubIFD (CFA or a vendor codec), or SubIFDs at all (where RAW files keep it)."""
    if 0x014A in ifd0:
        return True
    photometric = tiff.number(ifd0.get(0x0106))
    compression = tiff.number(ifd0.get(0x0103))
    return photometric in (_CFA, _LINEAR_RAW) or compression in _RAW_COMPRESSIONS


class Tiff:
    """Just enough of TIFF to walk IFDs and read values, every offset checked (``ifd`` never raises)."""

    _SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4, 16: 8}

    def __init__(self, data: bytes, base: int = 0):
        self.data, self.base = data, base
        self.order = "<" if data[base:base + 2] == b"II" else ">"

    def first_ifd(self) -> int:
        return self._u32(4) or 0

    def _u16(self, at: int) -> int | None:
        at += self.base
        return struct.unpack(self.order + "H", self.data[at:at + 2])[0] if 0 <= at and at + 2 <= len(self.data) \
            else None

    def _u32(self, at: int) -> int | None:
        at += self.base
        return struct.unpack(self.order + "I", self.data[at:at + 4])[0] if 0 <= at and at + 4 <= len(self.data) \
            else None

    def ifd(self, offset: int) -> dict[int, tuple[int, int, int]]:
        """tag -> (type, count, absolute offset of the value) for the IFD at ``offset`` (relative to base)."""
        count = self._u16(offset)
        if not offset or count is None or count > MAX_IFD_ENTRIES:
            return {}
        entries = {}
        for i in range(count):
            at = offset + 2 + 12 * i
            tag, kind = self._u16(at), self._u16(at + 2)
            number = self._u32(at + 4)
            if tag is None or kind is None or number is None:
                break
            size = self._SIZES.get(kind, 1) * number
            value_at = at + 8 if size <= 4 else self._u32(at + 8)
            if value_at is None or self.base + value_at + min(size, 4) > len(self.data):
                continue
            entries[tag] = (kind, number, self.base + value_at)
        return entries

    def next_ifd(self, offset: int) -> int:
        count = self._u16(offset)
        return (self._u32(offset + 2 + 12 * count) or 0) if count is not None and count <= MAX_IFD_ENTRIES else 0

    def numbers(self, entry: tuple[int, int, int] | None, limit: int = 64) -> list[int]:
        if entry is None:
            return []
        kind, count, at = entry
        code = {1: "B", 3: "H", 4: "I", 13: "I"}.get(kind)
        if code is None:
            return []
        count = min(count, limit)
        size = struct.calcsize(code) * count
        if at + size > len(self.data):
            return []
        return list(struct.unpack(f"{self.order}{count}{code}", self.data[at:at + size]))

    def number(self, entry) -> int | None:
        values = self.numbers(entry, 1)
        return values[0] if values else None

    def ascii(self, entry) -> str | None:
        if entry is None or entry[0] != 2:
            return None
        _, count, at = entry
        raw = self.data[at:at + min(count, 256)].split(b"\x00", 1)[0]
        return raw.decode("latin-1").strip() or None

    def all_ifds(self) -> list[dict]:
        """IFD0 and the chain after it, plus every SubIFD (0x014A) and Sony/Nikon preview IFD, at most MAX_IFDS."""
        seen, out, todo = set(), [], [self.first_ifd()]
        while todo and len(out) < MAX_IFDS:
            offset = todo.pop(0)
            if not offset or offset in seen:
                continue
            seen.add(offset)
            entries = self.ifd(offset)
            if not entries:
                continue
            out.append(entries)
            todo.append(self.next_ifd(offset))
            todo += self.numbers(entries.get(0x014A), 16)
        return out


def jpeg_size(jpeg: bytes) -> tuple[int, int] | None:
    """(width, height) from a JPEG's SOF marker, without decoding; None when it is not a JPEG."""
    if jpeg[:2] != b"\xff\xd8":
        return None
    pos = 2
    for _ in range(512):
        if pos + 4 > len(jpeg) or jpeg[pos] != 0xFF:
            return None
        marker = jpeg[pos + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
            pos += 1 if marker == 0xFF else 2
            continue
        length = int.from_bytes(jpeg[pos + 2:pos + 4], "big")
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
            if pos + 9 > len(jpeg):
                return None
            height, width = struct.unpack(">HH", jpeg[pos + 5:pos + 9])
            return (width, height) if width and height else None
        if marker == 0xDA or length < 2:
            return None
        pos += 2 + length
    return None


def tiff_jpegs(data: bytes) -> list[bytes]:
    """JPEG previews a TIFF-based RAW points to: JPEGInterchangeFormat(+Length), and single-strip
    JPEG-compressed IFDs (DNG previews, NEF's JpgFromRaw)."""
    if not is_tiff(data) and data[:4] not in (b"IIRO", b"IIRS", b"MMOR", b"IIU\x00"):
        return []
    tiff = Tiff(data)
    found = []
    for entries in tiff.all_ifds():
        pairs = [(tiff.number(entries.get(0x0201)), tiff.number(entries.get(0x0202)))]
        if tiff.number(entries.get(0x0103)) in (6, 7):
            offsets, counts = tiff.numbers(entries.get(0x0111), 2), tiff.numbers(entries.get(0x0117), 2)
            if len(offsets) == 1 and len(counts) == 1:
                pairs.append((offsets[0], counts[0]))
        for start, length in pairs:
            if start and length and start + length <= len(data) and data[start:start + 2] == b"\xff\xd8":
                found.append(data[start:start + length])
    return found


# --- containers that are not TIFF --------------------------------------------------------------------

CANON_UUID = bytes.fromhex("85c0b687820f11e08111f4ce462b6a48")
XMP_UUID = bytes.fromhex("be7acfcb97a942e89c71999491e3afac")
PREVIEW_UUID = bytes.fromhex("eaf42b5e1c984b88b9fbb7dc406e4d16")


def _boxes(data: bytes, start: int, end: int):
    """(type, payload start, payload end) of the ISO-BMFF boxes in data[start:end]."""
    pos, n = start, 0
    while pos + 8 <= end and n < MAX_BOXES:
        n += 1
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        header = 8
        if size == 1 and pos + 16 <= end:
            size, header = struct.unpack(">Q", data[pos + 8:pos + 16])[0], 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            return
        yield kind, pos + header, pos + size
        pos += size


def cr3_blocks(data: bytes) -> dict[str, bytes]:
    """CR3: {"CMT1": IFD0 TIFF, "CMT2": ExifIFD TIFF, "CMT3": maker notes, "CMT4": GPS TIFF, "PRVW": JPEG}."""
    out: dict[str, bytes] = {}
    for kind, start, end in _boxes(data, 0, len(data)):
        if kind == b"moov":
            for sub, s_start, s_end in _boxes(data, start, end):
                if sub == b"uuid" and data[s_start:s_start + 16] == CANON_UUID:
                    for leaf, l_start, l_end in _boxes(data, s_start + 16, s_end):
                        name = leaf.decode("latin-1")
                        if name in ("CMT1", "CMT2", "CMT3", "CMT4"):
                            out[name] = data[l_start:l_end]
        elif kind == b"uuid" and data[start:start + 16] == PREVIEW_UUID:
            for leaf, l_start, l_end in _boxes(data, start + 24, end):  # 16-byte uuid + 8 bytes of version
                if leaf == b"PRVW" and l_end - l_start > 8:
                    jpeg = data[l_start + 8:l_end]  # 4 bytes unknown, width, height, 2 unknown, length
                    position = jpeg.find(b"\xff\xd8")
                    if 0 <= position < 16:
                        out["PRVW"] = jpeg[position:]
    return out


def raf_jpeg(data: bytes) -> bytes | None:
    """RAF: the full JPEG (with EXIF) whose offset and length the header keeps at bytes 84-91."""
    if len(data) < 92:
        return None
    offset, length = struct.unpack(">II", data[84:92])
    jpeg = data[offset:offset + length]
    return jpeg if jpeg[:2] == b"\xff\xd8" and len(jpeg) == length else None


def mrw_tiff(data: bytes) -> bytes | None:
    """MRW: the TIFF of the ``TTW`` block inside the ``MRM`` block."""
    if len(data) < 8:
        return None
    end = min(len(data), 8 + struct.unpack(">I", data[4:8])[0])
    pos = 8
    for _ in range(64):
        if pos + 8 > end:
            return None
        kind, length = data[pos:pos + 4], struct.unpack(">I", data[pos + 4:pos + 8])[0]
        if kind == b"\x00TTW":
            block = data[pos + 8:pos + 8 + length]
            return block if is_tiff(block) else None
        pos += 8 + length
    return None


def _x3f_sections(data: bytes) -> list[tuple[bytes, int, int]]:
    if len(data) < 8:
        return []
    directory = struct.unpack("<I", data[-4:])[0]
    if data[directory:directory + 4] != b"SECd" or directory + 12 > len(data):
        return []
    count = min(struct.unpack("<I", data[directory + 8:directory + 12])[0], 256)
    sections = []
    for i in range(count):
        at = directory + 12 + 12 * i
        if at + 12 > len(data):
            break
        offset, length, kind = struct.unpack("<II4s", data[at:at + 12])
        if offset + length <= len(data):
            sections.append((kind, offset, length))
    return sections


def x3f_jpegs(data: bytes) -> list[bytes]:
    """X3F: the JPEG previews (image sections of format 18)."""
    out = []
    for kind, offset, length in _x3f_sections(data):
        section = data[offset:offset + length]
        if kind in (b"IMAG", b"IMA2") and section[:4] == b"SECi" and len(section) > 28:
            image_format = struct.unpack("<I", section[12:16])[0]
            if image_format == 18 and section[28:30] == b"\xff\xd8":
                out.append(section[28:])
    return out


def x3f_properties(data: bytes) -> dict[str, str]:
    """X3F's ``SECp`` property list (UTF-16 names and values): CAMMANUF, CAMMODEL, TIME, LENSMODEL, ..."""
    for kind, offset, length in _x3f_sections(data):
        section = data[offset:offset + length]
        if kind != b"PROP" or section[:4] != b"SECp" or len(section) < 24:
            continue
        count = min(struct.unpack("<I", section[8:12])[0], 1024)
        chars = section[24 + 8 * count:]

        def text(index: int) -> str:
            start = 2 * index
            end = chars.find(b"\x00\x00", start)
            while end >= 0 and (end - start) % 2:
                end = chars.find(b"\x00\x00", end + 1)
            return chars[start:end if end >= 0 else len(chars)].decode("utf-16-le", "replace")

        props = {}
        for i in range(count):
            at = 24 + 8 * i
            if at + 8 > len(section):
                break
            name_at, value_at = struct.unpack("<II", section[at:at + 8])
            props[text(name_at)[:32]] = text(value_at)[:256]
        return props
    return {}


def exif_tiffs(data: bytes, fmt: str) -> list[tuple[str, bytes]]:
    """(block, TIFF or JPEG bytes holding EXIF) for exifread, in the order they are read. TIFF-based formats
    are the file itself; CR3 names its CMT boxes; RAF, MRW and X3F point to an embedded JPEG or TIFF."""
    if fmt in TIFF_BASED:
        return [("file", data)]
    if fmt == "cr3":
        blocks = cr3_blocks(data)
        return [(name, blocks[name]) for name in ("CMT1", "CMT2", "CMT4", "CMT3") if name in blocks]
    if fmt == "raf":
        jpeg = raf_jpeg(data)
        return [("file", jpeg)] if jpeg else []
    if fmt == "mrw":
        tiff = mrw_tiff(data)
        return [("file", tiff)] if tiff else []
    if fmt == "x3f":
        return [("file", jpeg) for jpeg in x3f_jpegs(data)[:1]]
    return []


def preview_jpegs(data: bytes, fmt: str) -> list[bytes]:
    """Every embedded JPEG preview the container points to (the caller picks the largest)."""
    from .ciff import read_ciff

    if fmt == "cr3":
        blocks = cr3_blocks(data)
        return [blocks["PRVW"]] if "PRVW" in blocks else []
    if fmt == "raf":
        jpeg = raf_jpeg(data)
        return [jpeg] if jpeg else []
    if fmt == "x3f":
        return x3f_jpegs(data)
    if fmt == "crw":
        jpeg = read_ciff(data).jpeg
        return [jpeg] if jpeg else []
    if fmt == "mrw":
        return []
    return tiff_jpegs(data)


def orientation(data: bytes, fmt: str) -> int:
    """The EXIF Orientation (1-8) of the RAW's IFD0, which its previews usually do not repeat; 1 if unknown."""
    blocks = exif_tiffs(data, fmt)
    if not blocks or not is_tiff(blocks[0][1]):
        return 1
    tiff = Tiff(blocks[0][1])
    value = tiff.number(tiff.ifd(tiff.first_ifd()).get(0x0112))
    return value if value in range(1, 9) else 1


def xmp_and_iptc(data: bytes, fmt: str) -> tuple[bytes | None, bytes | None]:
    """(XMP packet, IPTC-IIM block) of a RAW file: TIFF tags 700 and 33723 of IFD0 for the TIFF-based
    formats (and the TIFF inside MRW), the XMP ``uuid`` box for CR3, and the embedded JPEG's for RAF and
    X3F (the caller reads those as a JPEG)."""
    if fmt == "cr3":
        for kind, start, end in _boxes(data, 0, len(data)):
            if kind == b"uuid" and data[start:start + 16] == XMP_UUID:
                return data[start + 16:end], None
        return None, None
    block = data if fmt in TIFF_BASED else mrw_tiff(data) if fmt == "mrw" else None
    if block is None:
        return None, None
    tiff = Tiff(block)
    ifd0 = tiff.ifd(tiff.first_ifd())
    out = []
    for tag in (700, 33723):
        entry = ifd0.get(tag)
        if entry is None:
            out.append(None)
            continue
        kind, count, at = entry
        size = count * (4 if kind in (4, 13) else 1)
        out.append(block[at:at + size] if at + size <= len(block) else None)
    return out[0], out[1]
