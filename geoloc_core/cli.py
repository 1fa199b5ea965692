"""``python -m geoloc_core`` command line: headless scans for big jobs.

Contract (scripts rely on it): ``scan PATH [PATH ...] --out FILE`` writes one row
per file with the columns of ``findings.CORE_COLUMNS`` first; one file's failure
never stops the scan; the exit code is 0 unless the invocation itself is wrong.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .case.exports.export import FORMATS, format_for, without_serials, write_csv, write_export
from .case.pixel_findings import SECONDS_PER_12MP

from .prompts_command import add_prompts_parser, listen_to_zero_shot, run_prompts

EPILOG = """examples:
  python -m geoloc_core scan photos/ --out findings.csv
  python -m geoloc_core scan a.jpg b.heic --format geojson --out findings.geojson
  python -m geoloc_core scan photos/ --out findings.kml      # Google Earth: a Placemark per located point
  python -m geoloc_core scan photos/ --format csv-excel --out findings.csv   # for Excel: BOM, fewer columns
  python -m geoloc_core scan photos/ --model models/geoloc-vitl14 --out findings.csv
  python -m geoloc_core scan photos/ --model models/geoloc-vitl14 --model models/StreetCLIP --out findings.csv
  python -m geoloc_core fetch geolocal/StreetCLIP --to models/StreetCLIP   # downloads (asks nothing; prints size)
  python -m geoloc_core scan photos/ --online-geocoder --out findings.csv   # sends coordinates to OSM Nominatim
  python -m geoloc_core scan suspect.jpg --pixel-forensics --out f.csv --report suspect.html   # ELA, clones, ...
  python -m geoloc_core scan dump/ --metadata-only --out triage.csv   # first pass: no pixel decode, no model
  python -m geoloc_core scan dump/ --engine ray --output-dir dump-scan/ --out findings.csv   # Ray, resumable
  python -m geoloc_core scan photos/ --out f.csv --report case.html --report case.pdf --bundle case.zip \\
      --analyst "A. Analyst"
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m geoloc_core", description="geoloc: where was this photo taken, "
                                     "and does its metadata tell the truth?",
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG)
    sub = parser.add_subparsers(dest="command", required=True)
    scan = sub.add_parser("scan", help="analyse files and folders (recursive) and write findings",
                          formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG)
    scan.add_argument("paths", nargs="*", metavar="PATH", help="image files or folders (searched recursively)")
    scan.add_argument("--out", metavar="FILE", help="output file; '-' writes to standard output (required, "
                      "except with --engine ray, where it is an export of the Parquet shards on request)")
    scan.add_argument("--format", choices=FORMATS, default=None,
                      help="output format (default: from the --out extension, else csv); csv-excel: the CSV for "
                           "spreadsheets (UTF-8 byte-order mark, a short column set)")
    scan.add_argument("--model", metavar="PATH_OR_ID", action="append", default=None,
                      help="model folder: a trained geoloc regressor (from training/) or a full CLIP checkpoint "
                           "with its text tower (zero-shot, e.g. fetched geolocal/StreetCLIP). Give it twice, one "
                           "of each kind, for two witnesses (the regressor gives the verdict; the zero-shot model's "
                           "point, distance and verdict go to the second_* columns). Default: the GEOLOC_MODEL "
                           "environment variable. Without a model, EXIF, geocoding and exports still run and "
                           "verdicts say 'cannot verify: no model'")
    scan.add_argument("--allow-model-download", action="store_true",
                      help="let --model be a Hugging Face id (or a model whose backbone is not bundled) and "
                           "download it from huggingface.co (online); off by default")
    scan.add_argument("--batch-size", type=int, default=16, help="images per model forward pass (default 16)")
    scan.add_argument("--online-geocoder", action="store_true",
                      help="also ask OpenStreetMap Nominatim (sends coordinates over the internet; 1 request/s)")
    scan.add_argument("--timeout", type=float, default=20.0,
                      help="seconds allowed to parse one file before it is reported as hung (default 20)")
    scan.add_argument("--workers", type=int, default=None, metavar="N",
                      help="isolated parser processes inspecting files in parallel (default: one per core, as many "
                           "as the memory holds at 4 GiB each); each keeps its own time and memory bounds")
    scan.add_argument("--include-serials", action="store_true",
                      help="export camera body/lens serial numbers (left out by default: they identify a device)")
    scan.add_argument("--metadata-only", action="store_true",
                      help="first pass over an archive: hash, EXIF/IPTC/XMP, places and the metadata checks only; no "
                           "pixel decode (no truncation check, perceptual hash or thumbnail comparison) and no model; "
                           "the same columns, those empty, and mode=metadata-only in each row")
    scan.add_argument("--from-list", metavar="FILE", default=None,
                      help="also scan the paths listed in FILE (UTF-8, one a line; # comments and blank lines skipped)")
    scan.add_argument("--engine", choices=("local", "ray"), default="local",
                      help="local: this machine's parser pool (default); ray: Ray actors on a local Ray started "
                           "for the run or on the cluster at --ray-address, Parquet shards in --output-dir, "
                           "resumable (see README, 'Scanning an archive')")
    scan.add_argument("--ray-address", metavar="ADDR", default=None,
                      help="with --engine ray: the cluster to join (e.g. 10.0.0.5:6379 from `ray start --head`)")
    scan.add_argument("--ray-chunk", type=int, default=64, metavar="N",
                      help="with --engine ray: files per Ray call (default 64; each chunk is one Parquet shard)")
    scan.add_argument("--output-dir", metavar="DIR", default=None,
                      help="with --engine ray: the folder of Parquet shards; a rerun skips files whose path, size "
                           "and mtime are already in it")
    scan.add_argument("--no-progress", action="store_true", help="do not draw a progress bar on stderr")
    scan.add_argument("--keyframe-rows", action="store_true",
                      help="after each video's row, one row per keyframe (media_kind=keyframe, parent_sha256, "
                           "frame_time_s, its own prediction and verdict)")
    scan.add_argument("--report", action="append", default=[], metavar="FILE.html|FILE.pdf", type=_report_path,
                      help="also write a case report (self-contained HTML, or PDF by the .pdf extension); repeat the "
                           "option for both")
    scan.add_argument("--bundle", metavar="FILE.zip", default=None,
                      help="also write an evidence bundle: originals, findings (CSV, JSON, GeoJSON), both reports and "
                           "MANIFEST.sha256 (check with sha256sum -c); its SHA-256 is printed and written to "
                           "FILE.zip.sha256")
    scan.add_argument("--constrain", default=None, metavar="country:CC|region:CC:NAME|circle:LAT,LON,KM",
                      help="restrict each prediction to where a source says the photos are, e.g. country:UA, "
                           "region:DE:Bavaria or circle:50.45,30.52,25: adds constraint, constraint_mass_inside "
                           "(the model's mass inside before renormalising), constrained_lat and constrained_lon; "
                           "the verdict stays the model's own")
    scan.add_argument("--pixel-forensics", action="store_true",
                      help="also run the pixel checks (#37: JPEG quantisation tables, double compression, error levels, "
                           "noise residual, copy-move): adds jpeg_quality_estimate, quant_table_match, double_compression, "
                           f"clone_regions, clone_boxes, pixel_checks_flagged; seconds per photo (about {SECONDS_PER_12MP} s at 12 MP "
                           "on 2 cores), so off by default; reports then show the views")
    scan.add_argument("--analyst", default="", metavar="NAME", help="analyst name shown in reports and bundles")
    scan.add_argument("--case", default=None, metavar="NAME",
                      help="case name shown in reports (default: 'scan of PATH')")
    fetch = sub.add_parser("fetch", help="download a model checkpoint from the Hugging Face hub (the one online "
                           "action of geoloc's CLI: it says the host and the size first)",
                           formatter_class=argparse.RawDescriptionHelpFormatter, epilog=FETCH_EPILOG)
    fetch.add_argument("model_id", metavar="MODEL_ID", help="hub id, e.g. openai/clip-vit-large-patch14, "
                       "openai/clip-vit-base-patch32, geolocal/StreetCLIP")
    fetch.add_argument("--to", required=True, metavar="DIR", help="folder to download into (created; an "
                       "interrupted download resumes when run again)")
    fetch.add_argument("--revision", default=None, help="branch, tag or commit (default: main)")
    _add_shadows_parser(sub)
    add_prompts_parser(sub)
    return parser


def _report_path(value: str) -> str:
    if Path(value).suffix.lower() not in (".html", ".htm", ".pdf"):
        raise argparse.ArgumentTypeError(f"{value!r}: a report file must end in .html or .pdf")
    return value


FETCH_EPILOG = """examples:
  python -m geoloc_core fetch openai/clip-vit-large-patch14 --to models/clip-vit-large-patch14
  GEOLOC_MODEL=models/clip-vit-large-patch14 make run

Only weights in one format are fetched (safetensors when the repository has them), plus the config, tokenizer
and preprocessing files; each file is checked against the hub's SHA-256 (weights) or git hash (others).
The host is https://huggingface.co unless HF_ENDPOINT says otherwise; HF_HUB_OFFLINE=1 refuses at once.
"""


def run_fetch(args: argparse.Namespace) -> int:
    from .model.fetch import fetch_model, run_download_command

    code, _ = run_download_command(lambda say: fetch_model(args.model_id, args.to, revision=args.revision, say=say))
    return code


SHADOWS_EPILOG = """examples:
  python -m geoloc_core shadows --time 2024-06-21T11:50:00Z --object-height 1 --shadow-length 0.475 --out band.geojson
  python -m geoloc_core shadows --time 2024-06-21T13:50:00+02:00 --sun-elevation 64.6 --shadow-bearing 359 \\
      --tolerance-deg 1 --time-tolerance-min 5 --utc-offset +02:00 --out band.geojson

The band holds every place where the sun stood at that elevation (and, with a bearing, in that
direction) at that time. Offline: nothing leaves the machine.
"""


def _add_shadows_parser(sub) -> None:
    shadows = sub.add_parser("shadows", help="where on Earth the sun cast this shadow at this time (GeoJSON band)",
                             formatter_class=argparse.RawDescriptionHelpFormatter, epilog=SHADOWS_EPILOG)
    shadows.add_argument("--time", required=True, help="capture time in ISO 8601 with Z or an offset, e.g. "
                         "2024-06-21T11:50:00Z (EXIF DateTimeOriginal + OffsetTimeOriginal)")
    shadows.add_argument("--object-height", type=float, help="height of a vertical object (any unit)")
    shadows.add_argument("--shadow-length", type=float, help="length of its shadow on level ground (same unit)")
    shadows.add_argument("--sun-elevation", type=float, help="the sun's elevation in degrees, instead of height/length")
    shadows.add_argument("--shadow-bearing", type=float, default=None,
                         help="compass bearing of the shadow, degrees clockwise from true north (optional)")
    shadows.add_argument("--tolerance-deg", type=float, default=1.0, help="+- degrees on the elevation (default 1)")
    shadows.add_argument("--bearing-tolerance-deg", type=float, default=5.0,
                         help="+- degrees on the shadow bearing (default 5)")
    shadows.add_argument("--time-tolerance-min", type=float, default=0.0,
                         help="+- minutes on the time (clock error; default 0)")
    shadows.add_argument("--utc-offset", default=None, metavar="+HH:MM",
                         help="keep only time zones with this UTC offset at that moment (the EXIF OffsetTime)")
    shadows.add_argument("--within", default=None, metavar="LAT,LON,KM",
                         help="keep only places within KM of LAT,LON (e.g. the model's 90 %% region)")
    shadows.add_argument("--resolution-deg", type=float, default=0.1, help="grid cell size in degrees (default 0.1)")
    shadows.add_argument("--out", required=True, metavar="FILE", help="GeoJSON output; '-' writes to standard output")


def _parse_offset(text: str):
    import re
    from datetime import timedelta

    match = re.fullmatch(r"([+-])(\d{2}):?(\d{2})", text.strip())
    if not match:
        raise ValueError(f"not a UTC offset: {text!r} (example: +02:00 or -04:00)")
    sign = 1 if match.group(1) == "+" else -1
    return sign * timedelta(hours=int(match.group(2)), minutes=int(match.group(3)))


def run_shadows(args: argparse.Namespace) -> int:
    import json

    from .places import shadows
    from .places.geocoding import OfflineGeocoder

    try:
        when = shadows.parse_utc_time(args.time)
        if args.sun_elevation is not None:
            elevation = args.sun_elevation
        elif args.object_height is not None and args.shadow_length is not None:
            elevation = shadows.sun_elevation_from_shadow(args.object_height, args.shadow_length)
        else:
            raise ValueError("give --object-height and --shadow-length, or --sun-elevation")
        band = shadows.shadow_band(when, elevation, elevation_tolerance_deg=args.tolerance_deg,
                                   time_tolerance_min=args.time_tolerance_min,
                                   shadow_bearing_deg=args.shadow_bearing,
                                   bearing_tolerance_deg=args.bearing_tolerance_deg,
                                   resolution_deg=args.resolution_deg)
        if args.within:
            try:
                lat, lon, km = (float(x) for x in args.within.split(","))
            except ValueError:
                raise ValueError(f"--within wants LAT,LON,KM, got {args.within!r}") from None
            shadows.restrict_to_circle(band, lat, lon, km)
        if args.utc_offset:
            shadows.restrict_to_utc_offset(band, _parse_offset(args.utc_offset))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    countries = shadows.countries_crossed(band, OfflineGeocoder())
    text = json.dumps(shadows.band_geojson(band, countries))
    if args.out == "-":
        sys.stdout.write(text + "\n")
    else:
        Path(args.out).write_text(text, encoding="utf-8")
    print(f"sun elevation {elevation:.2f} deg at {when.isoformat()}: band of {band.area_km2():,.0f} km2"
          + (f", sun azimuth {band.azimuth_deg:.1f} deg" if band.azimuth_deg is not None else ""), file=sys.stderr)
    for note in band.notes:
        print(f"note: {note}", file=sys.stderr)
    names = ", ".join(f"{name} ({code})" for code, name in countries) or "none (open water only, or empty)"
    print(f"countries crossed: {names}", file=sys.stderr)
    return 0


def run_scan(args: argparse.Namespace) -> int:
    paths = list(args.paths)
    if args.from_list:
        from .case.archive_scan.inputs import InputListError, read_path_list

        try:
            paths += read_path_list(args.from_list)
        except InputListError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    if not paths:
        print("error: give at least one PATH, or --from-list FILE", file=sys.stderr)
        return 2
    if args.engine == "ray":  # the archive engine (#35): its own checks, run and export
        from .case.archive_scan.command import run_ray_command

        return run_ray_command(args, paths)
    if not args.out:
        print("error: the following arguments are required: --out", file=sys.stderr)
        return 2
    args.paths = paths
    from .evidence.isolation import BESIDE_MODEL_NICENESS, PARSERS_ONLY, WITH_PIXEL_FIGURES, WorkerPool

    constraint = None
    if args.constrain:  # read before anything starts, so a typo costs nothing
        from .case.constraints import ConstraintError, parse_constraint

        try:
            constraint = parse_constraint(args.constrain)
        except ConstraintError as exc:
            print(f"error: --constrain: {exc}", file=sys.stderr)
            return 2

    # Start-up work overlaps (issue #18): the parser processes start and import their parsers, and the
    # geocoder's data loads in a thread, while this process imports the pipeline and loads the model.
    from .model.choice import configured_model

    if args.metadata_only and args.model:
        print("error: --metadata-only runs no model (it decodes no pixels): drop --model or --metadata-only",
              file=sys.stderr)
        return 2
    if args.metadata_only and args.pixel_forensics:
        print("error: --metadata-only decodes no pixels, so it runs no pixel checks: drop --pixel-forensics or "
              "--metadata-only", file=sys.stderr)
        return 2
    models = [] if args.metadata_only else args.model or [m for m in [configured_model(None)] if m]
    from .case.scan_mode import more_parsers, parsers_at_start

    pool = WorkerPool(size=args.workers, timeout_s=args.timeout, niceness=BESIDE_MODEL_NICENESS if models else 0,
                      preload=WITH_PIXEL_FIGURES if args.pixel_forensics else PARSERS_ONLY,  # OpenCV only if used
                      active=None if args.workers else parsers_at_start(args.metadata_only))  # small: one parser
    pool.start()
    from .places.loading import offline_geocoder_in_background

    geocoder = offline_geocoder_in_background()
    from .case.analyzer import Analyzer
    from .case.video_media import keyframe_rows
    from .evidence.sources import collect_sources
    from .places.geocoding import NominatimGeocoder

    predictor = second = None
    if models:  # torch is imported only here: a scan without a model never pays for it
        from .model.inference import ModelLoadError, load_witnesses

        try:
            witnesses = load_witnesses(models, batch_size=max(1, args.batch_size),
                                       allow_download=args.allow_model_download)
        except ModelLoadError as exc:
            print(f"error: {exc}", file=sys.stderr)
            pool.close()
            return 2
        predictor, second = witnesses[0], (witnesses[1] if len(witnesses) > 1 else None)
        if not args.no_progress:  # what a zero-shot model prepares for the first images, and how long it takes
            listen_to_zero_shot(witnesses)
    offline = geocoder  # the constraint always uses the offline geocoder: no point leaves the machine
    if args.online_geocoder:
        geocoder = NominatimGeocoder(fallback=geocoder)
    sources = collect_sources(args.paths)
    if more_parsers(args.metadata_only, len(sources)):  # more files than one parser keeps up with
        pool.grow()
    analyzer = Analyzer(geocoder=geocoder, predictor=predictor, batch_size=max(1, args.batch_size),
                        worker=pool, second_predictor=second, pixel_forensics=args.pixel_forensics,
                        metadata_only=args.metadata_only)
    fmt = format_for(args.out, args.format)
    # A CSV without reports is written row by row, so a 10,000-file scan holds no more findings in
    # memory than a 1,000-file one (issue #18); the other formats and the reports need them all.
    streaming = fmt in ("csv", "csv-excel") and not (args.report or args.bundle)
    findings = []
    count = errors = 0
    partial = Path(f"{args.out}.partial") if streaming and args.out != "-" else None
    handle = (partial.open("w", encoding="utf-8", newline="") if partial else sys.stdout) if streaming else None
    try:
        progress = _progress(len(sources), args.no_progress)
        for finding in analyzer.analyze_stream(sources):
            if constraint is not None:
                from .case.constraints import fill_constrained

                fill_constrained(finding, constraint, offline)
            rows = [finding] + (keyframe_rows(finding, geocoder) if args.keyframe_rows else [])
            if streaming:
                write_csv(rows if args.include_serials else without_serials(rows), handle,
                          header=count == 0, excel=fmt == "csv-excel")
            else:
                findings.extend(rows)
            count += 1
            errors += finding.status == "error"
            progress.update(1)
        progress.close()
        if streaming and count == 0:
            write_csv([], handle)
    finally:
        analyzer.close()
        if partial is not None:
            handle.close()
    if partial is not None:
        partial.replace(args.out)
    elif not streaming:
        write_export(findings, args.out, fmt, include_serials=args.include_serials)
    print(f"{count} files analysed, {errors} with errors -> {args.out}", file=sys.stderr)
    if args.report or args.bundle:
        from .case.reports.report_content import model_info
        from .case.reports.reporting import write_scan_reports

        for line in write_scan_reports(findings, sources, args.report, args.bundle, args.analyst,
                                       args.case or f"scan of {' '.join(args.paths)}", "every file of the scan",
                                       [m for m in [model_info(predictor), model_info(second)] if m], args.include_serials):
            print(line, file=sys.stderr)
    return 0


class _NoProgress:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(total: int, hidden: bool):
    """tqdm's bar on stderr; with --no-progress nothing, and tqdm is not even imported (its import reads
    package metadata: a few hundredths of a second of a small folder's scan, #35)."""
    if hidden:
        return _NoProgress()
    from tqdm import tqdm

    return tqdm(total=total, unit="file", file=sys.stderr, disable=None)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "scan":
        return run_scan(args)
    if args.command == "fetch":
        return run_fetch(args)
    if args.command == "shadows":
        return run_shadows(args)
    if args.command == "prompts":
        return run_prompts(args)
    return 2  # pragma: no cover - argparse enforces the sub-command
