"""A team server (#36): 10 analysts' sessions analysing at once on the one shared model, against 1 session alone,
in the same run. Each session is a thread, as Streamlit runs each browser session's script; each analyses its own
photos one by one as the Verify page does (``ui.views.analyzer_for`` -> ``Analyzer.analyze`` -> the signed-in
analyst's ``ScopedCaseLog.add``), on the objects the app shares through ``st.cache_resource``: the model
(``ui.resources.predictor``), the geocoder, the parser workers and the case log.

Printed: throughput per session and in total (photos/s) for 1 and 10 sessions, median and range of the repeats;
the proof of one model copy (how many distinct predictor objects the sessions got, and the process's resident
memory with 1 and with 10 sessions against the model's own bytes); and that the case log lost nothing (every
finding of every session saved, integrity "ok").

Run alone (it measures the machine): python -m benchmarks.bench_team [--sessions 10] [--photos 6] [--reps 3]
[--size b32|tiny]
"""
from __future__ import annotations

import argparse
import io
import logging
import statistics
import tempfile
import threading
import time
from pathlib import Path

import piexif
from PIL import Image

from benchmarks.machine import median_range, print_table

SIZES = {  # random weights, sized like the real backbones: the same compute and memory, no download
    "b32": dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12, image_size=224,
                patch_size=32),
    "tiny": dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, image_size=64,
                 patch_size=8),
}


def rss_mib() -> float:
    with open("/proc/self/status", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def save_model(folder: Path, size: str) -> tuple[Path, int]:
    """A GeoLocator folder with a random backbone of ``size``: (the folder, the model's parameter bytes)."""
    import torch

    from geoloc_core.model.configuration_geolocator import GeoLocatorConfig
    from geoloc_core.model.modeling_geolocator import GeoLocator
    from geoloc_core.model.preprocessing import clip_image_processor

    torch.manual_seed(0)
    model = GeoLocator(GeoLocatorConfig(vision_config=SIZES[size], backbone_name_or_path=f"random {size}"))
    model.save_pretrained(folder)
    clip_image_processor(SIZES[size]["image_size"]).save_pretrained(folder)
    return folder, sum(p.numel() * p.element_size() for p in model.parameters())


_BASE: list[Image.Image] = []


def photo(seed: int) -> bytes:
    """A phone-size JPEG with GPS EXIF (what an analyst drops on the Verify page), different bytes for every seed:
    no session meets a file another has already analysed (nothing cached by content helps it)."""
    if not _BASE:
        _BASE.append(Image.effect_noise((1600, 1200), 60).convert("RGB"))
    image = _BASE[0].copy()
    image.paste((seed * 37 % 256, seed * 91 % 256, seed * 13 % 256), (seed % 1500, seed // 1500 % 1100,
                                                                     seed % 1500 + 100, seed // 1500 % 1100 + 100))
    out = io.BytesIO()
    gps = {piexif.GPSIFD.GPSLatitudeRef: b"N", piexif.GPSIFD.GPSLatitude: ((48, 1), (51, 1), (seed % 60, 1)),
           piexif.GPSIFD.GPSLongitudeRef: b"E", piexif.GPSIFD.GPSLongitude: ((2, 1), (17, 1), (seed % 60, 1))}
    image.save(out, "JPEG", quality=85, exif=piexif.dump({"GPS": gps}))
    return out.getvalue()


_SEEDS = iter(range(10**9))


def run_sessions(count: int, per_session: int, model_path: str, log_path: Path, rep: int) -> dict:
    """``count`` sessions at once, each analysing and saving ``per_session`` photos of its own: per-session and
    total photos/s, the distinct predictor objects the sessions were given, and the findings saved."""
    photos_of = [[photo(next(_SEEDS)) for _ in range(per_session)] for _ in range(count)]
    from geoloc_core.case.analysis_settings import AnalysisSettings
    from geoloc_core.case.log.access import Member, ScopedCaseLog
    from geoloc_core.evidence.sources import FileSource
    from ui import resources
    from ui.views import analyzer_for

    start, lock = threading.Barrier(count + 1), threading.Lock()
    seconds, predictors, saved, errors = [], set(), [], []

    def session(number: int) -> None:
        member = Member(f"analyst{number}@example.org", f"Analyst {number}")
        log = ScopedCaseLog(resources.case_log(str(log_path)), member)
        case = log.ensure_case(f"run {rep} x{count} session {number}")
        analyzer = analyzer_for(AnalysisSettings(model_path=model_path))
        with lock:
            predictors.add(id(analyzer.predictor))
        start.wait()
        began = time.perf_counter()
        try:
            for i, data in enumerate(photos_of[number]):
                log.add(case, analyzer.analyze(FileSource(f"s{number}-{i}.jpg", data=data)))
        except Exception as exc:  # noqa: BLE001 (reported in the table)
            errors.append(f"{type(exc).__name__}: {exc}")
        with lock:
            seconds.append(time.perf_counter() - began)
            saved.append(len(log.findings(case)))

    threads = [threading.Thread(target=session, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    return {"per_session": [per_session / s for s in seconds], "total": count * per_session / wall,
            "predictors": predictors, "saved": sum(saved), "expected": count * per_session, "errors": errors,
            "rss": rss_mib()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--photos", type=int, default=6, help="photos each session analyses")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--size", choices=list(SIZES), default="b32")
    args = parser.parse_args()
    import streamlit.logger

    streamlit.logger.get_logger("streamlit").setLevel(logging.ERROR)  # st.cache_resource outside a server says so
    from ui import resources

    with tempfile.TemporaryDirectory() as tmp:
        folder, model_bytes = save_model(Path(tmp) / "model", args.size)
        log_path = Path(tmp) / "caselog.sqlite3"
        before_model = rss_mib()
        resources.predictor(str(folder))
        resources.offline_geocoder()
        run_sessions(1, 2, str(folder), log_path, -1)  # warm-up: workers, first forward pass
        results = {1: [], args.sessions: []}
        for rep in range(args.reps):
            for count in (1, args.sessions):  # alternately, so drift hits both alike
                results[count].append(run_sessions(count, args.photos, str(folder), log_path, rep))
        log = resources.case_log(str(log_path))
        integrity = log.integrity_check()
    one, many = results[1], results[args.sessions]
    rows = [
        ("model", f"random-weight {args.size}, {model_bytes / 2**20:,.0f} MiB of parameters"),
        ("photos per session", f"{args.photos} (1600x1200 JPEG with GPS EXIF), analysed one by one and saved"),
        ("1 session: photos/s", median_range([r["total"] for r in one], unit="", digits=2)),
        (f"{args.sessions} sessions: photos/s per session",
         median_range([statistics.median(r["per_session"]) for r in many], unit="", digits=2)
         + f" (slowest {min(min(r['per_session']) for r in many):.2f})"),
        (f"{args.sessions} sessions: photos/s in total", median_range([r["total"] for r in many], unit="", digits=2)),
        (f"total, {args.sessions} sessions / 1 session",
         f"{statistics.median(r['total'] for r in many) / statistics.median(r['total'] for r in one):.2f}x"),
        ("distinct predictor objects across all sessions",
         f"{len(set().union(*(r['predictors'] for r in one + many)))} (one shared copy)"),
        ("resident memory: before the model / 1 session / " + f"{args.sessions} sessions (MiB)",
         f"{before_model:,.0f} / {statistics.median(r['rss'] for r in one):,.0f} / "
         f"{statistics.median(r['rss'] for r in many):,.0f} (a second copy would add {model_bytes / 2**20:,.0f})"),
        ("case log: findings saved / expected",
         f"{sum(r['saved'] for r in one + many)} / {sum(r['expected'] for r in one + many)}; integrity {integrity}; "
         f"errors {sum(len(r['errors']) for r in one + many)}"),
    ]
    print_table(f"Team server: {args.sessions} concurrent sessions vs 1 (reps {args.reps})", rows)
    for error in {e for r in one + many for e in r["errors"]}:
        print("error:", error)


if __name__ == "__main__":
    main()
