"""Pixel forensics (issue #37): each check on generated forgeries and on clean pictures of the other kind.

The pictures are generated (tests/forensic_images.py: photograph-like texture, not camera files); the
real camera files used are exiftool's samples, whose pictures are cut to 8 x 8 pixels but whose JPEG
tables are the files' own."""
from __future__ import annotations

from pathlib import Path

import pytest

from geoloc_core.evidence.pixel_forensics import (check_double_compression, check_quantisation, estimate_quality,
                                                  ijg_table)
from geoloc_core.evidence.pixel_forensics.quantisation import ANNEX_K_LUMINANCE, read_tables
from tests.forensic_images import double_compressed, jpeg, photo_like

SAMPLES = Path(__file__).parent / "data" / "exiftool_samples"


@pytest.fixture(scope="module")
def photo():
    return photo_like(3, (256, 192))


# --- quantisation ---------------------------------------------------------------------------------

def test_ijg_scaling_reproduces_libjpeg_tables():
    """The computed IJG tables equal what libjpeg (through Pillow) writes, at every quality tried."""
    for quality in (1, 10, 49, 50, 51, 75, 90, 99, 100):
        tables = read_tables(jpeg(photo_like(0, (32, 32)), quality))
        assert tables[0] == ijg_table(ANNEX_K_LUMINANCE, quality)
        assert estimate_quality(tables) == (quality, True)


def test_libjpeg_tables_beside_a_camera_name_are_flagged_and_without_one_are_not(photo):
    data = jpeg(photo, 85)
    flagged = check_quantisation(data, "Canon", "Canon EOS 5D")
    assert flagged.flagged and flagged.matches == ("IJG libjpeg quality 85",) and flagged.quality_estimate == 85
    assert not check_quantisation(data, "", "").flagged  # no camera named: nothing to contradict


def test_photoshop_tables_beside_a_camera_name_score_higher_than_libjpeg(photo):
    result = check_quantisation(jpeg(photo, "web_high"), "NIKON CORPORATION", "NIKON D70")
    assert result.flagged and result.score == 1.0
    assert any(m.startswith("Photoshop Save for Web, high") for m in result.matches)
    assert result.score > check_quantisation(jpeg(photo, 85), "NIKON", "D70").score


def test_camera_like_tables_are_not_flagged(photo):
    """The clean kind: a table no editor or IJG quality writes, beside a camera name."""
    result = check_quantisation(jpeg(photo, camera_tables=True), "Canon", "Canon EOS 5D")
    assert not result.flagged and result.matches == () and not result.quality_exact
    assert result.quality_estimate is not None and 80 <= result.quality_estimate <= 100


def test_real_files_exiftools_stub_pictures_carry_photoshop_tables():
    """exiftool's Canon.jpg names a Canon camera, but its 8 x 8 stand-in picture was written with
    Photoshop's "Save for Web, low" tables: exactly the re-save this check exists to catch."""
    result = check_quantisation((SAMPLES / "Canon.jpg").read_bytes(), "Canon", "Canon EOS DIGITAL REBEL")
    assert result.flagged and result.matches[0].startswith("Photoshop Save for Web, low")
    own = check_quantisation((SAMPLES / "GPS.jpg").read_bytes(), "Canon", "x")  # tables of no known encoder
    assert not own.flagged and own.matches == ()


def test_greyscale_jpeg_is_compared_by_its_one_table(photo):
    result = check_quantisation(jpeg(photo.convert("L"), 80), "Canon", "x")
    assert result.flagged and result.matches == ("IJG libjpeg quality 80 (luminance table; greyscale)",)
    assert result.note.endswith(result.matches[0])


def test_flat_picture_has_no_ghost_and_an_mpo_is_a_jpeg():
    """exiftool's GPS.jpg is a flat 120 x 80 frame: resaving changes it by rounding only, which once read as
    a ghost of infinite rise. ExifTool.jpg is an MPO (a JPEG with more pictures after it): it has tables."""
    flat = check_double_compression((SAMPLES / "GPS.jpg").read_bytes())
    assert not flat.flagged and flat.ghost_rise == 0.0
    assert check_quantisation((SAMPLES / "ExifTool.jpg").read_bytes()).tables


def test_not_a_jpeg_is_reported_not_raised():
    result = check_quantisation((SAMPLES / "PNG.png").read_bytes(), "Canon", "")
    assert not result.flagged and result.measure is None and "not a JPEG" in result.note


# --- double compression (JPEG ghosts) -------------------------------------------------------------

@pytest.mark.parametrize("first,second", [(60, 90), (75, 95)])
def test_double_compressed_picture_shows_a_ghost_at_the_first_quality(photo, first, second):
    result = check_double_compression(double_compressed(photo, first, second))
    assert result.flagged and result.score > 0.5
    assert abs(result.ghost_quality - first) <= 2
    assert result.map and all(0.0 <= v <= 1.0 for row in result.map for v in row)


def test_higher_then_lower_quality_is_seen_by_the_histograms_not_the_ghosts():
    """Saved at 90, then at 70: no ghost can show below 70, the coefficient histograms still carry the
    finer first grid (how often this works is the benchmark's "higher then lower" row, not this case)."""
    result = check_double_compression(double_compressed(photo_like(3, (384, 288)), 90, 70))
    assert result.flagged and result.ghost_quality is None and result.measure > 0.012
    assert "periodic DCT histograms" in result.note and result.map


@pytest.mark.parametrize("camera_tables", [False, True])
def test_single_compressed_picture_has_no_ghost(photo, camera_tables):
    for quality in (55, 75, 92):
        result = check_double_compression(jpeg(photo, quality, camera_tables=camera_tables))
        assert not result.flagged and result.ghost_quality is None and result.score < 0.5 and not result.map


def test_ghost_map_shows_a_region_compressed_only_once():
    """A region pasted from the uncompressed picture into a double-compressed one is bright on the map,
    the rest dark: the map says where."""
    from tests.forensic_images import decoded
    original = photo_like(5, (320, 320))
    background = decoded(jpeg(original, 60))
    background.paste(original.crop((160, 160, 320, 320)), (160, 160))
    result = check_double_compression(jpeg(background, 92))
    assert result.flagged
    rows = result.map
    half = len(rows) // 2
    pasted = [v for row in rows[half + 1:] for v in row[half + 1:]]
    kept = [v for row in rows[:half - 1] for v in row[:half - 1]]
    assert sum(pasted) / len(pasted) > 2 * sum(kept) / len(kept)


# --- error levels and noise residual (views: they show, they never flag) -----------------------------

def _png_array(png: bytes):
    import io

    import numpy as np
    from PIL import Image
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG"
        return np.asarray(image.convert("L"), dtype=float)


def test_error_levels_are_brighter_where_an_uncompressed_part_was_pasted():
    from geoloc_core.evidence.pixel_forensics.error_level import check_error_level
    from tests.forensic_images import decoded
    original = photo_like(7, (256, 256))
    forged = decoded(jpeg(original, 70))
    forged.paste(original.crop((128, 0, 256, 256)), (128, 0))  # right half never compressed
    view = check_error_level(jpeg(forged, 95))
    levels = _png_array(view.png)
    assert levels[:, 136:].mean() > 1.5 * levels[:, :120].mean()
    assert not view.flagged and view.score is None and "never flags" in view.meaning
    clean = _png_array(check_error_level(jpeg(original, 95)).png)  # the clean kind: even halves
    assert clean[:, 136:].mean() < 1.3 * clean[:, :120].mean()


def test_noise_residual_is_darker_where_the_grain_was_smoothed_away():
    from PIL import ImageFilter

    from geoloc_core.evidence.pixel_forensics.noise import check_noise
    original = photo_like(8, (256, 256))
    forged = original.copy()
    forged.paste(original.crop((0, 0, 128, 256)).filter(ImageFilter.GaussianBlur(1.5)), (0, 0))
    residual = _png_array(check_noise(jpeg(forged, 95)).png)
    assert residual[:, 136:].mean() > 1.5 * residual[:, :120].mean()
    clean = _png_array(check_noise(jpeg(original, 95)).png)
    assert clean[:, 136:].mean() < 1.3 * clean[:, :120].mean()
    assert max(_png_array(check_noise(jpeg(photo_like(8, (1500, 300)), 90)).png).shape) <= 1024


# --- copy-move --------------------------------------------------------------------------------------

def _best_iou(result, source, target):
    from tests.forensic_images import iou
    return max([max(min(iou(p.source, source), iou(p.target, target)), min(iou(p.source, target), iou(p.target, source)))
                for p in result.pairs] or [0.0])


@pytest.mark.parametrize("seed", [0, 1])
def test_copied_region_is_found_and_outlined(seed):
    from geoloc_core.evidence.pixel_forensics.copy_move import check_copy_move
    from tests.forensic_images import copy_moved
    forged, source, target = copy_moved(photo_like(seed, (400, 300)), seed, fraction=0.25)
    result = check_copy_move(jpeg(forged, 90))
    assert result.flagged and result.count >= 1 and result.score >= 0.5
    assert _best_iou(result, source, target) >= 0.5


def test_turned_and_scaled_copy_is_found_and_outlined():
    from geoloc_core.evidence.pixel_forensics.copy_move import check_copy_move
    from tests.forensic_images import copy_moved
    forged, source, target = copy_moved(photo_like(4, (400, 300)), 4, fraction=0.25, angle=25.0, scale=1.1)
    result = check_copy_move(jpeg(forged, 90))
    assert result.flagged and _best_iou(result, source, target) >= 0.5


def test_unedited_picture_has_no_copy_move_pair():
    from geoloc_core.evidence.pixel_forensics.copy_move import check_copy_move
    result = check_copy_move(jpeg(photo_like(0, (400, 300)), 90))
    assert not result.flagged and result.count == 0 and result.score == 0.0


# --- all checks in the isolated worker ------------------------------------------------------------

def test_analyse_pixels_runs_every_check_and_keeps_the_others_when_one_fails(monkeypatch):
    from geoloc_core.evidence.pixel_forensics import analysis
    from tests.forensic_images import copy_moved

    forged, _, _ = copy_moved(photo_like(1, (400, 300)), 1, fraction=0.25)
    data = jpeg(forged, 90)

    def broken(_data):
        raise ValueError("crafted")
    monkeypatch.setattr(analysis, "check_noise", broken)
    result = analysis.analyse_pixels(data, "Canon", "Canon EOS 5D")
    assert result.noise is None and result.errors == {"noise": "the pixels could not be read (crafted)"}
    assert {"quantisation", "copy-move"} <= set(result.flagged_checks)  # libjpeg tables + the clone
    assert result.double_compression is not None and result.error_level.png and not result.error_level.flagged


def test_analyse_pixels_in_the_isolated_worker_reports_bad_files_as_errors():
    from geoloc_core.evidence.isolation import IsolatedWorker
    from geoloc_core.evidence.pixel_forensics.isolated import analyse_pixels_isolated

    with IsolatedWorker() as worker:
        good = analyse_pixels_isolated(jpeg(photo_like(2, (200, 150)), camera_tables=True), "Canon", "x", worker=worker)
        assert good.errors == {} and len(good.checks()) == 5 and good.flagged_checks == []
        heic = analyse_pixels_isolated((SAMPLES / "QuickTime.heic").read_bytes(), "", "", worker=worker)
        assert "file" not in heic.errors and heic.quantisation.note.startswith("not a JPEG")
        junk = analyse_pixels_isolated(b"not a picture at all", "", "", worker=worker)
        assert junk.checks() == [] and "not a picture the checks can read" in junk.errors["file"]
        stalled = analyse_pixels_isolated(jpeg(photo_like(2, (200, 150)), 90), "", "", worker=worker, timeout_s=0.001)
        assert stalled.checks() == [] and "stopped" in stalled.errors["file"]


def test_views_map_and_boxes_are_turned_like_the_photo_shown():
    """A sideways-stored photo (EXIF Orientation 6) is shown turned 90 degrees clockwise: the clone's
    boxes and the views must lie on the photo as shown, not on the stored pixels."""
    import io

    from PIL import Image

    from geoloc_core.evidence.pixel_forensics import analyse_pixels
    from tests.forensic_images import copy_moved, iou

    forged, source, target = copy_moved(photo_like(1, (400, 300)), 1, fraction=0.25)
    exif = Image.Exif()
    exif[0x0112] = 6
    shown = analyse_pixels(jpeg(forged, 90, exif=exif.tobytes()), "", "")
    plain = analyse_pixels(jpeg(forged, 90), "", "")

    def turned(box):  # stored (x, y) -> shown (h - y, x) for a 400 x 300 picture
        return (300 - box[3], box[0], 300 - box[1], box[2])
    pair = shown.copy_move.pairs[0]
    assert max(min(iou(pair.source, turned(source)), iou(pair.target, turned(target))),
               min(iou(pair.source, turned(target)), iou(pair.target, turned(source)))) >= 0.5
    with Image.open(io.BytesIO(shown.error_level.png)) as view, Image.open(io.BytesIO(plain.error_level.png)) as flat:
        assert view.size == (flat.height, flat.width) == (300, 400)


def test_hostile_corpus_gets_results_or_sentences_never_exceptions():
    """Every file of the hostile corpus (truncated, bombs, not pictures, CMYK, 16-bit, animated) through
    all checks: a record for each, bombs refused before any decode, non-pictures named in one sentence."""
    from geoloc_core.evidence.pixel_forensics import PixelForensics, analyse_pixels
    from tests.hostile_corpus import corpus_items

    for name, (data, _) in corpus_items().items():
        result = analyse_pixels(data, "Canon", "x")
        assert isinstance(result, PixelForensics), name
        assert all(message and "Error" not in message for message in result.errors.values()), (name, result.errors)
        if name in ("bomb.png", "huge_20000.png"):
            assert "decompression bomb" in result.errors["file"] and not result.checks(), name
        if name in ("empty.jpg", "random.jpg", "document.jpg", "notes.webp"):
            assert "not a picture the checks can read" in result.errors["file"], name
        if name.startswith("truncated"):
            assert "cut short" in " ".join(result.errors.values()), name
        if name in ("good_paris.jpg", "cmyk.jpg", "png_16bit.png", "animated.gif"):
            assert result.errors == {} and len(result.checks()) == 5, (name, result.errors)
