"""Nothing leaves the machine by default: the scan CLI and training run with every outbound
connection blocked and recorded (tests/netguard), and none is attempted. The app's flows are
checked the same way by the browser tests' server (test_browser.py)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.imagegen import gps_exif, image_bytes

ROOT = Path(__file__).resolve().parents[1]
NETGUARD = Path(__file__).resolve().parent / "netguard"


def guarded_env(log: Path, **extra: str) -> dict:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(NETGUARD), str(ROOT)]), "GEOLOC_NETGUARD_LOG": str(log),
            **extra}


def test_guard_really_blocks_and_records(tmp_path):
    log = tmp_path / "net.log"
    code = "import socket\ntry:\n    socket.create_connection(('192.0.2.1', 80), timeout=1)\nexcept OSError as e:\n    print(e)"
    out = subprocess.run([sys.executable, "-c", code], env=guarded_env(log), capture_output=True, text=True)
    assert "blocked by the geoloc test guard" in out.stdout and "192.0.2.1" in log.read_text()


def test_scan_cli_makes_no_outbound_connection(tmp_path, tiny_model_dir):
    log = tmp_path / "net.log"
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.jpg").write_bytes(image_bytes(exif=gps_exif(35.68, 139.76)))
    (tmp_path / "in" / "b.png").write_bytes(image_bytes("PNG"))
    result = subprocess.run([sys.executable, "-m", "geoloc_core", "scan", str(tmp_path / "in"), "--model",
                             str(tiny_model_dir), "--out", str(tmp_path / "o.csv"), "--no-progress"],
                            env=guarded_env(log, HF_HUB_OFFLINE="0"), cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "JP" in (tmp_path / "o.csv").read_text()
    assert not log.exists(), log.read_text()


def test_training_smoke_makes_no_outbound_connection(tmp_path):
    log = tmp_path / "net.log"
    code = (
        "from pathlib import Path\n"
        "from geoloc_core.learning.synthetic import make_world\n"
        "from training.make_world import save_tiny_clip\n"
        f"root = Path({str(tmp_path)!r})\n"
        "csv_path = make_world(root / 'w', 120, seed=0)\n"
        "backbone = save_tiny_clip(root / 'clip')\n"
        "from training.train import main\n"
        "raise SystemExit(main(['--config', 'training/configs/tiny_world.yaml', '--output', str(root / 'run'),\n"
        "    '--set', f'model.backbone={backbone}', '--set', f'data.train_csv={csv_path}',\n"
        "    '--set', f'data.images={csv_path.parent}', '--set', f\"data.cache_dir={root / 'cache'}\",\n"
        "    '--set', 'optim.epochs=2', '--set', 'progress=false']))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], env=guarded_env(log), cwd=ROOT, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "run" / "model" / "model.safetensors").exists()
    assert not log.exists(), log.read_text()


# ----- the real server, started the way `make run` starts it ----------------------------------------------

def _wait_until_healthy(port: int, server: subprocess.Popen, log: Path, timeout_s: float = 120) -> None:
    """Poll the server's health route until it answers "ok"; fail with the end of its log if it never does."""
    import time
    import urllib.request

    deadline = time.time() + timeout_s
    while True:
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).read() == b"ok":
                return
        except OSError:
            if time.time() > deadline or server.poll() is not None:
                pytest.fail("server did not start: " + log.read_text()[-2000:])
            time.sleep(0.5)


def _make_run_command(port: int) -> list[str]:
    """The `run` recipe of the Makefile, with $(PY) and $(PORT) filled in."""
    import shlex

    lines = (ROOT / "Makefile").read_text().splitlines()
    recipe = lines[lines.index(next(l for l in lines if l.startswith("run:"))) + 1].strip()
    return [sys.executable if word == "$(PY)" else word.replace("$(PORT)", str(port)) for word in shlex.split(recipe)]


def _listening_addresses(port: int) -> set[str]:
    """Local addresses with a socket in LISTEN state on ``port`` (from /proc/net/tcp and tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, local_port = local.split(":")
            if state == "0A" and int(local_port, 16) == port:
                found.add(address)
    return found


def _websocket_status(port: int, host: str, origin: str) -> str:
    """The status line the server answers to a WebSocket upgrade on Streamlit's stream endpoint."""
    import base64
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        key = base64.b64encode(os.urandom(16)).decode()
        connection.sendall((f"GET /_stcore/stream HTTP/1.1\r\nHost: {host}\r\nOrigin: {origin}\r\n"
                            f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                            "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        return connection.recv(4096).decode("latin-1").split("\r\n", 1)[0]


@pytest.mark.browser
def test_make_run_listens_on_loopback_and_reaches_nothing(tmp_path, tiny_model_dir):
    """`make run`'s command, with every outbound attempt blocked and recorded: it listens on
    127.0.0.1 only, refuses WebSockets from other hosts and origins (DNS rebinding, cross-site), and
    makes no outbound attempt during start-up, a hostile cross-origin WebSocket, a Verify and a Batch."""
    import socket
    import time

    from playwright.sync_api import sync_playwright

    from tests.test_browser import CHROMIUM, CHROMIUM_ARGS

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = tmp_path / "net.log"
    env = guarded_env(log, GEOLOC_DATA_DIR=str(tmp_path / "data"), GEOLOC_MODEL=str(tiny_model_dir))
    output = open(tmp_path / "server.log", "w")
    server = subprocess.Popen(_make_run_command(port), cwd=ROOT, env=env, stdout=output, stderr=output)
    try:
        _wait_until_healthy(port, server, tmp_path / "server.log")
        time.sleep(2)  # the start-up banner (where Streamlit would look up its external IP) is printed by now
        assert _listening_addresses(port) == {"0100007F"}, _listening_addresses(port)  # 127.0.0.1 only
        assert not log.exists(), "start-up: " + log.read_text()
        here = f"127.0.0.1:{port}"
        assert _websocket_status(port, here, f"http://{here}").split()[1] == "101"  # the check can pass
        assert _websocket_status(port, f"rebound.example:{port}", f"http://rebound.example:{port}").split()[1] != "101"
        assert _websocket_status(port, here, "http://evil.example").split()[1] != "101"
        assert not log.exists(), "cross-origin WebSocket: " + log.read_text()

        folder = tmp_path / "batch"
        folder.mkdir()
        for i in range(3):
            (folder / f"b{i}.jpg").write_bytes(image_bytes(color=(i * 80, 40, 40), exif=gps_exif(10.0 + i, 20.0)))
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(f"http://{here}", wait_until="networkidle")
            page.get_by_text("Drop a photo").wait_for(timeout=120_000)
            page.locator("input[type=file]").first.set_input_files(str(folder / "b0.jpg"))
            page.get_by_text("Verdict:").first.wait_for(timeout=120_000)
            page.get_by_role("link", name="Batch").click()
            page.get_by_text("A folder of images").wait_for()
            page.locator("input[type=file][webkitdirectory]").set_input_files(str(folder))
            page.get_by_role("button", name=re.compile(r"Analyse \d+ upload")).click()
            page.get_by_text("Done:").wait_for(timeout=120_000)
            browser.close()
        assert not log.exists(), "Verify/Batch: " + log.read_text()
    finally:
        server.terminate()
        server.wait(timeout=30)
        output.close()


def test_a_hugging_face_model_id_is_refused_offline_with_no_lookup(tmp_path, tiny_model_dir):
    """Typing a Hub id (or loading a head-only folder whose backbone lives on the Hub) is an online
    action: refused with a clear message unless allowed, and no DNS lookup happens."""
    import json
    import shutil

    head_only = tmp_path / "head-only"
    shutil.copytree(tiny_model_dir, head_only)
    config = json.loads((head_only / "config.json").read_text())
    config.update(backbone_bundled=False, backbone_name_or_path="openai/clip-vit-base-patch32")
    (head_only / "config.json").write_text(json.dumps(config))
    log = tmp_path / "net.log"
    code = (
        "import sys\n"
        "from geoloc_core.model.inference import ModelLoadError, load_predictor\n"
        "for model in sys.argv[1:]:\n"
        "    try:\n"
        "        load_predictor(model)\n"
        "        print('LOADED', model)\n"
        "    except ModelLoadError as exc:\n"
        "        print('REFUSED', exc)\n"
    )
    result = subprocess.run([sys.executable, "-c", code, "openai/clip-vit-base-patch32", str(head_only)],
                            env=guarded_env(log, HF_HUB_OFFLINE="0"), cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 2 and all(line.startswith("REFUSED") for line in lines), lines
    assert all("online" in line and "Download models from Hugging Face" in line for line in lines)
    assert not log.exists(), log.read_text()
    scan = subprocess.run([sys.executable, "-m", "geoloc_core", "scan", str(tmp_path), "--model",
                           "openai/clip-vit-base-patch32", "--out", str(tmp_path / "o.csv"), "--no-progress"],
                          env=guarded_env(log, HF_HUB_OFFLINE="0"), cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert scan.returncode == 2 and "--allow-model-download" in scan.stderr and "Traceback" not in scan.stderr
    assert not log.exists(), log.read_text()


def _http_status(port: int, path: str, host: str) -> int:
    """The status the server answers to a plain GET of ``path`` sent with ``Host: host``."""
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        return int(connection.recv(4096).decode("latin-1").split("\r\n", 1)[0].split()[1])


@pytest.mark.browser
def test_every_route_checks_host_and_websockets_need_the_apps_exact_origin(tmp_path):
    """Issue #31: HTTP routes ignored the Host header (``/_stcore/metrics`` readable through DNS rebinding),
    and a WebSocket from any ``http://localhost:<port>`` origin was accepted. ``ui.serve`` answers only its
    own names (localhost, 127.0.0.1, [::1] and the configured address, at its port) and opens a WebSocket
    only for the app's exact origin (scheme, host and port); the page still loads in Chromium."""
    import socket

    from playwright.sync_api import sync_playwright

    from tests.test_browser import CHROMIUM, CHROMIUM_ARGS

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "GEOLOC_DATA_DIR": str(tmp_path / "data")}
    output = open(tmp_path / "server.log", "w")
    server = subprocess.Popen([sys.executable, "-m", "ui.serve", "--server.port", str(port)], cwd=ROOT, env=env,
                              stdout=output, stderr=output)
    try:
        _wait_until_healthy(port, server, tmp_path / "server.log")
        for path in ("/_stcore/metrics", "/_stcore/health", "/"):
            for host in ("evil.example", f"evil.example:{port}", "localhost:9", f"127.0.0.2:{port}"):
                assert _http_status(port, path, host) in (400, 403), (path, host)
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", f"LOCALHOST:{port}"):
            assert _http_status(port, "/_stcore/health", host) == 200, host
        here = f"127.0.0.1:{port}"
        assert _websocket_status(port, here, f"http://{here}").split()[1] == "101"  # the check can pass
        for origin in ("http://localhost:9", f"http://localhost:{port + 1}", f"https://{here}", "null",
                       f"http://{here}.evil.example"):
            assert _websocket_status(port, here, origin).split()[1] != "101", origin
        assert _websocket_status(port, f"evil.example:{port}", f"http://evil.example:{port}").split()[1] != "101"

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(f"http://{here}")
            page.get_by_text("Drop a photo").wait_for(timeout=120_000)  # drawn over the WebSocket
            page.goto(f"http://localhost:{port}")
            page.get_by_text("Drop a photo").wait_for(timeout=120_000)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
        output.close()
