"""``python -m geoloc_core`` command line: headless scans for big jobs.

Contract (scripts rely on it): ``scan PATH [PATH ...] --out FILE`` writes one row
per file with the columns of ``findings.CORE_COLUMNS`` first; one file's failure
never stops the scan; the exit code is 0 unless the invocation itself is wrong.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .case.export import FORMATS, export

EPILOG = """examples:
  python -m geoloc_core scan photos/ --out findings.csv
  python -m geoloc_core scan a.jpg b.heic --format geojson --out findings.geojson
  python -m geoloc_core scan photos/ --out findings.kml      # Google Earth: a Placemark per located point
  python -m geoloc_core scan photos/ --model models/geoloc-vitl14 --out findings.csv
  python -m geoloc_core scan photos/ --online-geocoder --out findings.csv   # sends coordinates to OSM Nominatim
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m geoloc_core", description="geoloc: where was this photo taken, "
                                     "and does its metadata tell the truth?",
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG)
    sub = parser.add_subparsers(dest="command", required=True)
    scan = sub.add_parser("scan", help="analyse files and folders (recursive) and write findings",
                          formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG)
    scan.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders (searched recursively)")
    scan.add_argument("--out", required=True, metavar="FILE", help="output file; '-' writes to standard output")
    scan.add_argument("--format", choices=FORMATS, default=None,
                      help="output format (default: from the --out extension, else csv)")
    scan.add_argument("--model", metavar="PATH_OR_ID", default=None,
                      help="trained geoloc model folder (from training/) to predict locations; default: the "
                           "GEOLOC_MODEL environment variable. Without a model, EXIF, geocoding and exports "
                           "still run and verdicts say 'cannot verify: no model'")
    scan.add_argument("--batch-size", type=int, default=16, help="images per model forward pass (default 16)")
    scan.add_argument("--online-geocoder", action="store_true",
                      help="also ask OpenStreetMap Nominatim (sends coordinates over the internet; 1 request/s)")
    scan.add_argument("--timeout", type=float, default=20.0,
                      help="seconds allowed to parse one file before it is reported as hung (default 20)")
    scan.add_argument("--include-serials", action="store_true",
                      help="export camera body/lens serial numbers (left out by default: they identify a device)")
    scan.add_argument("--no-progress", action="store_true", help="do not draw a progress bar on stderr")
    return parser


def _format_for(out: str, requested: str | None) -> str:
    if requested:
        return requested
    suffix = Path(out).suffix.lower().lstrip(".")
    return suffix if suffix in FORMATS else "csv"


def run_scan(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .case.analyzer import Analyzer
    from .evidence.sources import collect_sources
    from .places.geocoding import NominatimGeocoder, OfflineGeocoder
    from .evidence.isolation import IsolatedWorker

    from .model.inference import ModelLoadError, configured_model, load_predictor

    predictor = None
    model = configured_model(args.model)
    if model:
        try:
            predictor = load_predictor(model, batch_size=max(1, args.batch_size))
        except ModelLoadError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    geocoder = OfflineGeocoder()
    if args.online_geocoder:
        geocoder = NominatimGeocoder(fallback=geocoder)
    sources = collect_sources(args.paths)
    analyzer = Analyzer(geocoder=geocoder, predictor=predictor, batch_size=max(1, args.batch_size),
                        worker=IsolatedWorker(timeout_s=args.timeout))
    findings = []
    try:
        progress = tqdm(total=len(sources), unit="file", file=sys.stderr, disable=args.no_progress or None)
        for finding in analyzer.analyze_stream(sources):
            findings.append(finding)
            progress.update(1)
        progress.close()
    finally:
        analyzer.close()
    text = export(findings, _format_for(args.out, args.format), include_serials=args.include_serials)
    if args.out == "-":
        sys.stdout.write(text)
    else:
        Path(args.out).write_text(text, encoding="utf-8", newline="")
    errors = sum(f.status == "error" for f in findings)
    print(f"{len(findings)} files analysed, {errors} with errors -> {args.out}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "scan":
        return run_scan(args)
    return 2  # pragma: no cover - argparse enforces the sub-command
