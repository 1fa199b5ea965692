from __future__ import annotations

import io
import zipfile

import pytest

from geoloc_core.evidence.archives import iter_zip
from geoloc_core.case.findings import Finding
from geoloc_core.case.maps.finding_maps import finding_map, findings_map
from geoloc_core.case.maps.layers import js_text_literal, great_circle_path, use_local_assets, vendor_leaflet_assets

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


def test_corrupt_deflate_entry_is_its_own_error_row():
    from tests.hostile_corpus import corrupt_deflate_zip

    entries = {e.name.split("/", 1)[1]: e for e in iter_zip(corrupt_deflate_zip(), "c.zip")}
    assert list(entries) == ["good_before.jpg", "broken.jpg", "good_after.jpg"]
    assert entries["good_before.jpg"].data and entries["good_after.jpg"].data
    assert "unreadable zip entry (zlib.error" in entries["broken.jpg"].error


def test_utf8_flagged_name_with_invalid_bytes_is_its_own_error_row():
    from geoloc_core.evidence.sources import count_files
    from tests.hostile_corpus import bad_utf8_name_zip

    data = bad_utf8_name_zip()
    assert count_files("u.zip", data) == 3  # counting for the progress bar does not raise either
    entries = list(iter_zip(data, "u.zip"))
    assert [e.error is None for e in entries] == [True, False, True]
    assert "marked UTF-8 but is not valid UTF-8" in entries[1].error and "\ufffd" in entries[1].name


ENTRY_CAP_PROBE = r"""
import json, resource, time
from tests.hostile_corpus import zip_with_entries
from geoloc_core.evidence.archives import iter_zip
from geoloc_core.evidence.sources import count_files
data = zip_with_entries(300_000)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.monotonic()
counted = count_files("big.zip", data)
entries = iter_zip(data, "big.zip")
first = next(entries)
seconds = time.monotonic() - started
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
rest = list(entries)
print(json.dumps({"counted": counted, "first": first.name, "seconds": seconds, "growth_mib": (after - before) / 1024,
                  "entries": 1 + len(rest), "last_error": rest[-1].error}))
"""


def test_zip_entry_cap_applies_before_the_whole_central_directory_is_read():
    """300,000 entries (zip64): counting and opening read at most 20,001 directory records."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    result = subprocess.run([sys.executable, "-c", ENTRY_CAP_PROBE], cwd=root, capture_output=True, text=True,
                            timeout=300, env={**__import__("os").environ, "PYTHONPATH": str(root)})
    assert result.returncode == 0, result.stderr[-2000:]
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    assert probe["counted"] == 20_001 and probe["first"] == "big.zip/e0000000.jpg"
    assert probe["entries"] == 20_001 and "more than 20,000 entries" in probe["last_error"]
    assert probe["growth_mib"] < 100, probe  # zipfile's full read of 300,000 records costs far more
