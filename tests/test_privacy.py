"""Nothing leaves the machine by default: the scan CLI and training run with every outbound
connection blocked and recorded (tests/netguard), and none is attempted. The app's flows are
checked the same way by the browser tests' server (test_browser.py)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
