"""Sun and shadows: where on Earth could the sun have cast this shadow at this time?"""
from __future__ import annotations

import json
import math
from datetime import timedelta

import streamlit as st

from geoloc_core.case.maps.shadow_map import shadow_band_map
from geoloc_core.places import shadows
from ui import resources
from ui.plaintext import markdown_literal
from ui.settings import page_settings
from ui.views import show_map

settings = page_settings()
st.title("Sun and shadows")
st.caption("Measure a vertical object and its shadow in the photo: the sun's elevation, at the capture time, "
           "allows only a band of places on Earth. Offline; nothing leaves this machine.")

finding = st.session_state.get("verify_finding")
exif_time = shadows.exif_capture_time(finding.exif_datetime_original) if finding is not None else None
# the tag the time came from: DateTimeOriginal, or an XMP/IPTC date when EXIF has none (#19's fallback)
time_source = (finding.capture_time_source or "EXIF DateTimeOriginal") if finding is not None else ""
default_time = exif_time.isoformat() if exif_time else ""
if finding is not None and exif_time is None:
    st.info("The last verified image has no capture time with a UTC offset: type the time.")

time_text = st.text_input("Capture time (ISO 8601 with Z or an offset)", value=default_time,
                          placeholder="2024-06-21T11:50:00Z", key="shadow_time",
                          help="From the last verified image's capture time with its UTC offset (EXIF "
                               "DateTimeOriginal + OffsetTimeOriginal, else an XMP/IPTC date); a time without an "
                               "offset is refused rather than guessed.")
if exif_time is not None:
    st.caption(f"Capture time of the last verified image, from {markdown_literal(time_source)}.")
mode = st.radio("Sun elevation from", ["object height and shadow length", "a known sun elevation"],
                horizontal=True, key="shadow_mode")
c1, c2, c3 = st.columns(3)
if mode == "object height and shadow length":
    height = c1.number_input("Object height", min_value=0.0, value=1.0, step=0.1, key="shadow_height")
    length = c2.number_input("Shadow length (same unit)", min_value=0.0, value=1.0, step=0.1, key="shadow_length")
    elevation = math.degrees(math.atan2(height, length)) if height > 0 and length > 0 else None
else:
    elevation = c1.number_input("Sun elevation (degrees)", min_value=-90.0, max_value=90.0, value=45.0,
                                key="shadow_elevation")
tolerance = c3.number_input("± degrees of elevation", min_value=0.1, max_value=20.0, value=1.0, step=0.1,
                            key="shadow_tol")
c4, c5, c6 = st.columns(3)
use_bearing = c4.checkbox("Shadow bearing known", key="shadow_use_bearing")
bearing = c5.number_input("Shadow bearing (° from true north)", min_value=0.0, max_value=360.0, value=0.0,
                          disabled=not use_bearing, key="shadow_bearing")
minutes = c6.number_input("± minutes on the clock", min_value=0.0, max_value=120.0, value=0.0, key="shadow_min")

restrict_region = restrict_zone = False
if finding is not None and finding.pred_lat is not None and finding.pred_radius_km:
    restrict_region = st.checkbox(f"Only inside the model's 90 % region ({finding.pred_radius_km:,.0f} km)",
                                  key="shadow_in_region")
if exif_time is not None:
    restrict_zone = st.checkbox(f"Only time zones at UTC{exif_time.strftime('%z')[:3]}:{exif_time.strftime('%z')[3:]}"
                                f" at that moment (the offset of {markdown_literal(time_source)})", key="shadow_in_zone")

if elevation is None:
    st.warning("Object height and shadow length must both be positive.")
    st.stop()
band_inputs = (time_text, elevation, tolerance, minutes, bearing if use_bearing else None, restrict_region,
               restrict_zone, finding.sha256 if finding is not None else None, settings.analysis.online_tiles)
# Streamlit leaves the previous run's elements on screen, faded, until the new run draws over their positions: the
# previous band and its map stayed while the new band was computed (#32). When the inputs change, one element first
# replaces the whole result, before the computation; for the same inputs the container is kept (no map redraw).
if st.session_state.get("shadow_drawn") != band_inputs:
    slot = st.empty()
    slot.caption("Computing the band...")
    result = slot.container()
else:
    result = st.container()
st.session_state["shadow_drawn"] = band_inputs
with result:
    st.metric("Sun elevation", f"{elevation:.2f}°")
    if not time_text.strip():
        st.stop()
    try:
        when = shadows.parse_utc_time(time_text)
        band = shadows.shadow_band(when, elevation, elevation_tolerance_deg=tolerance, time_tolerance_min=minutes,
                                   shadow_bearing_deg=bearing if use_bearing else None)
        if restrict_region:
            shadows.restrict_to_circle(band, finding.pred_lat, finding.pred_lon, finding.pred_radius_km)
        if restrict_zone:
            shadows.restrict_to_utc_offset(band, when.utcoffset() or timedelta(0))
    except ValueError as exc:
        st.error(markdown_literal(str(exc)))  # it quotes what was typed
        st.stop()

    countries = shadows.countries_crossed(band, resources.offline_geocoder())
    st.write(f"Band area: {band.area_km2():,.0f} km²; countries crossed: "
             + (markdown_literal(", ".join(name for _, name in countries)) or "none (open water only)"))
    for note in band.notes:
        st.caption(markdown_literal(note))
    exif_point = (finding.exif_lat, finding.exif_lon) if finding is not None and finding.exif_lat is not None else None
    if exif_point is not None:
        gap = shadows.distance_to_band_km(band, *exif_point)
        if gap == 0:
            st.success("The EXIF GPS point lies inside the band: the shadow agrees with the claimed place and time.")
        elif gap is not None:
            st.warning(f"The EXIF GPS point lies {gap:,.0f} km outside the band: the shadow does not fit the claimed "
                       "place and time (check the measurement, the clock and the offset).")
    collection = shadows.band_geojson(band, countries)
    predicted = ((finding.pred_lat, finding.pred_lon, finding.pred_radius_km)
                 if finding is not None and finding.pred_lat is not None else None)
    show_map(shadow_band_map(collection, exif_point, predicted, settings.analysis.online_tiles), key="shadow_map")
    st.download_button("Download the band (GeoJSON)", data=json.dumps(collection),
                       file_name="shadow-band.geojson", mime="application/geo+json", key="shadow_dl")
