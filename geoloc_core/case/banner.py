"""The one line at the top of a finding: what the file says about itself, the location verdict and the
metadata checks, strongest first.

Why one line: analysts read the banner and move on. A night-sky claim or an editor in the
Software tag is as much a reason to look closer as a far-off prediction, and it is known even
without a model, so the banner names both ("cannot verify location: no model · 1 check flagged:
sun below the horizon ..."). Beside a verdict from a model, the model's typical error (median km
on its evaluation set) keeps a red word in proportion. Plain functions, no Streamlit: the app
shows the result and the tests read it.

Why this order (issue #28): a file that contradicts itself (its GPS against the place written in its
caption / IPTC / XMP) is a fact of the file alone, stronger than any model's opinion, so it is the
banner's first sentence, before the location verdict. The checks the banner lists are exactly the
ones ``Finding.checks_flagged`` counts (the CSV's flag count), the written place included; the pixel
checks that flagged (issue #37, ``Finding.pixel_checks_flagged``) follow as a clause of their own.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..evidence.filefacts import describe_type
from .claims import self_contradiction
from .findings import Finding
from .pixel_findings import flagged_pixel_checks
from .verification import (CONSISTENT, CONTRADICTS, INCONCLUSIVE, NO_GPS, NO_MODEL, NOT_AN_IMAGE, PLAUSIBLE,
                           PREDICTION_FAILED, TOO_LITTLE_IMAGE, UNLIKELY)

CHECK_NAMES = {"time": "time", "timezone": "time zone", "sun": "sun", "editing": "editing traces",
               "thumbnail": "embedded thumbnail", "provenance": "provenance",
               "claim": "written place", "blocks": "metadata blocks"}  # every check the Analyzer counts into checks_flagged
LEVELS = ("success", "info", "warning", "error")  # ascending concern


@dataclass(frozen=True)
class Banner:
    level: str  # one of LEVELS: how the app colours it
    text: str


def flagged_checks(finding: Finding) -> list[tuple[str, str]]:
    """(check name, its one-line summary) for every check that says "warn"."""
    flagged = []
    for name, label in CHECK_NAMES.items():
        status, _, summary = (getattr(finding, f"check_{name}", "") or "").partition(": ")
        if status == "warn":
            flagged.append((label, summary))
    return flagged


def typical_error_km(evaluation: dict | None) -> float | None:
    """The median error (km) from a model config's ``evaluation`` record, when it has one."""
    for split in ("test", "validation"):
        median = ((evaluation or {}).get(split) or {}).get("median_km")
        if isinstance(median, (int, float)) and median == median:
            return float(median)
    return None


def _location(finding: Finding, typical_km: float | None) -> tuple[str, str]:
    verdict = finding.verdict
    if verdict == NOT_AN_IMAGE:
        return "warning", f"not an image ({describe_type(finding.file_type)})"
    video = finding.media_kind == "video"  # a video's words name a video and its container, never a photo (#34)
    if verdict == TOO_LITTLE_IMAGE:
        return "warning", ("cannot verify location: every keyframe too small or flat to predict from" if video
                           else "cannot verify location: image too small or flat to predict from")
    if verdict == NO_GPS and video:
        return "info", "cannot verify location: no GPS in the container"
    if verdict in (NO_MODEL, NO_GPS, PREDICTION_FAILED) or verdict.startswith("cannot verify"):
        return "info", verdict.replace("cannot verify:", "cannot verify location:")
    if verdict == INCONCLUSIVE:  # the reason's first clause names the witness and its region
        return "info", f"location inconclusive: {(finding.verdict_reason or '').partition('; ')[0]}"
    level = {CONSISTENT: "success", PLAUSIBLE: "info", UNLIKELY: "warning", CONTRADICTS: "error"}.get(verdict, "info")
    text = f"location {verdict}"
    if finding.distance_km is not None:
        gps = "the container's GPS" if video else "EXIF GPS"
        text += f": {gps} {format_km(finding.distance_km)} from the prediction"
    if typical_km is not None:
        text += f" (the model's typical error: {format_km(typical_km)})"
    return level, text


def compose_banner(finding: Finding, typical_km: float | None = None) -> Banner:
    """The banner for one finding. ``typical_km``: the model's median error, when known. A file that
    contradicts itself leads; then the location verdict; then the flagged checks."""
    level, text = _location(finding, typical_km)
    contradiction = self_contradiction(finding)
    if contradiction:
        text, level = f"{contradiction} · {text}", "error"
    flagged = flagged_checks(finding)
    if flagged:
        parts = [f"{name}: {summary}" for name, summary in flagged]
        text += f" · {len(flagged)} check{'s' if len(flagged) != 1 else ''} flagged: " + " | ".join(parts)
        if LEVELS.index(level) < LEVELS.index("warning"):
            level = "warning"
    pixel = flagged_pixel_checks(finding)  # #37: the pixel checks, after the metadata checks
    if pixel:
        text += " · pixel forensics flagged: " + " | ".join(f"{name}: {summary}" for name, summary in pixel)
        if LEVELS.index(level) < LEVELS.index("warning"):
            level = "warning"
    return Banner(level, text)


def format_km(km: float) -> str:
    """Distances for people: 0.35 km, 12.4 km, 1,234 km."""
    if km < 1:
        return f"{km:.2f} km"
    if km < 100:
        return f"{km:.1f} km"
    return f"{km:,.0f} km"
