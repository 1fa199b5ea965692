"""Issue #18: the parallel scan must keep every guarantee of the single-worker one.

The worker pool inspects files in parallel, the pixels are decoded once per file, and a scan
without a model never imports torch. Each test here failed on the code before #18 (or pins the
old single-worker path as the reference the new one must match).
"""
from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

from geoloc_core.case.analyzer import Analyzer
from geoloc_core.evidence.filefacts import inspect_bytes
from geoloc_core.evidence.forensic_facts import read_forensic_facts
from geoloc_core.evidence.inspection import inspect_file
from geoloc_core.evidence.isolation import IsolatedWorker, WorkerPool
from geoloc_core.evidence.sources import FileSource, collect_sources
from tests.hostile_corpus import build_corpus
from tests.hostile_inspector import hostile_inspector
from tests.imagegen import gps_exif, image_bytes

ROOT = Path(__file__).resolve().parents[1]


def _photo(i: int) -> bytes:
    return image_bytes(size=(320, 240), color=(30 * i % 256, 90, 160), exif=gps_exif(48.85 + i / 100, 2.35))


def _comparable(finding) -> dict:
    row = asdict(finding)
    row.pop("analysed_at_utc")
    row.pop("acquired_at_utc")
    return row


@pytest.mark.slow
def test_pool_confines_a_hang_a_crash_and_a_memory_hog_to_their_files_and_keeps_order(geocoder):
    """A hanging, a crashing and a 8 GiB-allocating file in the same pool batch as good files: each
    bad one gets its own error, every good one (including those served by the same workers right
    after) is analysed, and findings come back in input order."""
    sources = []
    for i in range(12):
        sources.append(FileSource(f"good_{i:02d}.jpg", data=_photo(i)))
        if i == 3:
            sources.append(FileSource("hangs.jpg", data=b"HANG" + _photo(i)))
        if i == 5:
            sources.append(FileSource("crashes.jpg", data=b"CRASH" + _photo(i)))
        if i == 8:
            sources.append(FileSource("huge.jpg", data=b"HUGE" + _photo(i)))
    with WorkerPool(size=2, timeout_s=15, memory_limit=1024**3) as pool:
        pool.start()  # the deadline is the parse's, not the process start's
        analyzer = Analyzer(geocoder=geocoder, worker=pool, inspector=hostile_inspector)
        started = time.monotonic()
        findings = list(analyzer.analyze_stream(sources))
    assert time.monotonic() - started < 300  # the hang cost its own deadline (15 s), not its 600 s
    assert [f.file for f in findings] == [s.name for s in sources]
    by_name = {f.file: f for f in findings}
    assert "gave up after 15 s" in by_name["hangs.jpg"].message
    assert "process died" in by_name["crashes.jpg"].message
    assert "out of memory" in by_name["huge.jpg"].message
    for name in ("hangs.jpg", "crashes.jpg", "huge.jpg"):
        assert by_name[name].status == "error" and by_name[name].sha256  # still identified by its hash
    good = [f for f in findings if f.file.startswith("good_")]
    assert len(good) == 12 and all(f.status == "ok" and f.exif_country_code == "FR" for f in good), \
        [(f.file, f.message) for f in good if f.status != "ok"]


@pytest.mark.slow
def test_pool_gives_the_same_findings_as_one_worker_on_the_hostile_corpus(geocoder, tmp_path):
    """The hostile corpus through a pool of 3 workers and through the old single worker: the same
    findings, field by field, in the same order."""
    build_corpus(tmp_path / "corpus")
    sources = collect_sources([tmp_path / "corpus"])
    with IsolatedWorker(timeout_s=20) as one:
        single = [_comparable(f) for f in Analyzer(geocoder=geocoder, worker=one).analyze_stream(sources)]
    with WorkerPool(size=3, timeout_s=20) as pool:
        pooled = [_comparable(f) for f in Analyzer(geocoder=geocoder, worker=pool).analyze_stream(sources)]
    assert [r["file"] for r in pooled] == [s.name for s in sources]
    assert pooled == single


def test_pool_runs_calls_in_parallel():
    """Two workers serve two slow calls at once (one worker would take twice as long)."""
    from concurrent.futures import ThreadPoolExecutor

    with WorkerPool(size=2, timeout_s=30) as pool:
        pool.call(time.sleep, 0)  # start one worker
        with ThreadPoolExecutor(2) as threads:
            list(threads.map(lambda _: pool.call(time.sleep, 0), range(2)))  # both started
            started = time.monotonic()
            list(threads.map(lambda _: pool.call(time.sleep, 1.5), range(2)))
        assert time.monotonic() - started < 2.6


def _decodes_of(data: bytes, fn) -> int:
    """How many times ``fn(data)`` decodes the pixels of ``data`` itself (not of its thumbnail)."""
    from PIL import ImageFile

    original = ImageFile.ImageFile.load
    count = 0

    def counting(self):
        nonlocal count
        fp = getattr(self, "fp", None)
        if self.tile and isinstance(fp, io.BytesIO) and fp.getbuffer().nbytes == len(data):
            count += 1
        return original(self)

    ImageFile.ImageFile.load = counting
    try:
        fn(data)
    finally:
        ImageFile.ImageFile.load = original
    return count


@pytest.mark.parametrize("size", [(1600, 1200), (4032, 3024), (700, 500), (100, 80)])
def test_inspection_decodes_once_and_matches_the_separate_decodes(size):
    """The truncation check's decode serves the perceptual hash and the pixel spread: one decode per
    file (it was two), with exactly the facts the old separate decodes gave."""
    data = image_bytes(size=size, color=(120, 40, 200), exif=gps_exif(35.0, 139.0), quality=90)
    assert _decodes_of(data, inspect_file) == 1
    facts, exif, forensic = inspect_file(data)
    assert facts.error is None
    reference = read_forensic_facts(data, facts.file_type, None)  # decodes on its own, as before #18
    assert forensic.phash == reference.phash
    assert forensic.pixel_spread == pytest.approx(reference.pixel_spread, abs=1e-9)
    assert inspect_bytes(data) == facts


def test_truncated_jpeg_is_still_caught_by_the_shared_decode():
    data = image_bytes(size=(1600, 1200), color=(10, 200, 30), quality=90)
    facts, exif, forensic = inspect_file(data[: len(data) * 2 // 3])
    assert facts.error and facts.error.startswith("truncated JPEG") and forensic is None


def test_streamed_csv_equals_the_export_of_all_findings(tmp_path):
    """``scan --out f.csv`` writes rows as they come (memory bounded); the file must be exactly what
    ``export`` makes from the whole list, as the JSON output of the same scan shows."""
    import csv
    import json

    from geoloc_core.case.exports.export import column_order
    from geoloc_core.cli import main

    (tmp_path / "in").mkdir()
    for i in range(5):
        (tmp_path / "in" / f"p{i}.jpg").write_bytes(_photo(i))
    (tmp_path / "in" / "not_an_image.txt").write_text("hello", encoding="utf-8")
    assert main(["scan", str(tmp_path / "in"), "--out", str(tmp_path / "f.csv"), "--no-progress"]) == 0
    assert main(["scan", str(tmp_path / "in"), "--out", str(tmp_path / "f.json"), "--no-progress"]) == 0
    assert not list(tmp_path.glob("*.partial"))
    with (tmp_path / "f.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == column_order()
    records = json.loads((tmp_path / "f.json").read_text(encoding="utf-8"))
    records = records.get("findings", records) if isinstance(records, dict) else records
    assert len(rows) == 1 + len(records) == 7
    by_column = [dict(zip(rows[0], r)) for r in rows[1:]]
    for row, record in zip(by_column, records):
        assert row["sha256"] == record["sha256"] and row["status"] == record["status"]
        assert row["exif_country_code"] == (record["exif_country_code"] or "")


def _phash_corpus():
    """Images of every kind the hash meets: textured and noisy photos, flat frames (where every
    frequency but one is exactly zero), gradients, symmetric patterns, other modes and sizes."""
    import numpy as np
    from PIL import Image

    from tests.imagegen import textured

    rng = np.random.default_rng(5)
    images = [textured((320, 240), (30 * i % 256, 90, 160)) for i in range(12)]
    images += [Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)) for h, w in ((48, 64), (7, 300), (200, 33))]
    images += [Image.new("RGB", (64, 48), (200, 10, 10)), Image.new("L", (40, 40), 0), Image.new("RGB", (1, 1), 255)]
    ramp = np.tile(np.arange(256, dtype=np.uint8), (64, 1))
    images += [Image.fromarray(ramp), Image.fromarray(ramp.T.copy()), Image.fromarray(np.minimum(ramp, ramp[:, ::-1]))]
    checker = ((np.indices((64, 64)).sum(axis=0) // 8) % 2 * 255).astype(np.uint8)
    images += [Image.fromarray(checker), Image.fromarray(checker).convert("P"), textured((90, 60)).convert("RGBA"),
               Image.fromarray(rng.integers(0, 65535, (30, 40), dtype=np.uint16).astype(np.int32), "I")]
    encoded = []
    for image in images[:8]:  # and the same pictures as JPEGs, hashed at reduced DCT scale like a scan does
        buffer = io.BytesIO()
        image.convert("RGB").resize((1600, 1200)).save(buffer, "JPEG", quality=85)
        encoded.append(buffer.getvalue())
    return images, encoded


def test_perceptual_hash_has_exactly_imagehash_bits():
    """The pHash is computed without scipy (a 0.5 s import in every worker); its bits must stay
    imagehash's on every kind of image, including the flat ones where rounding decides a bit."""
    import imagehash
    from PIL import Image

    from geoloc_core.evidence.forensic_facts import _phash

    images, encoded = _phash_corpus()
    for image in images:
        assert str(_phash(image, loaded=True)) == str(imagehash.phash(image.convert("RGB"))), image.mode
    for data in encoded:
        reference = Image.open(io.BytesIO(data))
        reference.draft("RGB", (128, 128))
        assert str(_phash(Image.open(io.BytesIO(data)))) == str(imagehash.phash(reference.convert("RGB")))


def test_nearest_place_tree_answers_like_brute_force():
    """pykdtree replaced scipy's cKDTree (a 0.65 s import before the first file could be placed):
    its k-nearest and within-radius answers must be the exact ones."""
    import numpy as np

    from geoloc_core.places.geodesy import latlon_to_unit
    from geoloc_core.places.nearest import UnitVectorTree

    rng = np.random.default_rng(3)
    points = latlon_to_unit(rng.uniform(-90, 90, 500), rng.uniform(-180, 180, 500))
    queries = latlon_to_unit(rng.uniform(-90, 90, 60), rng.uniform(-180, 180, 60))
    tree = UnitVectorTree(points)
    chords = np.linalg.norm(queries[:, None, :] - points[None, :, :], axis=2)
    order = np.argsort(chords, axis=1)
    chord, idx = tree.query(queries)
    assert idx.shape == (60,) and (idx == order[:, 0]).all()
    assert np.allclose(chord, chords[np.arange(60), order[:, 0]])
    chord, idx = tree.query(queries, k=5)
    assert idx.shape == (60, 5) and (idx == order[:, :5]).all()
    radius = 0.3  # ~1,900 km: dozens of points each, more than the first guess of k
    for i, found in enumerate(tree.within(queries, radius)):
        assert sorted(found.tolist()) == sorted(np.nonzero(chords[i] <= radius)[0].tolist())
    small = UnitVectorTree(points[:3])
    chord, idx = small.query(queries[:2], k=5)  # fewer points than k: inf and n, as cKDTree answers
    assert (idx[:, 3:] == 3).all() and np.isinf(chord[:, 3:]).all()
    assert [len(f) for f in small.within(queries[:2], 5.0)] == [3, 3]


def test_scan_without_a_model_imports_neither_torch_nor_scipy_in_the_scan_or_its_workers(tmp_path):
    """``scan`` without --model (and no GEOLOC_MODEL) must not import torch (~1 s and ~300 MB); and
    scipy.spatial (0.65 s) and scipy.fftpack (0.5 s per worker) were imported by every ``scan``:
    neither the scan process nor an inspection worker may import scipy now."""
    from tests.hostile_inspector import loaded_modules

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.jpg").write_bytes(_photo(2))
    probe = ("import sys; from geoloc_core.cli import main; "
             f"code = main(['scan', {str(tmp_path / 'in')!r}, '--out', {str(tmp_path / 'f.csv')!r}, '--no-progress']); "
             "print(sorted(m for m in sys.modules if m.split('.')[0] in ('scipy', 'torch')), code)")
    env = {k: v for k, v in os.environ.items() if k != "GEOLOC_MODEL"}
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[-2:] == ["[]", "0"], result.stdout
    assert "48.8" in (tmp_path / "f.csv").read_text(encoding="utf-8")  # the scan did its work
    with IsolatedWorker() as worker:
        facts, _, forensic = worker.call(inspect_file, _photo(3))
        assert forensic.phash and worker.call(loaded_modules, ["scipy", "scipy.fftpack", "torch"]) == []


def test_markers_are_searched_in_a_jpegs_metadata_segments_only():
    """The editing markers are searched before the first scan (SOS) of a JPEG, where all of its
    metadata lives, not through its pixels (~1 ms a phone photo); a JPEG whose segment chain is
    broken is still searched whole. (The C2PA label is still looked for everywhere: APP11 segments
    may sit between a progressive JPEG's scans.)"""
    from geoloc_core.evidence.forensic_facts import jpeg_metadata_end, read_forensic_facts

    plain = image_bytes(size=(64, 48))
    sos = plain.index(b"\xff\xda")
    assert jpeg_metadata_end(plain) == sos
    irb = b"Photoshop 3.0\x00" + b"8BIM" + bytes(8)
    with_irb = plain[:2] + b"\xff\xed" + (len(irb) + 2).to_bytes(2, "big") + irb + plain[2:]
    assert jpeg_metadata_end(with_irb) == sos + len(irb) + 4
    assert "Photoshop IRB block (APP13)" in read_forensic_facts(with_irb, "jpeg", None).markers
    in_pixels = plain[:sos + 40] + b"Photoshop 3.0\x00" + plain[sos + 40:]  # not a segment: not a marker
    assert read_forensic_facts(in_pixels, "jpeg", None).markers == []
    broken = plain[:2] + b"\x00\x00" + irb + plain[2:]  # no segment marker where one must be
    assert jpeg_metadata_end(broken) == len(broken)
    assert "Photoshop IRB block (APP13)" in read_forensic_facts(broken, "jpeg", None).markers
    truncated_length = plain[:2] + b"\xff\xe1\x00\x01"  # a length below the minimum
    assert jpeg_metadata_end(truncated_length) == len(truncated_length)


def test_workers_read_files_on_disk_themselves_with_the_same_findings(geocoder, tmp_path):
    """Without a model the worker reads a file from its path (a 350 KB photo no longer crosses the
    pipe); the findings equal those of the bytes route, and read problems keep their messages."""
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(4):
        (folder / f"p{i}.jpg").write_bytes(_photo(i))
    (folder / "z.txt").write_text("text", encoding="utf-8")
    on_disk = collect_sources([folder])
    in_memory = [FileSource(s.name, data=s.path.read_bytes()) for s in on_disk]
    sent: list[tuple] = []

    class Recording(WorkerPool):
        def call(self, fn, *args, timeout_s=None):
            sent.append(args)
            return super().call(fn, *args, timeout_s=timeout_s)

    with Recording(size=2) as pool:
        analyzer = Analyzer(geocoder=geocoder, worker=pool)
        by_path = list(analyzer.analyze_stream(on_disk))
        assert sent and not any(isinstance(a, bytes) for args in sent for a in args)
        by_bytes = list(analyzer.analyze_stream(in_memory))
        assert [_comparable(f) for f in by_path] == [_comparable(f) for f in by_bytes]
        gone = FileSource(str(folder / "gone.jpg"), path=folder / "gone.jpg")
        hang = folder / "hang.jpg"
        hang.write_bytes(b"HANG")
        slow = Analyzer(geocoder=geocoder, worker=WorkerPool(size=1, timeout_s=1.5), inspector=hostile_inspector)
        try:
            missing, hung = list(slow.analyze_stream([gone, FileSource(str(hang), path=hang)]))
        finally:
            slow.close()
    assert missing.status == "error" and "unreadable path: no such file" in missing.message
    assert hung.status == "error" and "gave up after 1.5 s" in hung.message and hung.size_bytes == 4
    assert hung.sha256 == __import__("hashlib").sha256(b"HANG").hexdigest()  # hashed by the scan process


def test_the_command_exits_with_its_code_and_every_row_written(tmp_path):
    """``python -m geoloc_core`` skips the interpreter's teardown (0.2-0.3 s of freeing geometries): what
    it printed must still all arrive, and its exit code must be the command's."""
    import csv

    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(6):
        (folder / f"p{i}.jpg").write_bytes(_photo(i))
    command = [sys.executable, "-m", "geoloc_core", "scan", str(folder), "--no-progress"]
    result = subprocess.run([*command, "--out", "-"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["file"] for r in rows] == [str(folder / f"p{i}.jpg") for i in range(6)]
    assert "6 files analysed, 0 with errors" in result.stderr
    failed = subprocess.run([*command, "--out", str(tmp_path / "f.csv"), "--model", str(tmp_path / "no-model")],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert failed.returncode == 2 and "error:" in failed.stderr


def test_crops_made_in_the_worker_are_the_clip_processors_pixels_bit_for_bit():
    """The workers make CLIP's input (resize, centre crop) and the scan only normalises: the tensor
    must be exactly the Hugging Face processor's, for every shape and both CLIP input sizes; a
    processor set up any other way gets no spec (and runs as before)."""
    import torch

    from geoloc_core.model.clip_input import ClipInputSpec
    from geoloc_core.model.preprocessing import clip_image_processor
    from tests.imagegen import textured

    shapes = [(400, 300), (300, 400), (224, 224), (225, 1000), (100, 60), (61, 97), (1600, 1200), (333, 333),
              (224, 225), (1, 500)]
    for side in (224, 336):
        processor = clip_image_processor(side)
        spec = ClipInputSpec.from_processor(processor)
        images = [textured(shape, (10 + i, 200, 30)) for i, shape in enumerate(shapes)]
        reference = processor(images=images, return_tensors="pt")["pixel_values"]
        crops = [spec.crop_of(image) for image in images]
        assert all(c.dtype.name == "uint8" and c.shape == (side, side, 3) for c in crops)
        assert torch.equal(spec.pixel_values(crops), reference)
    # every 8-bit level of every channel, with another model's mean and std: the table lookup gives the
    # bits of the processor's arithmetic (float64 rescale, float32 cast, (x - mean) / std in float32)
    odd = ClipInputSpec(224, 224, 2, 1 / 255, (0.5, 0.25, 0.125), (0.3, 0.7, 0.11))
    levels = np.arange(224 * 224 * 3, dtype=np.int64).reshape(224, 224, 3)
    crops = [((levels * (k + 1)) % 256).astype(np.uint8) for k in range(3)]
    arithmetic = (torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).double() * odd.rescale_factor).float()
    arithmetic = (arithmetic - torch.tensor(odd.mean).view(1, 3, 1, 1)) / torch.tensor(odd.std).view(1, 3, 1, 1)
    assert torch.equal(odd.pixel_values(crops), arithmetic)
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    for unusual in ({"do_center_crop": False}, {"size": {"height": 224, "width": 224}},
                    {"crop_size": {"height": 256, "width": 256}}, {"do_normalize": False}):
        assert ClipInputSpec.from_processor(CLIPImageProcessorPil(**unusual)) is None, unusual


def test_scan_with_a_model_gets_the_same_predictions_from_worker_crops(geocoder, tiny_model_dir, tmp_path):
    """With a model, the worker reads the file, inspects it and makes the model's crop from the same
    bytes; the findings (predictions included) equal those of the decode-here path, and no file's
    bytes cross the pipe."""
    from geoloc_core.model.inference import Predictor

    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(5):
        (folder / f"p{i}.jpg").write_bytes(image_bytes(size=(300 + 40 * i, 200), color=(40 * i, 90, 160),
                                                       exif=gps_exif(48.85 + i, 2.35)))
    (folder / "flat.jpg").write_bytes(image_bytes(size=(64, 64), texture=False))
    (folder / "broken.jpg").write_bytes(_photo(1)[:900])
    sources = collect_sources([folder])
    predictor = Predictor.from_pretrained(tiny_model_dir, batch_size=4)
    assert predictor.input_spec is not None
    sent: list[tuple] = []

    class Recording(WorkerPool):
        def call(self, fn, *args, timeout_s=None):
            sent.append((fn.__name__, args))
            return super().call(fn, *args, timeout_s=timeout_s)

    with Recording(size=2) as pool:
        crops = list(Analyzer(geocoder=geocoder, predictor=predictor, batch_size=4, worker=pool).analyze_stream(sources))
        # every file read by the worker, which also made the crop: inspect_file_at(path, inspect_with_model_input, ...)
        assert {(name, args[1].__name__) for name, args in sent} == {("inspect_file_at", "inspect_with_model_input")}
        assert not any(isinstance(a, bytes) for _, args in sent for a in args)
        predictor.input_spec = None  # the processor runs on images decoded in this process, as before
        decoded = list(Analyzer(geocoder=geocoder, predictor=predictor, batch_size=4, worker=pool).analyze_stream(sources))
    assert [_comparable(f) for f in crops] == [_comparable(f) for f in decoded]
    assert sum(f.pred_lat is not None for f in crops) == 5  # the flat and the broken file get none


def test_parsers_beside_a_model_run_at_the_lowest_priority():
    """``scan --model`` and the app start their parsers at niceness 19, so the backbone's threads are not
    preempted by them; a scan without a model leaves them at normal priority."""
    from geoloc_core.evidence.isolation import BESIDE_MODEL_NICENESS

    with WorkerPool(size=1, niceness=BESIDE_MODEL_NICENESS) as low, WorkerPool(size=1) as normal:
        own = os.nice(0)
        assert low.call(os.nice, 0) == min(19, own + BESIDE_MODEL_NICENESS) == 19
        assert normal.call(os.nice, 0) == own


def test_geodesic_distance_is_karneys_algorithm_to_the_nanometre_without_python_geographiclib():
    """The scan process computes a distance per finding (EXIF vs prediction); geopy's pure-Python
    geographiclib took ~0.3 ms a call, a third of that process's work per image with a fast model.
    PROJ's C implementation of the same algorithm must give the same distances."""
    import random

    from geographiclib.geodesic import Geodesic

    from geoloc_core.places.geodesy import geodesic_km, geodesic_km_many

    rng = random.Random(7)
    pairs = []
    for i in range(3000):
        lat, lon = rng.uniform(-90, 90), rng.uniform(-180, 180)
        if i % 3 == 0:  # nearly antipodal: the algorithm's hard case
            other = (-lat + rng.uniform(-0.01, 0.01), lon + 180 if lon < 0 else lon - 180)
        elif i % 3 == 1:  # metres apart
            other = (max(-90.0, min(90.0, lat + rng.uniform(-1e-4, 1e-4))), lon)
        else:
            other = (rng.uniform(-90, 90), rng.uniform(-180, 180))
        pairs.append((lat, lon, *other))
    reference = [Geodesic.WGS84.Inverse(*p, Geodesic.DISTANCE)["s12"] / 1000 for p in pairs]
    ours = [geodesic_km(*p) for p in pairs]
    assert max(abs(a - b) for a, b in zip(ours, reference)) < 1e-9  # km: a micrometre
    many = geodesic_km_many(*zip(*pairs))
    assert many.tolist() == ours
    with pytest.raises(ValueError):
        geodesic_km(91.0, 0.0, 0.0, 0.0)
    code = ("import sys; from geoloc_core.places.geodesy import geodesic_km; geodesic_km(48.85, 2.35, -33.87, 151.2); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('geopy', 'geographiclib')))")
    loaded = subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True,
                            text=True).stdout.strip()
    assert loaded == "[]", f"a distance loaded the pure-Python geodesic: {loaded}"


def test_a_gpu_model_leaves_the_cores_to_the_inspection_workers():
    """Measured on an H200 with 16 cores (#18): torch's CPU pool in the scan process spun 19 CPU-ms per
    image beside a CUDA model, starving the workers; a CUDA predictor keeps one host thread, a CPU
    predictor still gets one per core."""
    import torch

    from geoloc_core.evidence.isolation import available_cores
    from geoloc_core.model.runtime import GPU_HOST_TORCH_THREADS, prepare_device

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(max(2, available_cores()))
        assert prepare_device(torch.device("cuda")).type == "cuda"  # nothing is moved: only the threads are set
        assert torch.get_num_threads() == GPU_HOST_TORCH_THREADS == 1
        prepare_device(torch.device("cpu"))
        assert torch.get_num_threads() == available_cores()
    finally:
        torch.set_num_threads(before)


def test_the_pool_has_a_worker_per_core_as_far_as_memory_holds_them(monkeypatch):
    """A fixed cap of 8 left half of a 16-core GPU machine idle while the model waited for its inputs
    (#18); the bound is the memory the workers may grow to."""
    from geoloc_core.evidence import isolation

    gib = 1024**3
    for cores, memory, expected in ((16, 128 * gib, 16), (2, 24 * gib, 2), (64, 24 * gib, 6), (16, 3 * gib, 1)):
        monkeypatch.setattr(isolation, "available_cores", lambda cores=cores: cores)
        monkeypatch.setattr(isolation.os, "sysconf", lambda name, memory=memory: {
            "SC_PAGE_SIZE": 4096, "SC_PHYS_PAGES": memory // 4096}[name])
        assert WorkerPool().size == expected, (cores, memory)
        assert WorkerPool(size=3).size == 3
    assert isolation.default_pool_size(memory_limit=None) == 16
