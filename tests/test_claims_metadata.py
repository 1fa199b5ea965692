"""XMP and IPTC-IIM reading and MWG reconciliation, measured against exiftool.

Corpus: exiftool's own sample images (real camera, editor and agency files, tests/data/exiftool_samples)
plus agency-style files that exiftool writes here (tests/agency_corpus.py). Reference:
``exiftool -j -n -a -G1 -use MWG`` (tests/metadata_agreement.py).
"""
from __future__ import annotations

import io
import shutil
import time
from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin

from geoloc_core.evidence.embedded_metadata import read_embedded_metadata, xmp_coordinate
from geoloc_core.evidence.inspection import inspect_file
from geoloc_core.evidence.mwg import iptc_datetime, xmp_datetime
from tests import agency_corpus
from tests.metadata_agreement import compare, exiftool_reference, geoloc_values

SAMPLES = Path(__file__).resolve().parent / "data" / "exiftool_samples"
needs_exiftool = pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool is installed by make test")
# Every value where geoloc and exiftool may differ, with the reason (also in tests/README.md).
KNOWN_DIFFERENCES: dict[tuple[str, str], str] = {
    ("FLIR.jpg", "LensModel"): "FLIR writes the lens in its own APP1 'FLIR' record (FFF format), not in EXIF or its "
                               "maker note; neither exifread nor Pillow reads that record",
    ("PhotoMechanic.jpg", "capture time"): "MWG's composite stops at XMP-photoshop:DateCreated's day; geoloc joins "
                                           "IPTC:TimeCreated of the same day, as exiftool's Composite:"
                                           "DateTimeOriginal does (tests/test_iptc_time.py)",
}


def _claims(path: Path):
    facts, exif, _ = inspect_file(path.read_bytes())
    assert exif is not None, facts.error
    return exif.claims


@pytest.fixture(scope="module")
def agency_files(tmp_path_factory):
    if shutil.which("exiftool") is None:
        pytest.skip("exiftool is installed by make test")
    return agency_corpus.build(tmp_path_factory.mktemp("agency"))


@needs_exiftool
def test_agreement_with_exiftool_on_real_and_agency_files(agency_files):
    paths = sorted(p for p in SAMPLES.iterdir() if p.suffix != ".md") + agency_files
    reference = exiftool_reference(paths)
    ours = {p.name: geoloc_values(_claims(p)) for p in paths}
    present, equal, differences, _extra = compare(reference, ours)
    assert present >= 200, "the corpus must hold enough values to measure"
    unexplained = [d for d in differences if (d.file, d.field) not in KNOWN_DIFFERENCES]
    assert not unexplained, f"disagreements with exiftool not listed in tests/README.md: {unexplained}"
    assert equal / present >= 0.99, f"{equal}/{present} values equal"
    print(f"\nexiftool agreement: {equal}/{present} present values equal ({100 * equal / present:.1f} %)")


def test_mwg_reference_file_every_value_right():
    """exiftool's MWG.jpg marks each copy RIGHT or WRONG per the MWG rules."""
    claims = _claims(SAMPLES / "MWG.jpg")
    assert claims.city == "RIGHT-XMP-City" and claims.sources["city"] == "XMP-photoshop:City"
    assert claims.sublocation == "RIGHT-IPTC-Location" and claims.region == "RIGHT-IPTC-State"
    assert claims.country == "RIGHT-IPTC-Country"
    assert claims.creator == "RIGHT1of2-EXIF-Creator; RIGHT2of2-EXIF-Creator"
    assert claims.caption == "RIGHT-EXIF-Description"
    assert claims.capture_time == "2001-01-01T01:11:11" and claims.capture_time_source == "ExifIFD:DateTimeOriginal"


def test_capture_time_only_in_xmp_or_iptc_is_read_with_its_source(agency_files):
    """Named defect: capture dates living only in XMP or IPTC were missing."""
    by_name = {p.name: p for p in agency_files}
    xmp = _claims(by_name["agency_xmp_date_only.jpg"])
    assert (xmp.capture_time, xmp.capture_time_source) == ("2022-03-12T10:15:00+02:00", "XMP-photoshop:DateCreated")
    iptc = _claims(by_name["agency_iptc_date_only.jpg"])
    assert (iptc.capture_time, iptc.capture_time_source) == ("2023-07-01T18:30:00+03:00",
                                                             "IPTC:DateCreated+TimeCreated")
    assert _claims(SAMPLES / "IPTC.jpg").capture_time == "2004-02-26"


def test_lens_model_from_canon_maker_note():
    """Named defect: lens models that live only in maker notes were missing."""
    claims = _claims(SAMPLES / "Canon1DmkIII.jpg")
    assert claims.lens_model == "EF16-35mm f/2.8L II USM" and claims.sources["lens_model"] == "Canon:LensModel"


def test_iptc_place_caption_and_creator_are_read():
    """Named defect: no IPTC/XMP place, caption or creator was read at all."""
    claims = _claims(SAMPLES / "IPTC.jpg")
    assert (claims.city, claims.region, claims.country) == ("Kingston", "Ont", "Canada")
    assert claims.creator == "Phil Harvey" and claims.caption == "A witty caption"
    assert claims.sources["city"] == "IPTC:City" and claims.place_text == "Kingston, Ont, Canada"


def test_iptc_digest_decides_between_iptc_and_xmp(agency_files):
    by_name = {p.name: p for p in agency_files}
    stale_xmp = _claims(by_name["agency_digest_mismatch.jpg"])
    assert (stale_xmp.city, stale_xmp.creator, stale_xmp.caption) == ("Lviv", "IPTC Author", "IPTC caption (newer)")
    assert stale_xmp.sources["city"] == "IPTC:City" and "digest does not match" in stale_xmp.notes[0]
    no_digest = _claims(by_name["agency_no_digest_differ.jpg"])
    assert (no_digest.city, no_digest.creator) == ("Kyiv", "XMP Author")
    cut = _claims(by_name["agency_truncated_iptc.jpg"])
    assert cut.city == agency_corpus.LONG_CITY and "cut at 32" in cut.sources["city"]
    shown = _claims(by_name["agency_location_shown.jpg"])
    assert (shown.city, shown.country, shown.country_code) == ("München", "Deutschland", "DE")


@pytest.mark.parametrize("name,city", [("agency_xmp.png", "Lisboa"), ("agency_xmp.webp", "Roma"),
                                       ("agency_iptc.tif", "Warszawa"), ("agency_xmp.heic", "Tokyo"),
                                       ("agency_scripts.jpg", "Київ"), ("agency_cjk.jpg", "北京")])
def test_every_container_and_script(agency_files, name, city):
    path = next(p for p in agency_files if p.name == name)
    assert _claims(path).city == city


def test_xmp_gps_when_exif_has_none(agency_files):
    claims = _claims(next(p for p in agency_files if p.name == "agency_xmp_gps.jpg"))
    assert claims.gps == pytest.approx((50.4501, 30.5234)) and "XMP-exif" in claims.sources["gps"]


def _jpeg_with_xmp(packet: bytes) -> bytes:
    buffer = io.BytesIO()
    if len(packet) > 60_000:  # too big for a JPEG segment: a PNG iTXt chunk has no such limit
        info = PngImagePlugin.PngInfo()
        info.add_itxt("XML:com.adobe.xmp", packet.decode("latin-1"))
        Image.new("RGB", (16, 16)).save(buffer, "PNG", pnginfo=info)
    else:
        Image.new("RGB", (16, 16)).save(buffer, "JPEG", xmp=packet)
    return buffer.getvalue()


BILLION_LAUGHS = b"""<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">
<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;"><!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
<!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;"><!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
<!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;"><!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">]>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" photoshop:City="&lol9;"/></rdf:RDF></x:xmpmeta>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/"><photoshop:City>&xxe;</photoshop:City>
</rdf:Description></rdf:RDF></x:xmpmeta>"""


@pytest.mark.parametrize("packet,words", [(BILLION_LAUGHS, "refused"), (EXTERNAL_ENTITY, "refused"),
                                          (b"<x:xmpmeta><rdf:RDF><unclosed></x:xmpmeta>", "not well-formed"),
                                          (b"<x:xmpmeta" + b" " * (3 * 1024 * 1024), "refused")])
def test_hostile_xmp_is_refused_without_expansion(packet, words):
    start = time.perf_counter()
    meta = read_embedded_metadata(_jpeg_with_xmp(packet))
    assert time.perf_counter() - start < 5
    assert meta.xmp == {} and any(words in w for w in meta.warnings), meta.warnings
    assert "root:" not in repr(meta)


def test_hostile_xmp_through_the_isolated_worker(worker):
    facts, exif, _ = worker.call(inspect_file, _jpeg_with_xmp(BILLION_LAUGHS))
    assert facts.error is None and exif.claims.city is None
    assert any("DTD" in w for w in exif.warnings)


@pytest.mark.parametrize("text,expected", [("2004-02-26", "2004-02-26"), ("1993-01-01T03:11:11.311+01:00",
                                           "1993-01-01T03:11:11+01:00"), ("2020-01-02T03:04:05Z",
                                           "2020-01-02T03:04:05+00:00"), ("2020-13-02", None), ("2020", None),
                                           ("garbage", None), ("2020-01-02T25:00", None)])
def test_xmp_dates(text, expected):
    assert xmp_datetime(text) == expected


def test_iptc_dates_and_xmp_coordinates():
    assert iptc_datetime("20061029", "062751-0500") == "2006-10-29T06:27:51-05:00"
    assert iptc_datetime("20061029", None) == "2006-10-29"
    assert iptc_datetime("2006102", None) is None and iptc_datetime("20061399", None) is None
    assert xmp_coordinate("50,27.006N") == pytest.approx(50.4501)
    assert xmp_coordinate("30,31,24.24W") == pytest.approx(-30.5234)
    assert xmp_coordinate("nonsense") is None


def _png_with_trailing_itxt(text: bytes, compressed: bool) -> bytes:
    """A PNG whose XMP iTXt chunk follows the image data, as some writers put it."""
    import struct
    import zlib

    buffer = io.BytesIO()
    Image.new("RGB", (16, 16)).save(buffer, "PNG")
    png = buffer.getvalue()
    body = b"XML:com.adobe.xmp\x00" + bytes([int(compressed), 0]) + b"\x00\x00" + (zlib.compress(text, 9)
                                                                                     if compressed else text)
    chunk = struct.pack(">I", len(body)) + b"iTXt" + body + struct.pack(">I", zlib.crc32(b"iTXt" + body))
    end = png.rindex(b"IEND") - 4
    return png[:end] + chunk + png[end:]


def test_png_xmp_after_the_image_data_is_read_without_decoding():
    packet = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
              '<rdf:Description xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" photoshop:City="Lisboa"/>'
              '</rdf:RDF></x:xmpmeta>').encode()
    for compressed in (False, True):
        assert read_embedded_metadata(_png_with_trailing_itxt(packet, compressed)).xmp["XMP-photoshop:City"] == "Lisboa"


def test_png_xmp_inflation_bomb_is_bounded():
    start = time.perf_counter()
    meta = read_embedded_metadata(_png_with_trailing_itxt(b" " * (200 * 1024 * 1024), compressed=True))
    assert time.perf_counter() - start < 10
    assert meta.xmp == {} and any("refused" in w for w in meta.warnings), meta.warnings
