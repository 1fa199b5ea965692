"""Double JPEG compression, by two published methods, each covering what the other misses.

1. DCT coefficient histogram periodicity (J. Lukas and J. Fridrich, "Estimation of primary quantization
matrix in double compressed JPEG images", DFRWS 2003; A. Popescu and H. Farid, "Statistical tools for
digital forensics", 2004). The luminance is decoded without colour conversion, its 8 x 8 DCT divided by
the file's own table gives the stored coefficients. Compressed once, each low-frequency coefficient's
histogram is smooth (log counts close to a low-order curve in the value); quantised twice with different
steps, the histogram has periodically empty or over-full bins. The measure is the mean absolute residual of
a quartic fitted to the log counts of |value| 1..20, less what counting noise alone gives (so it does not
grow or shrink with the picture's size), averaged over the strongest 5 of the first 9 AC frequencies. It sees both orders (lower then higher quality, and
higher then lower), but weakly when the first quality was high (steps of 1-3 are smeared by rounding
the pixels in between), and not at all when the steps of both divide evenly. The per-block map follows
Z. Lin et al. ("Fast, automatic and fine-grained tampered JPEG image detection via DCT coefficient
analysis", Pattern Recognition 42, 2009): each coefficient in an over-full bin counts for "compressed twice".

2. JPEG ghosts (H. Farid, "Exposing Digital Forgeries from JPEG Ghosts", IEEE Transactions on
Information Forensics and Security 4(1), 2009). The method: resave the picture at a range of qualities q and measure how far each resave moves the
pixels (mean squared difference of the luminance). A picture compressed once at quality Q moves less
and less as q approaches Q: the curve falls steadily. A picture first saved at q0 and then again at
a higher Q keeps the coarser grid of q0 in its coefficients, so resaving at q0 moves it little: the
curve has a second dip (a "ghost") at q0, and rises again after it. Farid measures the difference in
16 x 16 blocks and normalises each block's curve to 0..1, so the blocks compressed earlier at q0 show
dark at the ghost quality while a region pasted in (compressed only once) stays bright: that is the map.

Ghosts cannot show a first compression at a *higher* quality than the last (the second, coarser grid
hides the first); that is what method 1 is for.

What neither can show: a first compression whose 8 x 8 grid was shifted by cropping (both need the same
grid alignment; Farid's shifted search is not done here), a picture resaved at the same quality, and a
first compression so fine that the second hides it. Compressed twice is not edited: re-uploads and
messenger apps compress again; the map is where to look for a part that was not."""
from __future__ import annotations

import io

import cv2
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
MIN_GHOST_DIFFERENCE = 2.0  # mean squared grey-level change at the lowest quality tried; below it, no curve
# Periodicity of the coefficient histograms above counting noise (see method 1), set from the same benchmark.
PERIODICITY_THRESHOLD = 0.012
HISTOGRAM_FREQUENCIES = (1, 8, 16, 9, 2, 3, 10, 17, 24)  # natural-order indices of zigzag AC 1..9
HISTOGRAM_BINS = (1, 20)  # |value| 0 is the spike at zero; above 20 the counts are thin
MIN_BIN_COUNT = 50  # a bin and its neighbours together hold at least 3 x this many coefficients
FIT_DEGREE = 4  # a cubic left a bias of its own on some once-compressed histograms (benchmark --tune)
STRONGEST = 5  # frequencies averaged: a second quantisation shows at the frequencies whose steps differ

MEANING = ("Periodic gaps or peaks in the histograms of the JPEG coefficients, or a dip in the JPEG ghost curve below "
           "the last quality, mean the pixels were JPEG-compressed before at another quality; the map shows where "
           "(dark = carries the earlier compression, a bright area in a dark picture was pasted in or changed). It "
           "cannot see an earlier compression on a shifted grid (after cropping), at the same quality, or one much "
           "finer than the last; and compressed twice is not edited (re-uploads and messenger apps compress again).")


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
    """The strongest dip of the curve (quality, relative rise after it) among the candidates. A picture
    that barely changes even at the lowest quality (flat: a sky, a blank frame) has no curve to read:
    its differences are rounding, and a dip there is noise."""
    best_q, best_rise = None, 0.0
    values = [v for _, v in curve]
    if not values or max(values) < MIN_GHOST_DIFFERENCE:
        return None, 0.0
    for i in range(1, len(curve) - 1):
        value = values[i]
        if value < values[i - 1] and value < values[i + 1]:
            rise = (max(values[i + 1:]) - value) / max(value, MIN_GHOST_DIFFERENCE / 10)
            if rise > best_rise:
                best_q, best_rise = curve[i][0], rise
    return best_q, best_rise


_DCT = cv2.dct(np.eye(8, dtype=np.float32), flags=cv2.DCT_ROWS).T  # rows: the DCT basis, dct(B) = D B D^T


def stored_coefficients(data: bytes) -> np.ndarray | None:
    """The luminance DCT coefficients as stored (value / step), one row of 64 per 8 x 8 block, in natural
    order; None when the file has no luminance plane to read this way (CMYK)."""
    tables = read_tables(data)
    with Image.open(io.BytesIO(data)) as image:
        if image.mode == "RGB":
            image.draft("YCbCr", image.size)  # the decoder's own YCbCr: no colour conversion round trip
        if image.mode not in ("YCbCr", "L"):
            return None
        luminance = np.asarray(image.getchannel(0))
    h, w = luminance.shape[0] // 8 * 8, luminance.shape[1] // 8 * 8
    blocks = (luminance[:h, :w].astype(np.float32) - 128).reshape(h // 8, 8, w // 8, 8).swapaxes(1, 2)
    rows, cols = blocks.shape[:2]
    dct = _DCT @ blocks @ _DCT.T  # the orthonormal 8 x 8 DCT-II of every block (JPEG's, as cv2.dct computes it)
    steps = np.array(tables[0], np.float32)
    return np.rint(dct.reshape(rows, cols, 64) / steps).astype(np.int32)


def histogram_periodicity(coefficients: np.ndarray) -> tuple[float, np.ndarray | None]:
    """Method 1: the periodicity measure, and per block the mean log over-fullness of its coefficients' bins.

    Per frequency, the log counts of |value| 1..20 are fitted by a quartic (weighted by the counts' own
    precision): a once-compressed histogram is smooth, so the fit leaves only counting noise, while the
    gaps and peaks of a second quantisation stay in the residual. Each frequency's measure is its mean
    absolute residual less the mean that counting noise alone gives (sqrt(2 / pi / count)); the picture's
    is the mean of the strongest five, because the two steps differ (and leave a pattern) only at some
    frequencies."""
    low, high = HISTOGRAM_BINS
    excess = []
    evidence = np.zeros(coefficients.shape[:2], np.float32)
    counted = np.zeros(coefficients.shape[:2], np.float32)
    for frequency in HISTOGRAM_FREQUENCIES:
        values = np.abs(coefficients[..., frequency])
        counts = np.bincount(values.ravel(), minlength=high + 2)[:high + 2].astype(np.float64)
        bins = np.array([k for k in range(low, high + 1) if counts[k - 1:k + 2].sum() >= 3 * MIN_BIN_COUNT])
        if len(bins) < FIT_DEGREE + 3:
            continue
        logs = np.log(counts[bins] + 1)
        fit = np.polyfit(bins, logs, FIT_DEGREE, w=np.sqrt(counts[bins] + 1))
        residual = logs - np.polyval(fit, bins)
        excess.append(float(np.mean(np.abs(residual) - np.sqrt(2 / np.pi / (counts[bins] + 1)))))
        over = np.zeros(high + 2)
        over[bins] = residual
        inside = np.isin(values, bins)
        evidence += np.where(inside, over[np.minimum(values, high + 1)], 0.0)
        counted += inside
    if not excess:
        return 0.0, None
    return float(np.mean(sorted(excess)[-STRONGEST:])), evidence / np.maximum(counted, 1)


def _as_map(values: np.ndarray) -> tuple[tuple[float, ...], ...]:
    return tuple(tuple(round(float(v), 3) for v in row) for row in _coarse(values))


def check_double_compression(data: bytes) -> DoubleCompressionResult:
    tables = read_tables(data)
    if not tables:
        return DoubleCompressionResult("double compression", "histogram periodicity", None, None, False, MEANING,
                                       note="not a JPEG: there is no earlier compression to find")
    last_quality, _ = estimate_quality(tables)
    gray = _luminance(data)
    if min(gray.shape) < 4 * BLOCK:
        return DoubleCompressionResult("double compression", "histogram periodicity", None, None, False, MEANING,
                                       note="too small for the ghost test (under 64 pixels a side)")
    coefficients = stored_coefficients(data)
    periodicity, block_evidence = histogram_periodicity(coefficients) if coefficients is not None else (0.0, None)
    periodic = periodicity > PERIODICITY_THRESHOLD
    qualities = list(range(LOWEST_QUALITY, last_quality - 1, QUALITY_STEP))
    original = gray.astype(np.float32)
    blocks = []
    for q in qualities:
        difference = original - _resaved(gray, q)
        blocks.append(_block_means(difference * difference))
    curve: list[tuple[int, float]] = []
    ghost, rise, map_, cell = None, 0.0, (), 8
    if len(qualities) >= 3:
        stack = np.stack(blocks)
        curve = [(q, float(stack[i].mean())) for i, q in enumerate(qualities)]
        ghost, rise = ghost_rise(curve)
        if ghost is not None and rise > RISE_THRESHOLD:
            low, high = stack.min(axis=0), stack.max(axis=0)
            map_ = _as_map((stack[qualities.index(ghost)] - low) / np.maximum(high - low, 1e-6))
            cell = BLOCK * max(1, -(-max(stack.shape[1:]) // MAP_SIDE))
    ghosted = rise > RISE_THRESHOLD
    if not map_ and periodic and block_evidence is not None:
        # over-full bins = compressed twice; 1 - that, scaled to 0..1, so bright means "compressed once", as on the ghost map
        cells = np.asarray(_as_map(block_evidence), np.float32)
        low, high = np.percentile(cells, 2), np.percentile(cells, 98)
        map_ = _as_map(1 - np.clip((cells - low) / max(high - low, 1e-6), 0, 1))
        cell = 8 * max(1, -(-max(block_evidence.shape) // MAP_SIDE))
    score = max(rise / (rise + RISE_THRESHOLD), max(periodicity, 0.0) / (max(periodicity, 0.0) + PERIODICITY_THRESHOLD))
    found = []
    if ghosted:
        found.append(f"a JPEG ghost at quality {ghost} (the last is about {last_quality})")
    if periodic:
        found.append(f"periodic DCT histograms ({periodicity:.3f} over counting noise)")
    note = ("compressed twice: " + " and ".join(found)) if found else (
        f"no sign of an earlier compression (histogram periodicity {periodicity:.3f}, ghost rise {rise:.3f})")
    return DoubleCompressionResult("double compression", "histogram periodicity", round(periodicity, 4), round(score, 4),
                                   ghosted or periodic, MEANING, note=note, ghost_quality=ghost if ghosted else None,
                                   ghost_rise=round(rise, 4), curve=tuple((q, round(v, 3)) for q, v in curve), map=map_,
                                   block_pixels=cell)
