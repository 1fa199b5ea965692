"""The new video panel (#34) with a case log's stored text that is not what geoloc wrote: a case log is a file
too, so a malformed ``telemetry_track`` (not JSON, not a list, points that are not numbers) shows the claims
without a track, never a traceback (as ``pixel_findings.clone_pairs`` treats a malformed ``clone_boxes``)."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest


def _panel(track: str) -> None:
    from geoloc_core.case.findings import Finding
    from ui.filmstrip import claims_panel

    claims_panel(Finding(file="clip.mov", media_kind="video", duration_s=2.0, telemetry_track=track))


@pytest.mark.parametrize("track", ["not json", "42", '{"a": 1}', '[["<img src=x onerror=alert(1)>", 1], [2]]',
                                   "[[1, 2], [3, 4], [5, 6]]"])
def test_the_claims_panel_survives_a_malformed_stored_track(track):
    at = AppTest.from_function(_panel, args=(track,), default_timeout=60).run()
    assert not at.exception, at.exception
    body = "\n".join(h.proto.body for h in at.html)
    assert "2.00 s" in body
    if track.startswith("[[1"):
        assert "3 GPS fixes" in body  # a good track is still counted
    else:
        assert "GPS fixes" not in body
