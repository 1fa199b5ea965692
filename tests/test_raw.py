"""Camera RAW files: format from the bytes, metadata agreeing with ``exiftool -n``, pixels from the
embedded preview or a bounded demosaic, and ``scan`` rows that say which.

Corpus: exiftool's own RAW samples (tests/data/raw: real files, image data cut out), copies of them
into which exiftool writes a real preview, and RAW files written here: a DNG with real sensor data
(tifffile, EXIF by exiftool), and ARW, ORF, PEF, SRW and NRW files (a TIFF with a colour filter array
and the maker's Make, as those cameras write; ORF with its own header) for the formats exiftool has no
sample of.
"""
from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from geoloc_core.evidence.filefacts import detect_type, inspect_bytes
from geoloc_core.evidence.imaging import ImageDecodeError, load_rgb
from geoloc_core.evidence.inspection import inspect_file
from geoloc_core.evidence.raw_pixels import PREVIEW, RAW, raw_picture
from tests.imagegen import image_bytes
from tests.metadata_agreement import normalise_time

tifffile = pytest.importorskip("tifffile")
RAW_DIR = Path(__file__).resolve().parent / "data" / "raw"
ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool is installed by make test")
SAMPLES = {"CanonRaw.cr2": "cr2", "CanonRaw.cr3": "cr3", "CanonRaw.crw": "crw", "DNG.dng": "dng",
           "FujiFilm.raf": "raf", "Minolta.mrw": "mrw", "Nikon.nef": "nef", "Panasonic.rw2": "rw2",
           "PhaseOne.iiq": "iiq", "Sigma.x3f": "x3f", "SigmaDP2.x3f": "x3f"}
# (file, field) -> why geoloc differs from exiftool (also in README's formats table)
KNOWN_DIFFERENCES = {("PhaseOne.iiq", "lens"): "Phase One keeps the lens in its own IIQ directory, not in EXIF"}
GPS_ARGS = ["-GPSLatitude=48.8584", "-GPSLatitudeRef=N", "-GPSLongitude=2.2945", "-GPSLongitudeRef=E"]


def _exiftool(path: Path) -> dict:
    """exiftool -n's Make, Model, DateTimeOriginal (+OffsetTimeOriginal), GPS and lens, from whichever block
    the format keeps them in."""
    out = subprocess.run(["exiftool", "-j", "-n", "-a", "-G1", "-Make", "-Model", "-DateTimeOriginal",
                          "-OffsetTimeOriginal", "-GPSLatitude", "-GPSLongitude", "-LensModel", "-XMP-aux:Lens",
                          str(path)], capture_output=True, text=True, timeout=60).stdout
    record = json.loads(out)[0]

    def first(name: str, groups=("IFD0", "ExifIFD", "CanonRaw", "SigmaRaw")):
        return next((record[f"{g}:{name}"] for g in groups if f"{g}:{name}" in record), None)

    time = first("DateTimeOriginal")
    offset = record.get("ExifIFD:OffsetTimeOriginal")
    lens = next((v for k, v in record.items() if k.endswith(":LensModel") and not k.startswith("XMP")), None)
    return {"make": first("Make"), "model": first("Model"),
            "time": normalise_time(f"{time}{offset or ''}") if time else None,
            "gps": (record["GPS:GPSLatitude"], record["GPS:GPSLongitude"]) if "GPS:GPSLatitude" in record else None,
            "lens": lens or record.get("XMP-aux:Lens")}


def _geoloc(path: Path) -> dict:
    facts, exif, _ = inspect_file(path.read_bytes())
    assert exif is not None, facts.error
    claims = exif.claims
    return {"make": claims.make, "model": claims.model, "time": normalise_time(claims.capture_time),
            "gps": (exif.GPSLatitude, exif.GPSLongitude) if exif.has_gps else None, "lens": claims.lens_model}


def _assert_agrees(path: Path) -> dict:
    theirs, ours = _exiftool(path), _geoloc(path)
    assert theirs["make"] and theirs["model"] and theirs["time"], f"the reference must hold values: {theirs}"
    for field, value in theirs.items():
        if (path.name, field) in KNOWN_DIFFERENCES:
            continue
        if field == "gps" and value is not None:
            assert ours["gps"] == pytest.approx(value, abs=1e-6), path.name
        else:
            assert ours[field] == value, f"{path.name} {field}: geoloc {ours[field]!r}, exiftool {value!r}"
    return ours


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_exiftool_sample_format_and_metadata_agree(name):
    """Named defect: every RAW file was "not a supported image" and its EXIF was not read at all."""
    path = RAW_DIR / name
    facts = inspect_bytes(path.read_bytes())
    assert facts.file_type == SAMPLES[name]
    assert "not a supported image" not in (facts.error or "")
    _assert_agrees(path)


def _sensor(height=64, width=96) -> np.ndarray:
    """A Bayer mosaic of a left-to-right ramp: red rises, blue falls, so the picture has structure."""
    ramp = np.linspace(300, 3800, width)[None, :].repeat(height, 0)
    mosaic = np.empty((height, width))
    mosaic[0::2, 0::2] = ramp[0::2, 0::2]  # R
    mosaic[1::2, 1::2] = 4100 - ramp[1::2, 1::2]  # B
    mosaic[0::2, 1::2] = mosaic[1::2, 0::2] = 2000  # G
    return mosaic.astype(np.uint16)


def _write_cfa_tiff(path: Path, make: str, model: str, dng: bool) -> None:
    tags = [(0x010F, "s", 0, make, True), (0x0110, "s", 0, model, True),
            (0x828D, "H", 2, (2, 2), True), (0x828E, "B", 4, (0, 1, 1, 2), True)]  # CFA pattern RGGB
    if dng:
        tags += [(0xC612, "B", 4, (1, 4, 0, 0), True), (0xC614, "s", 0, f"{make} {model}", True),
                 (0xC61A, "H", 1, (0,), True), (0xC61D, "H", 1, (4095,), True),
                 (0xC621, "2i", 9, (1, 1, 0, 1, 0, 1, 0, 1, 1, 1, 0, 1, 0, 1, 0, 1, 1, 1), True),
                 (0xC628, "2I", 3, (1, 1, 1, 1, 1, 1), True)]
    tifffile.imwrite(path, _sensor(), photometric=32803, extratags=tags, metadata=None)


def _exiftool_write(path: Path, *args: str) -> None:
    subprocess.run(["exiftool", "-m", "-q", "-overwrite_original", *args, str(path)], check=True, timeout=60)


def test_written_dng_agrees_and_is_demosaiced(tmp_path):
    path = tmp_path / "written.dng"
    _write_cfa_tiff(path, "Nikon", "Z 6", dng=True)
    _exiftool_write(path, "-DateTimeOriginal=2024:05:06 07:08:09", "-OffsetTimeOriginal=+02:00", *GPS_ARGS,
                    "-LensModel=NIKKOR Z 24-70mm f/4 S", "-IFD0:Orientation#=1")
    ours = _assert_agrees(path)
    assert ours["time"] == "2024-05-06 07:08:09+02:00" and ours["gps"] == pytest.approx((48.8584, 2.2945))
    picture = raw_picture(path.read_bytes())
    assert picture.pixels_from == RAW and (picture.width, picture.height) == (96, 64)
    assert picture.image.size == (48, 32) and picture.image.mode == "RGB"  # half size: one pixel per 2x2 block
    red = np.asarray(picture.image)[:, :, 0].astype(float)
    assert red[:, -4:].mean() > red[:, :4].mean() + 20  # the ramp survived: real sensor data, not a blank


@pytest.mark.parametrize("name", ["Nikon.nef", "DNG.dng", "CanonRaw.cr2", "CanonRaw.crw", "Minolta.mrw",
                                  "Panasonic.rw2"])
def test_embedded_full_size_preview_gives_the_pixels(tmp_path, name):
    path = tmp_path / name
    shutil.copy(RAW_DIR / name, path)
    preview = image_bytes("JPEG", size=(1200, 800))
    (tmp_path / "preview.jpg").write_bytes(preview)
    _exiftool_write(path, f"-JpgFromRaw<={tmp_path / 'preview.jpg'}", f"-PreviewImage<={tmp_path / 'preview.jpg'}")
    data = path.read_bytes()
    picture = raw_picture(data, draft_side=None)
    assert picture.pixels_from == PREVIEW and picture.image.size == (1200, 800)
    facts = inspect_bytes(data)
    assert (facts.error, facts.pixels_from, facts.width, facts.height) == (None, PREVIEW, 1200, 800)
    assert load_rgb(data, draft_side=None).size == (1200, 800)  # the model's pixels take the same path
    _assert_agrees(path)


def test_preview_follows_the_raw_orientation(tmp_path):
    path = tmp_path / "portrait.nef"
    shutil.copy(RAW_DIR / "Nikon.nef", path)
    (tmp_path / "preview.jpg").write_bytes(image_bytes("JPEG", size=(1200, 800)))
    _exiftool_write(path, f"-JpgFromRaw<={tmp_path / 'preview.jpg'}", "-IFD0:Orientation#=6")
    assert raw_picture(path.read_bytes(), draft_side=None).image.size == (800, 1200)


@pytest.mark.parametrize("fmt,make,model", [("arw", "SONY", "ILCE-7M3"), ("pef", "PENTAX", "PENTAX K-3"),
                                            ("srw", "SAMSUNG", "NX300"), ("nrw", "NIKON", "COOLPIX P7000"),
                                            ("orf", "OLYMPUS IMAGING CORP.", "E-M5")])
def test_other_tiff_based_formats(tmp_path, fmt, make, model):
    path = tmp_path / f"written.{fmt}"
    _write_cfa_tiff(path, make, model, dng=False)
    _exiftool_write(path, "-DateTimeOriginal=2023:01:02 03:04:05", "-OffsetTimeOriginal=-05:00", *GPS_ARGS,
                    "-LensModel=Test Lens")
    if fmt == "orf":  # Olympus writes "IIRO" where TIFF has "II*\0"
        data = bytearray(path.read_bytes())
        data[2:4] = b"RO"
        path.write_bytes(bytes(data))
    assert detect_type(path.read_bytes())[0] == fmt
    _assert_agrees(path)


def test_a_camera_makers_plain_tiff_stays_a_tiff(tmp_path):
    path = tmp_path / "plain.tif"
    tifffile.imwrite(path, np.zeros((8, 8, 3), np.uint8), photometric="rgb",
                     extratags=[(0x010F, "s", 0, "NIKON CORPORATION", True)], metadata=None)
    assert detect_type(path.read_bytes())[0] == "tiff"


@pytest.mark.parametrize("name", ["CanonRaw.cr3", "Nikon.nef", "Sigma.x3f"])
def test_no_picture_is_a_clear_message_and_keeps_the_metadata(name):
    """The samples' image data was cut out: the file says so, and its camera and time are still read."""
    data = (RAW_DIR / name).read_bytes()
    facts, exif, _ = inspect_file(data)
    assert facts.error and "no picture" in facts.error and "metadata is still read" in facts.error
    assert exif.claims.make and exif.claims.capture_time
    with pytest.raises(ImageDecodeError, match="no picture"):
        load_rgb(data)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_truncated_and_damaged_raw_files_never_raise(name):
    data = (RAW_DIR / name).read_bytes()
    for damaged in (data[:40], data[:len(data) // 2], data[:16] + bytes(reversed(data[16:]))):
        facts, exif, _ = inspect_file(damaged)
        assert facts.file_type  # a message, never an exception


@pytest.mark.slow
def test_scan_rows_say_format_pixels_and_camera(tmp_path):
    nef = tmp_path / "preview.nef"
    shutil.copy(RAW_DIR / "Nikon.nef", nef)
    (tmp_path / "preview.jpg").write_bytes(image_bytes("JPEG", size=(1200, 800)))
    _exiftool_write(nef, f"-JpgFromRaw<={tmp_path / 'preview.jpg'}")
    dng = tmp_path / "sensor.dng"
    _write_cfa_tiff(dng, "Nikon", "Z 6", dng=True)
    _exiftool_write(dng, "-DateTimeOriginal=2024:05:06 07:08:09", *GPS_ARGS, "-LensModel=NIKKOR Z 50mm f/1.8 S")
    out = tmp_path / "scan.csv"
    result = subprocess.run([sys.executable, "-m", "geoloc_core", "scan", str(nef), str(dng),
                             str(RAW_DIR / "CanonRaw.cr3"), "--out", str(out), "--no-progress"],
                            capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    rows = {Path(r["file"]).name: r for r in csv.DictReader(out.open(encoding="utf-8"))}
    header = out.read_text(encoding="utf-8").splitlines()[0]
    names = header.replace('"', "").split(",")  # new columns go after every column that existed before
    at = names.index("pixels_from")  # later issues' columns (#37's pixel forensics) come after these two
    assert names[at:at + 2] == ["pixels_from", "check_blocks"] and at > names.index("constrained_lon")
    nef_row, dng_row, cr3_row = rows["preview.nef"], rows["sensor.dng"], rows["CanonRaw.cr3"]
    assert (nef_row["file_type"], nef_row["pixels_from"], nef_row["camera_make"], nef_row["camera_model"]) == \
        ("nef", "preview", "NIKON CORPORATION", "NIKON D70")
    assert nef_row["exif_datetime_original"] == "2004-06-09T16:02:35" and nef_row["status"] == "ok"
    assert (dng_row["file_type"], dng_row["pixels_from"], dng_row["lens_model"]) == ("dng", "raw",
                                                                                     "NIKKOR Z 50mm f/1.8 S")
    assert float(dng_row["exif_lat"]) == pytest.approx(48.8584)
    assert (cr3_row["file_type"], cr3_row["pixels_from"], cr3_row["camera_model"]) == ("cr3", "", "Canon EOS M50")
    assert "no picture" in cr3_row["message"]
