"""MessagePack shards, as GeoEstimation ships MP-16 (``shard_0.msg``, ``shard_1.msg``, ...).

Why: MP-16, the thesis's training set, is most often on disk the way TIBHannover/GeoEstimation's
``download_images.py`` writes it: each shard a stream of msgpack maps ``{"image": JPEG bytes, "id":
IMG_ID}`` (labels in ``mp16_places365.csv``; some re-packings put ``lat``/``lon`` in the map too).
Unpacking 4.7M images to files costs a day and an inode each; reading them in place costs nothing.

The shards are indexed once (each record's map is walked, its image bytes skipped over) and an
image is then located by (shard, offset, size) exactly like a tar member, so ``read_record_bytes``,
the feature cache and the evaluation read it with one seek. Shards written by msgpack < 1.0 (bytes
packed as raw ``str``) and >= 1.0 (``bin``) are both read: the map is unpacked with ``raw=True``.
"""
from __future__ import annotations

import glob
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

SUFFIX = ".msg"
MAX_RECORD_BYTES = 64 * 1024**2  # one image; larger is not a photo of a published data set
IMAGE_KEYS = ("image", "img", "jpg")
LABEL_KEYS = ("lat", "lon", "latitude", "longitude")


class MsgpackError(ValueError):
    """A shard that cannot be read (damaged, truncated, not msgpack)."""


@dataclass(frozen=True)
class MsgpackSample:
    shard: Path
    key: str  # the record's "id" ("" when it has none)
    offset: int  # where the image's bytes start in the shard file (-1: no image in the record)
    size: int
    labels: dict = field(default_factory=dict)  # lat / lon / latitude / longitude when the record holds them


def _natural(path: Path):
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


def msgpack_shards(images: str | Path) -> list[Path] | None:
    """The msgpack shards named by ``images``: one ``.msg`` file, a glob of them, or a folder holding
    ``.msg`` files and no images (GeoEstimation leaves ``writer.log`` beside them); None otherwise.
    Shards come in numeric order (``shard_2`` before ``shard_10``)."""
    text = str(images)
    if any(c in text for c in "*?["):
        found = [Path(p) for p in glob.glob(text)]
        return sorted(found, key=_natural) if found and all(p.suffix == SUFFIX for p in found) else None
    path = Path(text)
    if path.is_file():
        return [path] if path.suffix == SUFFIX else None
    if path.is_dir():
        entries = [p for p in path.iterdir() if not p.name.startswith(".") and p.is_file()]
        shards = [p for p in entries if p.suffix == SUFFIX]
        images_too = any(p.suffix.lower() in (".jpg", ".jpeg", ".png", ".webp", ".tar") for p in entries)
        return sorted(shards, key=_natural) if shards and not images_too else None
    return None


def _text(value) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _label(value):
    """A coordinate as stored (number or text); anything else (a list, a map) is not one."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, (bytes, str)):
        return _text(value)
    return None


def index_msgpack(shards: list[Path]) -> list[MsgpackSample]:
    """Every map record of every shard, in stream order. Records that are not maps (GeoEstimation's
    reader tolerates None) are skipped; a damaged or truncated shard raises ``MsgpackError`` naming it."""
    import msgpack

    samples: list[MsgpackSample] = []
    for shard in shards:
        try:
            handle = open(shard, "rb")
        except OSError as exc:
            raise MsgpackError(f"cannot read msgpack shard {shard}: {exc}") from None
        with handle:
            unpacker = msgpack.Unpacker(handle, raw=True, max_buffer_size=MAX_RECORD_BYTES,
                                        strict_map_key=False)
            while True:
                try:
                    count = unpacker.read_map_header()
                except msgpack.OutOfData:
                    break
                except ValueError:  # not a map: skip the object, or fail on bytes that are not msgpack
                    try:
                        unpacker.skip()
                    except (ValueError, msgpack.UnpackException) as exc:
                        raise MsgpackError(f"cannot read msgpack shard {shard} at byte {unpacker.tell()}: "
                                           f"not msgpack ({type(exc).__name__})") from None
                    continue
                try:
                    key, image, labels = "", (-1, -1), {}
                    for _ in range(count):
                        name = _text(unpacker.unpack())
                        value = unpacker.unpack()
                        if name in IMAGE_KEYS and isinstance(value, bytes):
                            image = (unpacker.tell() - len(value), len(value))  # the payload ends the value
                        elif name == "id":
                            key = _text(value)
                        elif name.lower() in LABEL_KEYS:
                            labels[name.lower()] = _label(value)
                except msgpack.OutOfData:
                    raise MsgpackError(f"msgpack shard {shard} is truncated at byte {unpacker.tell()}: "
                                       f"download it again") from None
                except (ValueError, msgpack.UnpackException) as exc:
                    raise MsgpackError(f"cannot read msgpack shard {shard} at byte {unpacker.tell()}: "
                                       f"{type(exc).__name__}") from None
                samples.append(MsgpackSample(shard, key, image[0], image[1], labels))
    return samples
