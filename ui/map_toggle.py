"""The Batch and Case log maps' toggle: EXIF points, predictions, or both joined by a line."""
from __future__ import annotations

import streamlit as st

from geoloc_core.case.maps.layers import MAP_LAYERS

LABELS = {"both": "Both, each prediction joined to its EXIF point", "exif": "EXIF points (and written places)",
          "predictions": "Predictions (both witnesses)"}


def points_toggle(key: str) -> str:
    """One of ``MAP_LAYERS`` ("both", "exif", "predictions")."""
    return st.radio("Map shows", MAP_LAYERS, format_func=LABELS.get, key=key, horizontal=True,
                    help="Red: EXIF GPS; purple: the written place; blue and green: the two witnesses' predictions; "
                         "dashed grey: from a prediction to its file's EXIF point.")
