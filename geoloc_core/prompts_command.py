"""The command line's side of zero-shot prompt preparation (issue #29): progress lines on stderr during a
``scan``, and ``python -m geoloc_core prompts MODEL``, which prepares every prompt ahead of time.

Why lines, not a second bar: a scan's stderr is often a log file (no terminal); a line when a step starts,
one every few seconds while it runs and one when it ends reads the same in a terminal and in a log, and
``tqdm.write`` keeps the scan's file bar intact above them. ``--no-progress`` turns both off.
"""
from __future__ import annotations

import argparse
import sys
import threading
import time
from typing import TextIO

from .evidence.visible_text import visible

LINE_EVERY_S = 5.0

PROMPTS_EPILOG = """examples:
  python -m geoloc_core prompts models/StreetCLIP            # every prompt, once; Ctrl-C stops, a rerun goes on
  GEOLOC_CACHE_DIR=/data/geoloc-cache python -m geoloc_core prompts models/clip-vit-base-patch32

Not needed for a first answer: a zero-shot model embeds the prompts each image needs when it needs them.
This fills the rest in advance (hours for ViT-L/14 on a laptop CPU), so no later image waits for any.
"""


class PromptProgressLines:
    """A listener for ``ZeroShotPredictor.progress``: writes what is being prepared to ``stream``."""

    def __init__(self, stream: TextIO = sys.stderr, every_s: float = LINE_EVERY_S):
        self.stream, self.every_s = stream, every_s
        self._last, self._label, self._started = 0.0, None, 0.0
        self._lock = threading.Lock()

    def __call__(self, state) -> None:
        from tqdm import tqdm

        with self._lock:
            now = time.monotonic()
            if not state.active:
                if self._label is not None:
                    tqdm.write(f"Zero-shot prompts ready ({now - self._started:,.1f} s, {state.rate:,.0f} prompts/s "
                               "on this machine; kept on disk for later images)", file=self.stream)
                self._label = None
                return
            if self._label is None:
                self._started = now
            if state.label != self._label or now - self._last >= self.every_s:
                # place names come from a model folder's tables: no escape sequence reaches the terminal
                tqdm.write(visible(state.text()), file=self.stream)
                self._label, self._last = state.label, now


def listen_to_zero_shot(predictors, stream: TextIO = sys.stderr) -> None:
    """Print the progress of every zero-shot predictor among ``predictors`` on ``stream``."""
    for predictor in predictors:
        if predictor is not None and getattr(predictor, "kind", "") == "zero-shot":
            predictor.progress.listen(PromptProgressLines(stream))


def add_prompts_parser(sub) -> None:
    prompts = sub.add_parser("prompts", help="prepare every location prompt of a zero-shot CLIP model ahead of time "
                             "(resumable)", formatter_class=argparse.RawDescriptionHelpFormatter,
                             epilog=PROMPTS_EPILOG)
    prompts.add_argument("model", metavar="PATH", help="a full CLIP checkpoint folder (with its text tower)")
    prompts.add_argument("--no-progress", action="store_true", help="do not draw a progress bar on stderr")


def run_prompts(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .model.inference import ModelLoadError, load_predictor

    try:
        predictor = load_predictor(args.model)
    except ModelLoadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if getattr(predictor, "kind", "") != "zero-shot":
        print(f"error: {args.model} is a trained regressor; only a zero-shot CLIP model has prompts to prepare",
              file=sys.stderr)
        return 2
    warm = predictor.warm_up()
    state = warm.state()
    bar = tqdm(total=state.prompts_total, initial=state.prompts_ready, unit="prompt", file=sys.stderr,
               disable=args.no_progress or None)
    try:
        while warm.thread.is_alive():
            warm.thread.join(timeout=1.0)
            bar.update(warm.state().prompts_ready - bar.n)
    except KeyboardInterrupt:
        warm.stop(wait=60)
    bar.close()
    state = warm.state()
    if state.error:
        print(f"error: the preparation stopped: {state.error}", file=sys.stderr)
        return 1
    print(f"{state.prompts_ready:,} of {state.prompts_total:,} prompts prepared in {predictor.store.folder}"
          + ("" if state.prompts_ready == state.prompts_total else "; run the command again to go on"))
    return 0 if state.prompts_ready == state.prompts_total else 130
