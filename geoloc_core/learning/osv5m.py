"""Fetch OpenStreetView-5M (OSV-5M) shards into the layout the training code reads.

Why: the shortest path from nothing to a trained regressor needs real geotagged photos;
OSV-5M (Astruc et al. 2024, CC-BY-SA 4.0, https://huggingface.co/datasets/osv5m/osv5m)
ships 5.1M street-view images as zip shards (``images/train/00.zip`` ... and
``images/test/00.zip`` ...) plus ``train.csv`` / ``test.csv`` (``id, latitude, longitude, ...``).

``fetch_osv5m`` downloads the first N train shards (and every test shard by default: published
OSV-5M numbers are on the whole test split, about 210,000 images in 5 shards; M to take fewer) with the verified,
resumable downloader of ``model.fetch``, unpacks each shard's images flat into
``OUT/images/<split>/<id>.jpg`` (entry names reduced to their base name: no path from an
archive ever reaches the file system; oversized or bomb-like entries are refused), deletes
the zip once unpacked (``keep_zips`` keeps it), and writes ``OUT/<split>.csv`` with the
rows whose image is present, in OSV-5M's own columns, so ``load_geo_csv`` reads it as the
``osv5m`` layout without millions of "missing file" rows. A marker per unpacked shard makes
a rerun skip it; an interrupted download resumes.
"""
from __future__ import annotations

import re
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable

from ..model.fetch import FetchError, FetchPlan, RemoteFile, download, human_bytes, missing_bytes, plan_fetch

REPO_ID = "osv5m/osv5m"
LICENSE = "CC-BY-SA 4.0 (OpenStreetView-5M, Astruc et al. 2024; images from Mapillary contributors)"
SHARD_PATTERN = re.compile(r"images/(train|test)/(\d+)\.zip")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
MAX_IMAGE_BYTES = 64 * 1024**2
MAX_RATIO = 50  # JPEGs barely compress: a high ratio means a zip bomb
CSV_CHUNK_ROWS = 200_000


@dataclass
class FetchReport:
    out: Path
    images: dict[str, int] = field(default_factory=dict)  # split -> images unpacked (all shards so far)
    csv_rows: dict[str, int] = field(default_factory=dict)  # split -> rows written
    refused: list[str] = field(default_factory=list)  # archive entries not unpacked, with the reason


def select_shards(files: list[RemoteFile], train_shards: int, test_shards: int | None) -> list[RemoteFile]:
    """The CSVs of the wanted splits and the first ``train_shards`` / ``test_shards`` zips of each split
    (``None``: all of that split's zips)."""
    by_split: dict[str, list[RemoteFile]] = {"train": [], "test": []}
    for f in files:
        match = SHARD_PATTERN.fullmatch(f.path)
        if match:
            by_split[match.group(1)].append(f)
    chosen = []
    for split, count in (("train", train_shards), ("test", test_shards)):
        if count is not None and count <= 0:
            continue
        shards = sorted(by_split[split], key=lambda f: int(SHARD_PATTERN.fullmatch(f.path).group(2)))[:count]
        csv_file = next((f for f in files if f.path == f"{split}.csv"), None)
        if not shards or csv_file is None:
            raise FetchError(f"{REPO_ID} lists no {split} shards or no {split}.csv: has its layout changed?")
        chosen += [csv_file, *shards]
    return chosen


def _marker(out: Path, shard: str) -> Path:
    return out / ".unpacked" / (shard.replace("/", "_") + ".done")


def unpack_shard(zip_path: Path, target: Path, refused: list[str]) -> int:
    """Unpack the images of one shard flat into ``target``; return how many. Entry names are reduced to their
    base name, and only image files of sane size and compression ratio are written."""
    target.mkdir(parents=True, exist_ok=True)
    count = 0
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise FetchError(f"{zip_path.name} is not a readable zip ({exc}): delete it and run again") from None
    with archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            name = PurePosixPath(info.filename.replace("\\", "/")).name
            if not name.lower().endswith(IMAGE_SUFFIXES) or name.startswith("."):
                continue  # not an image (e.g. a readme): skipped silently
            if info.file_size > MAX_IMAGE_BYTES or (info.file_size > 1024**2 and
                                                    info.file_size > MAX_RATIO * max(1, info.compress_size)):
                refused.append(f"{zip_path.name}/{info.filename[:100]}: refused ({info.file_size:,} bytes declared)")
                continue
            partial = target / f".{name}.partial"
            with archive.open(info) as source, partial.open("wb") as sink:
                written = 0
                for chunk in iter(lambda: source.read(1 << 20), b""):
                    written += len(chunk)
                    if written > MAX_IMAGE_BYTES:
                        break
                    sink.write(chunk)
            if written > MAX_IMAGE_BYTES:
                partial.unlink()
                refused.append(f"{zip_path.name}/{info.filename[:100]}: refused (larger than declared)")
                continue
            partial.replace(target / name)
            count += 1
    return count


def write_split_csv(raw_csv: Path, image_dir: Path, out_csv: Path) -> int:
    """Rows of OSV-5M's CSV whose image is in ``image_dir``, with the original columns; returns the count."""
    import pandas as pd

    present = {p.stem for p in image_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES} if image_dir.is_dir() else set()
    rows, partial = 0, out_csv.with_suffix(".csv.partial")
    header = True
    for chunk in pd.read_csv(raw_csv, dtype=str, keep_default_na=False, chunksize=CSV_CHUNK_ROWS):
        if "id" not in chunk.columns:
            raise FetchError(f"{raw_csv.name} has no 'id' column (columns: {list(chunk.columns)[:8]})")
        kept = chunk[chunk["id"].isin(present)]
        kept.to_csv(partial, mode="w" if header else "a", header=header, index=False)
        header = False
        rows += len(kept)
    partial.replace(out_csv)
    return rows


def estimate_disk(plan: FetchPlan, out: Path) -> tuple[int, int]:
    """(bytes still to download, peak extra disk): unpacked JPEGs take about their zip's size, and each zip is
    deleted once unpacked, so the peak is the CSVs plus the images plus the largest zip."""
    todo = missing_bytes(plan, out)
    zips = [f.size for f in plan.files if f.path.endswith(".zip") and not _marker(out, f.path).exists()]
    csvs = [f.size for f in plan.files if f.path.endswith(".csv")]
    return todo, sum(csvs) * 2 + sum(zips) + (max(zips) if zips else 0)


def fetch_osv5m(out: str | Path, train_shards: int, test_shards: int | None = None, keep_zips: bool = False,
                say: Callable[[str], None] = print) -> FetchReport:
    """Download, verify, unpack and index OSV-5M shards (see the module docstring); ``test_shards=None``
    fetches the whole test split."""
    out = Path(out).expanduser()
    plan = plan_fetch(REPO_ID, repo_type="dataset", select=lambda files: select_shards(files, train_shards, test_shards))
    if test_shards is None:
        count = sum(1 for f in plan.files if SHARD_PATTERN.fullmatch(f.path) and f.path.startswith("images/test/"))
        say(f"test: the whole test split ({count} shards), as OSV-5M's published numbers are measured; "
            f"--test-shards M for fewer")
    todo, peak = estimate_disk(plan, out)
    say(f"OSV-5M, licence {LICENSE}")
    say(f"fetching {plan.describe()}; {human_bytes(todo)} still to download; disk needed about {human_bytes(peak)} "
        f"(zips are deleted once unpacked{'; --keep-zips keeps them' if not keep_zips else ''})")
    out.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(out).free
    if peak > free:
        raise FetchError(f"about {human_bytes(peak)} of disk needed but only {human_bytes(free)} free on {out}")
    raw = out / "raw"
    report = FetchReport(out)
    for csv_file in (f for f in plan.files if f.path.endswith(".csv")):
        download(plan, raw, say, files=[csv_file])
    for shard in (f for f in plan.files if f.path.endswith(".zip")):
        split = SHARD_PATTERN.fullmatch(shard.path).group(1)
        marker = _marker(out, shard.path)
        if marker.exists():
            say(f"{shard.path}: already unpacked")
            continue
        download(plan, raw, say, files=[shard])
        count = unpack_shard(raw / shard.path, out / "images" / split, report.refused)
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(f"{count}\n", encoding="utf-8")
        if not keep_zips:
            (raw / shard.path).unlink()
        say(f"{shard.path}: {count:,} images unpacked into {out / 'images' / split}")
    for split in ("train", "test"):
        if (raw / f"{split}.csv").is_file():
            image_dir = out / "images" / split
            report.csv_rows[split] = write_split_csv(raw / f"{split}.csv", image_dir, out / f"{split}.csv")
            report.images[split] = sum(1 for p in image_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            say(f"{out / f'{split}.csv'}: {report.csv_rows[split]:,} rows with their image in {image_dir}")
    for line in report.refused[:20]:
        say(line)
    return report
