"""Run parsers of untrusted files in a separate process with a time bound.

Why a process and not a thread: exifread and image decoders have hung on crafted
IFD loops and run away in memory on crafted MakerNotes; a Python thread can be
neither interrupted nor memory-capped, a process can be killed. One long-lived
worker is reused, so the per-file cost is one pipe round trip, not a process
start. On a timeout or crash the worker is killed and a fresh one starts lazily;
only the file that caused it is reported, the batch goes on.

``WorkerPool`` holds several such workers (one per core by default) so a folder is
inspected in parallel; each call still gets its own deadline and each worker its own
memory cap, and a crash or hang kills only the worker that served that file.

The worker is a plain ``python -m geoloc_core.evidence.isolation`` child talking over two
pipes (not ``multiprocessing.Process``), because spawn-style multiprocessing
re-imports the parent's main script, which under Streamlit is the app itself.
"""
from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, Callable

DEFAULT_TIMEOUT_S = 20.0
STARTUP_TIMEOUT_S = 120.0  # a fresh worker's interpreter start and parser imports (slow on a loaded machine)
_READY = "ready"
WORKER_MEMORY_LIMIT_BYTES = 4 * 1024**3
# Beside a model on the CPU, parsers run at the lowest priority: the backbone's threads use every core,
# and a parser preempting one of them stalls the whole matrix product (the others wait for it), so a
# CPU scan ran 1.2-1.5x the bare backbone; at niceness 19 parsers take the cores the model leaves
# (between batches, Python glue). They still get ~1.4 % of a busy core, so deadlines hold (issue #18).
BESIDE_MODEL_NICENESS = 19
# What a fresh worker imports before it says "ready". The pixel checks' figures (#37, OpenCV) cost a parser
# 0.2 CPU-s and 25 MiB at start: a scan without --pixel-forensics leaves them out (PARSERS_ONLY), which on a
# 200-file metadata-only scan was two parsers x 0.2 s of a 2-core machine's start-up (#35). A module left out
# still loads on the first call that needs it.
PARSERS_ONLY = ("geoloc_core.evidence.inspection",)
WITH_PIXEL_FIGURES = PARSERS_ONLY + ("geoloc_core.evidence.pixel_forensics.figures",)


class IsolatedCallError(RuntimeError):
    """The isolated call timed out, crashed or ran out of memory."""


@dataclass
class _Result:
    ok: bool
    value: Any = None
    error: str = ""


def _serve(incoming: Connection, outgoing: Connection, memory_limit: int) -> None:  # runs in the child
    outgoing.send(_Result(True, _READY))  # started and parsers imported: deadlines count from here
    if memory_limit:
        try:
            import resource

            resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
        except (ImportError, ValueError, OSError):
            pass
    while True:
        try:
            message = incoming.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        fn, args = message
        try:
            outgoing.send(_Result(True, fn(*args)))
        except MemoryError:
            outgoing.send(_Result(False, error="ran out of memory while parsing (hostile or huge metadata?)"))
        except Exception as exc:  # report, keep serving
            outgoing.send(_Result(False, error=f"{type(exc).__name__}: {str(exc)[:200]}"))


class IsolatedWorker:
    """A reusable child process that runs picklable functions with a deadline. Thread-safe
    (calls from several threads queue up: ``size`` is 1)."""

    size = 1

    def __init__(self, timeout_s: float = DEFAULT_TIMEOUT_S, memory_limit: int | None = WORKER_MEMORY_LIMIT_BYTES,
                 niceness: int = 0, preload: tuple[str, ...] = WITH_PIXEL_FIGURES):
        self.timeout_s = timeout_s
        self.preload = tuple(preload)
        self.memory_limit = memory_limit or 0
        self.niceness = niceness
        self._lock = threading.Lock()
        self._process: subprocess.Popen | None = None
        self._starting = False
        self._to_child: Connection | None = None
        self._from_child: Connection | None = None

    def _start(self) -> None:
        child_read, parent_write = os.pipe()
        parent_read, child_write = os.pipe()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [_project_root(), os.environ.get("PYTHONPATH")]))}
        self._process = subprocess.Popen(
            [sys.executable, "-m", "geoloc_core.evidence.isolation", str(child_read), str(child_write), str(self.memory_limit),
             str(self.niceness), ",".join(self.preload)],
            pass_fds=(child_read, child_write), stdin=subprocess.DEVNULL, env=env)
        os.close(child_read)
        os.close(child_write)
        self._to_child = Connection(parent_write, readable=False)
        self._from_child = Connection(parent_read, writable=False)
        self._starting = True  # the child's "ready" is read before the first call's deadline starts

    def _wait_until_ready(self) -> None:
        if not self._starting:
            return
        if not self._from_child.poll(STARTUP_TIMEOUT_S):
            self._kill()
            raise IsolatedCallError(f"the parser process did not start within {STARTUP_TIMEOUT_S:g} s")
        self._from_child.recv()
        self._starting = False

    def _ensure_running(self) -> None:
        """A live process, started (or restarted after a crash or kill) when there is none. Under the lock."""
        if self._process is None or self._process.poll() is not None:
            if self._process is not None:
                self._kill()
            self._start()

    def start(self) -> None:
        """Start the process now rather than on the first call (its start then overlaps other work)."""
        with self._lock:
            self._ensure_running()

    def _kill(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait(timeout=10)
        for connection in (self._to_child, self._from_child):
            if connection is not None:
                connection.close()
        self._process = self._to_child = self._from_child = None

    def call(self, fn: Callable[..., Any], *args: Any, timeout_s: float | None = None) -> Any:
        """Run ``fn(*args)`` in the worker; raise IsolatedCallError on timeout, crash or error."""
        deadline = self.timeout_s if timeout_s is None else timeout_s
        with self._lock:
            self._ensure_running()
            try:
                self._wait_until_ready()
                self._to_child.send((fn, args))
                if not self._from_child.poll(deadline):
                    self._kill()
                    raise IsolatedCallError(f"gave up after {deadline:g} s (the parser hung on this file)")
                result: _Result = self._from_child.recv()
            except (EOFError, OSError, BrokenPipeError) as exc:
                self._kill()
                raise IsolatedCallError(f"the parser process died on this file ({type(exc).__name__})") from None
        if not result.ok:
            raise IsolatedCallError(result.error)
        return result.value

    def close(self) -> None:
        with self._lock:
            if self._to_child is not None:
                try:
                    self._to_child.send(None)
                except (OSError, BrokenPipeError):
                    pass
            self._kill()

    def __enter__(self) -> "IsolatedWorker":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:  # best effort: never leave a child behind
        try:
            if self._process is not None:
                self._process.kill()
        except Exception:
            pass


def available_cores() -> int:
    """Cores this process may run on (the affinity mask, not the machine's total)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def default_pool_size(memory_limit: int | None = WORKER_MEMORY_LIMIT_BYTES) -> int:
    """One worker per core, as many as the machine's memory holds at each worker's limit.

    Why not a fixed cap: a fixed 8 bounded the memory on big machines, but beside a GPU the workers are
    what feeds the model (ViT-L/14 on an H200 with 16 cores: 352 images/s with 8 workers, 433 with
    12, #18), and a big machine has the memory for them; the bound that matters is that the workers at
    their limits fit in RAM."""
    cores = available_cores()
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return min(cores, 8)
    fits = memory // memory_limit if memory_limit else cores
    return max(1, min(cores, fits))


class WorkerPool:
    """``size`` isolated workers behind the same ``call`` as one ``IsolatedWorker``. Thread-safe:
    a call takes whichever worker is free (waiting for one if none is), so ``size`` threads calling
    at once keep every worker busy. Callers that need input order keep it themselves (the
    Analyzer submits files in order and collects the futures in order).

    Workers start lazily, on their first call, so a pool costs nothing until it is used.

    ``active``: how many workers serve from the start; the rest wait for ``grow()``. A worker's start costs
    about 0.1 CPU-s, and a small metadata-only scan is done by one parser before the scan process has loaded
    its geocoder: on 2 cores a second parser only took CPU from that load (#35, ``case/scan_mode.py``)."""

    def __init__(self, size: int | None = None, timeout_s: float = DEFAULT_TIMEOUT_S,
                 memory_limit: int | None = WORKER_MEMORY_LIMIT_BYTES, niceness: int = 0,
                 preload: tuple[str, ...] = WITH_PIXEL_FIGURES, active: int | None = None):
        self.size = max(1, size if size else default_pool_size(memory_limit))
        self.timeout_s = timeout_s
        self._workers = [IsolatedWorker(timeout_s=timeout_s, memory_limit=memory_limit, niceness=niceness,
                                        preload=preload) for _ in range(self.size)]
        first = self.size if active is None else max(1, min(active, self.size))
        self._held = self._workers[first:]
        self._free: queue.SimpleQueue[IsolatedWorker] = queue.SimpleQueue()
        for worker in self._workers[:first]:
            self._free.put(worker)

    def grow(self) -> None:
        """Let the workers held back by ``active`` serve too, started now."""
        held, self._held = self._held, []
        for worker in held:
            worker.start()
            self._free.put(worker)

    def call(self, fn: Callable[..., Any], *args: Any, timeout_s: float | None = None) -> Any:
        """Run ``fn(*args)`` in a free worker; raise IsolatedCallError on timeout, crash or error."""
        worker = self._free.get()
        try:
            return worker.call(fn, *args, timeout_s=timeout_s)
        finally:
            self._free.put(worker)

    def start(self) -> None:
        """Start every serving worker process now (they load their parsers meanwhile)."""
        for worker in self._workers:
            if worker not in self._held:
                worker.start()

    def close(self) -> None:
        for worker in self._workers:
            worker.close()

    def __enter__(self) -> "WorkerPool":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _project_root() -> str:
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


if __name__ == "__main__":
    # Import ourselves by name so pickled results refer to geoloc_core.evidence.isolation, not __main__.
    from geoloc_core.evidence.isolation import _serve as serve

    read_fd, write_fd, limit, niceness = (int(a) for a in sys.argv[1:5])
    sys.stdout = sys.stderr  # the pipes are the only channel back
    if niceness > 0:
        try:
            os.nice(niceness)
        except OSError:  # not allowed here: run at normal priority
            pass
    import importlib

    for name in sys.argv[5].split(",") if len(sys.argv) > 5 else WITH_PIXEL_FIGURES:
        if not name.startswith("geoloc_core."):  # only our own modules, whatever the command line says
            continue
        try:  # load the parsers before the first file arrives, so its deadline does not pay for imports
            importlib.import_module(name)
        except Exception:  # never fatal here: a call that needs it reports the error itself
            pass
    serve(Connection(read_fd, writable=False), Connection(write_fd, readable=False), limit)
