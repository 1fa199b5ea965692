"""When a long run's repeated screen updates are due: at most once per interval.

Why: every ``st.progress`` or ``st.dataframe`` call during a batch is a message the browser must
render, and on a small machine the browser shares the cores with the model, whose two threads lose
more than the browser takes (a thread the browser preempts holds up its partner at every matrix
product). Measured on the 2-core VM (issue #18, Chrome's Performance metrics over a 200-file batch):
one update per file (200 progress bars, the whole table every 10 files) cost the page's JavaScript
1.9 s, progress every 0.5 s and the table every 3 s 1.3-1.5 s, no updates at all 0.5 s. One progress
line a second and a table every few seconds read the same to an analyst.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

PROGRESS_INTERVAL_S = 1.0  # the progress bar and its "n / total, ETA" line
TABLE_INTERVAL_S = 3.0  # the preview table of findings so far (re-sent whole each time)


@dataclass
class Pacer:
    """``due()`` is True on its first call and then at most once per ``interval_s``."""

    interval_s: float
    clock: Callable[[], float] = time.monotonic
    _last: float = field(default=-math.inf, repr=False)

    def due(self) -> bool:
        now = self.clock()
        if now - self._last < self.interval_s:
            return False
        self._last = now
        return True
