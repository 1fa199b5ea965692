"""The records the pixel checks return: one per check, and ``PixelForensics`` holding them all.

Why every record carries ``meaning``: an analyst cites a number only with what it can and cannot
show (a JPEG table match says which software wrote the file last, not what was changed in it), so the
sentence travels with the number into cards and exports instead of living in a help page."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class CheckResult:
    """One check's outcome. ``measure`` is the check's own number (its unit named in ``measure_name``),
    ``score`` is 0..1 (how strongly it points at editing; None for views that never decide), ``flagged``
    says whether the score passed the check's threshold, and ``meaning`` says in a plain sentence what
    the check can and cannot show. ``note`` says why a check could not run (not a JPEG, too small)."""

    name: str
    measure_name: str
    measure: float | None
    score: float | None
    flagged: bool
    meaning: str
    note: str = ""


@dataclass(frozen=True)
class QuantisationResult(CheckResult):
    """JPEG tables (natural order, as Pillow gives them), the IJG-equivalent quality and the known
    tables they equal exactly (e.g. "IJG libjpeg quality 90", "Photoshop Save for Web (web_high)")."""

    tables: tuple[tuple[int, ...], ...] = ()
    quality_estimate: int | None = None
    quality_exact: bool = False  # the tables are exactly IJG's at that quality
    matches: tuple[str, ...] = ()


@dataclass(frozen=True)
class DoubleCompressionResult(CheckResult):
    """``measure`` is the DCT histogram periodicity over counting noise; ``ghost_rise`` how far the JPEG
    ghost curve (mean squared difference after resaving at each quality) rises after its deepest dip. When
    either finds an earlier compression, ``map`` is a coarse map (rows of 0..1 values, one cell per
    ``block_pixels`` square; low = carries the earlier compression, high = compressed once)."""

    ghost_quality: int | None = None
    ghost_rise: float | None = None
    curve: tuple[tuple[int, float], ...] = ()
    map: tuple[tuple[float, ...], ...] = ()
    block_pixels: int = 0  # image pixels per map cell side


@dataclass(frozen=True)
class ViewResult(CheckResult):
    """A picture to read beside the photo (ELA, noise residual) as PNG bytes, bounded in size."""

    png: bytes = b""


@dataclass(frozen=True)
class ClonePair:
    """A region and the region copied from (or to) it, boxes as (left, top, right, bottom) pixels
    of the full image, with the keypoint matches that agree on one affine move."""

    source: tuple[int, int, int, int]
    target: tuple[int, int, int, int]
    matches: int


@dataclass(frozen=True)
class CopyMoveResult(CheckResult):
    pairs: tuple[ClonePair, ...] = ()

    @property
    def count(self) -> int:
        return len(self.pairs)


@dataclass(frozen=True)
class PixelForensics:
    """Every pixel check of one file. ``errors`` names a check that failed on this file (its message),
    so one broken check never loses the others."""

    quantisation: QuantisationResult | None = None
    double_compression: DoubleCompressionResult | None = None
    error_level: ViewResult | None = None
    noise: ViewResult | None = None
    copy_move: CopyMoveResult | None = None
    errors: dict[str, str] = field(default_factory=dict)

    def checks(self) -> list[CheckResult]:
        return [c for c in (self.quantisation, self.double_compression, self.error_level, self.noise,
                            self.copy_move) if c is not None]

    @property
    def flagged_checks(self) -> list[str]:
        """Names of the checks that flagged this file (for the banner)."""
        return [c.name for c in self.checks() if c.flagged]
