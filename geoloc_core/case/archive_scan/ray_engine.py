"""``scan --engine ray``: the scan's rows made by Ray actors, on one machine or a cluster.

Why actors, not one task per file: an ``Analyzer`` owns what is expensive to start (parser processes that
import their libraries, the offline geocoder's ~0.3 s and ~200 MB, the model's weights), so each actor starts
them once and then takes chunks of files (``chunk_files`` a call) until the list is done. Per file nothing
changes from the local scan: the actor's ``Analyzer`` sends it to an isolated parser process with its
deadline and memory cap, so a hostile file costs its own row (the parser process is killed and restarted),
never the actor, and never a Ray worker's crash loop.

Placement: without a model, actors of ``ACTOR_CPUS`` CPUs, each with that many parser processes (an actor's
own share of a file, places and checks, is about a fifth of its parser's, so one actor keeps several parsers
busy, and the geocoder is loaded once per actor, not once per core: about 0.3 s and 110 MiB each). With a
model, one actor per GPU (``num_gpus=1``: Ray gives it its own device, the Predictor runs there in fp16) with
the machine's CPUs per GPU as its parser processes; on a cluster without GPUs, actors of ``ACTOR_CPUS`` CPUs
with the model on the CPU beside their parsers (at the lowest priority, as the local scan runs them).

The driver (this process) lists the inputs, skips what the output folder already holds, keeps
``QUEUED_PER_ACTOR`` chunks queued at each actor (so an actor starts its next chunk the moment it returns one),
and writes each chunk's rows as one Parquet shard the moment it comes back (``shards.py``): it is the one
writer, so shards never collide, and a killed driver leaves only whole shards.
"""
from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from .inputs import ArchiveItem, source_for
from .shards import OutputFolder

LOOPBACK_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}  # Ray's switch for a single-node cluster on 127.0.0.1
ACTOR_CPUS = 4
QUEUED_PER_ACTOR = 2
DEFAULT_CHUNK_FILES = 64


@dataclass
class ArchiveScanSettings:
    output_dir: Path
    ray_address: str | None = None  # None: a local Ray started for this run (loopback only), stopped after
    workers: int | None = None  # the local Ray's CPUs (default: this machine's); a cluster brings its own
    timeout_s: float = 20.0
    metadata_only: bool = False
    models: list[str] = field(default_factory=list)
    batch_size: int = 16
    allow_model_download: bool = False
    include_serials: bool = False
    chunk_files: int = DEFAULT_CHUNK_FILES
    progress: bool = True


class ArchiveScanError(RuntimeError):
    """The scan could not run (an actor could not start: a model that does not load, a node lost for good);
    the message says why. Whole shards already written stay, and a rerun resumes from them."""


@dataclass
class ArchiveScanResult:
    listed: int  # files the inputs name
    skipped: int  # already in the output folder (same path, size and mtime)
    scanned: int  # rows written by this run
    errors: int  # of those, rows with status "error"
    shards: list[Path]  # written by this run


class ScanActor:
    """One Analyzer in a Ray actor: its parser processes, the geocoder and the model, started once."""

    def __init__(self, settings: dict):
        from ...evidence.isolation import BESIDE_MODEL_NICENESS, WorkerPool
        from ...places.loading import offline_geocoder_in_background
        from ..analyzer import Analyzer

        models = settings["models"]
        self.pool = WorkerPool(size=settings["parsers"], timeout_s=settings["timeout_s"],
                               niceness=BESIDE_MODEL_NICENESS if models else 0)
        self.pool.start()
        geocoder = offline_geocoder_in_background()
        predictor = second = None
        if models:
            from ...model.inference import load_witnesses

            witnesses = load_witnesses(models, batch_size=settings["batch_size"],
                                       allow_download=settings["allow_model_download"])
            predictor, second = witnesses[0], (witnesses[1] if len(witnesses) > 1 else None)
        self.analyzer = Analyzer(geocoder=geocoder, predictor=predictor, second_predictor=second,
                                 batch_size=settings["batch_size"], worker=self.pool,
                                 metadata_only=settings["metadata_only"])
        self.include_serials = settings["include_serials"]

    def scan(self, items: Sequence[ArchiveItem]) -> list:
        """(item, finding) per item, in order; never raises for a file (the Analyzer confines failures)."""
        from ..exports.export import without_serials

        findings = list(self.analyzer.analyze_stream([source_for(item) for item in items]))
        if not self.include_serials:
            findings = without_serials(findings)
        return list(zip(items, findings))


def run_archive_scan(items: Sequence[ArchiveItem], settings: ArchiveScanSettings,
                     say: Callable[[str], None] | None = None) -> ArchiveScanResult:
    """Scan ``items`` into ``settings.output_dir``, skipping what is already there."""
    say = say or (lambda line: print(line, file=sys.stderr, flush=True))
    with OutputFolder(settings.output_dir) as output:
        done = output.done_keys()
        todo = [item for item in items if item.key not in done]
        skipped = len(items) - len(todo)
        say(f"{len(items):,} files listed; {skipped:,} already in {settings.output_dir}; {len(todo):,} to scan")
        if not todo:
            return ArchiveScanResult(len(items), skipped, 0, 0, [])
        started_ray = _connect(settings)
        try:
            return _scan(todo, settings, output, len(items), skipped, say)
        finally:
            if started_ray:
                import ray

                ray.shutdown()


def _connect(settings: ArchiveScanSettings) -> bool:
    """Join the cluster at ``ray_address``, use the Ray this process already runs, or start a local one
    (loopback only, no dashboard). True when this call started it (and the run stops it)."""
    if settings.ray_address is None:
        for name, value in LOOPBACK_ENV.items():  # read by Ray at import: set before it
            os.environ.setdefault(name, value)
    root = str(Path(__file__).resolve().parents[3])
    if root not in os.environ.get("PYTHONPATH", "").split(os.pathsep):  # Ray's workers import geoloc_core
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    import ray

    if ray.is_initialized():
        return False
    if settings.ray_address:
        ray.init(address=settings.ray_address, log_to_driver=False)
        return True
    ray.init(num_cpus=settings.workers or os.cpu_count() or 1, include_dashboard=False, log_to_driver=False)
    return True


def _actor_plan(settings: ArchiveScanSettings) -> tuple[int, dict, dict]:
    """(actor count, Ray options per actor, the actor's settings) for the cluster as it is now."""
    import ray

    resources = ray.cluster_resources()
    cpus, gpus = int(resources.get("CPU", 1)), int(resources.get("GPU", 0))
    actor_settings = {"models": list(settings.models), "timeout_s": settings.timeout_s,
                      "batch_size": settings.batch_size, "allow_model_download": settings.allow_model_download,
                      "metadata_only": settings.metadata_only, "include_serials": settings.include_serials}
    if settings.models and gpus:
        per_gpu = max(1, cpus // gpus)
        return gpus, {"num_gpus": 1, "num_cpus": per_gpu}, {**actor_settings, "parsers": per_gpu}
    per_actor = min(cpus, ACTOR_CPUS)
    return max(1, cpus // per_actor), {"num_cpus": per_actor}, {**actor_settings, "parsers": per_actor}


def _scan(todo: list[ArchiveItem], settings: ArchiveScanSettings, output: OutputFolder, listed: int, skipped: int,
          say: Callable[[str], None]) -> ArchiveScanResult:
    import ray

    count, options, actor_settings = _actor_plan(settings)
    # a restarted actor (its node lost, or killed for memory) takes its chunk again; files are never lost
    actor_class = ray.remote(ScanActor).options(max_restarts=3, max_task_retries=3, **options)
    actors = [actor_class.remote(actor_settings) for _ in range(count)]
    say(f"{count} Ray actor(s): {options}")
    size = max(1, settings.chunk_files)
    chunks = [todo[i:i + size] for i in range(0, len(todo), size)]
    progress = _Progress(len(todo), settings.progress, say)
    scanned = errors = 0
    shards: list[Path] = []
    pending = iter(chunks)
    in_flight: dict = {}  # ObjectRef -> the actor computing it

    def submit(actor) -> None:
        chunk = next(pending, None)
        if chunk is not None:
            in_flight[actor.scan.remote(chunk)] = actor

    from ray.exceptions import RayActorError, RayTaskError

    try:
        for _ in range(QUEUED_PER_ACTOR):
            for actor in actors:
                submit(actor)
        while in_flight:
            ready, _ = ray.wait(list(in_flight), num_returns=1)
            actor = in_flight.pop(ready[0])
            submit(actor)  # queued behind the actor's other chunk: it never waits for the driver
            pairs = ray.get(ready[0])
            shards.append(output.write(pairs))
            scanned += len(pairs)
            errors += sum(f.status == "error" for _, f in pairs)
            progress.update(len(pairs))
    except (RayActorError, RayTaskError) as exc:  # the actor's own error (e.g. ModelLoadError), said plainly
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        raise ArchiveScanError(f"a Ray actor failed: {(lines[-1] if lines else type(exc).__name__)[:300]}") from None
    finally:
        progress.close()
        for actor in actors:
            ray.kill(actor)
    return ArchiveScanResult(listed, skipped, scanned, errors, shards)


class _Progress:
    """Files done, on stderr: tqdm's bar on a terminal; elsewhere (a log of a long cluster run) a line at most
    every ``LINE_EVERY_S`` seconds; nothing with --no-progress."""

    LINE_EVERY_S = 10.0

    def __init__(self, total: int, shown: bool, say: Callable[[str], None]):
        self._bar, self._say, self._total, self._done = None, say, total, 0
        self._shown = shown
        self._last = time.monotonic()
        if shown and sys.stderr.isatty():
            from tqdm import tqdm

            self._bar = tqdm(total=total, unit="file", file=sys.stderr)

    def update(self, n: int) -> None:
        self._done += n
        if self._bar is not None:
            self._bar.update(n)
        elif self._shown and (time.monotonic() - self._last >= self.LINE_EVERY_S or self._done == self._total):
            self._last = time.monotonic()
            self._say(f"{self._done:,} / {self._total:,} files scanned")

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
