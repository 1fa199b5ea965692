"""Turn the checks' outputs from the stored pixel grid to the photo as it is shown.

Why the checks do not rotate first: the JPEG 8 x 8 grid, the quantisation and the error levels belong
to the pixels as stored; rotating before the checks would break the grid. The photo is shown rotated by
its EXIF Orientation (``imaging.load_rgb``), so the views, the map and the boxes are turned the same way
afterwards, here, with the transposition Pillow's ``ImageOps.exif_transpose`` uses for each value."""
from __future__ import annotations

import io

import numpy as np
from PIL import Image

_METHODS = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
            5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
            8: Image.Transpose.ROTATE_90}


def read_orientation(data: bytes) -> int:
    """EXIF Orientation 1..8; 1 when absent or unreadable."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            value = int(image.getexif().get(0x0112, 1))
    except Exception:  # a broken EXIF block only means we cannot rotate
        return 1
    return value if value in range(1, 9) else 1


def orient_png(png: bytes, orientation: int) -> bytes:
    if orientation not in _METHODS or not png:
        return png
    with Image.open(io.BytesIO(png)) as image:
        turned = image.transpose(_METHODS[orientation])
    buffer = io.BytesIO()
    turned.save(buffer, "PNG")
    return buffer.getvalue()


def orient_grid(rows: tuple[tuple[float, ...], ...], orientation: int) -> tuple[tuple[float, ...], ...]:
    if orientation not in _METHODS or not rows:
        return rows
    grid = np.asarray(rows, dtype=np.float64)
    turned = {2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1], 5: lambda a: a.T,
              6: lambda a: np.rot90(a, -1), 7: lambda a: a[::-1, ::-1].T, 8: lambda a: np.rot90(a, 1)}[orientation](grid)
    return tuple(tuple(float(v) for v in row) for row in turned)


def orient_box(box: tuple[int, int, int, int], size: tuple[int, int], orientation: int) -> tuple[int, int, int, int]:
    """A (left, top, right, bottom) box of the stored picture of ``size`` (width, height), as it lies on
    the shown photo."""
    w, h = size
    move = {1: lambda x, y: (x, y), 2: lambda x, y: (w - x, y), 3: lambda x, y: (w - x, h - y),
            4: lambda x, y: (x, h - y), 5: lambda x, y: (y, x), 6: lambda x, y: (h - y, x),
            7: lambda x, y: (h - y, w - x), 8: lambda x, y: (y, w - x)}.get(orientation, lambda x, y: (x, y))
    (x0, y0), (x1, y1) = move(box[0], box[1]), move(box[2], box[3])
    return min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)
