"""Is there enough image to predict from? Tiny or near-constant images carry no location.

Why: blank 8x8 camera samples got a confident prediction from the model (it always answers)
and, since every flat image has the same perceptual hash, were grouped as near-duplicates of
one another with a dozen "GPS differs by 5,440 km" warnings. Below these limits geoloc makes
no prediction and leaves the image out of near-duplicate grouping; its metadata is still read
and checked.

* ``MIN_SIDE_PX``: the model looks at 224 px crops; an image under 32 px on a side is an icon
  or a sample, not a scene.
* ``MIN_PIXEL_SPREAD``: standard deviation of 8-bit grey levels on a 64 x 64 reduction; a
  uniformly coloured frame scores about 0, a night sky with stars or a foggy scene well above 2.
"""
from __future__ import annotations

MIN_SIDE_PX = 32
MIN_PIXEL_SPREAD = 2.0
SPREAD_SIDE_PX = 64


def pixel_spread(image) -> float:
    """Standard deviation of grey levels of a PIL image, on a small reduction (cheap)."""
    from PIL import ImageStat

    grey = image.convert("L").resize((SPREAD_SIDE_PX, SPREAD_SIDE_PX))
    return float(ImageStat.Stat(grey).stddev[0])


def too_little_information(width: int | None, height: int | None, spread: float | None) -> str | None:
    """Why an image is not worth a prediction, in words; None when it is."""
    if width and height and min(width, height) < MIN_SIDE_PX:
        return (f"image too small to predict a location from ({width} x {height} px; at least {MIN_SIDE_PX} px "
                "per side needed)")
    if spread is not None and spread < MIN_PIXEL_SPREAD:
        return (f"image too flat to predict a location from (nearly uniform pixels: grey-level spread "
                f"{spread:.1f} < {MIN_PIXEL_SPREAD:g})")
    return None
