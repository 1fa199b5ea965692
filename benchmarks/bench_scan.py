"""A folder scan end to end, the way an analyst runs it: geoloc vs exiftool's batch mode, and the
model pipeline vs the bare CLIP backbone.

Run: python -m benchmarks.bench_scan                       # quick: 200 files, 3 repeats, ViT-B/32 (a few minutes)
     python -m benchmarks.bench_scan --files 200 2000 --sizes b32 l14 --reps 5   # the issue's full run
     python -m benchmarks.bench_scan --memory 1000 10000  # peak RSS of a 1,000- vs a 10,000-file scan (slow)

1. No model: ``python -m geoloc_core scan DIR --out f.csv`` (hash, EXIF, XMP/IPTC, perceptual hash,
   C2PA, places, every check; the whole command, interpreter start included) against
   ``exiftool -r -n -json DIR`` on the same folder of phone-size JPEGs (1600x1200, GPS EXIF, about
   the size a phone writes at that resolution). Median and spread (min-max) of the repeats, run
   alternately; the ratio of medians (target <= 1).
2. With a model: a random-weight backbone sized like CLIP ViT-B/32 or ViT-L/14 (same compute as the
   real one; built here, nothing downloaded) saved as a geoloc model folder. "Pipeline" is the
   Analyzer inside one process, everything loaded (inspection in the worker pool, decode, CLIP
   preprocessing, backbone, head, places, checks) against the bare backbone's forward passes over the
   same number of images at batch 16 (targets <= 1.15 for ViT-B/32, <= 1.05 for ViT-L/14). "Whole
   command" adds the interpreter start, torch import, model and geocoder loading: a one-off cost that
   a bigger folder amortises.
3. ``--memory``: peak RSS of the scan process for two folder sizes (target: within 10 %).
4. ``--mode metadata-only`` (#35): ``scan --metadata-only`` (no pixel decode, no model) against the same
   ``exiftool -r -n -json``, target <= 1.0 at 200 and 2,000 files, start-up included. Measured as
   alternating pairs (ours, then exiftool) after one warm-up run of each (page cache, the geocoder's prepared
   arrays in GEOLOC_CACHE_DIR); the headline is the median of the per-pair ratios. Every timed command runs
   with Python's bytecode cache (an installed package has its .pyc files; PYTHONDONTWRITEBYTECODE, set in
   some shells, would recompile geoloc's modules in every process and every parser).
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.machine import median_range, print_table

ROOT = Path(__file__).resolve().parents[1]
MODEL_IMAGES = {"b32": 160, "l14": 32}  # per model run: about 15 s and 60 s of backbone on 2 CPU cores
DISTINCT_PICTURES = 16  # files share these pixels but differ in EXIF (and so in hash): generation stays fast
# Photos are taken where people are: GPS points within a few km of these towns (a uniform point on the
# sphere would be at sea 70 % of the time and exercise the territorial-sea path instead).
TOWNS = [(48.857, 2.352), (40.713, -74.006), (35.690, 139.692), (-33.869, 151.209), (50.450, 30.523),
         (-23.551, -46.633), (19.433, -99.133), (28.614, 77.209), (30.044, 31.236), (-1.292, 36.822),
         (55.756, 37.617), (52.520, 13.405), (41.009, 28.978), (37.566, 126.978), (-34.604, -58.382),
         (6.524, 3.379), (31.768, 35.214), (59.329, 18.069), (47.606, -122.332), (13.756, 100.502)]


def _picture(index: int, size=(1600, 1200)) -> bytes:
    """A 1600x1200 JPEG with a phone photo's texture (smooth pattern plus sensor-like noise): about
    the bytes and the decode cost of a phone picture at that resolution."""
    from PIL import Image

    from tests.imagegen import textured

    base = textured(size, (40 + 13 * index % 200, 90 + 7 * index % 150, 160))
    noise = Image.effect_noise(size, 24).convert("RGB")
    picture = Image.blend(base, noise, 0.18)
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=88)
    return buffer.getvalue()


def make_folder(folder: Path, count: int) -> Path:
    """``count`` JPEGs with distinct GPS EXIF (reused if already there)."""
    import piexif

    from tests.imagegen import gps_exif

    folder.mkdir(parents=True, exist_ok=True)
    existing = sorted(folder.glob("*.jpg"))
    if len(existing) == count:
        return folder
    for path in existing:
        path.unlink()
    pictures = [_picture(i) for i in range(DISTINCT_PICTURES)]
    rng = random.Random(0)
    for i in range(count):
        out = io.BytesIO()
        lat, lon = TOWNS[i % len(TOWNS)]
        exif = gps_exif(lat + rng.uniform(-0.03, 0.03), lon + rng.uniform(-0.03, 0.03), altitude=rng.uniform(0, 900))
        piexif.insert(exif, pictures[i % DISTINCT_PICTURES], out)
        (folder / f"IMG_{i:05d}.jpg").write_bytes(out.getvalue())
    return folder


def _run(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=_ENV)
    return time.perf_counter() - started


# as installed: with the bytecode cache (see the module docstring, 4.)
_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _compile_package() -> None:
    import compileall

    compileall.compile_dir(str(ROOT / "geoloc_core"), quiet=1)


def _load() -> str:
    return "%.2f / %.2f / %.2f" % os.getloadavg()


def _spread(times: list[float]) -> str:
    return median_range(times, unit="s", digits=2)


def scan_command(folder: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "geoloc_core", "scan", str(folder), "--out", str(out), "--no-progress", *extra]


def bench_batch_mode(tmp: Path, counts: list[int], reps: int, mode: str = "full") -> list[tuple[str, str]]:
    if mode == "metadata-only":
        return bench_metadata_only(tmp, counts, reps)
    rows = []
    one = make_folder(tmp / "photos_1", 1)
    start_up = [_run(scan_command(one, tmp / "f1.csv")) for _ in range(reps)]
    rows.append(("1 file: geoloc scan (start-up: interpreter, imports, workers, geocoder)", _spread(start_up)))
    for count in counts:
        folder = make_folder(tmp / f"photos_{count}", count)
        mean_kb = sum(p.stat().st_size for p in folder.glob("*.jpg")) / count / 1024
        ours, theirs = [], []
        _run(["exiftool", "-r", "-n", "-json", str(folder)])  # warm the page cache for both
        for _ in range(reps):
            ours.append(_run(scan_command(folder, tmp / "f.csv")))
            theirs.append(_run(["exiftool", "-r", "-n", "-json", str(folder)]))
        ratios = [a / b for a, b in zip(ours, theirs)]
        rows += [
            (f"{count} files (mean {mean_kb:,.0f} KB): geoloc scan, median (min-max)", _spread(ours)),
            (f"{count} files: exiftool -r -n -json, median (min-max)", _spread(theirs)),
            (f"{count} files: ratio of medians (target <= 1); per-repeat ratios",
             f"{statistics.median(ours) / statistics.median(theirs):.2f}; "
             + ", ".join(f"{r:.2f}" for r in ratios)),
            (f"{count} files: ms per file beyond start-up, geoloc / exiftool",
             f"{(statistics.median(ours) - statistics.median(start_up)) / count * 1000:.1f} / "
             f"{statistics.median(theirs) / count * 1000:.1f}"),
        ]
    return rows


def bench_metadata_only(tmp: Path, counts: list[int], reps: int) -> list[tuple[str, str]]:
    """``scan --metadata-only`` vs ``exiftool -r -n -json``: alternating pairs, median of per-pair ratios."""
    _compile_package()
    rows = [("load average (1/5/15 min) before", _load())]
    one = make_folder(tmp / "photos_1", 1)
    _run(scan_command(one, tmp / "m1.csv", "--metadata-only"))  # warm: the geocoder's prepared arrays written
    start_up = [_run(scan_command(one, tmp / "m1.csv", "--metadata-only")) for _ in range(reps)]
    exif_one = [_run(["exiftool", "-r", "-n", "-json", str(one)]) for _ in range(reps)]
    rows.append(("1 file: scan --metadata-only (start-up) / exiftool", f"{_spread(start_up)} / {_spread(exif_one)}"))
    for count in counts:
        folder = make_folder(tmp / f"photos_{count}", count)
        mean_kb = sum(p.stat().st_size for p in folder.glob("*.jpg")) / count / 1024
        _run(["exiftool", "-r", "-n", "-json", str(folder)])  # warm the page cache for both
        _run(scan_command(folder, tmp / "m.csv", "--metadata-only"))
        ours, theirs = [], []
        for _ in range(reps):
            ours.append(_run(scan_command(folder, tmp / "m.csv", "--metadata-only")))
            theirs.append(_run(["exiftool", "-r", "-n", "-json", str(folder)]))
        ratios = [a / b for a, b in zip(ours, theirs)]
        rows += [
            (f"{count} files (mean {mean_kb:,.0f} KB): scan --metadata-only, median (min-max)", _spread(ours)),
            (f"{count} files: exiftool -r -n -json, median (min-max)", _spread(theirs)),
            (f"{count} files: median of per-pair ratios (target <= 1.0); per pair",
             f"{statistics.median(ratios):.2f}; " + ", ".join(f"{r:.2f}" for r in ratios)),
            (f"{count} files: ms per file beyond start-up, geoloc / exiftool",
             f"{(statistics.median(ours) - statistics.median(start_up)) / count * 1000:.2f} / "
             f"{(statistics.median(theirs) - statistics.median(exif_one)) / count * 1000:.2f}"),
        ]
    rows.append(("load average (1/5/15 min) after", _load()))
    return rows


def _random_model(key: str, folder: Path) -> Path:
    import torch

    from benchmarks.bench_inference import SIZES
    from geoloc_core.model.configuration_geolocator import GeoLocatorConfig
    from geoloc_core.model.preprocessing import clip_image_processor
    from geoloc_core.model.modeling_geolocator import GeoLocator

    label, vision = SIZES[key]
    torch.manual_seed(0)
    model = GeoLocator(GeoLocatorConfig(vision_config=vision, backbone_name_or_path=f"random {label}"))
    model.save_pretrained(folder)
    clip_image_processor(vision["image_size"]).save_pretrained(folder)
    return folder


class _Sampler:
    """A background thread that calls ``sample()`` every ``interval_s`` between ``__enter__`` and
    ``__exit__`` (and once more at each end), for measurements taken while a run goes on."""

    interval_s = 0.05

    def __init__(self) -> None:
        import threading

        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-sampler", daemon=True)

    def sample(self, first: bool = False) -> None:
        raise NotImplementedError

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sample()

    def __enter__(self):
        self.sample(first=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()


class _GpuBusy(_Sampler):
    """Mean GPU utilisation (NVML's percentage of time a kernel ran), sampled every 20 ms."""

    interval_s = 0.02

    def __init__(self, device) -> None:
        super().__init__()
        self.device, self.samples = device, []

    def sample(self, first: bool = False) -> None:
        import torch

        try:
            self.samples.append(torch.cuda.utilization(self.device))
        except Exception:  # no NVML: utilisation is not reported
            pass

    @property
    def percent(self) -> str:
        return f"{statistics.mean(self.samples):.0f} %" if self.samples else "n/a"


class _ThreadCpu(_Sampler):
    """CPU seconds of the scan process by thread kind during a run (Linux: /proc/self/task, sampled
    every 50 ms so threads that end with the run are counted): the main thread, the Analyzer's model and
    inspection threads, the Predictor's feed, and native threads Python does not know (torch's
    intra-op pool, CUDA's)."""

    def __init__(self) -> None:
        super().__init__()
        self._names: dict[int, str] = {}
        self._first: dict[int, float] = {}
        self._last: dict[int, float] = {}
        self._tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def sample(self, first: bool = False) -> None:
        import threading

        for thread in threading.enumerate():
            if thread.native_id is not None:
                self._names[thread.native_id] = re.sub(r"_\d+$", "", thread.name)
        try:
            tids = os.listdir("/proc/self/task")
        except OSError:
            return
        for tid in tids:
            try:
                fields = Path(f"/proc/self/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            seconds = (int(fields[11]) + int(fields[12])) / self._tick
            if first:
                self._first[int(tid)] = seconds
            self._last[int(tid)] = seconds

    def by_kind(self) -> dict[str, float]:
        totals: dict[str, float] = {}
        for tid, seconds in self._last.items():
            kind = self._names.get(tid, "native (torch/CUDA/OpenMP)")
            totals[kind] = totals.get(kind, 0.0) + seconds - self._first.get(tid, 0.0)
        return totals


class _StageClock:
    """Where a pipeline run's time went, per stage, from wrappers on one Analyzer's and one Predictor's
    own methods (benchmark-only instrumentation: nothing in the package carries timers). Seconds per
    stage; the main thread's and the model thread's stages each add up to at most the wall time."""

    def __init__(self, analyzer, predictor) -> None:
        self.seconds: dict[str, float] = {}
        for owner, name, label in ((analyzer, "_prepare", "main: findings made from inspections"),
                                   (analyzer, "_geocode_and_verify", "main: places, verdicts, checks"),
                                   (analyzer, "_run_models", "model thread: busy"),
                                   (predictor, "_prepare_batch", "model feed: crops to a tensor")):
            setattr(owner, name, self._timed(label, getattr(owner, name)))
        inspected = analyzer._inspected

        def waiting(sources):
            results = inspected(sources)
            while True:
                started = time.perf_counter()
                try:
                    item = next(results)
                except StopIteration:
                    return
                finally:
                    self._add("main: waiting for inspection workers", started)
                yield item

        analyzer._inspected = waiting

    def _add(self, label: str, started: float) -> None:
        self.seconds[label] = self.seconds.get(label, 0.0) + time.perf_counter() - started

    def _timed(self, label, method):
        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self._add(label, started)
        return timed

    def per_image_ms(self, count: int, reps: int) -> str:
        return "; ".join(f"{label} {seconds / count / reps * 1000:.2f}" for label, seconds in self.seconds.items())


def bench_model(tmp: Path, key: str, count: int, reps: int, whole_command: bool, device=None,
                worker_counts: list[int | None] | None = None, batch: int = 16,
                timeline: bool = False) -> list[tuple[str, str]]:
    """The pipeline against the bare backbone on ``device`` (CUDA: the backbone in fp16, as the
    Predictor runs it there), once per inspection-pool size in ``worker_counts`` (None: the pool's
    default size), so a GPU run shows how many workers keep the model busy."""
    import torch

    from benchmarks.bench_inference import SIZES
    from geoloc_core.case.analyzer import Analyzer
    from geoloc_core.evidence.isolation import BESIDE_MODEL_NICENESS, WorkerPool
    from geoloc_core.evidence.sources import collect_sources
    from geoloc_core.model.inference import Predictor
    from geoloc_core.places.loading import shared_offline_geocoder

    label = SIZES[key][0]
    folder = make_folder(tmp / f"photos_{count}", count)
    model_dir = _random_model(key, tmp / f"model_{key}")
    predictor = Predictor.from_pretrained(model_dir, device=device, batch_size=batch)
    backbone = predictor.model.backbone
    dtype = next(backbone.parameters()).dtype
    pixels = torch.randn(batch, 3, predictor.input_size, predictor.input_size).to(predictor.device, dtype)
    on_gpu = predictor.device.type == "cuda"

    def bare() -> float:
        started = time.perf_counter()
        with torch.inference_mode():
            for done in range(0, count, batch):
                backbone(pixel_values=pixels[:min(batch, count - done)])
            if on_gpu:
                torch.cuda.synchronize()
        return time.perf_counter() - started

    sources = collect_sources([folder])
    geocoder = shared_offline_geocoder()
    where = f"{predictor.device.type}, {str(dtype).removeprefix('torch.')}, batch {batch}"
    bare()
    bare_times = [bare() for _ in range(reps if on_gpu else 0)]
    rows = []
    for size in worker_counts or [None]:
        pipeline_times, cpu_ms, busy = [], [], []
        thread_cpu: dict[str, float] = {}
        if not on_gpu:
            bare_times = []
        with WorkerPool(size=size, niceness=BESIDE_MODEL_NICENESS) as pool:  # as `scan --model` runs them
            analyzer = Analyzer(geocoder=geocoder, predictor=predictor, batch_size=batch, worker=pool)
            list(analyzer.analyze_stream(sources[:2 * batch]))  # warm-up: workers started, first batches run
            clock = _StageClock(analyzer, predictor) if timeline else None
            for _ in range(reps):
                if not on_gpu:  # on 2 CPU cores the machine's speed drifts: alternate the two
                    bare_times.append(bare())
                started, cpu = time.perf_counter(), time.process_time()
                gpu_busy = _GpuBusy(predictor.device) if on_gpu else contextlib.nullcontext()
                with gpu_busy as gpu, (_ThreadCpu() if timeline else contextlib.nullcontext()) as threads:
                    findings = list(analyzer.analyze_stream(sources))
                if threads is not None:
                    for kind, seconds in threads.by_kind().items():
                        thread_cpu[kind] = thread_cpu.get(kind, 0.0) + seconds
                pipeline_times.append(time.perf_counter() - started)
                cpu_ms.append((time.process_time() - cpu) / count * 1000)
                busy.append(gpu.percent if gpu is not None else "n/a")
                assert sum(f.pred_lat is not None for f in findings) == count, "every image must reach the model"
            workers = pool.size
        if clock:
            for name in ("_prepare_batch",):  # the predictor outlives this pool: unwrap it
                predictor.__dict__.pop(name, None)
        rows += [
            (f"{label}, {count} images, {where}: bare backbone, median (min-max)", _spread(bare_times)),
            (f"{label}: scan pipeline in-process ({workers} workers), median (min-max)", _spread(pipeline_times)),
            (f"{label}: pipeline / backbone (target {'<= 1.15' if key == 'b32' else '<= 1.05'}); per repeat",
             f"{statistics.median(pipeline_times) / statistics.median(bare_times):.3f}; "
             + ", ".join(f"{a / statistics.median(bare_times) if on_gpu else a / b:.3f}"
                         for a, b in zip(pipeline_times, bare_times))),
            (f"{label}: images/s, pipeline / backbone",
             f"{count / statistics.median(pipeline_times):.1f} / {count / statistics.median(bare_times):.1f}"),
            (f"{label}: scan process CPU-ms per image (its threads: model feed, places, checks)",
             f"{statistics.median(cpu_ms):.2f}"),
        ]
        if on_gpu:
            rows.append((f"{label}: GPU busy during the pipeline (NVML, per repeat)", ", ".join(busy)))
        if clock:
            rows.append((f"{label}: ms per image by stage (wall: {statistics.median(pipeline_times) / count * 1000:.2f})",
                         clock.per_image_ms(count, reps)))
            rows.append((f"{label}: scan process CPU-ms per image by thread", "; ".join(
                f"{kind} {seconds / count / reps * 1000:.2f}"
                for kind, seconds in sorted(thread_cpu.items(), key=lambda item: -item[1]) if seconds > 0)))
    if whole_command:
        command = [_run(scan_command(folder, tmp / "m.csv", "--model", str(model_dir))) for _ in range(reps)]
        rows.append((f"{label}: whole `scan --model` command (start, imports, loading included), median "
                     f"(min-max); / backbone", f"{_spread(command)}; "
                     f"{statistics.median(command) / statistics.median(bare_times):.3f}"))
    del predictor, backbone
    shutil.rmtree(model_dir, ignore_errors=True)
    return rows


def _peak_rss_mib(command: list[str]) -> float:
    """Peak RSS of ``command``'s own process (not its workers), via a fresh parent that reads it."""
    probe = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, "
             "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", probe, *command], cwd=ROOT, check=True, capture_output=True,
                         text=True).stdout
    return int(out.split()[-1]) / 1024


def bench_memory(tmp: Path, counts: list[int]) -> list[tuple[str, str]]:
    rows, peaks = [], []
    for count in counts:
        folder = make_folder(tmp / f"photos_{count}", count)
        started = time.perf_counter()
        peaks.append(_peak_rss_mib(scan_command(folder, tmp / "mem.csv")))
        rows.append((f"{count} files: peak RSS of the largest scan process (MiB); wall time",
                     f"{peaks[-1]:,.0f}; {time.perf_counter() - started:.0f} s"))
    rows.append((f"peak RSS {counts[-1]} / {counts[0]} files (target <= 1.10)", f"{peaks[-1] / peaks[0]:.3f}"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, nargs="*", default=[200], help="folder sizes for the exiftool "
                        "comparison (default 200; the issue's full run: 200 2000; none: skip it)")
    parser.add_argument("--reps", type=int, default=3, help="repeats per measurement (median and spread)")
    parser.add_argument("--sizes", nargs="*", default=["b32"], choices=["b32", "l14"],
                        help="model sizes to compare with the bare backbone (none: skip the model part)")
    parser.add_argument("--model-images", type=int, default=None,
                        help=f"images per model run (default {MODEL_IMAGES['b32']} at ViT-B/32, "
                             f"{MODEL_IMAGES['l14']} at ViT-L/14: runs long enough to average out scheduler noise)")
    parser.add_argument("--whole-command", action="store_true",
                        help="also time the whole `scan --model` command (start-up and loading included)")
    parser.add_argument("--memory", type=int, nargs=2, default=None, metavar=("SMALL", "LARGE"),
                        help="only measure peak RSS of two scans, e.g. --memory 1000 10000 (slow)")
    parser.add_argument("--device", default=None, help="where the model runs: cpu or cuda (default: CUDA when "
                        "there is one; there the backbone runs in fp16)")
    parser.add_argument("--workers", type=int, nargs="*", default=None,
                        help="inspection-pool sizes to try with the model (default: the pool's own size)")
    parser.add_argument("--timeline", action="store_true", help="also say where the pipeline's time went, per stage "
                        "(main thread, model thread, model feed; instrumented, so slightly slower)")
    parser.add_argument("--batch", type=int, default=16, help="model batch size (the issue's targets: 16)")
    parser.add_argument("--keep", metavar="DIR", default=None, help="generate the folders here and keep them")
    parser.add_argument("--mode", choices=["full", "metadata-only"], default="full",
                        help="the exiftool comparison's scan: full (default) or scan --metadata-only (#35)")
    args = parser.parse_args()
    if shutil.which("exiftool") is None and args.files and not args.memory:
        raise SystemExit("exiftool is needed (apt-get install libimage-exiftool-perl)")
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    with tempfile.TemporaryDirectory() as scratch:
        tmp = Path(args.keep or scratch)
        if args.memory:
            print_table("Scan memory: peak RSS, no model", bench_memory(tmp, list(args.memory)))
            return
        if args.files:
            label = "scan --metadata-only" if args.mode == "metadata-only" else "Folder scan"
            print_table(f"{label} vs exiftool batch mode, no model, {args.reps} repeats",
                        bench_batch_mode(tmp, args.files, args.reps, args.mode))
        for key in args.sizes:
            import torch

            print_table(f"Scan with a model vs the bare backbone, torch {torch.__version__}, "
                        f"{torch.get_num_threads()} threads, {args.reps} repeats",
                        bench_model(tmp, key, args.model_images or MODEL_IMAGES[key], args.reps, args.whole_command,
                                    device=torch.device(args.device) if args.device else None,
                                    worker_counts=args.workers, batch=args.batch, timeline=args.timeline))


if __name__ == "__main__":
    main()
