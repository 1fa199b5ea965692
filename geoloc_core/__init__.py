"""geoloc core: everything the app, the scan CLI and training share.

This package never imports Streamlit: all analysis logic (EXIF, geocoding,
verification, findings, export, the model) is plain Python so it can be tested
without a browser and reused headless.
"""
__version__ = "0.1.0"
