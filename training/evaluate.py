"""Evaluate in the thesis's table form (% within 1 / 25 / 200 / 750 / 2500 km, median, mean, GeoScore,
90 % coverage):

python -m training.evaluate --model runs/x/model --csv im2gps3k.csv --images im2gps3k/ --dataset im2gps3k
python -m training.evaluate --predictions other_model.csv --csv im2gps3k.csv --images im2gps3k/   # score a peer
python -m training.evaluate --model models/StreetCLIP --csv im2gps3k.csv --images im2gps3k/   # zero-shot CLIP

--model takes a trained geoloc model or a full CLIP checkpoint (zero-shot, regions uncalibrated).
--images is a folder, a .tar shard, a glob of shards or a folder of shards (read as training reads them).
One rule for both sources: a test image without a prediction (a peer's missing row; for --model an image
that is missing or cannot be decoded) counts as a miss (scored at the antipode of the truth, inside no
region) and their number is printed; --drop-missing leaves them out of the denominator instead.
Options: --convention geodesic (default, GeoCLIP's <=) | haversine (OSV-5M's R=6371 km, <);
--json FILE and --markdown FILE write the table.
When the test CSV has OSV-5M's columns (country, region, sub-region, city), a second table gives OSV-5M's
own metrics, the share of predictions in the right country / region / city (reverse geocoded offline;
sub-region n/a: see geoloc_core/learning/area_accuracy.py for exactly how each level is compared).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from geoloc_core.learning.datasets import DataError, load_geo_csv
from geoloc_core.learning.evaluation import (add_area_accuracy, evaluate_prediction_csv, evaluate_predictor,
                                             write_predictions_csv)
from geoloc_core.learning.metrics import CONVENTIONS, REFERENCE_RESULTS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", help="trained geoloc model folder, or a full CLIP checkpoint (zero-shot)")
    source.add_argument("--predictions", help="CSV of another model's predictions: file,pred_lat,pred_lon")
    parser.add_argument("--csv", required=True, help="test set CSV (GeoCLIP, OSV-5M or plain layout)")
    parser.add_argument("--images", required=True, help="image root of the test set")
    parser.add_argument("--convention", choices=sorted(CONVENTIONS), default="geodesic")
    parser.add_argument("--dataset", choices=sorted(REFERENCE_RESULTS),
                        help="add the published rows (StreetCLIP, TransLocator, GeoDecoder, GeoCLIP, the thesis) "
                             "for this test set to the table")
    parser.add_argument("--name", default=None, help="row label for this model")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--drop-missing", action="store_true",
                        help="score only the images that have a prediction (flatters a partial peer, or a model "
                             "whose test images are partly unreadable; the default counts each as a miss)")
    parser.add_argument("--predictions-out", metavar="CSV",
                        help="with --model: write each test image's prediction and regions here (file, true_lat, "
                             "true_lon, pred_lat, pred_lon, pred_radius50_km, pred_radius_km)")
    parser.add_argument("--json", help="write the metrics as JSON here")
    parser.add_argument("--markdown", help="write the table as Markdown here")
    args = parser.parse_args(argv)
    missing = "drop" if args.drop_missing else "miss"
    try:
        if args.model:
            from geoloc_core.model.inference import ModelLoadError, load_predictor

            try:
                predictor = load_predictor(args.model, batch_size=args.batch_size)
            except ModelLoadError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
            # rows whose file is absent stay in: reading them fails and they count as --predictions counts them
            records, report = load_geo_csv(args.csv, args.images, check_files=False)
            print(report.summary(), file=sys.stderr)
            result = evaluate_predictor(predictor, records, args.convention, args.batch_size, missing=missing)
        else:
            result = evaluate_prediction_csv(args.predictions, args.csv, args.images, args.convention, missing=missing)
        add_area_accuracy(result, args.csv)  # only when the CSV has OSV-5M's country/region/sub-region/city
    except (DataError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for file, reason in result.skipped[:20]:
        print(f"skipped {file}: {reason}", file=sys.stderr)
    if len(result.skipped) > 20:
        print(f"... and {len(result.skipped) - 20} more skipped", file=sys.stderr)
    name = args.name or Path(args.model or args.predictions).name
    table = result.metrics.to_markdown(name, args.dataset)
    how = ("left out of the denominator (--drop-missing)" if args.drop_missing
           else "counted as misses (scored at the antipode of the truth, inside no region)")
    if args.predictions:
        table += f"\n{result.missing:,} of {result.test_images:,} test images have no prediction: {how}."
    else:
        table += (f"\n{result.missing:,} of {result.test_images:,} test images could not be read (missing or "
                  f"unreadable): {how}.")
        if result.metrics.extra.get("regions_calibrated") is False:
            table += "\n50 % and 90 % coverage are of the model's uncalibrated regions (zero-shot)."
    if result.areas is not None:
        table += "\n\n" + result.areas.to_markdown(name)
    print(table)
    if args.predictions_out and args.model:
        write_predictions_csv(result, args.predictions_out)
    if args.json:
        Path(args.json).write_text(result.metrics.to_json(), encoding="utf-8")
    if args.markdown:
        Path(args.markdown).write_text(table + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
