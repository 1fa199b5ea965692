"""The pixel checks sent to the isolated worker (``evidence/isolation.py``): the callers' side.

Why a module of its own: the worker preloads the checks (``analysis``) before the first file arrives,
and the checks must not import the worker that imports them; the functions that *send* work to a worker
live here, above both."""
from __future__ import annotations

from ..isolation import IsolatedCallError, IsolatedWorker
from .analysis import PIXEL_TIMEOUT_S, analyse_file, analyse_pixels
from .figures import FIGURE_SIDE, PixelFigures, pixel_figures
from .record import PixelForensics


def analyse_pixels_isolated(data: bytes, make: str = "", model: str = "", worker=None,
                            timeout_s: float = PIXEL_TIMEOUT_S) -> PixelForensics:
    """``analyse_pixels`` run in ``worker`` (an ``IsolatedWorker`` or ``WorkerPool``; a fresh worker of
    its own when None). A hang, crash or memory blow-up becomes ``errors["file"]``, never an exception."""
    own = worker is None
    worker = IsolatedWorker() if own else worker
    try:
        return worker.call(analyse_pixels, data, make, model, timeout_s=timeout_s)
    except IsolatedCallError as exc:
        return PixelForensics(errors={"file": f"the pixel checks stopped: {exc}"})
    finally:
        if own:
            worker.close()


def analyse_pixels_at(path: str, sha256: str, make: str = "", model: str = "", worker=None,
                      timeout_s: float = PIXEL_TIMEOUT_S) -> PixelForensics:
    """``analyse_file`` in ``worker`` (see ``analyse_pixels_isolated``); never raises."""
    try:
        return worker.call(analyse_file, path, sha256, make, model, timeout_s=timeout_s)
    except IsolatedCallError as exc:
        return PixelForensics(errors={"file": f"the pixel checks stopped: {exc}"})


def pixel_figures_isolated(data: bytes, make: str = "", model: str = "", worker=None, side: int = FIGURE_SIDE,
                           image_format: str = "PNG", timeout_s: float = PIXEL_TIMEOUT_S) -> PixelFigures:
    """``figures.pixel_figures`` in ``worker`` (a fresh one of its own when None): the checks and their
    pictures in one call. A hang, crash or memory blow-up becomes ``forensics.errors["file"]``."""
    own = worker is None
    worker = IsolatedWorker() if own else worker
    try:
        return worker.call(pixel_figures, data, make, model, side, image_format, timeout_s=timeout_s)
    except IsolatedCallError as exc:
        return PixelFigures(PixelForensics(errors={"file": f"the pixel checks stopped: {exc}"}), image_format=image_format)
    finally:
        if own:
            worker.close()
