"""``scan --engine ray`` (#35): the local scan's rows from Ray actors, Parquet shards, resumable after a kill.

One local Ray per module (2 CPUs, loopback only, no dashboard): its start is most of this file's time."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # Ray reads it at import: loopback only

from geoloc_core.case.analyzer import Analyzer  # noqa: E402
from geoloc_core.case.archive_scan.inputs import list_items, read_path_list  # noqa: E402
from geoloc_core.case.archive_scan.ray_engine import (ArchiveScanError, ArchiveScanSettings,  # noqa: E402
                                                      run_archive_scan)
from geoloc_core.case.archive_scan.shards import KEY_COLUMNS, OutputFolder, OutputFolderBusy  # noqa: E402
from geoloc_core.case.findings import Finding  # noqa: E402
from geoloc_core.evidence.isolation import WorkerPool  # noqa: E402
from geoloc_core.evidence.sources import collect_sources  # noqa: E402
from tests.hostile_corpus import build_corpus  # noqa: E402
from tests.imagegen import gps_exif, image_bytes  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RUN_COLUMNS = ("analysed_at_utc", "acquired_at_utc")  # when, not what: differ between any two runs
PHOTOS = 200


@pytest.fixture(scope="module")
def ray_address():
    import ray

    previous = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), previous]))  # the actors import geoloc_core
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, object_store_memory=150 * 1024**2)
    try:
        address = ray.get_runtime_context().gcs_address
        assert address.startswith("127.0.0.1:"), address
        yield address
    finally:
        ray.shutdown()
        if previous is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = previous


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    """200 small photos, GPS near towns on every continent, a few without EXIF."""
    folder = tmp_path_factory.mktemp("photos")
    rng = random.Random(35)
    towns = [(48.86, 2.35), (40.71, -74.0), (35.69, 139.69), (-33.87, 151.21), (50.45, 30.52), (-23.55, -46.63),
             (28.61, 77.21), (30.04, 31.24), (-1.29, 36.82), (64.15, -21.94)]
    for i in range(PHOTOS):
        lat, lon = towns[i % len(towns)]
        exif = gps_exif(lat + rng.uniform(-0.05, 0.05), lon + rng.uniform(-0.05, 0.05)) if i % 9 else None
        sub = folder / f"d{i % 3}"
        sub.mkdir(exist_ok=True)
        (sub / f"IMG_{i:04d}.jpg").write_bytes(image_bytes(size=(64 + i % 7, 48), color=(i % 250, 90, 160),
                                                           exif=exif))
    return folder


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("hostile")
    build_corpus(folder)
    return folder


def _local(geocoder, folder: Path) -> list[Finding]:
    with WorkerPool(size=2) as pool:
        return list(Analyzer(geocoder=geocoder, worker=pool).analyze_stream(collect_sources([folder])))


def _ray(folder: Path, out: Path, chunk: int = 16) -> tuple[list[Finding], object]:
    items = list_items([str(folder)])
    result = run_archive_scan(items, ArchiveScanSettings(output_dir=out, chunk_files=chunk, progress=False),
                              say=lambda line: None)
    with OutputFolder(out) as output:
        return output.findings(items), result


def _assert_same_rows(local: list[Finding], ray_rows: list[Finding]) -> None:
    assert [f.file for f in ray_rows] == [f.file for f in local]
    columns = [c for c in Finding.columns() if c not in RUN_COLUMNS]
    for a, b in zip(local, ray_rows):
        differ = {c: (getattr(a, c), getattr(b, c)) for c in columns if getattr(a, c) != getattr(b, c)}
        assert not differ, (a.file, differ)


def test_ray_rows_equal_the_local_scan_on_the_hostile_corpus(ray_address, geocoder, corpus, tmp_path):
    local = _local(geocoder, corpus)
    rows, result = _ray(corpus, tmp_path / "out", chunk=5)
    _assert_same_rows(local, rows)
    assert result.scanned == len(local) and result.errors == sum(f.status == "error" for f in local) > 5
    assert len(result.shards) == -(-len(local) // 5)  # one shard per chunk, none lost


@pytest.mark.slow
def test_ray_rows_equal_the_local_scan_on_200_photos_and_a_rerun_skips_them(ray_address, geocoder, photos,
                                                                             tmp_path):
    local = _local(geocoder, photos)
    assert len(local) == PHOTOS and sum(f.exif_country is not None for f in local) > 150
    rows, result = _ray(photos, tmp_path / "out")
    _assert_same_rows(local, rows)
    again = run_archive_scan(list_items([str(photos)]), ArchiveScanSettings(output_dir=tmp_path / "out",
                                                                            progress=False), say=lambda line: None)
    assert (again.skipped, again.scanned, again.shards) == (PHOTOS, 0, [])


def test_a_changed_file_is_scanned_again(ray_address, tmp_path):
    folder = tmp_path / "few"
    folder.mkdir()
    for i in range(3):
        (folder / f"{i}.jpg").write_bytes(image_bytes(color=(i * 60, 20, 20)))
    _ray(folder, tmp_path / "out")
    changed = folder / "1.jpg"
    changed.write_bytes(image_bytes(color=(250, 250, 0), size=(120, 64)))
    os.utime(changed, ns=(time.time_ns(), time.time_ns() + 10**9))
    rows, result = _ray(folder, tmp_path / "out")
    assert (result.skipped, result.scanned) == (2, 1)
    assert [f.width for f in rows] == [96, 120, 96]


def _shard_keys(out: Path) -> list[tuple]:
    import pyarrow.parquet as pq

    keys = []
    for shard in sorted(out.glob("part-*.parquet")):
        table = pq.read_table(shard, columns=list(KEY_COLUMNS))
        keys += list(zip(*(table.column(c).to_pylist() for c in KEY_COLUMNS)))
    return keys


@pytest.mark.slow
def test_a_killed_run_resumed_scans_each_file_exactly_once(ray_address, photos, tmp_path):
    """SIGKILL of the driver after its first shards: no partial shard is read, the resumed run scans only
    what is missing, and every file is in the output once."""
    out = tmp_path / "out"
    command = [sys.executable, "-m", "geoloc_core", "scan", str(photos), "--engine", "ray", "--ray-address",
               ray_address, "--output-dir", str(out), "--ray-chunk", "4", "--no-progress"]
    driver = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    while len(list(out.glob("part-*.parquet"))) < 3 and driver.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    driver.send_signal(signal.SIGKILL)
    driver.wait(timeout=30)
    first = _shard_keys(out)
    assert 0 < len(first) < PHOTOS, "the driver must be killed mid-way"
    assert len(set(first)) == len(first)
    resumed = subprocess.run(command + ["--out", str(tmp_path / "all.csv")], cwd=ROOT, capture_output=True,
                             text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{len(first)} already in the output" in resumed.stderr
    keys = _shard_keys(out)
    assert len(keys) == len(set(keys)) == PHOTOS
    assert {k[0] for k in keys} == {str(p) for p in photos.rglob("*.jpg")}
    assert not list(out.glob(".part-*.tmp"))
    assert (tmp_path / "all.csv").read_text(encoding="utf-8").count("IMG_") == PHOTOS


def test_one_writer_per_output_folder(tmp_path):
    with OutputFolder(tmp_path / "out"):
        with pytest.raises(OutputFolderBusy, match="another scan"):
            with OutputFolder(tmp_path / "out"):
                pass
    with OutputFolder(tmp_path / "out"):  # released
        pass


def test_from_list_reads_paths_in_the_local_order(tmp_path):
    (tmp_path / "b").mkdir()
    for name in ("b/2.jpg", "b/1.jpg", "a.jpg", "b/.hidden.jpg"):
        (tmp_path / name).write_bytes(b"x")
    listing = tmp_path / "list.txt"
    listing.write_text(f"# evidence\n{tmp_path / 'b'}\n\n{tmp_path / 'a.jpg'}\n{tmp_path / 'gone.jpg'}\n",
                       encoding="utf-8")
    items = list_items(read_path_list(listing))
    assert [Path(i.name).name for i in items] == ["1.jpg", "2.jpg", "a.jpg", "gone.jpg"]
    assert items[0].size == 1 and items[-1].size == -1  # a missing file still gets its (error) row


def _scan(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "geoloc_core", "scan", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


def test_ray_engine_refuses_what_it_cannot_do(tmp_path):
    assert "--output-dir" in _scan(str(tmp_path), "--engine", "ray").stderr
    refused = _scan(str(tmp_path), "--engine", "ray", "--output-dir", str(tmp_path / "o"), "--report", "r.html")
    assert refused.returncode == 2 and "--report is not available with --engine ray" in refused.stderr
    for flag in ("--pixel-forensics", "--keyframe-rows"):  # #37's and #34's options: the local engine's only
        refused = _scan(str(tmp_path), "--engine", "ray", "--output-dir", str(tmp_path / "o"), flag)
        assert refused.returncode == 2 and f"{flag} is not available with --engine ray" in refused.stderr
    assert _scan("--out", "x.csv").returncode == 2
    missing = _scan(str(tmp_path), "--from-list", str(tmp_path / "none.txt"), "--out", "x.csv")
    assert missing.returncode == 2 and "cannot be read" in missing.stderr


@pytest.mark.slow
def test_the_model_runs_in_the_actors(ray_address, geocoder, photos, tiny_model_dir, tmp_path):
    """With a model: a CPU actor (no GPU in the test Ray) holds it beside its parsers; every photo gets the
    local scan's prediction (same batches of 16, so the same numbers up to float rounding)."""
    from geoloc_core.model.inference import load_witnesses

    folder = photos / "d0"
    predictor = load_witnesses([str(tiny_model_dir)])[0]
    with WorkerPool(size=2) as pool:
        local = list(Analyzer(geocoder=geocoder, predictor=predictor, worker=pool)
                     .analyze_stream(collect_sources([folder])))
    items = list_items([str(folder)])
    run_archive_scan(items, ArchiveScanSettings(output_dir=tmp_path / "out", models=[str(tiny_model_dir)],
                                                progress=False), say=lambda line: None)
    with OutputFolder(tmp_path / "out") as output:
        rows = output.findings(items)
    assert [f.file for f in rows] == [f.file for f in local] and len(rows) > 60
    assert all(f.pred_lat is not None and f.model == local[0].model for f in rows)
    for a, b in zip(local, rows):
        assert (b.pred_lat, b.pred_lon) == pytest.approx((a.pred_lat, a.pred_lon), abs=1e-4)
        assert (a.verdict, a.exif_country, a.sha256) == (b.verdict, b.exif_country, b.sha256)


def test_local_scan_from_a_list(tmp_path):
    """``--from-list`` with the local engine: the listed files and folders, with the PATHs given too."""
    import csv

    (tmp_path / "in").mkdir()
    for name in ("a.jpg", "b.jpg", "c.jpg"):
        (tmp_path / "in" / name).write_bytes(image_bytes())
    listing = tmp_path / "list.txt"
    listing.write_text(f"{tmp_path / 'in' / 'b.jpg'}\n# not this\n{tmp_path / 'in' / 'c.jpg'}\n", encoding="utf-8")
    result = _scan(str(tmp_path / "in" / "a.jpg"), "--from-list", str(listing), "--metadata-only", "--out",
                   str(tmp_path / "f.csv"), "--no-progress")
    assert result.returncode == 0, result.stderr
    with (tmp_path / "f.csv").open(encoding="utf-8", newline="") as handle:
        assert [Path(r["file"]).name for r in csv.DictReader(handle)] == ["a.jpg", "b.jpg", "c.jpg"]


def test_a_model_that_does_not_load_is_a_clear_error(ray_address, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(image_bytes())
    settings = ArchiveScanSettings(output_dir=tmp_path / "out", models=[str(tmp_path / "no-such-model")],
                                   progress=False)
    with pytest.raises(ArchiveScanError, match="a Ray actor failed: .*no-such-model"):
        run_archive_scan(list_items([str(folder)]), settings, say=lambda line: None)
    assert not list((tmp_path / "out").glob("part-*.parquet"))
