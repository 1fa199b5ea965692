"""Fetch a geotagged training set from the Hugging Face hub (an explicit online action):

python -m training.fetch_data osv5m --shards 2 --out data/osv5m                 # 2 train shards + the whole test split
python -m training.fetch_data osv5m --shards 2 --test-shards 1 --out data/osv5m # 1 test shard only (not comparable)

Prints the licence, the size and the disk needed before it starts; resumable (run it again after an
interruption); every file is verified against the hub's SHA-256. The default test split is OSV-5M's whole
test set (5 shards, about 210,000 images), the set its published numbers are measured on. Result: OUT/images/{train,test}/<id>.jpg and
OUT/{train,test}.csv in OSV-5M's columns, which training reads as the 'osv5m' layout
(data.train_csv: OUT/train.csv, data.images: OUT/images/train). The host is HF_ENDPOINT (default huggingface.co).
"""
from __future__ import annotations

import argparse
import sys

from geoloc_core.learning.osv5m import fetch_osv5m
from geoloc_core.model.fetch import run_download_command


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset", choices=["osv5m"], help="the data set (OpenStreetView-5M, CC-BY-SA 4.0)")
    parser.add_argument("--shards", type=int, required=True, metavar="N",
                        help="train shards to fetch, from the first (about 50,000 images each)")
    parser.add_argument("--test-shards", type=int, default=None, metavar="M",
                        help="test shards to fetch (default: all, the whole test split that OSV-5M's published "
                             "numbers are measured on; 0 for none; fewer shards are not comparable)")
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder")
    parser.add_argument("--keep-zips", action="store_true", help="keep each zip after unpacking it")
    args = parser.parse_args(argv)
    if args.shards < 0 or (args.test_shards is not None and args.test_shards < 0):
        parser.error("--shards and --test-shards must be >= 0")
    code, report = run_download_command(lambda say: fetch_osv5m(
        args.out, args.shards, args.test_shards, keep_zips=args.keep_zips, say=say))
    if code:
        return code
    if report.csv_rows.get("train"):
        print(f"train with: data.train_csv: {args.out}/train.csv, data.images: {args.out}/images/train",
              file=sys.stderr)
    if report.csv_rows.get("test"):
        print(f"evaluate with: python -m training.evaluate --model MODEL --csv {args.out}/test.csv "
              f"--images {args.out}/images/test", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
