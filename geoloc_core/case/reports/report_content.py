"""What a case report says, decided once for both of its formats.

Why a separate content step: the HTML and the PDF report must state the same facts in
the same words, so another analyst can check either. This module turns findings (and
the case, the analyst, the models and the thresholds in force) into plain sections of
(label, value) rows; ``report_html`` and ``report_pdf`` only lay them out, each escaping
by its own format's rules.

Every value that came from a file or an analyst is kept as text and passed through
``visible``: control and bidirectional-format characters (a newline in a file name, a
right-to-left override that makes ``gpj.exe`` read as ``exe.jpg``) are shown as escapes
such as ``\\n`` or ``\\u202e`` instead of silently changing how the evidence reads.
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import PurePath
from typing import Any, Callable, Iterable, Iterator, Sequence

from ..notes import note_lines
from ... import __version__
from ...evidence.imaging import preview_jpeg
from ...evidence.filefacts import detect_type
from ...evidence.video.formats import detect_video_type
from ...evidence.video.strip import filmstrip_jpeg
from ...evidence.filefacts import sha256_hex
from ...evidence.isolation import IsolatedCallError, IsolatedWorker
from ...evidence.visible_text import visible
from ..banner import compose_banner
from ..analyst_point import summary_lines
from ..findings import ANALYST_POINT_LABEL, Finding, for_people, regions_word
from .report_map import candidates, render_map_png
from .report_pixels import TABLE_WIDTHS as PIXEL_TABLE_WIDTHS, TITLE as PIXEL_TITLE, pixel_parts
from ...learning.metrics import THRESHOLDS_KM
from ..verification import BANDS_KM, VerdictThresholds, verdict_rules

THUMBNAIL_SIDE = 320  # pixels, the longer side: bounded whatever the original's size
CHECK_TITLES = {"time": "Time consistency", "timezone": "Time zone", "sun": "Sun at the claimed place and time",
                "editing": "Editing traces", "thumbnail": "Embedded thumbnail", "provenance": "Provenance (C2PA)",
                "claim": "Written place (caption / IPTC / XMP)", "blocks": "Metadata blocks agree (one file, two stories)"}
WITNESS_STATEMENT = (
    "A model is a witness, not proof. The predicted location is one more statement about where the photo was "
    "taken, made from the pixels by a statistical model that can be wrong; weigh it with every other piece of "
    "evidence. \"Consistent\" does not prove the photo was taken there, and \"contradicts\" does not prove the "
    "metadata false: it tells the analyst where to look harder. Metadata can be edited; the SHA-256 values fix "
    "which exact bytes were examined.")

@dataclass
class ModelInfo:
    """What a report says about one model: its description (as recorded in findings), what it
    was trained on and its evaluation table (from the model's own config, when it was loaded)."""

    description: str
    trained_on: dict | None = None
    evaluation: dict | None = None


def model_info(predictor) -> ModelInfo | None:
    """The ``ModelInfo`` of a loaded predictor (None without one); tolerant of predictors with no config."""
    if predictor is None:
        return None
    config = getattr(getattr(predictor, "model", None), "config", None)
    return ModelInfo(getattr(predictor, "description", "") or "model",
                     getattr(config, "trained_on", None), getattr(config, "evaluation", None))


@dataclass
class ReportItem:
    """One finding to report, with where it came from.

    ``acquired_utc``: when geoloc received the bytes (the finding's ``acquired_at_utc``; for findings
    saved before it existed, the case log's save time). ``original``: a callable returning the original bytes when they are available
    (evidence store, the uploaded file, the scanned path); used for the thumbnail and the
    bundle, and only when the bytes still hash to the finding's SHA-256."""

    finding: Finding
    acquired_utc: str = ""
    source_url: str = ""
    note: str = ""
    finding_id: int | None = None
    original: Callable[[], bytes | None] | None = None

    def original_bytes(self) -> tuple[bytes | None, str]:
        """(bytes, "") when the original is available and intact, else (None, why not)."""
        if self.original is None:
            return None, "original not kept"
        try:
            data = self.original()
        except OSError as exc:
            return None, f"original could not be read ({type(exc).__name__})"
        if data is None:
            return None, "original not kept"
        if not self.finding.sha256 or sha256_hex(data) != self.finding.sha256:
            return None, "original no longer matches the recorded SHA-256: left out"
        return data, ""


@dataclass
class Section:
    title: str
    rows: list[tuple[str, str]] = field(default_factory=list)
    table: list[list[str]] | None = None  # an optional table: header row first
    figures: list[tuple[str, bytes]] = field(default_factory=list)  # (caption, JPEG): pixel forensics' views (#37)
    table_widths: tuple[float, ...] | None = None  # the PDF's column shares for ``table`` (even when None)


VIDEO_THUMBNAIL_CAPTION = "Keyframes with their times (the container's rotation applied)"


@dataclass
class FileReport:
    number: int
    name: str  # visible() applied
    sha256: str
    headline: str  # the banner as the app shows it: a file that contradicts itself first (case/banner.py)
    verdict: str
    verdict_reason: str
    status: str
    thumbnail_jpeg: bytes | None
    thumbnail_note: str
    map_png: bytes | None
    sections: list[Section]
    thumbnail_caption: str = "Thumbnail (EXIF orientation applied)"  # a video's: its keyframes (#34)


@dataclass
class Report:
    title: str
    case_name: str
    analyst: str
    generated_utc: str
    geoloc_version: str
    scope: str
    witness_statement: str
    summary: list[list[str]]  # header row first: number, file, SHA-256, headline
    header_rows: list[tuple[str, str]]
    models: list[Section]
    thresholds: Section
    files: list[FileReport]


def _km(value: float | None) -> str:
    return "" if value is None else f"{value:,.1f} km"


def _deg(lat: float | None, lon: float | None, digits: int) -> str:
    return "" if lat is None or lon is None else f"{lat:.{digits}f}, {lon:.{digits}f}"


def _match(value: bool | None) -> str:
    return "" if value is None else ("yes" if value else "no")


def _rows(pairs: Iterable[tuple[str, object]]) -> list[tuple[str, str]]:
    return [(label, visible(value)) for label, value in pairs if value not in (None, "")]


def thumbnail(data: bytes, worker: Any) -> tuple[bytes | None, str]:
    """A bounded JPEG thumbnail (EXIF orientation applied) or (None, why not), made by ``worker`` (an
    ``IsolatedWorker`` or ``WorkerPool``): the original is file bytes, decoded only in the isolated worker,
    under its pixel limit (#31: a kept 13000 x 13000 PNG took the server from 1,072 to 3,010 MiB here)."""
    try:  # a video's thumbnail is a grid of its keyframes with their times (#34)
        make = filmstrip_jpeg if detect_video_type(data[:65536], detect_type(data[:65536])[0]) else preview_jpeg
        return worker.call(make, data, THUMBNAIL_SIDE), ""
    except IsolatedCallError as exc:
        return None, visible(for_people(str(exc)) or "the image could not be decoded")


@contextmanager
def _decoder(worker: Any) -> Iterator[Any]:
    """``worker``, or an isolated worker of the report's own (started on its first thumbnail, closed after)."""
    if worker is not None:
        yield worker
        return
    with IsolatedWorker() as own:
        yield own


def display_name(file: str) -> str:
    """The file's own name (the last path part), made visible; the full path is a separate row."""
    return visible(PurePath(file).name or file)


def _place_rows(f: Finding, prefix: str) -> list[tuple[str, object]]:
    code = getattr(f, f"{prefix}_country_code")
    country = getattr(f, f"{prefix}_country")
    return [("Country", f"{country} ({code})" if country and code else country),
            ("Region", getattr(f, f"{prefix}_region", None)),
            ("Continent", getattr(f, f"{prefix}_continent")),
            ("Nearest place", getattr(f, f"{prefix}_nearest_place")),
            ("Place note", getattr(f, f"{prefix}_place_note"))]


def _claim_rows(f: Finding) -> list[tuple[str, object]]:
    """The written place, caption and creator with their tags, and how the place was verified (case/claims.py)."""
    return [("Place as written", f.claimed_place_text), ("Written in", f.claim_source),
            ("GeoNames place", f.claimed_place_found), ("Claimed lat, lon (deg)", _deg(f.claimed_lat, f.claimed_lon, 4)),
            ("Country code", f.claimed_country_code), ("How it was located", f.claim_note),
            ("EXIF GPS vs claim", f.claim_exif_check),
            ("Prediction vs claim", " - ".join(x for x in (f.claim_pred_verdict, f.claim_pred_reason) if x)),
            ("Creator", f.creator), ("Caption", f.caption)]


def file_report(number: int, item: ReportItem, include_serials: bool = False, worker: Any = None) -> FileReport:
    """One file's part of the report; its thumbnail is made by ``worker`` (one of its own when None)."""
    f = item.finding
    video = f.media_kind == "video"
    data, why = item.original_bytes() if f.status == "ok" else (
        None, "the file is not an analysable video" if video else "the file is not an analysable image")
    if data is None:
        thumb, thumb_note = None, why
        pixel = pixel_parts(f, None, why, None)
    else:
        with _decoder(worker) as decoder:
            thumb, thumb_note = thumbnail(data, decoder)
            pixel = pixel_parts(f, data, why, decoder)  # #37: only for findings analysed with pixel forensics
    file_rows = _rows([
        ("File name", PurePath(f.file).name or f.file), ("Path or name as received", f.file),
        ("SHA-256", f.sha256), ("Size", f"{f.size_bytes:,} bytes" if f.size_bytes else ""),
        ("Type (from its bytes)", f.file_type), ("Pixels", f"{f.width} x {f.height}" if f.width else ""),
        ("Status", f.status), ("Acquired (UTC)", item.acquired_utc), ("Analysed (UTC)", f.analysed_at_utc),
        ("geoloc version at analysis", f.geoloc_version),
        ("Source URL (analyst)", item.source_url or "not recorded"),
    ])
    exif_rows = _rows([
        ("Container claims present" if video else "EXIF present", "yes" if f.exif_present else "no"),
        ("GPSLatitude, GPSLongitude (deg)", _deg(f.exif_lat, f.exif_lon, 6)),
        ("GPSAltitude (m)", "" if f.exif_altitude_m is None else f"{f.exif_altitude_m:,.1f}"),
        ("GPSImgDirection (deg)", "" if f.exif_img_direction_deg is None else f"{f.exif_img_direction_deg:.1f}"),
        ("DateTimeOriginal", f.exif_datetime_original), ("Capture time from", f.capture_time_source),
        ("GPS date/time (UTC)", f.exif_gps_datetime_utc),
        ("Make", f.camera_make), ("Model", f.camera_model), ("LensModel", f.lens_model), ("Software", f.software),
        ("Orientation", f.orientation),
        ("Camera serial numbers", f.camera_serial if include_serials else ("withheld from exports"
                                                                           if f.camera_serial else "")),
    ])
    prediction_rows = _rows([
        ("Model", f.model or "none loaded"),
        ("Predicted lat, lon (deg)", _deg(f.pred_lat, f.pred_lon, 4)),
        ("50 % region radius", _km(f.pred_radius50_km)), ("90 % region radius", _km(f.pred_radius_km)),
        ("Regions", regions_word(f.pred_calibrated) if f.pred_radius_km is not None else ""),
    ])
    ranked = candidates(f)
    candidate_table = ([["rank", "lat", "lon", "weight"]]
                       + [[str(i), f"{c['lat']:.4f}", f"{c['lon']:.4f}", f"{100 * float(c['weight']):.1f} %"]
                          for i, c in enumerate(ranked, 1)]) if ranked else None
    verdict_rows = _rows([
        ("Distance EXIF GPS - prediction", _km(f.distance_km)), ("Band", f.band),
        ("Verdict", f.verdict), ("Reason", f.verdict_reason),
        ("Same country", _match(f.country_match)), ("Same continent", _match(f.continent_match)),
    ])
    check_rows = []
    for name, title in CHECK_TITLES.items():
        status, _, text = (getattr(f, f"check_{name}", "") or "n/a: not checked").partition(": ")
        check_rows.append((title, visible(f"{status}: {text}")))
    sections = [
        Section("The file", file_rows),
        Section("Metadata (the container's claims)" if video else "Metadata (EXIF)",
                exif_rows or [("EXIF", "nothing recorded")]),
        Section("Place of the container's GPS point" if video else "Place of the EXIF GPS point",
                _rows(_place_rows(f, "exif")) or [("Place", "no GPS in the container" if video else "no EXIF GPS")]),
        Section("Written claim (caption / IPTC / XMP)", _rows(_claim_rows(f)) or [("Claim", "nothing written")]),
        Section("Prediction from the pixels", prediction_rows, candidate_table),
        Section("Place of the prediction", _rows(_place_rows(f, "pred")) or [("Place", "no prediction")]),
        Section("Verification", verdict_rows),
        Section("Metadata checks (status: reason)", check_rows),
        *([Section(PIXEL_TITLE, *pixel, table_widths=PIXEL_TABLE_WIDTHS)] if pixel else []),
        Section("Analyst's assessment (the analyst's own, not geoloc's)", [
            ("Analyst's verdict", visible(f.analyst_verdict) or "not assessed"),
            ("Analyst's tags", visible(f.analyst_tags) or "none"),
            ("Analyst's note", visible(item.note or f.note) or "none")]),
        Section(f"{ANALYST_POINT_LABEL} (the analyst's own, not geoloc's)",
                _rows(summary_lines(f)) or [(ANALYST_POINT_LABEL, "no point placed by the analyst")]),
    ]
    if f.message:
        sections.append(Section("Notes from the analysis", [("", visible(line)) for line in note_lines(f.message)]))
    return FileReport(number, display_name(f.file), f.sha256, visible(compose_banner(f).text), visible(f.verdict),
                      visible(f.verdict_reason),
                      f.status, thumb, thumb_note, render_map_png(f), sections,
                      *((VIDEO_THUMBNAIL_CAPTION,) if video else ()))


def model_sections(findings: Sequence[Finding], models: Sequence[ModelInfo]) -> list[Section]:
    """One section per distinct model named in the findings, with its record when it is known."""
    known = {m.description: m for m in models}
    names = list(dict.fromkeys(f.model for f in findings if f.model))
    if not names:
        return [Section("Model", [("Model", "none: no location was predicted; verdicts say 'cannot verify: "
                                            "no model'")])]
    sections = []
    for name in names:
        info = known.get(name)
        rows = [("Model", visible(name))]
        table = None
        if info is None:
            rows.append(("Training record", "not available in this report (the model was not loaded when the "
                                            "report was made)"))
        else:
            rows.append(("Trained on", visible(json.dumps(info.trained_on, ensure_ascii=False, sort_keys=True))
                         if info.trained_on else "not recorded in the model"))
            validation = (info.evaluation or {}).get("validation") if isinstance(info.evaluation, dict) else None
            if isinstance(validation, dict) and isinstance(validation.get("within_pct"), dict):
                within = validation["within_pct"]
                table = [["images", *[f"{n} {t:g} km" for n, t in THRESHOLDS_KM], "median km", "GeoScore",
                          "90 % coverage"]]
                table.append([f"{validation.get('n', '')}", *[_pct(within.get(n)) for n, _ in THRESHOLDS_KM],
                              _num(validation.get("median_km"), "{:,.1f}"), _num(validation.get("geoscore"), "{:,.0f}"),
                              _pct(validation.get("coverage90_pct"))])
                rows.append(("Evaluation", visible("validation split, % of images within each distance; "
                                                   + str(validation.get("convention_text", "")))))
            else:
                rows.append(("Evaluation", "not recorded in the model"))
        sections.append(Section(f"Model: {visible(name)}", rows, table))
    return sections


def _pct(value) -> str:
    return "" if not isinstance(value, (int, float)) else f"{value:.2f} %"


def _num(value, pattern: str) -> str:
    return "" if not isinstance(value, (int, float)) else pattern.format(value)


def thresholds_section(thresholds: VerdictThresholds) -> Section:
    bands = ", ".join(f"{name} <= {limit:g} km" for name, limit in BANDS_KM)
    return Section("Verdict rules in force", [
        ("Distance bands", bands),
        *verdict_rules(thresholds),
        ("Distances", "WGS-84 geodesic (Karney's algorithm; PROJ); a bound counts as inside"),
    ])


def build_report(items: Sequence[ReportItem], case_name: str, analyst: str, scope: str,
                 models: Sequence[ModelInfo] = (), thresholds: VerdictThresholds = VerdictThresholds(),
                 include_serials: bool = False, generated: datetime | None = None, worker: Any = None) -> Report:
    """Everything a report states, for ``items`` (one finding, a selection or a whole case). Thumbnails are
    decoded by ``worker`` (the app's parser pool), or by an isolated worker of the report's own when None."""
    generated = generated or datetime.now(timezone.utc)
    findings = [i.finding for i in items]
    with _decoder(worker) as decoder:
        files = [file_report(n, item, include_serials, decoder) for n, item in enumerate(items, 1)]
    summary = [["#", "file", "SHA-256", "headline (as the app shows it)"]] + [
        [str(r.number), r.name, r.sha256, r.headline] for r in files]
    analyst = visible(analyst.strip()) or "not given"
    header_rows = [("Case", visible(case_name) or "not named"), ("Analyst", analyst),
                   ("Scope", visible(scope)), ("Files", str(len(files))),
                   ("Generated (UTC)", generated.isoformat(timespec="seconds")),
                   ("geoloc version", __version__)]
    return Report(title=f"geoloc case report: {visible(case_name) or 'not named'}", case_name=visible(case_name),
                  analyst=analyst, generated_utc=generated.isoformat(timespec="seconds"), geoloc_version=__version__,
                  scope=visible(scope), witness_statement=WITNESS_STATEMENT, summary=summary, header_rows=header_rows,
                  models=model_sections(findings, models), thresholds=thresholds_section(thresholds), files=files)
