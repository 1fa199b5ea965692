"""One record per analysed file, from upload to export.

``Finding`` is flat on purpose: the same fields are the CSV columns of
``python -m geoloc_core scan``, the app's tables and the case log, so a value
never changes name between screen and spreadsheet. The pipeline that fills it is
``analyzer.Analyzer``.
"""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field, fields

from .. import __version__

# The scan CLI's contract: these columns come first, in this order.
CORE_COLUMNS = (
    "file", "sha256", "file_type", "status", "message", "exif_lat", "exif_lon", "exif_altitude_m",
    "exif_datetime_original", "camera_make", "camera_model", "software", "exif_country", "exif_country_code",
    "exif_continent", "pred_lat", "pred_lon", "pred_radius_km", "pred_country", "pred_country_code",
    "pred_continent", "distance_km", "band", "verdict",
)


@dataclass
class Finding:
    """Everything geoloc concluded about one file. ``status`` is "ok" or "error"."""

    file: str
    sha256: str = ""
    file_type: str = ""
    status: str = "ok"
    message: str = ""
    exif_lat: float | None = None
    exif_lon: float | None = None
    exif_altitude_m: float | None = None
    exif_datetime_original: str | None = None  # with OffsetTimeOriginal appended when present
    camera_make: str | None = None
    camera_model: str | None = None
    software: str | None = None
    exif_country: str | None = None
    exif_country_code: str | None = None
    exif_continent: str | None = None
    pred_lat: float | None = None
    pred_lon: float | None = None
    pred_radius_km: float | None = None  # radius of the model's 90 % region
    pred_country: str | None = None
    pred_country_code: str | None = None
    pred_continent: str | None = None
    distance_km: float | None = None
    band: str | None = None
    verdict: str = ""
    verdict_reason: str = ""
    country_match: bool | None = None
    continent_match: bool | None = None
    pred_radius50_km: float | None = None
    pred_candidates: str = ""  # JSON list of {lat, lon, weight}
    pred_nearest_place: str | None = None
    exif_nearest_place: str | None = None
    exif_place_note: str = ""
    pred_place_note: str = ""
    exif_present: bool = False
    exif_gps_datetime_utc: str | None = None
    exif_img_direction_deg: float | None = None
    exif_gps_error_m: float | None = None  # GPSHPositioningError: the receiver's horizontal error
    lens_model: str | None = None
    orientation: int | None = None
    size_bytes: int = 0
    width: int | None = None
    height: int | None = None
    model: str = ""
    analysed_at_utc: str = ""
    acquired_at_utc: str = ""  # when geoloc received the bytes (upload received, file read): never after analysed
    geoloc_version: str = __version__
    note: str = ""  # the analyst's note, from the case log
    analyst_verdict: str = ""  # the analyst's own assessment: confirmed / refuted / unresolved (case log)
    analyst_tags: str = ""  # the analyst's tags, comma-separated (case log)
    analysis_settings: str = ""  # thresholds and geocoder the finding was made with (skip and history)
    source_url: str = ""  # where the analyst found the file (their word), from the case log
    # metadata checks ("status: one line"; see checks.py) and forensic facts
    check_time: str = ""
    check_timezone: str = ""
    check_sun: str = ""
    check_editing: str = ""
    check_thumbnail: str = ""
    check_provenance: str = ""
    checks_flagged: int = 0  # how many checks say "warn"
    phash: str = ""  # perceptual hash: near-duplicates across a case
    camera_serial: str = ""  # BodySerialNumber / LensSerialNumber; exported only when asked
    # admin-1 region (state, province, Land, oblast) and the data it came from (places/regions.py)
    exif_region: str | None = None
    exif_region_source: str = ""
    pred_region: str | None = None
    pred_region_source: str = ""
    # which kind of model the pred_* fields come from, and its country probabilities (zero-shot gives them)
    pred_kind: str = ""  # "regressor" | "zero-shot"
    pred_calibrated: bool | None = None  # False: the regions come from an uncalibrated posterior
    pred_country_probs: str = ""  # JSON list of {country_code, country, p}, most likely first
    # the second witness, when one model of each kind is loaded (the regressor is the first witness)
    second_model: str = ""
    second_kind: str = ""
    second_lat: float | None = None
    second_lon: float | None = None
    second_radius_km: float | None = None  # its 90 % region
    second_radius50_km: float | None = None
    second_calibrated: bool | None = None
    second_country: str | None = None
    second_country_code: str | None = None
    second_continent: str | None = None
    second_candidates: str = ""
    second_country_probs: str = ""
    second_distance_km: float | None = None  # from EXIF GPS
    second_band: str | None = None
    second_verdict: str = ""
    second_verdict_reason: str = ""
    witnesses_distance_km: float | None = None  # between the two witnesses' points: their agreement
    # the *written* claim: IPTC/XMP/EXIF reconciled per MWG (evidence/mwg.py), place forward-geocoded offline
    claimed_place_text: str | None = None  # the location as written, most specific first
    claimed_city: str | None = None  # as written
    claimed_region: str | None = None  # as written (Province-State)
    claimed_country: str | None = None  # as written (or the ISO name when only a code is written)
    claimed_country_code: str | None = None  # ISO alpha-2 of the written country (or of the place found)
    claimed_lat: float | None = None  # the GeoNames place found for the written location; None when ambiguous
    claimed_lon: float | None = None
    claim_source: str = ""  # the tags the place came from, e.g. "IPTC:City, XMP-photoshop:Country"
    creator: str | None = None  # MWG Creator: EXIF Artist, IPTC By-line or XMP dc:creator
    caption: str | None = None  # MWG Description: EXIF ImageDescription, IPTC Caption-Abstract or XMP dc:description
    capture_time_source: str = ""  # the tag exif_datetime_original came from (DateTimeOriginal, else XMP/IPTC dates)
    claimed_place_found: str | None = None  # "Name, Region, CC" of the GeoNames place
    claim_note: str = ""  # how the written place was located: ambiguity, candidates, not found
    claim_candidates: str = ""  # JSON list of {name, region, country_code, lat, lon, population} when ambiguous
    claim_pred_distance_km: float | None = None  # prediction vs claimed place
    claim_pred_verdict: str = ""  # same rules and words as ``verdict``, with the claimed place for EXIF GPS
    claim_pred_reason: str = ""
    claim_exif_distance_km: float | None = None  # EXIF GPS vs claimed place
    claim_exif_check: str = ""  # "agrees" / "near" / "contradicts" / "cannot verify: ...", with the reason
    check_claim: str = ""  # the written place as a metadata check ("status: one line"; case/claims.py)
    # the analyst's constraint on the first witness (scan --constrain; case/constraints.py); the verdict stays the model's
    constraint: str = ""  # e.g. "Ukraine (UA)", "within 25.0 km of 50.45000, 30.52000"
    constraint_mass_inside: float | None = None  # the model's mass inside before renormalising
    constrained_lat: float | None = None  # the constrained point; empty when nothing of the posterior lies inside
    constrained_lon: float | None = None
    # the analyst's own point (#32): a manual geolocation (a Street View match, a landmark), the analyst's and
    # never geoloc's; kept in the case log's own column, verified like a witness (case/analyst_point.py)
    analyst_point_lat: float | None = None
    analyst_point_lon: float | None = None
    analyst_point_note: str = ""  # the analyst's words: how they found it
    analyst_point_by: str = ""  # the analyst's name (sidebar) when the point was placed
    analyst_point_at_utc: str = ""
    analyst_point_country: str | None = None
    analyst_point_country_code: str | None = None
    analyst_point_nearest_place: str | None = None
    analyst_point_exif_distance_km: float | None = None  # EXIF GPS vs the analyst's point
    analyst_point_exif_band: str | None = None
    analyst_point_exif_verdict: str = ""  # the words of ``verdict``, the analyst's point in the witness's role
    analyst_point_exif_reason: str = ""
    analyst_point_claim_distance_km: float | None = None  # the written (claimed) place vs the analyst's point
    analyst_point_claim_band: str | None = None
    analyst_point_claim_verdict: str = ""
    analyst_point_claim_reason: str = ""
    pixels_from: str = ""  # camera RAW files: "preview" (embedded JPEG) or "raw" (demosaiced), evidence/raw_pixels.py
    check_blocks: str = ""  # "metadata blocks disagree": camera, times, GPS, serial per block (checks.check_blocks)
    # pixel forensics (#37): all empty when the file was analysed without them (case/pixel_findings.py)
    pixel_forensics: str = ""  # "status: one line" like the check_* cells: ok / warn / n/a / error
    pixel_checks_flagged: str = ""  # the pixel checks that flagged, comma-separated ("quantisation, copy-move")
    jpeg_quality_estimate: int | None = None  # IJG-equivalent quality of the JPEG tables
    quant_table_match: str = ""  # known encoders whose tables these equal ("; "-separated), or "no known encoder"
    double_compression: bool | None = None  # compressed twice (DCT histogram periodicity or a JPEG ghost)
    double_compression_score: float | None = None  # 0..1
    clone_regions: int | None = None  # copy-move region pairs found
    clone_boxes: str = ""  # JSON list of {source, target: [left, top, right, bottom] px as shown, matches}
    # team server (#36): who made this finding, as the login names them ("Name <email>"; case/log/access.py);
    # "" in single-user mode
    analysed_by: str = ""
    # video evidence (#34): a clip's container claims fill the EXIF-like fields above; case/video_media.py
    media_kind: str = "photo"  # "photo", "video", or "keyframe" (a row of `scan --keyframe-rows`)
    duration_s: float | None = None
    keyframes: int | None = None  # how many keyframes the clip's prediction was made from
    keyframe_method: str = ""  # "scene changes" or "I-frames spread evenly"
    keyframe_times: str = ""  # JSON list of each keyframe's time in seconds from the clip's start
    keyframe_predictions: str = ""  # JSON list of {time_s, lat, lon, radius50_km, radius90_km}
    clip_prediction_from: str = ""  # which keyframe the clip's prediction is, and the rule that chose it
    video_frame_rate: float | None = None  # frames per second
    video_rotation: int | None = None  # exiftool's Rotation: degrees clockwise to display upright
    telemetry_track: str = ""  # JSON [[lon, lat], ...] from per-frame telemetry (DJI SRT)
    parent_sha256: str = ""  # keyframe rows: the video's SHA-256
    frame_time_s: float | None = None  # keyframe rows: the frame's time in the clip
    keyframe_phashes: str = ""  # JSON list of every informative keyframe's perceptual hash (duplicates.py)
    # archive scale (#35)
    mode: str = ""  # "full" or "metadata-only" (scan --metadata-only: no pixels decoded; case/scan_mode.py)

    @classmethod
    def columns(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    def to_dict(self) -> dict:
        # Every field is a scalar, so a shallow copy equals ``asdict`` without its per-value deepcopy
        # (which was most of the export's cost on big scans, issue #18); anything nested falls back.
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        if any(isinstance(v, (list, dict, tuple, set)) for v in values.values()):
            return asdict(self)
        return values

    def add_message(self, text: str) -> None:
        """Add one note for people: no Python exception names or object reprs, each stated once."""
        text = for_people(text)
        if text and text not in self.message.split("; "):
            self.message = f"{self.message}; {text}" if self.message else text


ANALYST_POINT_PREFIX = "analyst_point_"
ANALYST_POINT_LABEL = "Analyst's point"  # its label wherever it is shown or exported: the analyst's, never geoloc's


def analyst_point_fields() -> tuple[str, ...]:
    """The fields of the analyst's own point: the case log keeps them in a column of their own."""
    return tuple(name for name in Finding.columns() if name.startswith(ANALYST_POINT_PREFIX))


def analyst_point_record(finding: Finding) -> str:
    """The analyst's point of ``finding`` as the case log stores it (JSON), or "" when none is placed."""
    if finding.analyst_point_lat is None:
        return ""
    return json.dumps({name: getattr(finding, name) for name in analyst_point_fields()}, ensure_ascii=False)


def with_analyst_point(finding: Finding, record: str) -> Finding:
    """``finding`` with its analyst's point set from the case log's ``record`` (JSON): every field is reset
    first, so only the log's column, never a value in the tool's own record, says where the analyst put it.
    A record that cannot be read leaves no point (never a crash)."""
    defaults = {f.name: f.default for f in fields(Finding) if f.name.startswith(ANALYST_POINT_PREFIX)}
    try:
        stored = json.loads(record) if record else {}
    except ValueError:
        stored = {}
    if not isinstance(stored, dict) or not all(isinstance(stored.get(k), (int, float)) for k in
                                               ("analyst_point_lat", "analyst_point_lon")):
        stored = {}
    for name, default in defaults.items():
        setattr(finding, name, stored.get(name, default))
    return finding


_REPR = re.compile(r"<[\w.]+ object at 0x[0-9a-fA-F]+>")
_EXCEPTION_NAME = re.compile(r"\b(?:[A-Za-z_][\w.]*\.)?[A-Z]\w*(?:Error|Exception|Warning|Interrupt)\b:?\s*")


def regions_word(calibrated: bool | None) -> str:
    """The one word for a witness's 50 % / 90 % regions wherever they are shown (card, report, KML):
    "calibrated", "uncalibrated", or "" when unknown. Its source is the prediction's ``calibrated``
    (for a trained regressor: what training recorded), the same value the CSV's ``pred_calibrated`` holds."""
    return {True: "calibrated", False: "uncalibrated"}.get(calibrated, "")


def for_people(text: str) -> str:
    """A message as a person should read it: object reprs (``<_io.BytesIO object at 0x...>``)
    are dropped, exception class names are dropped, leftover empty brackets removed."""
    text = _REPR.sub("", str(text))
    text = _EXCEPTION_NAME.sub("", text)
    text = re.sub(r"\s+\)", ")", re.sub(r"\(\s+", "(", text))
    text = re.sub(r"\(\)", "", text)
    return re.sub(r"\s{2,}", " ", text).strip(" ;:")
