"""One record per analysed file, from upload to export.

``Finding`` is flat on purpose: the same fields are the CSV columns of
``python -m geoloc_core scan``, the app's tables and the case log, so a value
never changes name between screen and spreadsheet. The pipeline that fills it is
``analyzer.Analyzer``.
"""
from __future__ import annotations

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
    lens_model: str | None = None
    orientation: int | None = None
    size_bytes: int = 0
    width: int | None = None
    height: int | None = None
    model: str = ""
    analysed_at_utc: str = ""
    geoloc_version: str = __version__
    note: str = ""  # the analyst's note, from the case log
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

    @classmethod
    def columns(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    def to_dict(self) -> dict:
        return asdict(self)

    def add_message(self, text: str) -> None:
        self.message = f"{self.message}; {text}" if self.message else text
