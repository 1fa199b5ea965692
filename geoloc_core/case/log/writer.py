"""Saving a batch's findings beside the analysis: each finding is committed on a writer thread.

Why: the Batch page committed every finding on the thread that also drives the analysis and
redraws the page, 3-11 ms each (a connection, its pragmas and a transaction; measured in the page,
issue #18), and nothing else of the page moved meanwhile. On its own thread the commit overlaps the
next files' analysis (SQLite releases the GIL while it works). Nothing about durability changes:
each finding still gets its own transaction, in order, and ``saved`` counts only committed ones,
so a page that shows ``saved`` as done has lost nothing it showed when the server is killed.
"""
from __future__ import annotations

import queue
import threading

from .caselog import CaseLog
from ..findings import Finding

_DONE = object()


class CaseLogWriter:
    """Commits findings to one case in the order given, on its own thread. ``put`` and ``close``
    raise the first write error (the batch stops there, as it did when it wrote on its own thread)."""

    def __init__(self, log: CaseLog, case_id: int, keep_serials: bool = False):
        self.log, self.case_id, self.keep_serials = log, case_id, keep_serials
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._saved = 0
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._write, name="geoloc-caselog-writer", daemon=True)
        self._thread.start()

    @property
    def saved(self) -> int:
        """Findings committed so far."""
        return self._saved

    def put(self, finding: Finding) -> None:
        self._raise_error()
        self._queue.put(finding)

    def close(self) -> None:
        """Wait until every finding put so far is committed."""
        if self._thread.is_alive():
            self._queue.put(_DONE)
            self._thread.join()
        self._raise_error()

    def __enter__(self) -> "CaseLogWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error

    def _write(self) -> None:
        while (finding := self._queue.get()) is not _DONE:
            if self._error is not None:
                continue  # after a failed write nothing more is written: the order of the case stays whole
            try:
                self.log.add(self.case_id, finding, keep_serials=self.keep_serials)
                self._saved += 1
            except BaseException as exc:  # handed to the page's thread by put/close
                self._error = exc
