"""The app with a zero-shot CLIP checkpoint and a trained regressor loaded together (AppTest): two witnesses
and country probabilities on the result card; the Model page's download asks first, naming host and size."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.hub_server import FakeHub
from tests.imagegen import gps_exif
from tests.tiny_models import save_tiny_clip, synthetic_country_image, write_synthetic_places

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TIMEOUT = 180


@pytest.fixture(scope="module")
def world_clip(tmp_path_factory):
    """The tiny CLIP with the synthetic countries as its candidate places (a zeroshot.json beside it)."""
    folder = save_tiny_clip(tmp_path_factory.mktemp("app_clip"))
    write_synthetic_places(folder / "places.csv")  # a model folder names only its own files (#31)
    (folder / "zeroshot.json").write_text(json.dumps({"places_csv": "places.csv"}), encoding="utf-8")
    return folder


@pytest.fixture
def data_dir(data_dir, tmp_path, monkeypatch):
    """conftest's data folder, plus a prompt-embedding cache of this test's own."""
    monkeypatch.setenv("GEOLOC_CACHE_DIR", str(tmp_path / "cache"))
    return data_dir


def _redonia_jpeg() -> bytes:
    import io

    buffer = io.BytesIO()
    synthetic_country_image("XA", seed=5, size=64).save(buffer, "JPEG", quality=95, exif=gps_exif(60.5, 11.0))
    return buffer.getvalue()


def _frames(at: AppTest) -> str:
    return "\n".join(d.value.to_string() for d in at.dataframe) + "\n".join(t.value.to_string() for t in at.table)


def _html_rows(body: str) -> list[list[str]]:
    """The cells of a literal-text HTML table (ui/plaintext.py), row by row, as a browser shows them."""
    import html
    import re

    return [[html.unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row)]
            for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def test_two_witnesses_and_country_probabilities_on_the_result_card(data_dir, world_clip, tiny_model_dir):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["model_path"] = str(world_clip)  # the zero-shot one first: the regressor still leads
    at.session_state["second_model_path"] = str(tiny_model_dir)
    at.run()
    assert not at.exception
    at.file_uploader(key="verify_upload").upload("redonia.jpg", _redonia_jpeg(), "image/jpeg").run()
    assert not at.exception, at.exception
    # both tables are literal-text HTML (#31: names from a model folder never pass through Markdown)
    tables = [_html_rows(h.proto.body) for h in at.html]
    witnesses = next(t for t in tables if t and t[0][0] == "witness")
    assert [row[0] for row in witnesses[1:]] == ["first (regressor)", "second (zero-shot)"]
    assert "(uncalibrated)" in witnesses[2][3]
    assert any("witnesses' points are" in c.value and "km apart" in c.value for c in at.caption)
    probabilities = next(t for t in tables if t and t[0] == ["country", "code", "probability"])
    assert probabilities[1][0] == "Redonia" and probabilities[1][2].endswith(" %")
    markdown = "\n".join(m.value for m in at.markdown)
    assert "**Two witnesses**" in markdown and "Country probabilities (zero-shot CLIP, uncalibrated)" in markdown


def test_two_models_of_the_same_kind_are_refused(data_dir, tiny_model_dir):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["model_path"] = str(tiny_model_dir)
    at.session_state["second_model_path"] = str(tiny_model_dir)
    at.run()
    assert not at.exception
    at.switch_page("app_pages/model.py").run()
    assert any("a second witness must be of the other kind" in e.value for e in at.error)


def test_model_page_fetch_names_host_and_size_before_downloading(data_dir, world_clip, tmp_path, monkeypatch):
    files = {p.name: p.read_bytes() for p in world_clip.iterdir() if p.name != "zeroshot.json"}
    hub = FakeHub({("model", "geolocal/TinyCLIP"): files}).start()
    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    try:
        at = AppTest.from_file(APP, default_timeout=TIMEOUT)
        at.session_state["allow_model_download"] = True  # the hub is online: behind its switch (#32)
        at.run()
        at.switch_page("app_pages/model.py").run()
        target = tmp_path / "models" / "TinyCLIP"
        at.text_input(key="fetch_model_id").input("geolocal/TinyCLIP").run()
        at.text_input(key="fetch_target").input(str(target)).run()
        assert not hub.requests  # nothing asked before the first click
        at.button(key="fetch_plan").click().run()
        assert not at.exception
        assert not target.exists()  # only the listing was asked for
        host = hub.endpoint.removeprefix("http://")
        warning = next(w.value for w in at.warning if "This downloads" in w.value).replace("\\", "")  # md-escaped
        assert host in warning and "KB" in warning
        confirm = at.button(key="fetch_confirm")
        assert host in confirm.label and "KB" in confirm.label
        confirm.click().run()
        assert not at.exception
        assert (target / "model.safetensors").read_bytes() == files["model.safetensors"]
        assert any("verified" in s.value for s in at.success)
        assert any(f"GEOLOC_MODEL={target} make run" in c.value for c in at.code)
    finally:
        hub.stop()


def test_country_names_from_a_model_folder_are_shown_as_text(data_dir, tmp_path):
    """#31: a country named ``![b](https://evil.example/c.png)`` in a model folder's places table became an
    image the browser requested on every verified photo (``st.table`` renders cells as Markdown)."""
    payload = "![b](https://evil.example/c.png) <img src=x onerror=alert(1)>"
    clip = save_tiny_clip(tmp_path / "clip")
    places = write_synthetic_places(tmp_path / "clean.csv").read_text(encoding="utf-8")
    (clip / "places.csv").write_text(places.replace(",Redonia,", f',"{payload}",'), encoding="utf-8")
    (clip / "zeroshot.json").write_text(json.dumps({"places_csv": "places.csv"}), encoding="utf-8")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["model_path"] = str(clip)
    at.run()
    at.file_uploader(key="verify_upload").upload("redonia.jpg", _redonia_jpeg(), "image/jpeg").run()
    assert not at.exception
    tables = [_html_rows(h.proto.body) for h in at.html]
    probabilities = next(t for t in tables if t and t[0] == ["country", "code", "probability"])
    assert probabilities[1][0] == payload  # shown literally, as text
    assert not any(payload in h.proto.body for h in at.html)  # the HTML carries it escaped (&lt;img ...)
    assert not any("![b](" in m.value for m in [*at.markdown, *at.caption, *at.info, *at.error, *at.warning])
    shutil.rmtree(clip)


def _sidebar_after(at: AppTest, key: str) -> list:
    """The sidebar's elements after the widget ``key``, in the order shown."""
    elements = list(at.sidebar)
    position = next(i for i, e in enumerate(elements) if getattr(e, "key", None) == key)
    return elements[position + 1:]


def test_a_bad_second_witness_leaves_the_first_one_working(data_dir, tiny_model_dir):
    """#32: a Hugging Face id typed as the second witness with downloads off made the top bar say "model not
    loaded" and Verify "cannot verify: no model" (findings saved without predictions) while the sidebar said
    "Model loaded": the second witness's error switched off the first."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["model_path"] = str(tiny_model_dir)
    at.session_state["second_model_path"] = "geolocal/StreetCLIP"  # not a folder here; downloads are off
    at.run()
    assert not at.exception
    # the failure is red and beside its own field; the first witness still says it is loaded
    after_second = _sidebar_after(at, "second_model_path_input")
    assert type(after_second[0]).__name__ == "Error" and "Second witness not loaded" in after_second[0].value
    assert "is not a folder on this machine" in after_second[0].value.replace("\\", "")
    assert any(c.value == "Model loaded." for c in at.sidebar.caption)
    bar = next(t.value for t in at.text if t.value.startswith("Case: "))
    assert "model loaded" in bar and "model not loaded" not in bar and "second witness not loaded" in bar
    at.file_uploader(key="verify_upload").upload("redonia.jpg", _redonia_jpeg(), "image/jpeg").run()
    assert not at.exception
    texts = "\n".join([*(m.value for m in at.markdown), *(i.value for i in at.info), *(e.value for e in at.main.error),
                       *(c.value for c in at.caption)])
    assert "no model" not in texts and "No location model is loaded" not in texts
    from geoloc_core.case.log.caselog import CaseLog

    log = CaseLog(data_dir / "caselog.sqlite3")
    (case_id, _, _), = log.cases()
    saved = log.findings(case_id)[0].finding
    assert saved.pred_lat is not None and saved.pred_kind == "regressor" and not saved.second_model
    # the Model page shows the first witness's facts and the second one's error
    at.switch_page("app_pages/model.py").run()
    assert not at.exception
    assert any("Second witness not loaded" in e.value for e in at.main.error)
    assert any(m.value.startswith("**Loaded**") for m in at.markdown)
