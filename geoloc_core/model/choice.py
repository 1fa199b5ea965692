"""Which model the user chose, and the error when it cannot be loaded, without importing torch.

Why a module of its own: ``scan`` without a model must not pay for importing torch
(about a second, issue #18), yet it must look at ``--model`` and ``GEOLOC_MODEL`` to
know whether a model is wanted; and the app's sidebar, drawn on every cold start, must
name a load failure without importing torch before any model is asked for (#32).
``inference`` re-exports these names.
"""
from __future__ import annotations

import os

MODEL_ENV_VAR = "GEOLOC_MODEL"


class ModelLoadError(RuntimeError):
    """The model could not be loaded; the message says why and how to get one."""


def configured_model(flag: str | None = None) -> str | None:
    """The model chosen by flag, else by the GEOLOC_MODEL environment variable, else None."""
    return flag or os.environ.get(MODEL_ENV_VAR) or None
