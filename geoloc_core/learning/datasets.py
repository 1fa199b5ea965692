"""Geotagged image data sets: a CSV plus an image root, in any of the common layouts.

Layouts recognised from the header (case-insensitive):
* ``geoclip``: GeoCLIP / MP-16 / IM2GPS3K style, ``IMG_FILE`` or ``IMG_ID``, ``LAT``, ``LON``;
* ``osv5m``:   OSV-5M style, ``id``, ``latitude``, ``longitude``: the image ``<id>.jpg`` anywhere under
  ROOT, so both OSV-5M's own extraction (``images/train/NN/<id>.jpg``) and the flat folder
  ``training.fetch_data`` writes are read; the tree is walked once, not probed per row;
* ``plain``:   ``path``, ``lat``, ``lon``.

A group column (OSV-5M's ``sequence``, MP-16's ``AUTHOR``, or any column named with
``group_column``) is kept on each record, so that ``split_for_training`` never puts photos of one
sequence or one user burst on both sides of a split.

Images live in a folder or in tar shards (WebDataset style, as MP-16 and OSV-5M are
distributed): give ``images`` as a ``.tar`` file, a glob such as ``shards/*.tar`` or a folder
holding only ``.tar`` files; or msgpack shards as GeoEstimation ships MP-16 (``shard_N.msg``, see
``msgpack_shards``). The tars are indexed once (member headers only) and a record then
points at its bytes inside the tar (``offset``, ``size``), so reading is one seek, and records
are ordered by (tar, offset) so that extraction streams through each tar front to back. The
CSV's path or id matches a member by its full name, its base name or its WebDataset key
(the base name up to the first dot), also with ``/`` written as ``_`` (MP16-Pro's CSV keeps
``ab/cd/123.jpg`` while its tar holds ``mp-16-images/ab_cd_123.jpg``). Without a CSV, ``load_webdataset`` reads the labels from
each sample's ``KEY.json`` (``lat``/``lon`` or ``latitude``/``longitude``).

Bad rows (missing file, blank or non-numeric or out-of-range coordinates, empty path)
are skipped, counted and listed in a ``DataReport``: never silently dropped, never fatal.
"""
from __future__ import annotations

import csv
import glob
import json
import math
import os
import random
import tarfile
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from .msgpack_shards import MsgpackError, index_msgpack, msgpack_shards

OSV5M_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp")
IMAGE_EXTENSIONS = OSV5M_EXTENSIONS + (".heic", ".tif", ".tiff", ".bmp", ".gif")


class DataError(ValueError):
    """The data set as a whole cannot be used (e.g. no recognised columns)."""


@dataclass(frozen=True)
class Layout:
    name: str
    path_column: str
    lat_column: str
    lon_column: str
    id_only: bool = False  # the path column holds an id; the file is ROOT/<id>.<ext>


@dataclass(frozen=True)
class GeoRecord:
    path: Path  # the image file, or the tar shard that holds it
    lat: float
    lon: float
    offset: int = -1  # inside a tar: where the member's bytes start, and how many
    size: int = -1
    group: str = field(default="", compare=False)  # sequence / author: kept together by split_for_training

    @property
    def name(self) -> str:
        """Stable identity of the item: the file path, or ``shard.tar:offset`` inside a tar."""
        return str(self.path) if self.offset < 0 else f"{self.path}:{self.offset}"


def read_record_bytes(record: GeoRecord, handles: dict | None = None) -> bytes:
    """The image's bytes, from its own file or from inside its tar shard (one seek).
    ``handles`` keeps tar files open between calls (one per shard, per process)."""
    if record.offset < 0:
        return Path(record.path).read_bytes()
    if handles is None:
        with open(record.path, "rb") as handle:
            handle.seek(record.offset)
            return handle.read(record.size)
    handle = handles.get(record.path)
    if handle is None:
        handle = handles[record.path] = open(record.path, "rb")
    handle.seek(record.offset)
    return handle.read(record.size)


def tar_shards(images: str | Path) -> list[Path] | None:
    """The tar shards named by ``images`` (a .tar, a glob, or a folder of only .tar files); None for
    an ordinary image folder."""
    text = str(images)
    if any(c in text for c in "*?["):
        found = sorted(Path(p) for p in glob.glob(text))
        if not found:
            raise DataError(f"no tar shards match {text}")
        if msgpack_shards(text) is not None:
            return None
        return found
    path = Path(text)
    if path.is_file() and path.suffix == ".tar":
        return [path]
    if path.is_dir():
        entries = [p for p in path.iterdir() if not p.name.startswith(".")]
        if entries and all(p.suffix == ".tar" and p.is_file() for p in entries):
            return sorted(entries)
    return None


@dataclass(frozen=True)
class TarMember:
    shard: Path
    name: str
    offset: int
    size: int


def index_tars(shards: list[Path]) -> list[TarMember]:
    """Every regular member of every shard, in stream order (reads headers only)."""
    members = []
    for shard in shards:
        try:
            with tarfile.open(shard, mode="r:") as archive:  # uncompressed: offsets are file offsets
                for info in archive:
                    if info.isfile():
                        members.append(TarMember(shard, info.name, info.offset_data, info.size))
        except (tarfile.TarError, OSError) as exc:
            raise DataError(f"cannot read tar shard {shard}: {exc} (compressed tars are not supported; "
                            f"WebDataset shards are plain .tar)") from None
    return members


def _member_key(name: str) -> str:
    base = name.rsplit("/", 1)[-1]
    return base.split(".", 1)[0]


def index_msgpack_members(shards: list[Path]) -> list[TarMember]:
    """The image of every record of GeoEstimation-style msgpack shards, named by its ``id``."""
    try:
        samples = index_msgpack(shards)
    except MsgpackError as exc:
        raise DataError(str(exc)) from None
    return [TarMember(s.shard, s.key, s.offset, s.size) for s in samples if s.offset >= 0 and s.key]


def _archive_lookup(members: list[TarMember]) -> dict[str, TarMember]:
    """Every name a CSV may use for a member: full name, base name, WebDataset key, and the full name with
    ``/`` written as ``_`` (MP16-Pro)."""
    lookup: dict[str, TarMember] = {}
    for member in members:
        if member.name.lower().endswith(IMAGE_EXTENSIONS):
            for alias in (member.name, member.name.rsplit("/", 1)[-1], _member_key(member.name),
                          member.name.replace("/", "_")):
                lookup.setdefault(alias, member)
    return lookup


def _find_member(lookup: dict[str, TarMember], name: str) -> TarMember | None:
    flat = name.replace("/", "_")
    for alias in (name, flat, _member_key(name), _member_key(flat)):
        member = lookup.get(alias)
        if member is not None:
            return member
    return None


class _FolderIndex:
    """Every image file under a root, by file name and by stem, from one walk of the tree (built on
    first use). OSV-5M's 5M images in ~100 folders: one walk instead of a stat per row per extension."""

    def __init__(self, root: Path):
        self.root, self._by_name, self._by_stem = root, None, None

    def _build(self) -> None:
        # plain strings, not Path objects: 5M entries stay near a gigabyte
        self._by_name, self._by_stem = {}, {}
        for folder, dirs, files in os.walk(self.root):
            dirs.sort()
            for name in sorted(files):
                if name.startswith(".") or not name.lower().endswith(IMAGE_EXTENSIONS):
                    continue
                path = os.path.join(folder, name)
                self._by_name.setdefault(name, path)
                stem = name.rsplit(".", 1)[0]
                if _id_rank(name) < _id_rank(self._by_stem.get(stem, "")):
                    self._by_stem[stem] = path

    def by_stem(self, stem: str) -> Path | None:
        """The file ``<stem>.jpg`` (or .jpeg, .png, .webp, in that order of preference)."""
        if self._by_stem is None:
            self._build()
        found = self._by_stem.get(stem)
        return Path(found) if found is not None else None

    def by_name(self, name: str) -> Path | None:
        if self._by_name is None:
            self._build()
        found = self._by_name.get(name)
        return Path(found) if found is not None else None


def _id_rank(name: str) -> int:
    """Preference among files sharing an id: OSV-5M's extensions in order, anything else never."""
    extension = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return OSV5M_EXTENSIONS.index(extension) if extension in OSV5M_EXTENSIONS else len(OSV5M_EXTENSIONS)


@dataclass
class DataReport:
    csv: str
    layout: str
    rows: int = 0
    kept: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (data row number or -1, reason)
    group_column: str = ""  # the column whose groups split_for_training keeps together ("" = none)

    @property
    def skipped_by_reason(self) -> dict[str, int]:
        return dict(Counter(reason.split(":")[0] for _, reason in self.skipped))

    def summary(self) -> str:
        reasons = ", ".join(f"{n} {r}" for r, n in self.skipped_by_reason.items()) or "none"
        grouping = f", grouped by '{self.group_column}'" if self.group_column else ""
        return (f"{self.csv}: layout '{self.layout}'{grouping}, {self.rows} rows, {self.kept} kept, "
                f"{len(self.skipped)} skipped ({reasons})")

    def write(self, path: Path) -> None:
        data = asdict(self) | {"skipped_by_reason": self.skipped_by_reason}
        Path(path).write_text(json.dumps(data, indent=2), encoding="utf-8")


def detect_layout(columns: list[str]) -> Layout:
    lower = {c.strip().lower(): c for c in columns}
    if {"lat", "lon"} <= lower.keys() and ("img_file" in lower or "img_id" in lower):
        path = lower.get("img_file") or lower["img_id"]
        return Layout("geoclip", path, lower["lat"], lower["lon"])
    if {"id", "latitude", "longitude"} <= lower.keys():
        return Layout("osv5m", lower["id"], lower["latitude"], lower["longitude"], id_only=True)
    if {"path", "lat", "lon"} <= lower.keys():
        return Layout("plain", lower["path"], lower["lat"], lower["lon"])
    raise DataError(f"no known layout in columns {columns}: expected IMG_FILE|IMG_ID,LAT,LON (GeoCLIP/MP-16/IM2GPS3K), "
                    f"id,latitude,longitude (OSV-5M) or path,lat,lon")


def _coordinate(raw: str, limit: float, name: str) -> float:
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ValueError(f"non-numeric {name}: {str(raw)[:30]!r}") from None
    if not math.isfinite(value) or abs(value) > limit:
        raise ValueError(f"out-of-range {name}: {raw}")
    return value


# columns that name who took a photo or which capture sequence it belongs to, in the published CSVs
GROUP_COLUMNS = {"osv5m": ("sequence",), "geoclip": ("author", "user_id", "userid", "owner", "user"),
                 "plain": ("group", "sequence", "author", "user_id")}


def _group_column(columns: list[str], layout: Layout, wanted: str | None) -> str:
    """The CSV column whose values are split groups: ``wanted`` (a name, or "none"), else the layout's own."""
    lower = {c.strip().lower(): c for c in columns}
    if wanted is not None and wanted.strip().lower() in ("none", ""):
        return ""
    if wanted is not None and wanted.strip() not in ("auto",):
        if wanted.strip().lower() not in lower:
            raise DataError(f"group column {wanted!r} is not in the CSV (columns: {', '.join(columns)[:300]})")
        return lower[wanted.strip().lower()]
    return next((lower[name] for name in GROUP_COLUMNS[layout.name] if name in lower), "")


def _resolve(root: Path, value: str, layout: Layout, tree: _FolderIndex | None) -> Path | None:
    """The image file of a row, or None when it is not there. OSV-5M ids are looked up in the tree's
    index (no file-system call per row); paths are tried as given, then with MP16-Pro's ``/`` -> ``_``."""
    if layout.id_only:
        return tree.by_stem(value) if tree is not None else root / f"{value}.jpg"
    direct = root / value
    if tree is None or direct.is_file():
        return direct
    # MP16-Pro's CSV keeps ab/cd/123.jpg; its extracted tar holds ab_cd_123.jpg (only ids with a slash)
    return tree.by_name(value.replace("/", "_")) if "/" in value else None


def load_geo_csv(csv_path: str | Path, image_root: str | Path, check_files: bool = True,
                 group_column: str | None = None) -> tuple[list[GeoRecord], DataReport]:
    """Parse a data set CSV into records; every skipped row is listed with its reason. ``group_column``:
    the column whose values keep photos together in splits (None or "auto": OSV-5M's ``sequence``,
    MP-16's ``AUTHOR`` where present; "none": split photo by photo)."""
    csv_path, root = Path(csv_path), Path(image_root)
    bad_lines: list[tuple[int, str]] = []

    def on_bad_line(fields: list[str]) -> None:
        bad_lines.append((-1, f"malformed row: {len(fields)} fields: {','.join(fields)[:60]!r}"))
        return None

    try:
        frame = pd.read_csv(csv_path, dtype=str, keep_default_na=False, skip_blank_lines=True, engine="python",
                            on_bad_lines=on_bad_line)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read {csv_path}: {exc}") from None
    layout = detect_layout(list(frame.columns))
    group = _group_column(list(frame.columns), layout, group_column)
    shards = tar_shards(image_root)
    lookup: dict[str, TarMember] = {}
    if shards is not None:
        lookup = _archive_lookup(index_tars(shards))
    else:
        shards = msgpack_shards(image_root)
        if shards is not None:
            lookup = _archive_lookup(index_msgpack_members(shards))
    tree = _FolderIndex(root) if shards is None and (layout.id_only or check_files) else None  # walked once, lazily
    report = DataReport(str(csv_path), layout.name, rows=len(frame) + len(bad_lines), group_column=group)
    report.skipped.extend(bad_lines)
    records: list[GeoRecord] = []
    for index, row in enumerate(frame.itertuples(index=False)):
        values = dict(zip(frame.columns, row))
        line = index + 1  # data row number (header and blank lines not counted)
        name = (values[layout.path_column] or "").strip()
        try:
            if not name:
                raise ValueError("empty image path")
            if ".." in Path(name).parts or Path(name).is_absolute():
                raise ValueError(f"path escapes the image root: {name[:60]!r}")
            lat = _coordinate(values[layout.lat_column], 90.0, "latitude")
            lon = _coordinate(values[layout.lon_column], 180.0, "longitude")
            key = (values[group] or "").strip() if group else ""
            if shards is not None:
                member = _find_member(lookup, name)
                if member is None:
                    raise ValueError(f"missing file: {name[:80]} (in no shard)")
                records.append(GeoRecord(member.shard, lat, lon, member.offset, member.size, group=key))
                continue
            path = _resolve(root, name, layout, tree)
            if path is None and check_files:
                raise ValueError(f"missing file: {name[:80]}")
            path = path or (root / (f"{name}.jpg" if layout.id_only else name))
        except ValueError as exc:
            report.skipped.append((line, str(exc)))
            continue
        records.append(GeoRecord(path, lat, lon, group=key))
    report.kept = len(records)
    if shards is not None:  # stream order: each shard front to back
        records.sort(key=lambda r: (str(r.path), r.offset))
    return records, report


def load_webdataset(images: str | Path) -> tuple[list[GeoRecord], DataReport]:
    """WebDataset shards without a CSV: each sample ``KEY.jpg`` (or png/webp) + ``KEY.json`` holding
    ``lat``/``lon`` or ``latitude``/``longitude``; or msgpack shards whose records hold ``lat``/``lon``
    beside the image. Samples without usable labels are listed."""
    shards = tar_shards(images)
    if shards is None:
        if msgpack_shards(images) is not None:
            return _load_labelled_msgpack(images)
        raise DataError(f"{images} holds no tar or msgpack shards; give a CSV for an image folder")
    report = DataReport(str(images), "webdataset")
    samples: dict[tuple[Path, str], dict[str, TarMember]] = {}
    for member in index_tars(shards):
        samples.setdefault((member.shard, member.name.rsplit(".", 1)[0] if "." in member.name else member.name),
                           {})[member.name.rsplit(".", 1)[-1].lower()] = member
    records = []
    for number, ((shard, key), parts) in enumerate(samples.items(), start=1):
        image = next((parts[e.lstrip(".")] for e in OSV5M_EXTENSIONS if e.lstrip(".") in parts), None)
        try:
            if image is None:
                raise ValueError(f"missing file: no image for sample {key[:60]!r}")
            if "json" not in parts:
                raise ValueError(f"missing label: no {key[:60]}.json")
            meta = json.loads(read_record_bytes(GeoRecord(shard, 0, 0, parts["json"].offset, parts["json"].size)))
            if not isinstance(meta, dict):
                raise ValueError("malformed label: not a JSON object")
            lat = _coordinate(meta.get("lat", meta.get("latitude")), 90.0, "latitude")
            lon = _coordinate(meta.get("lon", meta.get("longitude")), 180.0, "longitude")
        except (ValueError, UnicodeDecodeError) as exc:
            report.skipped.append((number, str(exc) if not isinstance(exc, json.JSONDecodeError)
                                   else "malformed label: invalid JSON"))
            continue
        records.append(GeoRecord(shard, lat, lon, image.offset, image.size))
    report.rows, report.kept = len(samples), len(records)
    records.sort(key=lambda r: (str(r.path), r.offset))
    return records, report


def _load_labelled_msgpack(images: str | Path) -> tuple[list[GeoRecord], DataReport]:
    try:
        samples = index_msgpack(msgpack_shards(images))
    except MsgpackError as exc:
        raise DataError(str(exc)) from None
    report = DataReport(str(images), "msgpack", rows=len(samples))
    records = []
    for number, sample in enumerate(samples, start=1):
        labels = sample.labels
        try:
            if sample.offset < 0:
                raise ValueError(f"missing file: no image in record {sample.key[:60]!r}")
            if not ({"lat", "lon"} <= labels.keys() or {"latitude", "longitude"} <= labels.keys()):
                raise ValueError(f"missing label: no lat/lon in record {sample.key[:60]!r}")
            lat = _coordinate(labels.get("lat", labels.get("latitude")), 90.0, "latitude")
            lon = _coordinate(labels.get("lon", labels.get("longitude")), 180.0, "longitude")
        except ValueError as exc:
            report.skipped.append((number, str(exc)))
            continue
        records.append(GeoRecord(sample.shard, lat, lon, sample.offset, sample.size))
    report.kept = len(records)
    return records, report


def split_records(records: list[GeoRecord], val_fraction: float, seed: int) -> tuple[list[GeoRecord], list[GeoRecord]]:
    """Deterministic train/validation split by seed."""
    order = list(range(len(records)))
    random.Random(seed).shuffle(order)
    n_val = max(1, int(round(len(records) * val_fraction))) if val_fraction > 0 and len(records) > 1 else 0
    val = [records[i] for i in sorted(order[:n_val])]
    train = [records[i] for i in sorted(order[n_val:])]
    return train, val


def split_for_training(records: list[GeoRecord], fractions: dict[str, float], seed: int) -> dict[str, list[GeoRecord]]:
    """Deterministic disjoint held-out splits by seed (e.g. validation / calibration / test) and the
    rest as ``train``; each held-out split gets at least one item when its fraction is positive.

    Records that carry a ``group`` (an OSV-5M sequence, an MP-16 author) are split group by group: a
    sequence shot seconds apart in one street, or one user's burst, never sits on both sides, which
    would make calibration, the retrieval threshold and the test table optimistic. Each split then
    holds its fraction to within about one group's size; records without a group count as their own."""
    if not any(r.group for r in records):
        order = list(range(len(records)))
        random.Random(seed).shuffle(order)
        splits, start = {}, 0
        for name, fraction in fractions.items():
            n = max(1, int(round(len(records) * fraction))) if fraction > 0 and len(records) > len(fractions) else 0
            splits[name] = [records[i] for i in sorted(order[start:start + n])]
            start += n
        splits["train"] = [records[i] for i in sorted(order[start:])]
        return splits
    members: dict[str, list[int]] = {}
    for i, record in enumerate(records):
        members.setdefault(record.group or f"\0{i}", []).append(i)
    pool = sorted(members)
    random.Random(seed).shuffle(pool)
    splits = {}
    for name, fraction in fractions.items():
        target = max(1, int(round(len(records) * fraction))) if fraction > 0 and len(records) > len(fractions) else 0
        chosen: list[int] = []
        kept = []
        for key in pool:
            size = len(members[key])
            # take a group while it brings the split closer to its target (a huge group stays in training)
            if len(chosen) < target and abs(len(chosen) + size - target) < abs(len(chosen) - target) + (not chosen):
                chosen += members[key]
            else:
                kept.append(key)
        pool = kept
        splits[name] = [records[i] for i in sorted(chosen)]
    splits["train"] = [records[i] for i in sorted(i for key in pool for i in members[key])]
    return splits


def describe_split(splits: dict[str, list[GeoRecord]], group_column: str) -> str:
    """One line for the model card: how the held-out splits were cut."""
    grouped = any(r.group for part in splits.values() for r in part)
    if not grouped:
        return "item by item (no group column)"
    held = sum(len({r.group for r in part if r.group}) for name, part in splits.items() if name != "train")
    return (f"by '{group_column or 'group'}' groups: {held:,} groups held out, none of them shared with training "
            f"or another split")


def write_plain_csv(records: list[GeoRecord], path: Path, root: Path) -> None:
    """Write records in the ``plain`` layout, paths relative to ``root``."""
    with Path(path).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "lat", "lon"])
        for record in records:
            writer.writerow([record.path.relative_to(root).as_posix(), f"{record.lat:.7f}", f"{record.lon:.7f}"])
