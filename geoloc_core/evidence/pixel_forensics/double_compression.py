"""Double JPEG compression by JPEG ghosts (H. Farid, "Exposing Digital Forgeries from JPEG Ghosts",
IEEE Transactions on Information Forensics and Security 4(1), 2009).

The method: resave the picture at a range of qualities q and measure how far each resave moves the
pixels (mean squared difference of the luminance). A picture compressed once at quality Q moves less
and less as q approaches Q: the curve falls steadily. A picture first saved at q0 and then again at
a higher Q keeps the coarser grid of q0 in its coefficients, so resaving at q0 moves it little: the
curve has a second dip (a "ghost") at q0, and rises again after it. Farid measures the difference in
16 x 16 blocks and normalises each block's curve to 0..1, so the blocks compressed earlier at q0 show
dark at the ghost quality while a region pasted in (compressed only once) stays bright: that is the map.

What it cannot show: a first compression at a *higher* quality than the last (the second, coarser
grid hides the first), a first compression whose 8 x 8 grid was shifted by cropping (the ghost needs
the same grid alignment; Farid's shifted search is not done here), and a picture resaved at the same
quality. A ghost says the file was compressed twice, not that anything in it was changed."""
from __future__ import annotations

import io

import numpy as np
from PIL import Image

from .quantisation import estimate_quality, read_tables
from .record import DoubleCompressionResult

BLOCK = 16
QUALITY_STEP = 2
LOWEST_QUALITY = 30
MAP_SIDE = 64
# A dip counts as a ghost when the curve rises after it by this fraction of its value. Set from the
# benchmark's single-compressed pictures (benchmarks/bench_pixel_forensics.py), where IJG tables at
# integer multiples of the last steps make small dips of their own.
RISE_THRESHOLD = 0.10

MEANING = ("A dip in the JPEG ghost curve below the file's last quality means the pixels were JPEG-compressed "
           "before, at the dip's quality; the map shows where (dark blocks were compressed at that quality, a "
           "bright area in a dark picture was pasted in or changed). It cannot see a first compression at a "
           "higher quality than the last one or on a shifted grid, and a second compression alone is not an edit "
           "(re-uploads and messenger apps compress again).")


def _luminance(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        gray = image.convert("L")
    array = np.asarray(gray)
    h, w = array.shape[0] // BLOCK * BLOCK, array.shape[1] // BLOCK * BLOCK
    return array[:h, :w]


def _resaved(gray: np.ndarray, quality: int) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(gray).save(buffer, "JPEG", quality=quality)
    buffer.seek(0)
    with Image.open(buffer) as image:
        return np.asarray(image.convert("L"))


def _block_means(values: np.ndarray) -> np.ndarray:
    h, w = values.shape
    return values.reshape(h // BLOCK, BLOCK, w // BLOCK, BLOCK).mean(axis=(1, 3))


def _coarse(map_: np.ndarray) -> np.ndarray:
    """Average blocks together until the map is at most MAP_SIDE cells a side."""
    factor = max(1, -(-max(map_.shape) // MAP_SIDE))
    h, w = map_.shape[0] // factor * factor, map_.shape[1] // factor * factor
    if factor == 1 or h == 0 or w == 0:
        return map_
    return map_[:h, :w].reshape(h // factor, factor, w // factor, factor).mean(axis=(1, 3))


def ghost_rise(curve: list[tuple[int, float]]) -> tuple[int | None, float]:
    """The strongest dip of the curve (quality, relative rise after it) among the candidates."""
    best_q, best_rise = None, 0.0
    values = [v for _, v in curve]
    for i in range(1, len(curve) - 1):
        value = values[i]
        if value < values[i - 1] and value < values[i + 1]:
            rise = (max(values[i + 1:]) - value) / max(value, 1e-6)
            if rise > best_rise:
                best_q, best_rise = curve[i][0], rise
    return best_q, best_rise


def check_double_compression(data: bytes) -> DoubleCompressionResult:
    tables = read_tables(data)
    if not tables:
        return DoubleCompressionResult("double compression", "ghost rise", None, None, False, MEANING,
                                       note="not a JPEG: there is no earlier compression to find")
    last_quality, _ = estimate_quality(tables)
    gray = _luminance(data)
    if min(gray.shape) < 4 * BLOCK:
        return DoubleCompressionResult("double compression", "ghost rise", None, None, False, MEANING,
                                       note="too small for the ghost test (under 64 pixels a side)")
    qualities = list(range(LOWEST_QUALITY, last_quality - 1, QUALITY_STEP))
    if len(qualities) < 3:
        return DoubleCompressionResult("double compression", "ghost rise", None, None, False, MEANING,
                                       note=f"the last quality (about {last_quality}) leaves no lower qualities to test")
    original = gray.astype(np.float32)
    blocks = []
    for q in qualities:
        difference = original - _resaved(gray, q)
        blocks.append(_block_means(difference * difference))
    stack = np.stack(blocks)
    curve = [(q, float(stack[i].mean())) for i, q in enumerate(qualities)]
    ghost, rise = ghost_rise(curve)
    score = rise / (rise + RISE_THRESHOLD)
    map_: tuple[tuple[float, ...], ...] = ()
    if ghost is not None:
        low, high = stack.min(axis=0), stack.max(axis=0)
        normalised = (stack[qualities.index(ghost)] - low) / np.maximum(high - low, 1e-6)
        map_ = tuple(tuple(round(float(v), 3) for v in row) for row in _coarse(normalised))
    factor = max(1, -(-max(stack.shape[1:]) // MAP_SIDE))
    note = (f"ghost at quality {ghost} below the last quality (about {last_quality})" if ghost is not None and
            rise > RISE_THRESHOLD else f"no ghost below the last quality (about {last_quality})")
    return DoubleCompressionResult("double compression", "ghost rise", round(rise, 4), round(score, 4),
                                   rise > RISE_THRESHOLD, MEANING, note=note,
                                   ghost_quality=ghost if rise > RISE_THRESHOLD else None,
                                   curve=tuple((q, round(v, 3)) for q, v in curve), map=map_,
                                   block_pixels=BLOCK * factor)
