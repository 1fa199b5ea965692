from __future__ import annotations

import hashlib
import io
import struct
import zlib

import pytest
from PIL import Image

from geoloc_core.evidence.filefacts import detect_type, inspect_bytes
from tests.imagegen import image_bytes


@pytest.mark.parametrize("fmt,expected", [("JPEG", "jpeg"), ("PNG", "png"), ("WEBP", "webp"), ("TIFF", "tiff"),
                                          ("HEIF", "heic"), ("GIF", "gif")])
def test_type_from_bytes_and_dimensions(fmt, expected):
    data = image_bytes(fmt, size=(120, 80))
    facts = inspect_bytes(data)
    assert facts.file_type == expected
    assert (facts.width, facts.height) == (120, 80)
    assert facts.sha256 == hashlib.sha256(data).hexdigest() and facts.size_bytes == len(data)
    assert facts.error is None


@pytest.mark.parametrize("data,kind,words", [
    (b"", "empty", "empty file"),
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n" * 5, "pdf", "PDF document"),
    (b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(300), "mp3", "MP3 audio"),
    (b"\x00\x01\x00\x00\x00\x0c\x00\x80\x00\x03" + bytes(300), "ttf", "font"),
    (b"just some notes, renamed to look like a photo\n" * 3, "text", "text file"),
    (bytes((i * 37 + 11) % 256 for i in range(4096)), "unknown", "unrecognised"),
])
def test_non_images_are_named_for_what_they_are(data, kind, words):
    facts = inspect_bytes(data)
    assert facts.file_type == kind
    assert words in facts.error


def test_truncated_jpeg_and_png_are_reported():
    jpeg = image_bytes("JPEG", size=(400, 300))
    facts = inspect_bytes(jpeg[: len(jpeg) // 2])
    assert facts.file_type == "jpeg" and "truncated JPEG" in facts.error
    noisy = Image.effect_noise((300, 300), 60).convert("RGB")
    buffer = io.BytesIO()
    noisy.save(buffer, "PNG")
    png = buffer.getvalue()
    facts = inspect_bytes(png[: len(png) // 2])
    assert facts.file_type == "png" and facts.error and ("truncated" in facts.error or "corrupt" in facts.error)


def _png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares a huge size: the classic decompression bomb."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + \
        chunk(b"IEND", b"")


def test_decompression_bomb_is_refused_with_its_size():
    facts = inspect_bytes(_png_declaring(20_000, 20_000))
    assert facts.error and "decompression bomb" in facts.error
    assert "400 Mpx" in facts.error
    modest = inspect_bytes(_png_declaring(10_000, 9_000))  # 90 Mpx: over Pillow's 89 Mpx warning limit
    assert modest.error and "decompression bomb" in modest.error


def test_detect_type_ignores_extension_like_content():
    assert detect_type(image_bytes("PNG"))[0] == "png"
    assert detect_type(b"RIFF\x00\x00\x00\x00WEBPVP8 ")[0] == "webp"
