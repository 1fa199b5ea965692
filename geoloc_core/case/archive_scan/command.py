"""``python -m geoloc_core scan --engine ray``: the command's checks, the run, and the CSV/JSON on request.

``cli.py`` only dispatches here; everything a Ray scan needs to know about its arguments is in this file."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

# what the local scan offers that the Ray engine does not (each needs every row in one process)
UNSUPPORTED = (("report", "--report"), ("bundle", "--bundle"), ("constrain", "--constrain"),
               ("online_geocoder", "--online-geocoder"), ("pixel_forensics", "--pixel-forensics"),
               ("keyframe_rows", "--keyframe-rows"))


def run_ray_command(args: argparse.Namespace, paths: list[str]) -> int:
    from .inputs import list_items
    from .ray_engine import ArchiveScanError, ArchiveScanSettings, run_archive_scan
    from .shards import OutputFolderBusy

    if not args.output_dir:
        print("error: --engine ray writes Parquet shards: give --output-dir DIR (and --out FILE for a CSV/JSON "
              "of the rows as well)", file=sys.stderr)
        return 2
    given = [flag for name, flag in UNSUPPORTED if getattr(args, name, None)]
    if given:
        print(f"error: {', '.join(given)} is not available with --engine ray (scan the output with the local "
              "engine, or export the rows with --out)", file=sys.stderr)
        return 2
    if args.metadata_only and args.model:
        print("error: --metadata-only runs no model (it decodes no pixels): drop --model or --metadata-only",
              file=sys.stderr)
        return 2
    from ...model.choice import configured_model

    models = [] if args.metadata_only else args.model or [m for m in [configured_model(None)] if m]
    items = list_items(paths)
    settings = ArchiveScanSettings(output_dir=Path(args.output_dir), ray_address=args.ray_address,
                                   workers=args.workers, timeout_s=args.timeout, metadata_only=args.metadata_only,
                                   models=models, batch_size=max(1, args.batch_size),
                                   allow_model_download=args.allow_model_download,
                                   include_serials=args.include_serials, progress=not args.no_progress,
                                   chunk_files=max(1, args.ray_chunk))
    try:
        result = run_archive_scan(items, settings)
    except (OutputFolderBusy, ArchiveScanError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{result.scanned} files analysed, {result.errors} with errors, {result.skipped} already in the output "
          f"-> {args.output_dir} ({len(result.shards)} new shards)", file=sys.stderr)
    if args.out:
        _export(args, items)
    return 0


def _export(args: argparse.Namespace, items) -> None:
    """The rows of every listed file (this run's and earlier runs'), in the local scan's order and format."""
    from ..exports.export import format_for, write_export
    from .shards import OutputFolder

    with OutputFolder(args.output_dir) as output:
        findings = output.findings(items)
    write_export(findings, args.out, format_for(args.out, args.format), include_serials=args.include_serials)
    print(f"{len(findings)} rows -> {args.out}", file=sys.stderr)
