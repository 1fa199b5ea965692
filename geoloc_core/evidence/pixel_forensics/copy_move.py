"""Copy-move (clone) detection: SIFT keypoints matched against the same picture, clustered by RANSAC.

The method is that of I. Amerini, L. Ballan, R. Caldelli, A. Del Bimbo, G. Serra, "A SIFT-based forensic
method for copy-move attack detection and transformation recovery", IEEE TIFS 6(3), 2011: every keypoint
is matched with the others of the same picture by the generalised 2-nearest-neighbour test (g2NN: keep
neighbour i while its distance is under half of neighbour i+1's), taken over the neighbours that are not
next to it (a texture matches itself next door, and SIFT puts several orientations on one point), and a RANSAC affine fit (OpenCV's ``estimateAffine2D``)
keeps the matches that agree on one move; each agreeing group is one copied region. Where the region
ends is then read from the pixels (the dense check of V. Christlein et al., "An Evaluation of Popular
Copy-Move Forgery Detection Approaches", IEEE TIFS 7(6), 2012): the picture moved by the fitted affine
is compared with itself, and the connected area that agrees around the matched keypoints is the region.

What it cannot show: a region copied from another picture (that is splicing), a flat or featureless
region (no keypoints: sky, walls), and it cannot tell a clone from things that really repeat (windows
of a building, tiles, a crowd in uniforms): a pair of boxes is a place to look, not proof of an edit."""
from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image

from .record import ClonePair, CopyMoveResult

WORK_SIDE = 1600  # longest side the search runs at (keypoints at 12 MP cost seconds per thousand)
MAX_KEYPOINTS = 6000
NEIGHBOURS = 10
CONTRAST_THRESHOLD = 0.02  # half OpenCV's default: low-contrast texture (grass, bark, fabric) keeps keypoints
G2NN_RATIO = 0.5
MIN_SHIFT_FRACTION = 0.04  # of the working diagonal: matches closer than this are the same texture
MIN_INLIERS = 10
RANSAC_PIXELS = 3.0
MAX_REGIONS = 4
DENSE_DIFFERENCE = 6.0  # grey levels, mean over 5 x 5: two copies re-compressed at different grid offsets
MIN_REGION_PIXELS = 24 * 24

MEANING = ("Copy-move pairs are areas of the picture that match another area of the same picture after one "
           "move (shift, rotation, scaling): a cloned-over object or a duplicated crowd shows as a pair of boxes. "
           "It cannot see a part pasted from another picture or a flat featureless area, and things that really "
           "repeat (windows, tiles, uniforms) can pair up without any edit: a pair is a place to look.")


def _gray(data: bytes) -> tuple[np.ndarray, float]:
    with Image.open(io.BytesIO(data)) as image:
        gray = image.convert("L")
        scale = min(1.0, WORK_SIDE / max(gray.size))
        if scale < 1.0:
            gray = gray.resize((max(1, round(gray.width * scale)), max(1, round(gray.height * scale))), Image.BOX)
    return np.asarray(gray), scale


def _matches(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Matched point pairs (source, target) by SIFT + g2NN, each pair ordered left-to-right so one move
    maps every source to its target."""
    sift = cv2.SIFT_create(nfeatures=MAX_KEYPOINTS, contrastThreshold=CONTRAST_THRESHOLD)
    keypoints, descriptors = sift.detectAndCompute(gray, None)
    if descriptors is None or len(keypoints) < NEIGHBOURS + 1:
        return np.empty((0, 2), np.float32), np.empty((0, 2), np.float32)
    points = np.float32([k.pt for k in keypoints])
    min_shift = MIN_SHIFT_FRACTION * float(np.hypot(*gray.shape))
    knn = cv2.BFMatcher(cv2.NORM_L2).knnMatch(descriptors, descriptors, k=NEIGHBOURS)
    pairs = set()
    for row in knn:
        # itself and its neighbours in place (SIFT puts several orientations on one point) are no copies
        row = [m for m in row if np.hypot(*(points[m.queryIdx] - points[m.trainIdx])) >= min_shift]
        for this, following in zip(row, row[1:]):
            if this.distance >= G2NN_RATIO * max(following.distance, 1e-6):
                break
            pairs.add((min(this.queryIdx, this.trainIdx), max(this.queryIdx, this.trainIdx)))
    if not pairs:
        return np.empty((0, 2), np.float32), np.empty((0, 2), np.float32)
    index = np.array(sorted(pairs))
    first, second = points[index[:, 0]], points[index[:, 1]]
    swap = (first[:, 0] > second[:, 0]) | ((first[:, 0] == second[:, 0]) & (first[:, 1] > second[:, 1]))
    source = np.where(swap[:, None], second, first)
    target = np.where(swap[:, None], first, second)
    return source, target


def _region(gray: np.ndarray, affine: np.ndarray, sources: np.ndarray) -> np.ndarray | None:
    """Mask of the source region: pixels that equal their affine image, connected to the matched points
    and near their hull."""
    h, w = gray.shape
    picture = gray.astype(np.float32)
    moved = cv2.warpAffine(picture, affine, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=-1000.0)
    agree = cv2.blur(np.abs(picture - moved), (5, 5)) < DENSE_DIFFERENCE
    near = np.zeros((h, w), np.uint8)
    hull = cv2.convexHull(sources.astype(np.float32)).astype(np.int32)
    cv2.fillConvexPoly(near, hull, 1)
    x, y, bw, bh = cv2.boundingRect(hull)
    margin = max(16, int(0.35 * max(bw, bh)))
    near = cv2.dilate(near, np.ones((2 * margin + 1, 2 * margin + 1), np.uint8))
    mask = (agree & (near > 0)).astype(np.uint8)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    count, labels = cv2.connectedComponents(mask)
    if count <= 1:
        return None
    hit = {int(labels[min(h - 1, int(py)), min(w - 1, int(px))]) for px, py in sources} - {0}
    if not hit:
        return None
    region = np.isin(labels, list(hit))
    return region if region.sum() >= MIN_REGION_PIXELS else None


def _box(xs: np.ndarray, ys: np.ndarray, scale: float, size: tuple[int, int]) -> tuple[int, int, int, int]:
    w, h = size
    return (max(0, int(np.floor(xs.min() / scale))), max(0, int(np.floor(ys.min() / scale))),
            min(w, int(np.ceil((xs.max() + 1) / scale))), min(h, int(np.ceil((ys.max() + 1) / scale))))


def check_copy_move(data: bytes) -> CopyMoveResult:
    with Image.open(io.BytesIO(data)) as image:
        full_size = image.size
    gray, scale = _gray(data)
    if min(gray.shape) < 64:
        return CopyMoveResult("copy-move", "matches agreeing on one move", None, None, False, MEANING,
                              note="too small to search (under 64 pixels a side)")
    source, target = _matches(gray)
    pairs: list[ClonePair] = []
    best = 0
    min_shift = MIN_SHIFT_FRACTION * float(np.hypot(*gray.shape))
    while len(source) >= MIN_INLIERS and len(pairs) < MAX_REGIONS:
        affine, inliers = cv2.estimateAffine2D(source, target, method=cv2.RANSAC,
                                               ransacReprojThreshold=RANSAC_PIXELS, maxIters=2000, confidence=0.995)
        if affine is None:
            break
        keep = inliers.ravel().astype(bool)
        if keep.sum() < MIN_INLIERS:
            break
        src, dst = source[keep], target[keep]
        source, target = source[~keep], target[~keep]
        if np.hypot(*affine[:, 2]) < min_shift and np.allclose(affine[:, :2], np.eye(2), atol=0.05):
            continue  # a move of (almost) nothing: texture matching itself
        region = _region(gray, affine, src)
        if region is None:
            continue
        best = max(best, int(keep.sum()))
        ys, xs = np.nonzero(region)
        moved = np.column_stack([xs, ys, np.ones_like(xs)]).astype(np.float32) @ affine.T
        pairs.append(ClonePair(_box(xs, ys, scale, full_size), _box(moved[:, 0], moved[:, 1], scale, full_size),
                               int(keep.sum())))
    score = best / (best + MIN_INLIERS) if best else 0.0
    note = (f"{len(pairs)} region pair(s); the strongest with {best} matches agreeing on one move" if pairs
            else "no region matched another after one move")
    return CopyMoveResult("copy-move", "matches agreeing on one move", float(best), round(score, 4), bool(pairs),
                          MEANING, note=note, pairs=tuple(pairs))
