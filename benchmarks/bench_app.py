"""The app in a real browser: time from upload to result card for one image, images/s for a batch
upload, and server memory for a 100- vs a 1,000-image batch, with a ViT-B/32-sized random-weight
model (timing only: random weights are not a geolocation model).

Run: python -m benchmarks.bench_app [--batch 200] [--reps 5] [--memory 100 1000]
The Batch page and ``scan``'s pipeline run alternately ``--reps`` times (the page on one server warmed by a
first small batch, each run with its own files), and the ratio is reported per pair and as the median: on a
shared 2-core machine one pair swings by +-10 %.
Needs Debian's chromium (make test installs it).
"""
from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from pathlib import Path

import torch

from benchmarks.bench_inference import SIZES
from benchmarks.machine import median_range, print_table
from geoloc_core.model.configuration_geolocator import GeoLocatorConfig
from geoloc_core.model.preprocessing import clip_image_processor
from geoloc_core.model.modeling_geolocator import GeoLocator
from tests.imagegen import gps_exif, image_bytes

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync"]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):  # peak resident set size of the server process
            return int(line.split()[1]) / 1024
    return float("nan")


def _server(model_dir: Path, data_dir: Path):
    port = _port()
    env = {**os.environ, "GEOLOC_MODEL": str(model_dir), "GEOLOC_DATA_DIR": str(data_dir)}
    process = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)],
                               cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://localhost:{port}"
    for _ in range(120):
        try:
            urllib.request.urlopen(url + "/_stcore/health", timeout=2)
            return process, url
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("server did not start")


def _folder(root: Path, n: int, shade: int = 90) -> Path:
    """``n`` distinct 640x480 JPEGs with GPS; another ``shade`` gives other files (other hashes)."""
    folder = root / f"batch{n}_{shade}"
    folder.mkdir()
    for i in range(n):
        (folder / f"img{i:04d}.jpg").write_bytes(image_bytes(size=(640, 480), color=(i % 256, (7 * i) % 256, shade),
                                                             exif=gps_exif(-60 + (i % 120), -170 + (i % 340))))
    return folder


def _zipped(folder: Path) -> Path:
    """The folder as one zip archive: Streamlit's uploader never finishes a folder of ~1,000 files
    (streamlit#8534), and the Batch page tells analysts to upload large folders this way."""
    archive = folder.with_suffix(".zip")
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as bundle:
        for path in sorted(folder.iterdir()):
            bundle.write(path, path.name)
    return archive


def _wait_quietly(page, text: str, timeout_s: float) -> None:
    """Wait until the page's text contains ``text``, checked in the page four times a second.

    Why not ``get_by_text(...).wait_for()``: Playwright's text engine walks the whole page, and the Batch page
    lists every uploaded file; polled by Playwright it cost the browser 1-2 CPU-s of a 25 s batch on the 2-core
    VM (Chrome's Performance metrics), time taken from the model being measured. ``textContent`` lays nothing
    out; at most a quarter second late (1 % of a 25 s batch)."""
    page.wait_for_function(f"() => document.body.textContent.includes({text!r})", polling=250,
                           timeout=timeout_s * 1000)


def _run_batch(browser, url: str, folder: Path) -> float:
    page = browser.new_page(viewport={"width": 1400, "height": 1600})
    page.goto(url, wait_until="networkidle")
    page.get_by_text("Drop a photo").wait_for(timeout=300_000)
    page.get_by_role("link", name="Batch").click()
    page.get_by_text("A folder of images").wait_for()
    # a zip is one upload to the files uploader (the Batch page expands it); a folder goes to the folder uploader
    uploader = "input[type=file]" + (":not([webkitdirectory])" if folder.suffix == ".zip" else "[webkitdirectory]")
    page.locator(uploader).set_input_files(str(folder), timeout=600_000)
    button = page.get_by_role("button", name=re.compile(r"Analyse \d+ upload"))
    button.wait_for(timeout=600_000)
    started = time.perf_counter()
    button.click()
    _wait_quietly(page, "Done:", 3_600)
    elapsed = time.perf_counter() - started
    page.close()
    return elapsed


def _scan_pipeline(model_dir: Path, folder: Path) -> float:
    """Seconds for ``scan``'s pipeline (the one the Batch page runs) over ``folder`` with the same model,
    everything loaded first, as the server has it loaded when the button is pressed."""
    from geoloc_core.case.analyzer import Analyzer
    from geoloc_core.evidence.isolation import BESIDE_MODEL_NICENESS, WorkerPool
    from geoloc_core.evidence.sources import collect_sources
    from geoloc_core.model.inference import Predictor
    from geoloc_core.places.loading import shared_offline_geocoder

    predictor = Predictor.from_pretrained(model_dir)
    sources = collect_sources([folder])
    with WorkerPool(niceness=BESIDE_MODEL_NICENESS) as pool:
        analyzer = Analyzer(geocoder=shared_offline_geocoder(), predictor=predictor, worker=pool)
        list(analyzer.analyze_stream(sources[:16]))  # warm: workers started, first batch run
        started = time.perf_counter()
        findings = list(analyzer.analyze_stream(sources))
        seconds = time.perf_counter() - started
    assert sum(f.pred_lat is not None for f in findings) == len(sources), "every image must reach the model"
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--reps", type=int, default=3, help="Batch page / pipeline pairs, run alternately")
    parser.add_argument("--memory", type=int, nargs="*", default=[100, 1000],
                        help="two batch sizes for the server's memory growth (none: skip it)")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    rows = []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        root = Path(tmp)
        torch.manual_seed(0)
        model = GeoLocator(GeoLocatorConfig(vision_config=SIZES["b32"][1], backbone_name_or_path="random ViT-B/32"))
        model.save_pretrained(root / "model")
        clip_image_processor(224).save_pretrained(root / "model")
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        process, url = _server(root / "model", root / "data1")
        try:
            photo = root / "one.jpg"
            photo.write_bytes(image_bytes(size=(1600, 1200), exif=gps_exif(48.8584, 2.2945)))
            page = browser.new_page(viewport={"width": 1400, "height": 1600})
            page.goto(url, wait_until="networkidle")
            page.get_by_text("Drop a photo").wait_for(timeout=300_000)
            times = []
            for attempt in range(3):
                photo.write_bytes(image_bytes(size=(1600, 1200), color=(attempt * 40, 50, 90),
                                              exif=gps_exif(48.8584, 2.2945)))
                started = time.perf_counter()
                page.locator("input[type=file]").first.set_input_files(str(photo))
                page.get_by_text("Metadata checks").wait_for(timeout=120_000)
                page.get_by_text("Verdict:").first.wait_for()
                times.append(time.perf_counter() - started)
                page.reload(wait_until="networkidle")
                page.get_by_text("Drop a photo").wait_for()
            rows.append(("upload -> result card, one 1600x1200 JPEG (s, best of 3)", f"{min(times):.2f}"))
        finally:
            process.terminate()
            process.wait()
        # One server for the batch runs, warmed by a first small batch (parsers started, the model's first
        # batch-16 pass made), as an analyst's server is after its first batch; each run gets its own files, so
        # the case skips none. Page and pipeline alternate, so the VM's drift falls on both.
        folders = [_folder(root, args.batch, shade=90 + rep) for rep in range(args.reps)]
        ratios, page_rates, scan_rates = [], [], []
        process, url = _server(root / "model", root / "data_batch")
        try:
            _run_batch(browser, url, _folder(root, 16, shade=40))
            for folder in folders:
                seconds = _run_batch(browser, url, folder)
                scan_seconds = _scan_pipeline(root / "model", folder)  # the server idles meanwhile
                page_rates.append(args.batch / seconds)
                scan_rates.append(args.batch / scan_seconds)
                ratios.append(scan_seconds / seconds)
        finally:
            process.terminate()
            process.wait()
        rows.append((f"batch of {args.batch} 640x480 JPEGs on the Batch page: images/s (analysis, after upload), "
                     f"median (min-max) of {args.reps}", median_range(page_rates, unit="", digits=2)))
        rows.append((f"same {args.batch} files, `scan`'s pipeline in one process (Analyzer.analyze_stream): images/s",
                     median_range(scan_rates, unit="", digits=2)))
        rows.append(("Batch page / scan pipeline, images/s (target >= 0.90): median; per pair",
                     f"{statistics.median(ratios):.3f}; " + ", ".join(f"{r:.3f}" for r in ratios)))
        for n in args.memory:
            process, url = _server(root / "model", root / f"data_mem{n}")
            try:
                folder = _folder(root, n, shade=200)
                _run_batch(browser, url, _zipped(folder) if n > 900 else folder)
                rows.append((f"server peak RSS after a {n}-image batch (MiB)", f"{_rss_mib(process.pid):,.0f}"))
            finally:
                process.terminate()
                process.wait()
        if len(args.memory) == 2:
            small, large = (float(r[1].replace(",", "")) for r in rows[-2:])
            rows.append((f"growth {args.memory[0]} -> {args.memory[1]} images (target < 10 %)",
                         f"{100 * (large - small) / small:.1f} %"))
        browser.close()
    print_table("App in headless Chromium, ViT-B/32-sized random model", rows)


if __name__ == "__main__":
    main()
