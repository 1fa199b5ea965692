"""A pixel-decode spy that runs inside the isolated worker (#35): ``spied(inspector, data)`` runs the
inspector with Pillow's decoders (``ImageFile.load``, the one call every Pillow decode goes through)
counting their calls, and returns (inspector's result, calls). Module-level, so the worker can unpickle it."""
from __future__ import annotations


def spied(inspector, data: bytes):
    from PIL import ImageFile

    calls = []
    original = ImageFile.ImageFile.load

    def load(self, *args, **kwargs):
        calls.append(type(self).__name__)
        return original(self, *args, **kwargs)

    ImageFile.ImageFile.load = load
    try:
        return inspector(data), len(calls)
    finally:
        ImageFile.ImageFile.load = original
