"""Evaluate in the thesis's table form (% within 1 / 25 / 200 / 750 / 2500 km, median, mean, GeoScore,
90 % coverage):

python -m training.evaluate --model runs/x/model --csv im2gps3k.csv --images im2gps3k/ --dataset im2gps3k
python -m training.evaluate --predictions other_model.csv --csv im2gps3k.csv --images im2gps3k/   # score a peer
Options: --convention geodesic (default, GeoCLIP's <=) | haversine (OSV-5M's R=6371 km, <);
--json FILE and --markdown FILE write the table.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from geoloc_core.learning.datasets import DataError, load_geo_csv
from geoloc_core.learning.evaluation import evaluate_prediction_csv, evaluate_predictor
from geoloc_core.learning.metrics import CONVENTIONS, REFERENCE_RESULTS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", help="trained geoloc model folder")
    source.add_argument("--predictions", help="CSV of another model's predictions: file,pred_lat,pred_lon")
    parser.add_argument("--csv", required=True, help="test set CSV (GeoCLIP, OSV-5M or plain layout)")
    parser.add_argument("--images", required=True, help="image root of the test set")
    parser.add_argument("--convention", choices=sorted(CONVENTIONS), default="geodesic")
    parser.add_argument("--dataset", choices=sorted(REFERENCE_RESULTS),
                        help="add the published rows (StreetCLIP, TransLocator, GeoDecoder, GeoCLIP, the thesis) "
                             "for this test set to the table")
    parser.add_argument("--name", default=None, help="row label for this model")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--json", help="write the metrics as JSON here")
    parser.add_argument("--markdown", help="write the table as Markdown here")
    args = parser.parse_args(argv)
    try:
        if args.model:
            from geoloc_core.model.inference import ModelLoadError, load_predictor

            try:
                predictor = load_predictor(args.model, batch_size=args.batch_size)
            except ModelLoadError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
            records, report = load_geo_csv(args.csv, args.images)
            print(report.summary(), file=sys.stderr)
            result = evaluate_predictor(predictor, records, args.convention, args.batch_size)
        else:
            result = evaluate_prediction_csv(args.predictions, args.csv, args.images, args.convention)
    except (DataError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for file, reason in result.skipped[:20]:
        print(f"skipped {file}: {reason}", file=sys.stderr)
    if len(result.skipped) > 20:
        print(f"... and {len(result.skipped) - 20} more skipped", file=sys.stderr)
    name = args.name or Path(args.model or args.predictions).name
    table = result.metrics.to_markdown(name, args.dataset)
    print(table)
    if args.json:
        Path(args.json).write_text(result.metrics.to_json(), encoding="utf-8")
    if args.markdown:
        Path(args.markdown).write_text(table + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
