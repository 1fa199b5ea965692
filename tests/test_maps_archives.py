from __future__ import annotations

import io
import zipfile

import pytest

from geoloc_core.evidence.archives import iter_zip
from geoloc_core.case.findings import Finding
from geoloc_core.case.maps import js_text_literal, finding_map, findings_map, great_circle_path, use_local_assets, vendor_leaflet_assets

HOSTILE = "<img src=x onerror=alert(1)>"


def _finding(**kw) -> Finding:
    base = dict(file=f"{HOSTILE}.jpg", exif_lat=48.85, exif_lon=2.35, pred_lat=41.9, pred_lon=12.5,
                pred_radius_km=900.0, pred_radius50_km=300.0, distance_km=1105.0, band="continent",
                verdict="plausible", software=HOSTILE)
    base.update(kw)
    return Finding(**base)


def test_finding_map_has_points_regions_line_and_escapes_text():
    html = finding_map(_finding()).get_root().render()
    assert HOSTILE not in html and js_text_literal(HOSTILE) in html  # only as an inert literal
    assert '"radius": 900000.0' in html and '"radius": 300000.0' in html
    assert js_text_literal("1,105.0 km (continent)") in html


def test_js_text_literal_leaves_no_syntax_and_round_trips():
    import json

    for text in (HOSTILE, "${x}`\\'\"</script>{{ 1 }}_map_1a2b", "名前 😀 \u2028"):
        literal = js_text_literal(text)
        assert all(c.isalnum() or c in ' "\\' for c in literal)
        assert json.loads(literal) == text


def test_great_circle_path_crosses_the_antimeridian_continuously():
    path = great_circle_path(-17.7, 178.0, 21.3, -157.8)  # Fiji -> Hawaii
    lons = [p[1] for p in path]
    assert all(abs(b - a) < 10 for a, b in zip(lons, lons[1:]))
    assert lons[-1] == pytest.approx(202.2, abs=1e-6)  # unwrapped: -157.8 + 360
    assert path[0] == pytest.approx([-17.7, 178.0])


def test_local_assets_replace_cdn_links(tmp_path):
    names = vendor_leaflet_assets(tmp_path)
    assert any(n.endswith("leaflet.js") for n in names) and all((tmp_path / n).stat().st_size > 0 for n in names)
    fmap = use_local_assets(findings_map([_finding(file=f"f{i}.jpg") for i in range(40)]), "/app/static/vendor/")
    html = fmap.get_root().render()
    assert "cdn.jsdelivr.net" not in html and "cdnjs.cloudflare.com" not in html
    assert "/app/static/vendor/" in html and "markercluster" in html.lower()


def _zip(entries: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_zip_entries_traversal_and_bombs():
    data = _zip({"good/a.jpg": b"A" * 10, "../../etc/passwd": b"x", "/abs.jpg": b"y", "bomb.bin": b"\0" * 50_000_000})
    entries = {e.name: e for e in iter_zip(data, "up.zip")}
    assert entries["up.zip/good/a.jpg"].data == b"A" * 10
    assert "unsafe path" in entries["up.zip/../../etc/passwd"].error
    assert "unsafe path" in entries["up.zip//abs.jpg"].error
    assert "zip bomb" in entries["up.zip/bomb.bin"].error


def test_broken_zip_is_one_clear_error():
    entries = list(iter_zip(b"PK\x03\x04 not really a zip", "broken.zip"))
    assert len(entries) == 1 and "not a readable zip archive" in entries[0].error
