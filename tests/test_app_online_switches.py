"""Every network action of the app sits behind its labelled online switch (#32: "Check the download size (asks
the hub)" reached the hub with "Download models from Hugging Face (online)" off).

The connections the app attempts are recorded in this process (AppTest runs the pages here) by an audit hook
on ``socket.connect`` and ``socket.getaddrinfo``, the same events tests/netguard records for subprocesses; the
hub is tests/hub_server.py's real HTTP server on 127.0.0.1, which also logs every request it gets."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.hub_server import FakeHub
from tests.tiny_models import save_tiny_clip

APP = str(Path(__file__).resolve().parents[1] / "app.py")
REPO = "openai/tiny-clip"
_ATTEMPTS: list[tuple[str, object]] = []
_RECORDING = [False]


def _hook(event: str, args: tuple) -> None:
    if _RECORDING[0] and event in ("socket.connect", "socket.getaddrinfo"):
        _ATTEMPTS.append((event, args[1] if event == "socket.connect" else args[0]))


sys.addaudithook(_hook)  # audit hooks cannot be removed: it records only while a test asks it to


class recording:
    """``with recording() as attempts:`` the connections attempted inside the block."""

    def __enter__(self) -> list:
        _ATTEMPTS.clear()
        _RECORDING[0] = True
        return _ATTEMPTS

    def __exit__(self, *exc) -> None:
        _RECORDING[0] = False


@pytest.fixture(scope="module")
def clip_files(tmp_path_factory) -> dict[str, bytes]:
    folder = save_tiny_clip(tmp_path_factory.mktemp("served_clip"))
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


@pytest.fixture()
def hub(clip_files, monkeypatch):
    server = FakeHub({("model", REPO): dict(clip_files)}).start()
    monkeypatch.setenv("HF_ENDPOINT", server.endpoint)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_HOME", str(Path(os.environ.get("TMPDIR", "/tmp")) / "geoloc-test-hf-home"))
    yield server
    server.stop()


def _model_page(online: bool) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["allow_model_download"] = online  # the sidebar's switch
    at.run()
    at.switch_page("app_pages/model.py").run()
    assert not at.exception
    at.text_input(key="fetch_model_id").input(REPO).run()
    return at


def _said(at: AppTest) -> str:
    return "\n".join(str(e.value) for group in (at.error, at.warning, at.info) for e in group).replace("\\", "")


def test_checking_the_download_size_with_the_switch_off_connects_nowhere_and_says_why(data_dir, hub):
    at = _model_page(online=False)
    with recording() as attempts:
        at.button(key="fetch_plan").click().run()
    assert not at.exception
    assert attempts == [] and hub.requests == []
    said = _said(at)
    assert "Nothing was sent" in said and "'Download models from Hugging Face (online)' is off" in said
    assert not any(b.key == "fetch_confirm" for b in at.button)  # no download offered either


def test_checking_the_download_size_with_the_switch_on_asks_the_loopback_hub(data_dir, hub):
    at = _model_page(online=True)
    with recording() as attempts:
        at.button(key="fetch_plan").click().run()
    assert not at.exception
    port = int(hub.endpoint.rsplit(":", 1)[1])
    assert any(event == "socket.connect" and address[1] == port for event, address in attempts
               if isinstance(address, tuple)), attempts
    lookups = [host for event, host in attempts if event == "socket.getaddrinfo"]
    assert all(str(host) in ("127.0.0.1", "localhost") for host in lookups), attempts  # not huggingface.co
    assert any(r.startswith(f"GET /api/models/{REPO}") for r in hub.requests), hub.requests
    assert "This downloads" in _said(at) and any(b.key == "fetch_confirm" for b in at.button)


def test_a_size_checked_before_the_switch_went_off_downloads_nothing(data_dir, hub, tmp_path):
    at = _model_page(online=True)
    at.text_input(key="fetch_target").input(str(tmp_path / "clip")).run()
    at.button(key="fetch_plan").click().run()
    asked = len(hub.requests)
    at.session_state["allow_model_download"] = False
    at.run()
    with recording() as attempts:
        at.button(key="fetch_confirm").click().run()
    assert not at.exception
    assert attempts == [] and len(hub.requests) == asked and not (tmp_path / "clip").exists()
    assert "Nothing was sent" in _said(at)


def test_with_every_online_switch_off_the_pages_attempt_no_connection(data_dir, hub):
    """The other online actions (Nominatim, map tiles, links to online tools, a hub model id) each sit behind
    their own switch; with all of them off (the default), verifying a photo with GPS and a written place, the
    Case log and the Model page attempt no connection at all, not even to the loopback hub."""
    from tests.imagegen import gps_exif, image_bytes

    at = AppTest.from_file(APP, default_timeout=120)
    with recording() as attempts:
        at.run()
        assert not any(t.value for t in at.toggle if t.key in ("allow_model_download", "online_geocoder",
                                                                 "online_tiles", "online_handoff"))
        at.text_input(key="model_path_input").input(REPO).run()  # a hub id: refused offline, never looked up
        at.file_uploader(key="verify_upload").upload("paris.jpg", image_bytes(exif=gps_exif(48.8584, 2.2945)),
                                                     "image/jpeg").run()
        at.switch_page("app_pages/cases.py").run()
        at.switch_page("app_pages/model.py").run()
    assert not at.exception
    assert attempts == [] and hub.requests == []
