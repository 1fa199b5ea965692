"""Noise residual as Forensically's "noise analysis" draws it: the picture minus its 3 x 3 median, amplified.

Why: a camera's sensor leaves a fine grain of even strength over a photo; a part pasted from another
picture, cloned, blurred or painted carries a different grain (or none). The median filter removes the
picture and keeps most of the grain, so uneven grain shows as areas brighter or darker than their
neighbours. Edges and fine texture leave residual too, so it is a view, and the check never flags."""
from __future__ import annotations

import cv2
import numpy as np

from .record import ViewResult
from .views import decode_rgb, png_view

AMPLIFY = 10

MEANING = ("The noise residual is what a 3 x 3 median filter removes: mostly the camera's grain, which is even over "
           "an untouched photo. An area with clearly stronger or weaker grain than its surroundings may have been "
           "pasted, blurred or painted; edges and fine texture also leave residual, and heavy JPEG compression or "
           "noise reduction wipes the grain out everywhere. It is a view for an analyst to read: it never flags.")


def check_noise(data: bytes) -> ViewResult:
    picture = decode_rgb(data)
    residual = np.abs(picture.astype(np.int16) - cv2.medianBlur(np.ascontiguousarray(picture), 3).astype(np.int16))
    level = float(np.median(residual))
    return ViewResult("noise residual", "median residual (grey levels)", round(level, 3), None, False, MEANING,
                      png=png_view(residual * AMPLIFY))
