"""training/README.md's recipe, run as written: every command of the "Recipe: OSV-5M and MP-16" section, for one
GPU (``LAUNCH="python -m"``) and for torchrun (2 CPU processes), on data generated here in each data set's
published layout (OSV-5M's zip shards and CSV on a local hub, MP-16's msgpack shards from GeoEstimation, IM2GPS3K and
YFCC4K CSVs), with a tiny backbone served as ``openai/clip-vit-large-patch14``. Only the scale changes: ``--set``
options appended to the training commands shrink the head, the batch and the epochs."""
from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from geoloc_core.learning.synthetic import render, sample_locations
from tests.hub_server import FakeHub

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "training" / "README.md"
SECTION = "## Recipe: OSV-5M and MP-16, on one GPU or with torchrun"
SMALL = ("--set optim.epochs=1 --set optim.batch_size=8 --set model.head_width=32 --set model.num_attention_heads=4 "
         "--set data.num_workers=0 --set data.extract_batch_size=8 --set data.shard_size=16 --set progress=false "
         "--set data.val_fraction=0.15 --set data.calibration_fraction=0.15 --set data.test_fraction=0.15")
OSV5M_COLUMNS = ("id,latitude,longitude,thumb_original_url,country,sequence,captured_at,lon_bin,lat_bin,cell,"
                 "land_cover,road_index,drive_side,climate,soil,dist_sea,region,sub-region,city")
PLACES365 = "S3_Label,S16_Label,S365_Label,Prob_indoor,Prob_natural,Prob_urban"


def recipe_blocks() -> list[str]:
    text = README.read_text(encoding="utf-8")
    assert SECTION in text, "the recipe section is gone from training/README.md"
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.*?)```", section, flags=re.S)


def as_test_script(block: str, torchrun: bool, skip_downloads: bool = False) -> str:
    """The block with its continuation lines joined, the small-scale settings appended to the training commands,
    and for torchrun the launch lines swapped (2 processes on the CPU)."""
    lines = []
    for line in block.replace("\\\n", " ").splitlines():
        if skip_downloads and re.search(r"-m (geoloc_core fetch|training\.fetch_data)", line):
            continue
        if torchrun and line.startswith('LAUNCH="python -m"'):
            line = "# " + line
        elif torchrun and line.startswith('# LAUNCH="torchrun'):
            line = line[2:].replace("--nproc_per_node=8", "--nproc_per_node=2")
        if re.search(r"training\.(train|extract_features) ", line):
            line = f"{line} {SMALL}"
        lines.append(line)
    return "set -euo pipefail\n" + "\n".join(lines) + "\n"


def _jpeg(lat: float, lon: float, rng) -> bytes:
    buffer = io.BytesIO()
    render(lat, lon, rng, size=32).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _osv5m_repo(rng) -> dict[str, bytes]:
    """OSV-5M on the hub: train.csv / test.csv in the published columns, images/{train,test}/NN.zip whose entries
    extract to NN/<id>.jpg."""
    files = {"README.md": b"---\nlicense: cc-by-sa-4.0\n---\n"}
    for split, shards, per_shard in (("train", 2, 30), ("test", 2, 6)):
        rows = [OSV5M_COLUMNS]
        for shard in range(shards):
            entries = {}
            for k, (lat, lon) in enumerate(sample_locations(per_shard, rng)):
                image_id = f"{split[:2]}{shard}{k:04d}"
                entries[f"{shard:02d}/{image_id}.jpg"] = _jpeg(lat, lon, rng)
                rows.append(f"{image_id},{lat:.6f},{lon:.6f},https://example.org/{image_id}.jpg,XX,"
                            f"seq{split}{shard}_{k // 3},2020-01-01 00:00:00,1,2,3,4,0.1,right,5,6,0.2,R,S,C")
            files[f"images/{split}/{shard:02d}.zip"] = _zip(entries)
        files[f"{split}.csv"] = ("\n".join(rows) + "\n").encode()
    return files


def _geoestimation_data(work: Path, rng) -> None:
    """MP-16 as GeoEstimation's download_images.py writes it, and IM2GPS3K / YFCC4K as published."""
    import msgpack

    shards = work / "data" / "mp16" / "msgpack"
    shards.mkdir(parents=True)
    rows = [f"IMG_ID,AUTHOR,LAT,LON,{PLACES365}"]
    locations = sample_locations(64, rng)
    for shard in range(2):
        with (shards / f"shard_{shard}.msg").open("wb") as handle:
            for k in range(32):
                n = shard * 32 + k
                lat, lon = locations[n]
                image_id = f"{n % 7:02x}/{n % 5:02x}/{900000 + n}.jpg"
                handle.write(msgpack.packb({"image": _jpeg(lat, lon, rng), "id": image_id}))
                rows.append(f"{image_id},{n // 4}@N00,{lat:.6f},{lon:.6f},0,1,2,0.1,0.2,0.7")
    (shards / "writer.log").write_text("written by download_images.py\n")
    (work / "data" / "mp16" / "mp16_places365.csv").write_text("\n".join(rows) + "\n")
    for name, header in (("im2gps3k", f"IMG_ID,AUTHOR,LON,LAT,{PLACES365}"),
                         ("yfcc4k", f"IMG_ID,AUTHOR,LAT,LON,{PLACES365}")):
        folder = work / "data" / name / "images"
        folder.mkdir(parents=True)
        lines = [header]
        for k, (lat, lon) in enumerate(sample_locations(10, rng)):
            image_id = f"{1000 + k}_abc_{k}_{k}@N00.jpg" if name == "im2gps3k" else f"{25000000 + k}.jpg"
            (folder / image_id).write_bytes(_jpeg(lat, lon, rng))
            first, second = (lon, lat) if name == "im2gps3k" else (lat, lon)
            lines.append(f"{image_id},{k}@N00,{first:.6f},{second:.6f},0,1,2,0.1,0.2,0.7")
        (work / "data" / name / f"{name}_places365.csv").write_text("\n".join(lines) + "\n")


@pytest.fixture()
def workspace(tmp_path):
    from tests.tiny_models import save_tiny_backbone

    rng = np.random.default_rng(0)
    backbone = save_tiny_backbone(tmp_path / "served_backbone")
    hub = FakeHub({("model", "openai/clip-vit-large-patch14"): {p.name: p.read_bytes() for p in backbone.iterdir()},
                   ("dataset", "osv5m/osv5m"): _osv5m_repo(rng)}).start()
    work = tmp_path / "work"
    shutil.copytree(ROOT / "training" / "configs", work / "training" / "configs")
    _geoestimation_data(work, rng)
    env = {**os.environ, "HF_ENDPOINT": hub.endpoint, "HF_HUB_OFFLINE": "", "HF_HOME": str(tmp_path / "hf_home"),
           "PYTHONPATH": str(ROOT), "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    yield work, env
    hub.stop()


def _run(script: str, work: Path, env: dict) -> subprocess.CompletedProcess:
    result = subprocess.run(["bash", "-c", script], cwd=work, env=env, capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, (script, result.stdout[-3000:], result.stderr[-3000:])
    return result


def test_the_recipe_blocks_are_there():
    blocks = recipe_blocks()
    assert len(blocks) == 2 and all('LAUNCH="python -m"' in b and "# LAUNCH=\"torchrun" in b for b in blocks)
    for block in blocks:
        script = as_test_script(block, torchrun=True)
        assert 'LAUNCH="torchrun --standalone --nproc_per_node=2 -m"' in script and "--set optim.epochs=1" in script


@pytest.mark.slow
def test_osv5m_and_mp16_recipes_run_on_one_gpu_and_with_torchrun(workspace):
    work, env = workspace
    osv5m, mp16 = recipe_blocks()
    for torchrun in (False, True):
        shutil.rmtree(work / "runs", ignore_errors=True)
        result = _run(as_test_script(osv5m, torchrun, skip_downloads=torchrun), work, env)
        assert (" x2," if torchrun else " x1,") in result.stdout
        trained_on = json.loads((work / "runs" / "osv5m" / "model" / "config.json").read_text())["trained_on"]
        assert "by 'sequence' groups" in trained_on["held_out_split"]
        assert "| model |" in (work / "osv5m_test.md").read_text()
        if not torchrun:  # the fetched OSV-5M: the whole test split, read whole
            assert "the whole test split (2 shards)" in result.stdout + result.stderr
            assert len((work / "data" / "osv5m" / "test.csv").read_text().splitlines()) == 1 + 12
        result = _run(as_test_script(mp16, torchrun), work, env)
        assert (" x2," if torchrun else " x1,") in result.stdout
        trained_on = json.loads((work / "runs" / "mp16" / "model" / "config.json").read_text())["trained_on"]
        assert "by 'AUTHOR' groups" in trained_on["held_out_split"] and trained_on["train_images"] > 30
        for table in ("im2gps3k.md", "yfcc4k.md"):
            assert "| model |" in (work / table).read_text()
