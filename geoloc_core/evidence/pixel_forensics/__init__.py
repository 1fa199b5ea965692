"""Pixel forensics: what the picture itself says about editing, as numbers with their limits.

One module per check (quantisation tables, double compression by JPEG ghosts, error level analysis,
noise residual, copy-move), each returning a record from ``record``; each record says in ``meaning``
what the check can and cannot show. ``analyse_pixels`` runs them all in one call, made for the isolated
worker; ``analyse_pixels_isolated`` (``isolated.py``) sends it there."""
from .analysis import PIXEL_TIMEOUT_S, analyse_pixels
from .copy_move import check_copy_move
from .double_compression import check_double_compression
from .error_level import check_error_level
from .figures import PixelFigures, pixel_figures
from .isolated import analyse_pixels_at, analyse_pixels_isolated, pixel_figures_isolated
from .noise import check_noise
from .quantisation import check_quantisation, estimate_quality, ijg_table, known_matches
from .record import (CheckResult, ClonePair, CopyMoveResult, DoubleCompressionResult, PixelForensics,
                     QuantisationResult, ViewResult)

__all__ = ["PIXEL_TIMEOUT_S", "CheckResult", "ClonePair", "CopyMoveResult", "DoubleCompressionResult", "PixelForensics",
           "PixelFigures", "QuantisationResult", "ViewResult", "analyse_pixels", "pixel_figures", "pixel_figures_isolated", "analyse_pixels_at", "analyse_pixels_isolated", "check_copy_move", "check_double_compression", "check_error_level",
           "check_noise", "check_quantisation",
           "estimate_quality", "ijg_table", "known_matches"]
