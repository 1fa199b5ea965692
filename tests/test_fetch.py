"""``python -m geoloc_core fetch`` against a real HTTP server on 127.0.0.1 in the hub's layout, with the real
huggingface_hub client (no mocks): size printed first, one weight format, resume, verification, offline."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from geoloc_core.model.fetch import PARTIAL_DIR, FetchError, download, missing_bytes, plan_fetch
from tests.hub_server import FakeHub
from tests.tiny_models import save_tiny_clip

ROOT = Path(__file__).resolve().parents[1]
REPO = "openai/tiny-clip"


@pytest.fixture(scope="module")
def clip_files(tmp_path_factory) -> dict[str, bytes]:
    folder = save_tiny_clip(tmp_path_factory.mktemp("served_clip"))
    files = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    # copies in other formats, as many hub repositories have: must not be fetched
    files |= {"pytorch_model.bin": b"torch" * 100, "tf_model.h5": b"tf" * 100, "flax_model.msgpack": b"fx" * 100,
              ".gitattributes": b"*.bin filter=lfs\n", "onnx/model.onnx": b"onnx" * 10}
    return files


@pytest.fixture()
def hub(clip_files, monkeypatch):
    server = FakeHub({("model", REPO): dict(clip_files)}).start()
    monkeypatch.setenv("HF_ENDPOINT", server.endpoint)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_HOME", str(Path(os.environ.get("TMPDIR", "/tmp")) / "geoloc-test-hf-home"))
    yield server
    server.stop()


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "geoloc_core", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={**os.environ, **env})


def test_fetch_prints_size_first_downloads_one_format_and_says_how_to_use_it(hub, clip_files, tmp_path):
    out = tmp_path / "clip"
    result = _cli("fetch", REPO, "--to", str(out), env={"HF_ENDPOINT": hub.endpoint})
    assert result.returncode == 0, result.stderr
    wanted = {n for n in clip_files if n.endswith((".json", ".safetensors"))}
    size = sum(len(clip_files[n]) for n in wanted)
    lines = result.stderr.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("fetching"))
    assert f"{len(wanted)} files" in lines[first] and "127.0.0.1" in lines[first]
    assert f"{size / 1000:,.2f} KB" in lines[first] or f"{size / 1e6:,.2f} MB" in lines[first]
    assert first < next(i for i, line in enumerate(lines) if line.startswith("verified"))
    assert f"GEOLOC_MODEL={out} make run" in result.stderr and "zero-shot" in result.stderr
    fetched = {p.name for p in out.iterdir() if p.is_file()}
    assert fetched == wanted  # no .bin, .h5, .msgpack, onnx/ or dot files
    for name in wanted:
        assert (out / name).read_bytes() == clip_files[name]
    from geoloc_core.model.inference import ZERO_SHOT, load_predictor

    assert load_predictor(out).kind == ZERO_SHOT  # what was fetched predicts

    again = _cli("fetch", REPO, "--to", str(out), env={"HF_ENDPOINT": hub.endpoint})
    assert again.returncode == 0 and "0 B still to download" in again.stderr


def test_an_interrupted_download_resumes_with_a_range_request(hub, clip_files, tmp_path):
    weights = clip_files["model.safetensors"]
    partial = tmp_path / PARTIAL_DIR / "model.safetensors.part"
    partial.parent.mkdir()
    partial.write_bytes(weights[:1000])  # what an interrupted first run left behind
    plan = plan_fetch(REPO)
    assert missing_bytes(plan, tmp_path) == plan.total_bytes - 1000
    download(plan, tmp_path, say=lambda line: None)
    assert (tmp_path / "model.safetensors").read_bytes() == weights
    assert not (tmp_path / PARTIAL_DIR).exists()
    assert any(r.startswith("GET /openai/tiny-clip/resolve/") and r.endswith("bytes=1000-") for r in hub.requests)


def test_a_damaged_file_is_deleted_and_reported(hub, tmp_path):
    hub.corrupt.add("model.safetensors")
    with pytest.raises(FetchError, match="model.safetensors arrived damaged .* deleted: run the command again"):
        download(plan_fetch(REPO), tmp_path, say=lambda line: None)
    assert not (tmp_path / "model.safetensors").exists()


def test_unknown_repository_is_a_clear_message(hub, tmp_path):
    result = _cli("fetch", "openai/no-such-model", "--to", str(tmp_path / "x"), env={"HF_ENDPOINT": hub.endpoint})
    assert result.returncode == 2 and "was not found on 127.0.0.1" in result.stderr
    assert "Traceback" not in result.stderr


def test_offline_fails_at_once_with_a_clear_message(tmp_path):
    with socket.socket() as probe:  # a port nobody listens on: the host is unreachable
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    for env, expected in (({"HF_HUB_OFFLINE": "1", "HF_ENDPOINT": closed}, "offline mode is on (HF_HUB_OFFLINE)"),
                          ({"HF_HUB_OFFLINE": "", "HF_ENDPOINT": closed}, "cannot reach 127.0.0.1")):
        start = time.monotonic()
        result = _cli("fetch", REPO, "--to", str(tmp_path / "clip"), env=env)
        assert result.returncode == 2 and expected in result.stderr, result.stderr
        assert "Traceback" not in result.stderr and time.monotonic() - start < 30
        assert not (tmp_path / "clip").exists()  # nothing created before the hub answered
