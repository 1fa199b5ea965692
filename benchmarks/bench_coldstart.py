"""Cold start: seconds from starting the server (what `make run` runs) to the Verify page's uploader being
visible in a browser, and what the navigation showed meanwhile (issue #32).

Run: python -m benchmarks.bench_coldstart [--runs 5] [--model PATH] [--path /batch] [--root DIR --root DIR2]

Each run starts a new server process, `python -m ui.serve --server.port P` (the command `make run` runs),
with a fresh data folder and no model unless ``--model`` names one; Chromium is started once, before the
first server, so its own start is not counted. The page is requested as soon as the server accepts a
connection and reloaded until it answers. Printed per run and as median (range): the server's health
endpoint answering, the uploader visible, and the navigation labels seen in the sidebar before that
(raw file names such as "app" or "batch" mean Streamlit's automatic `pages/` navigation was on show).
With two ``--root`` folders (this checkout and, say, an older commit unpacked with
``git archive COMMIT | tar -x -C DIR``) the runs alternate between them, so both see the same load on a shared
machine. Needs Debian's chromium (make test installs it).
"""
from __future__ import annotations

import argparse
import os
import shlex
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from benchmarks.machine import median_range, print_table

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("GEOLOC_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync"]
UPLOADER = '[data-testid="stFileUploader"]'
# each link's words without its icon's ligature name ("image_search")
NAV_LABELS = """() => [...document.querySelectorAll('[data-testid="stSidebarNav"] a')].map(a => {
    const label = a.cloneNode(true);
    label.querySelectorAll('[data-testid="stIconMaterial"]').forEach(icon => icon.remove());
    return label.textContent.trim();
}).filter(Boolean)"""
START_LIMIT_S = 300


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        return urllib.request.urlopen(url + "/_stcore/health", timeout=1).read() == b"ok"
    except OSError:
        return False


def one_cold_start(browser, root: Path, model: str | None, path: str) -> dict:
    """Start a server, open ``path`` as soon as it answers, and time the uploader's appearance."""
    port = _port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as data:
        env = {**os.environ, "GEOLOC_DATA_DIR": data}
        env.pop("GEOLOC_MODEL", None)
        if model:
            env["GEOLOC_MODEL"] = model
        command = [sys.executable, "-m", "ui.serve", "--server.port", str(port)]
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        started = time.perf_counter()
        server = subprocess.Popen(command, cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        healthy_s, labels = None, set()
        try:
            while healthy_s is None:
                if time.perf_counter() - started > START_LIMIT_S or server.poll() is not None:
                    raise RuntimeError("the server did not start")
                if _healthy(url):
                    healthy_s = time.perf_counter() - started
                else:
                    time.sleep(0.05)
            page.goto(url + path, wait_until="commit")
            uploader = page.locator(UPLOADER).first
            while not uploader.is_visible():
                if time.perf_counter() - started > START_LIMIT_S:
                    raise RuntimeError("the uploader never appeared")
                labels.update(page.evaluate(NAV_LABELS))
                page.wait_for_timeout(50)
            usable_s = time.perf_counter() - started
            labels.update(page.evaluate(NAV_LABELS))
        finally:
            page.close()
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
    return {"healthy_s": healthy_s, "usable_s": usable_s, "labels": sorted(labels), "command": shlex.join(command)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="cold starts, each a new server process")
    parser.add_argument("--model", default=None, help="GEOLOC_MODEL for the server (default: none)")
    parser.add_argument("--path", default="/", help="the page opened first (/ is Verify)")
    parser.add_argument("--root", action="append", type=Path, default=None,
                        help="the app folder to start (default: this checkout); twice: alternate between two")
    args = parser.parse_args()
    roots = args.root or [ROOT]
    from playwright.sync_api import sync_playwright

    runs: dict[Path, list[dict]] = {root: [] for root in roots}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            for i in range(args.runs):
                for root in roots:
                    run = one_cold_start(browser, root, args.model, args.path)
                    runs[root].append(run)
                    print(f"run {i + 1} {root}: health {run['healthy_s']:.2f} s, uploader visible "
                          f"{run['usable_s']:.2f} s, navigation seen: {', '.join(run['labels']) or 'none'}", flush=True)
        finally:
            browser.close()
    raw = {"app", "batch", "cases", "model", "shadows", "verify"}
    rows = [("command", f"`{runs[roots[0]][0]['command']}` (port varies), then Chromium opens {args.path}"),
            ("model", args.model or "none (GEOLOC_MODEL unset)"), ("runs per folder", str(args.runs))]
    for root in roots:
        done = runs[root]
        rows += [(f"{root}: server start to /_stcore/health", median_range([r["healthy_s"] for r in done], unit="s",
                                                                             digits=2)),
                 (f"{root}: server start to uploader visible", median_range([r["usable_s"] for r in done], unit="s",
                                                                              digits=2)),
                 (f"{root}: runs that showed raw page file names",
                  f"{sum(bool(raw & set(r['labels'])) for r in done)} / {len(done)}")]
    print_table("Cold start: server start to a usable page", rows)


if __name__ == "__main__":
    main()
