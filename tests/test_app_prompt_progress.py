"""Issue #29 in the app (AppTest): a zero-shot model's prompts are prepared as images need them, the page
says what was prepared, and the Model page counts the prompts on disk and runs the background warm-up."""
from __future__ import annotations

import json
import threading

import pytest
from streamlit.testing.v1 import AppTest

from tests.test_app_witnesses import APP, TIMEOUT, _redonia_jpeg
from tests.tiny_models import save_tiny_clip, synthetic_country_image, write_synthetic_places


@pytest.fixture
def world_clip(tmp_path):
    """A tiny CLIP of its own (a fresh folder: the app's model cache is per process and per path)."""
    folder = save_tiny_clip(tmp_path / "clip")
    write_synthetic_places(folder / "places.csv")
    (folder / "zeroshot.json").write_text(json.dumps({"places_csv": "places.csv", "cities_csv": "places.csv",
                                                                      "top_countries": 1}),
                                          encoding="utf-8")
    return folder


@pytest.fixture
def cache(data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("GEOLOC_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _prepared(at: AppTest) -> list[str]:
    return [c.value for c in at.caption if c.value.startswith("Zero-shot prompts prepared for this run")]


def _jpeg(code: str, seed: int) -> bytes:
    import io

    buffer = io.BytesIO()
    synthetic_country_image(code, seed=seed, size=64).save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


def test_verify_says_which_prompts_it_prepared_and_reuses_them(cache, world_clip):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["model_path"] = str(world_clip)
    at.run()
    at.file_uploader(key="verify_upload").upload("redonia.jpg", _redonia_jpeg(), "image/jpeg").run()
    assert not at.exception, at.exception
    prepared = _prepared(at)
    assert len(prepared) == 1 and "prompts/s" in prepared[0] and "kept on disk" in prepared[0]
    count = int(prepared[0].split(": ", 1)[1].split(" ", 1)[0])
    assert count == 4 + 2 + 4  # the 4 countries, Redonia's 2 regions and their 4 towns (not all 4 + 8 + 16)
    at.file_uploader(key="verify_upload").upload("again.jpg", _jpeg("XA", 6), "image/jpeg").run()
    assert not at.exception and _prepared(at) == []  # the same country's prompts are ready: nothing to wait for
    at.file_uploader(key="verify_upload").upload("bluvia.jpg", _jpeg("XC", 7), "image/jpeg").run()
    prepared = _prepared(at)
    assert len(prepared) == 1 and prepared[0].split(": ", 1)[1].startswith("6 ")  # Bluvia's regions and towns


def test_model_page_counts_prompts_on_disk_and_warms_the_rest(cache, world_clip):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["model_path"] = str(world_clip)
    at.run()
    at.switch_page("app_pages/model.py").run()
    assert not at.exception, at.exception
    assert any(c.value.startswith("0 of 28 prompts are prepared on disk") for c in at.caption)
    at.button(key=next(b.key for b in at.button if b.label == "Prepare all prompts in the background")).click().run()
    assert not at.exception, at.exception
    for thread in threading.enumerate():  # the page's warm-up, at the lowest priority in its own thread
        if thread.name == "geoloc-prompt-warmup":
            thread.join(timeout=120)
    at.run()
    assert any(c.value.startswith("28 of 28 prompts are prepared on disk") for c in at.caption)
    assert not any(b.label == "Prepare all prompts in the background" for b in at.button)
