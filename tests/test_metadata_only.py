"""``scan --metadata-only`` (#35): the full scan's rows without the pixel columns, and no pixel decode."""
from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from geoloc_core.case.analyzer import Analyzer
from geoloc_core.case.findings import Finding
from geoloc_core.case.scan_mode import FULL, METADATA_ONLY, PIXEL_COLUMNS, PIXEL_DEPENDENT_COLUMNS
from geoloc_core.evidence.inspection import inspect_file, inspect_metadata_only
from geoloc_core.evidence.sources import collect_sources
from tests.decode_spy import spied
from tests.hostile_corpus import build_corpus, corpus_items

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
# times of the run itself, and the mode: never equal between two runs
RUN_COLUMNS = ("analysed_at_utc", "acquired_at_utc", "mode")
METADATA_COLUMNS = [c for c in Finding.columns() if c not in PIXEL_DEPENDENT_COLUMNS + RUN_COLUMNS]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("hostile")
    build_corpus(folder)
    return folder


def _both(geocoder, worker, folders) -> list[tuple[Finding, Finding]]:
    sources = collect_sources(folders)
    full = list(Analyzer(geocoder=geocoder, worker=worker).analyze_stream(sources))
    meta = list(Analyzer(geocoder=geocoder, worker=worker, metadata_only=True).analyze_stream(sources))
    assert [f.file for f in full] == [m.file for m in meta] and len(full) == len(sources)
    return list(zip(full, meta))


def _assert_same_metadata(pairs: list[tuple[Finding, Finding]], raw_sizes: bool = True) -> None:
    for full, meta in pairs:
        assert (full.mode, meta.mode) == (FULL, METADATA_ONLY)
        refused = full.status == "error" and meta.status == "ok"  # the full scan's decode refused the pixels
        columns = [c for c in METADATA_COLUMNS
                   if not (refused and c.startswith("check_"))  # the full scan ran no checks on a refused file
                   and (raw_sizes or c not in ("width", "height"))]
        differ = {c: (getattr(full, c), getattr(meta, c)) for c in columns if getattr(full, c) != getattr(meta, c)}
        assert not differ, (full.file, differ)
        assert all(getattr(meta, c) in ("", None) for c in PIXEL_COLUMNS), meta.file
        frames = full.media_kind == "video"  # a clip's budget notes and frame errors come from decoded frames
        if refused and not frames:  # only a decode can find a truncated or corrupt image: the message names it
            assert any(word in full.message for word in ("truncated", "corrupt", "no picture")), full.message
        elif "too flat" not in full.message and raw_sizes and not frames:  # flatness (a RAW's size) from pixels
            assert (full.status, full.message, full.verdict) == (meta.status, meta.message, meta.verdict), meta.file


def test_metadata_only_rows_equal_the_full_scan_on_the_hostile_corpus(geocoder, worker, corpus):
    pairs = _both(geocoder, worker, [corpus])
    _assert_same_metadata(pairs)
    by_name = {Path(m.file).name: (f, m) for f, m in pairs}
    full, meta = by_name["truncated.jpg"]
    assert "truncated JPEG" in full.message and "truncated" not in meta.message and meta.status == "ok"
    assert by_name["good_paris.jpg"][0].phash and by_name["good_paris.jpg"][1].phash == ""
    assert by_name["good_paris.jpg"][1].exif_country == "France"


def test_metadata_only_rows_equal_the_full_scan_on_the_test_images(geocoder, worker):
    """The exiftool sample images (49 camera makers' JPEGs, TIFFs, PNGs...); camera RAW files apart, whose
    dimensions a full scan takes from the decoded picture and a metadata-only one cannot."""
    pairs = _both(geocoder, worker, [DATA / "exiftool_samples"])
    assert len(pairs) > 40
    _assert_same_metadata(pairs)
    assert sum(m.exif_present for _, m in pairs) > 30 and sum(bool(m.camera_make) for _, m in pairs) > 30
    raw = _both(geocoder, worker, [DATA / "raw"])
    _assert_same_metadata(raw, raw_sizes=False)


def test_a_truncated_jpeg_is_not_decoded_in_the_worker(worker):
    """A spy on Pillow's decoder inside the isolated worker: the full inspection decodes the truncated
    JPEG (and finds the truncation); the metadata-only one calls no decoder at all."""
    data = corpus_items()["truncated.jpg"][0]
    (facts, _, _), decodes = worker.call(spied, inspect_file, data)
    assert decodes >= 1 and "truncated" in facts.error
    (facts, exif, forensic), decodes = worker.call(spied, inspect_metadata_only, data)
    assert decodes == 0 and facts.error is None and (facts.width, facts.height) == (300, 200)
    assert forensic.phash is None and forensic.pixel_spread is None and exif is not None


def test_metadata_only_refuses_a_model(geocoder):
    with pytest.raises(ValueError, match="metadata-only"):
        Analyzer(geocoder=geocoder, predictor=object(), metadata_only=True)


def test_scan_metadata_only_command(corpus, tmp_path):
    out = tmp_path / "meta.csv"
    result = subprocess.run([sys.executable, "-m", "geoloc_core", "scan", str(corpus), "--metadata-only", "--out",
                             str(out), "--no-progress"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr
    with out.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(list(corpus.iterdir()))  # the images and the videos of the corpus
    assert list(rows[0])[-1] == "mode" and {r["mode"] for r in rows} == {METADATA_ONLY}
    assert all(r["phash"] == "" and r["check_thumbnail"] == "" for r in rows)
    refused = subprocess.run([sys.executable, "-m", "geoloc_core", "scan", str(corpus), "--metadata-only",
                              "--model", "x", "--out", str(out)], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert refused.returncode == 2 and "--metadata-only runs no model" in refused.stderr
    refused = subprocess.run([sys.executable, "-m", "geoloc_core", "scan", str(corpus), "--metadata-only",
                              "--pixel-forensics", "--out", str(out)], capture_output=True, text=True, cwd=ROOT,
                             timeout=300)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr, refused.stderr
    assert "--metadata-only decodes no pixels" in refused.stderr


def test_a_video_in_a_metadata_only_scan_gives_its_claims_and_decodes_no_frame(geocoder, worker, tmp_path):
    """A clip's container claims (place, time, camera) are metadata; its keyframes are pixels: a
    metadata-only scan reads the first and decodes no frame (the full scan's keyframes, empty here)."""
    from tests.videogen import cut_clip

    paris = {"com.apple.quicktime.location.ISO6709": "+48.8584+002.2945/",
             "com.apple.quicktime.creationdate": "2024-05-01T13:20:30+0200", "com.apple.quicktime.make": "Apple"}
    (tmp_path / "clip.mov").write_bytes(cut_clip([10, 30], 50, fmt="mov", metadata=paris))
    full, meta = _both(geocoder, worker, [tmp_path])[0]
    assert full.media_kind == meta.media_kind == "video" and full.keyframes == 3
    assert (meta.exif_lat, meta.exif_lon, meta.exif_datetime_original, meta.camera_make) == \
        (full.exif_lat, full.exif_lon, full.exif_datetime_original, full.camera_make)
    assert meta.duration_s == full.duration_s and meta.status == "ok", meta.message
    assert meta.keyframes is None and meta.keyframe_times == "" and meta.phash == "" and meta.keyframe_phashes == ""


def test_a_metadata_only_scan_asks_openblas_for_one_thread(monkeypatch):
    """#35: numpy's OpenBLAS team spun ~0.1 CPU-s per core at import in a scan that does no linear algebra;
    only `scan --metadata-only` sets one thread, a value the user set is kept, other commands are untouched."""
    import os

    from geoloc_core.__main__ import _one_blas_thread_for_a_metadata_only_scan as one_thread

    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    one_thread(["scan", "photos", "--out", "f.csv"])
    one_thread(["shadows", "--metadata-only"])
    assert "OPENBLAS_NUM_THREADS" not in os.environ
    one_thread(["scan", "photos", "--metadata-only", "--out", "f.csv"])
    assert os.environ["OPENBLAS_NUM_THREADS"] == "1"
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "4")
    one_thread(["scan", "photos", "--metadata-only"])
    assert os.environ["OPENBLAS_NUM_THREADS"] == "4"
