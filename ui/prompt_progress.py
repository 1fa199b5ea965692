"""What a zero-shot model is preparing, shown while it happens (issue #29).

Why: a zero-shot CLIP embeds its location prompts as images need them; the first image on a CPU waits for a
few hundred of them (seconds to a minute), and a frozen spinner for that long reads as "the prediction does
not work". The model runs in the Analyzer's model thread while the page's script waits for the result, so
a small watcher thread, attached to the page's script run, redraws one line from the predictor's progress
(what, how far, measured prompts/s, time left) until the work returns. After it, a caption keeps what was
prepared, so the page says it even when the work was too quick to watch.

The Model page shows the prompts on disk and runs the optional background warm-up (lowest priority,
pausing while images are predicted, resumable after a restart).
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterable, Iterator

import streamlit as st

from ui.plaintext import markdown_literal

REDRAW_S = 0.3


def _zero_shot(predictors: Iterable) -> list:
    return [p for p in predictors if p is not None and getattr(p, "kind", "") == "zero-shot"]


class PreparedPrompts:
    """What a run prepared, in one sentence ("" when nothing had to be embedded): set when the work returns."""

    text = ""


@contextmanager
def showing_prompt_progress(predictors: Iterable, caption: bool = True) -> Iterator[PreparedPrompts]:
    """Around work that may predict: a live progress line while a zero-shot model embeds prompts, then (with
    ``caption``; else the caller places ``.text``) a caption of what was prepared (nothing when nothing was)."""
    prepared = PreparedPrompts()
    models = _zero_shot(predictors)
    if not models:
        yield prepared
        return
    from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

    line = st.empty()
    before = [(m.store.counts.prompts_computed, m.store.counts.seconds_computing) for m in models]
    done = threading.Event()

    def watch() -> None:
        shown = ""
        while not done.wait(REDRAW_S):
            states = [m.progress.snapshot() for m in models]
            text = next((s.text() for s in states if s.active), "")
            if text and text != shown:  # place names come from the model folder's tables: hostile (#31)
                line.info(markdown_literal(text), icon=":material/hourglass_top:")
                shown = text

    watcher = threading.Thread(target=watch, name="geoloc-prompt-progress", daemon=True)
    add_script_run_ctx(watcher, get_script_run_ctx())
    watcher.start()
    try:
        yield prepared
    finally:
        done.set()
        watcher.join(timeout=5)
        line.empty()
        for model, (prompts, seconds) in zip(models, before):
            new_prompts = model.store.counts.prompts_computed - prompts
            if new_prompts:
                took = model.store.counts.seconds_computing - seconds
                prepared.text = (f"Zero-shot prompts prepared for this run: {new_prompts:,} in {took:,.1f} s "
                                 f"({new_prompts / max(took, 1e-9):,.0f} prompts/s); they are kept on disk for "
                                 "later images and restarts.")
        if caption and prepared.text:
            st.caption(prepared.text)  # own text: counts and a rate


def prompt_panel(predictor) -> None:
    """The Model page: prompts on disk, and the background warm-up with its live progress."""
    ready, total = predictor.prompts_on_disk()
    st.markdown("**Prompt embeddings**")
    st.caption(f"{ready:,} of {total:,} prompts are prepared on disk ({ready / max(total, 1):.0%}). Each image "
               "needs the country prompts and the regions and cities its hierarchy reaches; those are made the "
               "first time an image needs them and kept for every later image and restart. The rest can be "
               "prepared in the background at the lowest priority (it pauses while images are analysed, and "
               "goes on where it stopped after a restart).")  # own text
    warm = predictor._warmup if predictor._warmup is not None and predictor._warmup.thread.is_alive() else None
    if warm is None and ready < total:
        if st.button("Prepare all prompts in the background", key=f"warm_{id(predictor)}"):
            predictor.warm_up()
            st.rerun()
    if warm is not None:
        _warm_up_status(predictor)


@st.fragment(run_every=2)
def _warm_up_status(predictor) -> None:
    from geoloc_core.model.zeroshot import duration_text

    warm = predictor._warmup
    state = warm.state()
    progress = predictor.warm_progress.snapshot()
    st.progress(state.prompts_ready / max(state.prompts_total, 1),
                text=f"{state.prompts_ready:,} of {state.prompts_total:,} prompts on disk")  # own text
    if state.running:
        left = state.prompts_total - state.prompts_ready
        eta = (f"about {duration_text(left / progress.rate)} left at {progress.rate:,.0f} prompts/s" if progress.rate > 0
               else "measuring the speed...")
        st.caption(f"Preparing in the background: {eta}.")  # own text
        if st.button("Stop (it goes on from here next time)", key=f"stop_{id(predictor)}"):
            warm.stop()
    elif state.error:
        st.error(f"The background preparation stopped: {markdown_literal(state.error)}")
    else:
        st.success("All prompts are prepared.")  # own text

