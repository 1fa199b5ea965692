"""Hand-off links: open a finding's point (or, by hand, its image) in the tools analysts already use.

Why: analysts cross-check in OpenStreetMap, Google Maps / Street View, SunCalc and reverse-image search.
A link is an online action (clicking it sends the coordinate in the URL to that site), so links exist only
when the caller says the analyst switched them on (``enabled``): with the switch off these functions
return nothing, so no page can show one by accident.

Safety: a URL carries only numbers that this module formats itself (``f"{lat:.6f}"``), assembled with
``urllib.parse`` (``urlencode`` / ``quote``); no string from a file (name, EXIF text, caption) is ever put in
a URL. Reverse-image services get no image and no file name: the link opens their upload page and the
analyst uploads the file by hand, if at all.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from .findings import Finding

COORDINATE_NOTE = "sends this point's coordinates (in the link) to the site"
SUNCALC_NOTE = "sends this point's coordinates and the capture date and time (in the link) to suncalc.org"
IMAGE_NOTE = ("opens the site's upload page only: geoloc sends no image and no file name; uploading the image "
              "there is your own, separate action")


@dataclass(frozen=True)
class HandoffLink:
    service: str  # "OpenStreetMap"
    url: str
    sends: str  # what leaves the machine when the link is clicked, for the label


def _valid(lat, lon) -> bool:
    try:
        lat, lon = float(lat), float(lon)
    except (TypeError, ValueError):
        return False
    return math.isfinite(lat) and math.isfinite(lon) and abs(lat) <= 90 and abs(lon) <= 180


_CAMERA_TIME = re.compile(r"^\s*(\d{4})[:\-](\d{2})[:\-](\d{2})[ T](\d{2}):(\d{2})")


def point_links(lat: float | None, lon: float | None, enabled: bool, capture_time: str | None = None
                ) -> list[HandoffLink]:
    """Links for one point; [] when ``enabled`` is off or the point is not a valid coordinate.
    ``capture_time``: the camera's local date and time (``YYYY:MM:DD HH:MM...``) for SunCalc, which reads a
    time as local time at the point; anything else in it is ignored."""
    if not enabled or not _valid(lat, lon):
        return []
    y, x = f"{float(lat):.6f}", f"{float(lon):.6f}"
    links = [
        HandoffLink("OpenStreetMap", "https://www.openstreetmap.org/?" + urlencode({"mlat": y, "mlon": x})
                    + "#map=" + quote(f"16/{y}/{x}", safe="/"), COORDINATE_NOTE),
        HandoffLink("Google Maps", "https://www.google.com/maps/search/?" + urlencode({"api": "1",
                                                                                      "query": f"{y},{x}"}),
                    COORDINATE_NOTE),
        HandoffLink("Google Street View", "https://www.google.com/maps/@?" + urlencode(
            {"api": "1", "map_action": "pano", "viewpoint": f"{y},{x}"}), COORDINATE_NOTE),
    ]
    match = _CAMERA_TIME.match(capture_time or "")
    if match:
        year, month, day, hour, minute = (int(v) for v in match.groups())
        if 1 <= month <= 12 and 1 <= day <= 31 and hour <= 23 and minute <= 59:
            fragment = f"/{y},{x},16/{year:04d}.{month:02d}.{day:02d}/{hour:02d}:{minute:02d}/1/3"
            links.append(HandoffLink("SunCalc", "https://www.suncalc.org/#" + quote(fragment, safe="/,.:"),
                                     SUNCALC_NOTE))
    else:
        fragment = f"/{y},{x},16"
        links.append(HandoffLink("SunCalc", "https://www.suncalc.org/#" + quote(fragment, safe="/,."),
                                 "sends this point's coordinates (in the link) to suncalc.org"))
    return links


def image_search_links(enabled: bool) -> list[HandoffLink]:
    """The reverse-image search services' upload pages (fixed URLs: nothing of the finding in them)."""
    if not enabled:
        return []
    return [HandoffLink("Google Lens", "https://lens.google.com/", IMAGE_NOTE),
            HandoffLink("TinEye", "https://tineye.com/", IMAGE_NOTE),
            HandoffLink("Bing Visual Search", "https://www.bing.com/visualsearch", IMAGE_NOTE),
            HandoffLink("Yandex Images", "https://yandex.com/images/", IMAGE_NOTE)]


def finding_links(finding: Finding, enabled: bool) -> dict[str, list[HandoffLink]]:
    """Links per point of a finding ("EXIF GPS", "Prediction", "Second witness", "Claimed place") and the
    image services ("Image"); {} when switched off."""
    if not enabled:
        return {}
    camera_time = finding.exif_datetime_original  # the camera's wall clock: local time where the file says it was
    points = {"EXIF GPS": point_links(finding.exif_lat, finding.exif_lon, enabled, camera_time),
              # a predicted point may lie in another time zone, where that wall-clock time would be wrong
              "Prediction": point_links(finding.pred_lat, finding.pred_lon, enabled),
              "Second witness": point_links(finding.second_lat, finding.second_lon, enabled),
              "Claimed place": point_links(finding.claimed_lat, finding.claimed_lon, enabled, camera_time)}
    links = {name: found for name, found in points.items() if found}
    links["Image"] = image_search_links(enabled)
    return links
