"""Hand-off links (#17): only when switched on; coordinates formatted and URL-encoded; never a file name,
EXIF text or an image in a URL."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from geoloc_core.case.findings import Finding
from geoloc_core.case.handoff import finding_links, image_search_links, point_links
from tests.hostile_corpus import TEXT_PAYLOADS


def _hostile_finding(payload: str) -> Finding:
    return Finding(file=f"/cases/{payload}.jpg", sha256="ab" * 32, exif_lat=50.4501, exif_lon=30.5234,
                   pred_lat=-33.8688, pred_lon=151.2093, second_lat=48.85, second_lon=2.35, claimed_lat=40.0,
                   claimed_lon=-3.7, exif_datetime_original="2024:06:21 11:50:07+03:00", camera_model=payload,
                   software=payload, caption=payload, claimed_place_text=payload)


def test_no_link_at_all_when_the_switch_is_off():
    finding = _hostile_finding("x")
    assert finding_links(finding, enabled=False) == {}
    assert point_links(50.0, 30.0, enabled=False) == [] and image_search_links(False) == []


def test_links_carry_the_formatted_point_and_the_camera_time():
    links = {link.service: link for link in point_links(50.4501, 30.5234, True, "2024:06:21 11:50:07+03:00")}
    assert set(links) == {"OpenStreetMap", "Google Maps", "Google Street View", "SunCalc"}
    osm = urlsplit(links["OpenStreetMap"].url)
    assert osm.scheme == "https" and osm.netloc == "www.openstreetmap.org"
    assert parse_qs(osm.query) == {"mlat": ["50.450100"], "mlon": ["30.523400"]}
    assert osm.fragment == "map=16/50.450100/30.523400"
    assert parse_qs(urlsplit(links["Google Maps"].url).query)["query"] == ["50.450100,30.523400"]
    assert parse_qs(urlsplit(links["Google Street View"].url).query) == {
        "api": ["1"], "map_action": ["pano"], "viewpoint": ["50.450100,30.523400"]}
    assert links["SunCalc"].url == "https://www.suncalc.org/#/50.450100,30.523400,16/2024.06.21/11:50/1/3"
    assert "date and time" in links["SunCalc"].sends and "coordinates" in links["OpenStreetMap"].sends


@pytest.mark.parametrize("lat, lon", [(None, 1.0), (float("nan"), 1.0), (91.0, 0.0), (0.0, 181.0), ("1e999", 0)])
def test_an_invalid_point_gets_no_link(lat, lon):
    assert point_links(lat, lon, True) == []


@pytest.mark.parametrize("key", list(TEXT_PAYLOADS))
def test_no_string_from_the_file_ever_reaches_a_url(key):
    """Every payload in the file name, Model, Software, caption, written place and the time's tail: the URLs
    hold only the formatted numbers; the image services get their bare upload pages."""
    payload = TEXT_PAYLOADS[key]
    finding = _hostile_finding(payload)
    finding.exif_datetime_original = "2024:06:21 11:50:07" + payload
    links = finding_links(finding, enabled=True)
    assert set(links) == {"EXIF GPS", "Prediction", "Second witness", "Claimed place", "Image"}
    urls = [link.url for group in links.values() for link in group]
    for url in urls:
        assert payload not in url and "cases" not in url and "ab" * 8 not in url
        assert all(33 <= ord(ch) < 127 for ch in url), url  # ASCII, no space or control character
        assert url.startswith("https://")
    assert [link.url for link in links["Image"]] == ["https://lens.google.com/", "https://tineye.com/",
                                                     "https://www.bing.com/visualsearch", "https://yandex.com/images/"]
    assert all("no image" in link.sends for link in links["Image"])


def test_a_time_that_is_not_a_date_gives_suncalc_without_a_time():
    links = {link.service: link for link in point_links(1.5, 2.5, True, "<script>1</script>")}
    assert links["SunCalc"].url == "https://www.suncalc.org/#/1.500000,2.500000,16"


def test_suncalc_gets_the_camera_time_only_where_the_file_places_the_camera():
    """The camera's wall-clock time is local time at the EXIF point (and the written place), not at a predicted
    point that may lie in another time zone: predictions get SunCalc without a time."""
    links = finding_links(_hostile_finding("x"), enabled=True)
    suncalc = {point: next(l.url for l in found if l.service == "SunCalc") for point, found in links.items()
               if point != "Image"}
    assert suncalc["EXIF GPS"].endswith("/2024.06.21/11:50/1/3")
    assert suncalc["Claimed place"].endswith("/2024.06.21/11:50/1/3")
    assert suncalc["Prediction"] == "https://www.suncalc.org/#/-33.868800,151.209300,16"
    assert suncalc["Second witness"].endswith(",16")
