"""Nothing stale on screen (#32), through AppTest: when a second file is uploaded on Verify, or the Shadows
page's inputs change, no element of the previous result is left on screen while the new one is computed.

Streamlit keeps each element of the previous run on screen (faded) until the new run writes at its
position. So "nothing of the previous file is shown during the analysis" is, exactly: when the analysis
starts, the new run has already written at every top-level position of the page that the previous run
used (the ForwardMsgs of the run so far are in AppTest's queue). The browser test
(test_browser_stale.py) watches the same in Chromium."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.runtime.scriptrunner import get_script_run_ctx
from streamlit.testing.v1 import AppTest

from tests.imagegen import gps_exif, image_bytes

APP = str(Path(__file__).resolve().parents[1] / "app.py")
AACHEN = image_bytes(size=(320, 240), exif=gps_exif(50.7753, 6.0839))
KYIV = image_bytes(size=(320, 240), color=(200, 120, 40), exif=gps_exif(50.4501, 30.5234))


def _main_positions_written() -> set[int]:
    """Top-level positions of the page's main area written so far in the running script run."""
    runner = get_script_run_ctx()._enqueue.__self__  # AppTest's LocalScriptRunner
    return {m.metadata.delta_path[1] for m in runner.forward_msg_queue._queue
            if m.HasField("delta") and len(m.metadata.delta_path) >= 2 and m.metadata.delta_path[0] == 0}


def _main_positions(at: AppTest) -> set[int]:
    return set(at.main.children)


def test_second_upload_replaces_everything_of_the_first_before_the_analysis(data_dir, monkeypatch):
    from geoloc_core.case.analyzer import Analyzer

    at = AppTest.from_file(APP, default_timeout=120).run()
    at.file_uploader(key="verify_upload").upload("aachen.jpg", AACHEN, "image/jpeg").run()
    assert not at.exception
    first_positions = _main_positions(at)
    assert any("50.775300, 6.083900" in c.value for c in at.code)
    seen = []
    analyze = Analyzer.analyze

    def watched(self, source):
        import streamlit as st

        seen.append((source.name, _main_positions_written(), st.session_state.get("verify_finding")))
        return analyze(self, source)

    monkeypatch.setattr(Analyzer, "analyze", watched)
    at.file_uploader(key="verify_upload").upload("kyiv.jpg", KYIV, "image/jpeg").run()
    assert not at.exception
    (name, written, finding_then), = seen
    assert name == "kyiv.jpg" and finding_then is None  # the first file's finding was dropped before
    left = first_positions - written
    assert not left, f"positions {sorted(left)} of the first file's page were still on screen during the analysis"
    codes = " ".join(c.value for c in at.code)
    assert "50.450100, 30.523400" in codes and "50.775300" not in codes


def test_same_file_rerun_keeps_the_result_container(data_dir):
    """A side-panel change (same file) must not replace the result with a placeholder: that would redraw the map."""
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.file_uploader(key="verify_upload").upload("aachen.jpg", AACHEN, "image/jpeg").run()
    before = _main_positions(at)
    at.button(key="verify_seen").click().run()
    assert not at.exception
    assert _main_positions(at) == before
    assert not any("Analysing" in c.value for c in at.caption)


def test_shadows_new_inputs_replace_the_previous_band_before_computing(data_dir, monkeypatch):
    from geoloc_core.places import shadows

    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page("app_pages/shadows.py").run()
    at.text_input(key="shadow_time").input("2024-06-21T11:50:00Z").run()
    assert not at.exception and "Band area" in " ".join(m.value for m in at.markdown)
    first_positions = _main_positions(at)
    seen = []
    band = shadows.shadow_band

    def watched(*args, **kwargs):
        seen.append(_main_positions_written())
        return band(*args, **kwargs)

    monkeypatch.setattr(shadows, "shadow_band", watched)
    at.number_input(key="shadow_tol").set_value(3.0).run()
    assert not at.exception
    written, = seen
    left = first_positions - written
    assert not left, f"positions {sorted(left)} of the previous band were still on screen while the new one was computed"


def test_a_side_panel_change_does_not_rebuild_the_map(data_dir, monkeypatch):
    """#32: the Verify page rebuilt its whole map on each widget change. Changes below the map ("Have we seen this
    before?", the source URL of the report section) must not build it again; they run in a fragment, which
    Streamlit reruns alone (AppTest reruns the whole page, so the fragment is checked as where they run)."""
    import geoloc_core.case.maps.finding_maps as finding_maps
    import ui.detail

    built, fragments = [], {}
    build, seen_before = finding_maps.finding_map, ui.detail.seen_before

    def counted_build(*args, **kwargs):
        built.append(1)
        return build(*args, **kwargs)

    def where_seen_before(*args, **kwargs):
        result = seen_before(*args, **kwargs)
        runner = get_script_run_ctx()._enqueue.__self__
        fragments["seen_before"] = [m.delta.fragment_id for m in runner.forward_msg_queue._queue
                                    if m.HasField("delta") and "verify_seen" in m.delta.new_element.button.id]
        return result

    monkeypatch.setattr(finding_maps, "finding_map", counted_build)
    monkeypatch.setattr(ui.detail, "seen_before", where_seen_before)
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.file_uploader(key="verify_upload").upload("aachen.jpg", AACHEN, "image/jpeg").run()
    assert len(built) == 1
    at.button(key="verify_seen").click().run()
    assert not at.exception and any("Not seen before" in i.value for i in at.info)
    url_field, = [t for t in at.text_input if str(t.key).startswith("verify_provenance_url_")]
    url_field.input("https://example.org/post/1").run()
    assert not at.exception
    # AppTest reruns the whole page where a browser reruns only the fragment, so the map's builds are not
    # counted past the first: the map is rebuilt on a page rerun (a folium map kept across reruns lost the
    # analyst's map clicks in Chromium, tests/test_browser_analyst_point.py); what keeps it from the side
    # panels' reruns is that they run in a fragment
    assert fragments["seen_before"] and all(fragments["seen_before"]), \
        "the side panels are not in a fragment: each of their clicks reruns the page and its map"
