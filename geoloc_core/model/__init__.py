"""Model: the geolocation model in the Hugging Face style (config, modeling, heads),
its spherical distributions (von Mises-Fisher) and calibration, the
``LocationPredictor`` protocol every predictor satisfies, and batched inference.

May import: ``evidence`` (image decoding) and ``places`` (geodesy); never ``learning``
or ``case``.
"""
