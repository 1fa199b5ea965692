"""Run parsers of untrusted files in a separate process with a time bound.

Why a process and not a thread: exifread and image decoders have hung on crafted
IFD loops and run away in memory on crafted MakerNotes; a Python thread can be
neither interrupted nor memory-capped, a process can be killed. One long-lived
worker is reused, so the per-file cost is one pipe round trip, not a process
start. On a timeout or crash the worker is killed and a fresh one starts lazily;
only the file that caused it is reported, the batch goes on.
"""
from __future__ import annotations

import multiprocessing as mp
import threading
from dataclasses import dataclass
from typing import Any, Callable

DEFAULT_TIMEOUT_S = 20.0
WORKER_MEMORY_LIMIT_BYTES = 4 * 1024**3


class IsolatedCallError(RuntimeError):
    """The isolated call timed out, crashed or ran out of memory."""


@dataclass
class _Result:
    ok: bool
    value: Any = None
    error: str = ""


def _worker_main(conn, memory_limit: int | None) -> None:  # runs in the child
    if memory_limit:
        try:
            import resource

            resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
        except (ImportError, ValueError, OSError):
            pass
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        fn, args = message
        try:
            conn.send(_Result(True, fn(*args)))
        except MemoryError:
            conn.send(_Result(False, error="ran out of memory while parsing (hostile or huge metadata?)"))
        except Exception as exc:  # report, keep serving
            conn.send(_Result(False, error=f"{type(exc).__name__}: {str(exc)[:200]}"))


class IsolatedWorker:
    """A reusable child process that runs picklable functions with a deadline. Thread-safe."""

    def __init__(self, timeout_s: float = DEFAULT_TIMEOUT_S, memory_limit: int | None = WORKER_MEMORY_LIMIT_BYTES):
        self.timeout_s = timeout_s
        self.memory_limit = memory_limit
        self._context = mp.get_context("spawn")  # no fork: the parent may hold torch/Streamlit threads
        self._lock = threading.Lock()
        self._process = None
        self._conn = None

    def _start(self) -> None:
        parent, child = self._context.Pipe()
        self._process = self._context.Process(target=_worker_main, args=(child, self.memory_limit), daemon=True)
        self._process.start()
        child.close()
        self._conn = parent

    def _kill(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.join(timeout=5)
        if self._conn is not None:
            self._conn.close()
        self._process = self._conn = None

    def call(self, fn: Callable[..., Any], *args: Any, timeout_s: float | None = None) -> Any:
        """Run ``fn(*args)`` in the worker; raise IsolatedCallError on timeout, crash or error."""
        deadline = self.timeout_s if timeout_s is None else timeout_s
        with self._lock:
            if self._process is None or not self._process.is_alive():
                self._start()
            try:
                self._conn.send((fn, args))
                if not self._conn.poll(deadline):
                    self._kill()
                    raise IsolatedCallError(f"gave up after {deadline:g} s (the parser hung on this file)")
                result: _Result = self._conn.recv()
            except (EOFError, OSError, BrokenPipeError) as exc:
                self._kill()
                raise IsolatedCallError(f"the parser process died on this file ({type(exc).__name__})") from None
        if not result.ok:
            raise IsolatedCallError(result.error)
        return result.value

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                try:
                    self._conn.send(None)
                except (OSError, BrokenPipeError):
                    pass
            self._kill()

    def __enter__(self) -> "IsolatedWorker":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
