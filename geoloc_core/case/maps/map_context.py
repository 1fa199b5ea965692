"""What a map needs at city zoom when it is offline: place names, a coordinate grid, the camera's
direction and the GPS error circle; and coordinates written the ways analysts paste them.

Why: the offline base layer is 1:110m country outlines, so at 10 km a photo was a dot on an empty
coastline. Place labels come from the GeoNames table already shipped (``places.nearby``); the grid
gives scale and lets a point be read off the map; the direction cone (GPSImgDirection) and the error
circle (GPSHPositioningError) show what the camera saw and how sure its receiver was.

Nothing here is keyboard-focusable or clickable (``interactive=False``, ``keyboard=False``): the
labels and lines are context, and a keyboard user must not tab through hundreds of them. Label text
is GeoNames data, HTML-escaped all the same before it goes into a Leaflet ``divIcon``.
"""
from __future__ import annotations

import html
import math

import folium
from branca.element import MacroElement
from jinja2 import Template

from ...places.nearby import places_near
from ..findings import Finding

LABEL_RADIUS_KM = 25.0
GRID_COLOR = "#8c8c8c"
CONE_COLOR = "#d62728"
CONE_HALF_ANGLE_DEG = 30.0  # a typical phone's horizontal field of view is about 65-75 degrees
CONE_LENGTH_M = 400.0


def decimal_text(lat: float, lon: float) -> str:
    return f"{lat:.6f}, {lon:.6f}"


def dms_text(lat: float, lon: float) -> str:
    """Degrees, minutes, seconds with hemispheres: 40°40'41.5"N 73°56'39.1"W."""
    def one(value: float, positive: str, negative: str) -> str:
        hemisphere = positive if value >= 0 else negative
        value = abs(value)
        degrees = int(value)
        minutes = int((value - degrees) * 60)
        seconds = (value - degrees - minutes / 60) * 3600
        if round(seconds, 1) >= 60.0:
            seconds, minutes = 0.0, minutes + 1
        if minutes >= 60:
            minutes, degrees = 0, degrees + 1
        return f"{degrees}°{minutes:02d}'{seconds:04.1f}\"{hemisphere}"
    return f"{one(lat, 'N', 'S')} {one(lon, 'E', 'W')}"


def _destination(lat: float, lon: float, bearing_deg: float, metres: float) -> list[float]:
    """Point ``metres`` from (lat, lon) along ``bearing_deg`` (spherical Earth; fine at this scale)."""
    d = metres / 6_371_000.0
    b, p1, l1 = math.radians(bearing_deg), math.radians(lat), math.radians(lon)
    p2 = math.asin(math.sin(p1) * math.cos(d) + math.cos(p1) * math.sin(d) * math.cos(b))
    l2 = l1 + math.atan2(math.sin(b) * math.sin(d) * math.cos(p1), math.cos(d) - math.sin(p1) * math.sin(p2))
    return [math.degrees(p2), (math.degrees(l2) + 540) % 360 - 180]


def add_place_labels(fmap, lat: float, lon: float, radius_km: float = LABEL_RADIUS_KM) -> int:
    """GeoNames towns and villages around the point as text labels; returns how many."""
    group = folium.FeatureGroup(name="Places (offline, GeoNames)", control=False).add_to(fmap)
    places = places_near(lat, lon, radius_km)
    for place in places:
        folium.Marker([place.lat, place.lon], interactive=False, keyboard=False,
                      icon=folium.DivIcon(html=f'<span class="geoloc-place">{html.escape(place.name)}</span>',
                                          class_name="geoloc-place-icon", icon_size=(160, 16),
                                          icon_anchor=(0, 8))).add_to(group)
    return len(places)


def add_grid(fmap, lat: float, lon: float, step_deg: float = 0.01, span_deg: float = 0.1) -> None:
    """A graticule every ``step_deg`` (0.01° is about 1.1 km north-south) around the point."""
    group = folium.FeatureGroup(name="Coordinate grid", control=False).add_to(fmap)
    start_lat = math.floor((lat - span_deg) / step_deg) * step_deg
    start_lon = math.floor((lon - span_deg) / step_deg) * step_deg
    count = int(round(2 * span_deg / step_deg)) + 2
    for i in range(count):
        y = start_lat + i * step_deg
        folium.PolyLine([[y, start_lon], [y, start_lon + (count - 1) * step_deg]], color=GRID_COLOR, weight=0.5,
                        opacity=0.6, interactive=False).add_to(group)
        x = start_lon + i * step_deg
        folium.PolyLine([[start_lat, x], [start_lat + (count - 1) * step_deg, x]], color=GRID_COLOR, weight=0.5,
                        opacity=0.6, interactive=False).add_to(group)


def add_camera_context(fmap, finding: Finding) -> None:
    """The direction cone (GPSImgDirection) and the GPS error circle (GPSHPositioningError)."""
    if finding.exif_lat is None:
        return
    lat, lon = finding.exif_lat, finding.exif_lon
    if finding.exif_gps_error_m:
        folium.Circle([lat, lon], radius=finding.exif_gps_error_m, color="#d62728", weight=1, dash_array="2 4",
                      fill=True, fill_opacity=0.06, interactive=False).add_to(fmap)
    if finding.exif_img_direction_deg is not None:
        bearing = finding.exif_img_direction_deg
        arc = [_destination(lat, lon, bearing + a, CONE_LENGTH_M)
               for a in range(-int(CONE_HALF_ANGLE_DEG), int(CONE_HALF_ANGLE_DEG) + 1, 5)]
        folium.Polygon([[lat, lon], *arc, [lat, lon]], color=CONE_COLOR, weight=1, fill=True, fill_opacity=0.15,
                       interactive=False).add_to(fmap)


class _LabelsAtCityZoom(MacroElement):
    """Show the place labels only from zoom 10 (about 10 km across): at country zoom they would be
    one unreadable blot. Constant script, no data in it."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function (map) {
            function toggle() { map.getContainer().classList.toggle("geoloc-far", map.getZoom() < 10); }
            map.on("zoomend", toggle); map.whenReady(toggle);
        })({{ this._parent.get_name() }});
        {% endmacro %}
    """)


def add_city_context(fmap, finding: Finding) -> None:
    """Everything above around the finding's EXIF point (else its prediction)."""
    if finding.exif_lat is not None:
        lat, lon = finding.exif_lat, finding.exif_lon
    elif finding.pred_lat is not None:
        lat, lon = finding.pred_lat, finding.pred_lon
    else:
        return
    add_grid(fmap, lat, lon)
    add_place_labels(fmap, lat, lon)
    add_camera_context(fmap, finding)
    fmap.get_root().header.add_child(folium.Element(
        "<style>.geoloc-place{font:12px/1.2 sans-serif;color:#333;white-space:nowrap;"
        "text-shadow:0 0 3px #fff,0 0 3px #fff}.geoloc-place-icon{background:none;border:none}"
        ".geoloc-far .geoloc-place{display:none}</style>"))
    fmap.add_child(_LabelsAtCityZoom())
