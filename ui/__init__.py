"""Streamlit-only helpers for the pages. All analysis logic lives in geoloc_core."""
