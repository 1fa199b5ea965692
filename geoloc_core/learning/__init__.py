"""Learning: everything that trains or measures a model: the training loop and its
config, geotagged data sets, the feature cache, distributed helpers, the synthetic
learnable world, distance metrics and evaluation.

May import: ``evidence``, ``places`` and ``model``; never ``case``.
"""
