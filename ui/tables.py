"""Column titles in words and numbers formatted for people, for the findings tables on screen.

The data frames keep the export contract's snake_case names (scripts and tests read those); only
what the analyst sees is relabelled, through Streamlit's column configuration."""
from __future__ import annotations

import streamlit as st

_TEXT = {"file": "File", "status": "Status", "verdict": "Verdict (tool)", "band": "Distance band",
         "exif_country": "EXIF country", "pred_country": "Predicted country", "camera_model": "Camera",
         "software": "Software", "message": "Notes", "this batch": "This batch", "your verdict": "Your verdict",
         "tags": "Your tags", "note": "Your note", "saved (UTC)": "Saved (UTC)", "sha256": "SHA-256",
         "pixel_checks_flagged": "Pixel checks flagged"}  # #37
_NUMBERS = {"distance_km": ("Distance (km)", "%.1f"), "exif_lat": ("EXIF latitude (°)", "%.6f"),
            "exif_lon": ("EXIF longitude (°)", "%.6f"), "pred_lat": ("Predicted latitude (°)", "%.4f"),
            "pred_lon": ("Predicted longitude (°)", "%.4f"), "pred_radius_km": ("90 % radius (km)", "%.0f"),
            "checks_flagged": ("Checks flagged", "%d"), "analyses": ("Analyses", "%d")}


def findings_columns() -> dict:
    """``column_config`` for ``st.dataframe`` of a findings frame."""
    config = {name: st.column_config.TextColumn(label) for name, label in _TEXT.items()}
    config |= {name: st.column_config.NumberColumn(label, format=fmt) for name, (label, fmt) in _NUMBERS.items()}
    return config
