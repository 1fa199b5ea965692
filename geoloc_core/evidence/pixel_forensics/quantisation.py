"""JPEG quantisation tables: which encoder's tables a file carries, and the quality they stand for.

Sources, named so a reader can check them:
- The base tables are ITU-T T.81 (JPEG) Annex K, Tables K.1 (luminance) and K.2 (chrominance).
- "Quality N" is the IJG libjpeg scaling of those tables (``jpeg_quality_scaling`` and
  ``jpeg_add_quant_table`` in libjpeg's jcparam.c): scale = 5000 / N below 50, 200 - 2 N from 50 up;
  each entry (base * scale + 50) / 100 in integers, clamped to 1..255 (baseline). libjpeg, libjpeg-turbo,
  Pillow, GIMP (its default is quality 90), ImageMagick and most web tools write exactly these tables.
- The Adobe Photoshop tables are the presets Pillow ships (``PIL/JpegPresets.py``, Pillow 13.0.0:
  "JPEG quality settings equivalent to the Photoshop settings": Save for Web low .. maximum and
  Save As low .. maximum). They are taken as Pillow's authors published them; they were not checked
  here against files written by Photoshop itself, and Photoshop's other levels (Save As 0-12 has
  13 levels, Save for Web 0-100) are left out because no table for them could be verified.

Why a match is evidence and not proof: tables say which encoder wrote the file *last*. A camera
writes its own tables; a file whose EXIF names a camera but whose tables are an editor's was
re-encoded after the camera. Some phones and cheap cameras encode with libjpeg's own tables, so
an IJG match beside a camera name scores lower than a Photoshop match."""
from __future__ import annotations

import io

from PIL import Image, JpegPresets

from .record import QuantisationResult

ANNEX_K_LUMINANCE = (
    16, 11, 10, 16, 24, 40, 51, 61,
    12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77,
    24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101,
    72, 92, 95, 98, 112, 100, 103, 99)
ANNEX_K_CHROMINANCE = (
    17, 18, 24, 47, 99, 99, 99, 99,
    18, 21, 26, 66, 99, 99, 99, 99,
    24, 26, 56, 99, 99, 99, 99, 99,
    47, 66, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99)

PHOTOSHOP_PRESET_NAMES = {
    "web_low": "Photoshop Save for Web, low", "web_medium": "Photoshop Save for Web, medium",
    "web_high": "Photoshop Save for Web, high", "web_very_high": "Photoshop Save for Web, very high",
    "web_maximum": "Photoshop Save for Web, maximum", "low": "Photoshop Save As, low",
    "medium": "Photoshop Save As, medium", "high": "Photoshop Save As, high", "maximum": "Photoshop Save As, maximum"}

# Score of a camera-named file by what its tables match (see the module docstring for why they differ).
EDITOR_SCORE = 1.0
IJG_SCORE = 0.6
FLAG_AT = 0.5

MEANING = ("The quantisation tables say which encoder wrote this JPEG last: an editor's tables in a file "
           "whose EXIF names a camera mean it was re-saved after the camera. They cannot show what was "
           "changed, nor tell a harmless re-save (resizing, stripping metadata) from an edit; some phones "
           "use libjpeg's own tables, and an editor can copy a camera's tables.")


def ijg_table(base: tuple[int, ...], quality: int) -> tuple[int, ...]:
    """libjpeg's table for ``quality`` (1..100) from an Annex K base table (jcparam.c, baseline)."""
    quality = min(100, max(1, quality))
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    return tuple(min(255, max(1, (b * scale + 50) // 100)) for b in base)


IJG_TABLES = {q: (ijg_table(ANNEX_K_LUMINANCE, q), ijg_table(ANNEX_K_CHROMINANCE, q)) for q in range(1, 101)}


def read_tables(data: bytes) -> tuple[tuple[int, ...], ...] | None:
    """The file's tables in natural (row-major) order, by table number; None when not a JPEG. An MPO
    (a JPEG with further pictures after it: phones' depth maps, stereo pairs) is read by its first."""
    with Image.open(io.BytesIO(data)) as image:
        if image.format not in ("JPEG", "MPO"):
            return None
        tables = getattr(image, "quantization", None) or {}
        return tuple(tuple(int(v) for v in tables[k]) for k in sorted(tables))


def estimate_quality(tables: tuple[tuple[int, ...], ...]) -> tuple[int, bool]:
    """The IJG quality whose tables are nearest (summed absolute difference over the luminance and, when
    present, the first chrominance table), and whether they are equal. For a camera's own tables this is
    "the IJG quality it compares with", not a setting anyone chose."""
    def distance(q: int) -> int:
        ijg = IJG_TABLES[q]
        return sum(sum(abs(a - b) for a, b in zip(t, ijg[i])) for i, t in enumerate(tables[:2]))
    best = min(range(1, 101), key=lambda q: (distance(q), -q))
    return best, distance(best) == 0


def known_matches(tables: tuple[tuple[int, ...], ...]) -> list[str]:
    """Names of the known encoders whose tables these equal exactly: luminance and chrominance, or the
    luminance alone for a greyscale JPEG (one table)."""
    found = []
    compared = 2 if len(tables) >= 2 else 1
    quality, exact = estimate_quality(tables)
    if exact:
        found.append(f"IJG libjpeg quality {quality}" + ("" if compared == 2 else " (luminance table; greyscale)"))
    for key, preset in JpegPresets.presets.items():
        wanted = tuple(tuple(t) for t in preset["quantization"])
        if tables[:compared] == wanted[:compared]:
            found.append(f"{PHOTOSHOP_PRESET_NAMES.get(key, key)} (Pillow preset {key})")
    return found


def check_quantisation(data: bytes, make: str = "", model: str = "") -> QuantisationResult:
    """The tables, the IJG-equivalent quality and known matches; flagged when the tables are a known
    editor's or libjpeg's while EXIF ``make``/``model`` (passed by the caller) name a camera."""
    tables = read_tables(data)
    if not tables:
        return QuantisationResult("quantisation", "IJG-equivalent quality", None, None, False, MEANING,
                                  note="not a JPEG (or no quantisation tables): nothing to compare")
    quality, exact = estimate_quality(tables)
    matches = tuple(known_matches(tables))
    camera = " ".join(p for p in (make.strip(), model.strip()) if p)
    score = 0.0
    if camera and any(m.startswith("Photoshop") for m in matches):
        score = EDITOR_SCORE
    elif camera and matches:  # libjpeg's tables
        score = IJG_SCORE
    if not matches:
        note = "the tables match no known editor or libjpeg quality (a camera's own tables look like this)"
    elif camera:
        # the camera as EXIF wrote it, in quotation marks: a Python repr doubled every backslash of a Make
        note = f"EXIF names the camera \u201c{camera}\u201d but the tables are {matches[0]}"
    else:
        note = f"the tables are {matches[0]}; EXIF names no camera to compare with"
    return QuantisationResult("quantisation", "IJG-equivalent quality", float(quality), score, score >= FLAG_AT,
                              MEANING, note=note, tables=tables, quality_estimate=quality, quality_exact=exact,
                              matches=matches)
