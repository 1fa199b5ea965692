"""Error level analysis (ELA) as Forensically and FotoForensics draw it: resave the picture as a JPEG at
quality 90, take the absolute difference per channel and amplify it.

Why it is a view and never a verdict: a part compressed as often and as hard as the rest re-compresses
to a similar error; a part pasted in from a less compressed source, or painted, often differs. But
edges, texture, saturated colours and flat areas differ too, for no edit at all: the view is read by an
analyst comparing like with like (two walls, two faces), and the check never flags on its own."""
from __future__ import annotations

import io

import numpy as np
from PIL import Image

from .record import ViewResult
from .views import decode_rgb, png_view

RESAVE_QUALITY = 90
AMPLIFY = 20

MEANING = ("Error levels show how much each part changes when the picture is saved again as a JPEG at quality 90 "
           "(brighter = changes more). Similar surfaces with very different levels can mark a pasted or retouched "
           "part; edges, fine texture and flat or saturated areas differ without any edit, and a picture saved many "
           "times looks even everywhere. It is a view for an analyst to read, not a test: it never flags.")


def check_error_level(data: bytes) -> ViewResult:
    picture = decode_rgb(data)
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, "JPEG", quality=RESAVE_QUALITY)
    buffer.seek(0)
    with Image.open(buffer) as resaved:
        again = np.asarray(resaved.convert("RGB"))
    difference = np.abs(picture.astype(np.int16) - again.astype(np.int16))
    return ViewResult("error levels", "mean error level (grey levels)", round(float(difference.mean()), 3), None,
                      False, MEANING, png=png_view(difference * AMPLIFY))
