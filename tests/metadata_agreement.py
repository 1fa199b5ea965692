"""geoloc's reconciled metadata vs exiftool's, field by field (used by tests/test_claims_metadata.py).

The reference is ``exiftool -j -n -a -G1 -use MWG``: MWG's composite tags for the capture
time, city, country, creator and caption (exiftool's implementation of the Metadata Working
Group rules), IFD0 (else XMP-tiff) for Make and Model, and the first LensModel of any group in
the order EXIF, maker notes and vendor segments, XMP. A value counts as *present* when exiftool reports it; it *agrees*
when geoloc's value is equal after the normalisation below (date/time to the second with the
offset when both have one; lists joined with "; "; surrounding spaces dropped).
"""
from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

FIELDS = ("capture time", "Make", "Model", "LensModel", "City", "Country", "Creator", "Caption")


@dataclass
class Difference:
    file: str
    field: str
    exiftool: str
    geoloc: str | None


def _joined(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    text = str(value).strip()
    return text or None


def normalise_time(text: str | None) -> str | None:
    """'2004:02:26 10:00:00.311+01:00' and '2004-02-26T10:00:00+01:00' -> '2004-02-26 10:00:00+01:00'."""
    if not text:
        return None
    match = re.match(r"^(\d{4})[:-](\d{2})[:-](\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?(Z|[+-]\d{2}:\d{2})?)?",
                     text.strip())
    if not match:
        return text.strip()
    year, month, day, hour, minute, second, zone = match.groups()
    out = f"{year}-{month}-{day}"
    if hour is not None:
        out += f" {hour}:{minute}:{second or '00'}" + ("+00:00" if zone == "Z" else (zone or ""))
    return out


def _lens_keys(record: dict) -> list[str]:
    """Every group's LensModel: EXIF first, then any maker-note or vendor group, then XMP."""
    groups = [k for k in record if k.endswith(":LensModel")]
    rank = lambda k: 0 if k.startswith("ExifIFD:") else 2 if k.startswith("XMP") else 1  # noqa: E731
    return sorted(groups, key=rank) + ["XMP-aux:Lens"]


def exiftool_reference(paths: list[Path]) -> dict[str, dict[str, str]]:
    """file name -> field -> exiftool's value (only fields exiftool reports)."""
    tags = ["-MWG:DateTimeOriginal", "-MWG:City", "-MWG:Country", "-MWG:Creator", "-MWG:Description",
            "-IFD0:Make", "-IFD0:Model", "-XMP-tiff:Make", "-XMP-tiff:Model", "-LensModel", "-XMP-aux:Lens"]
    out = subprocess.run(["exiftool", "-j", "-n", "-a", "-G1", "-use", "MWG", *tags, *map(str, paths)],
                         capture_output=True, text=True, timeout=300).stdout
    reference: dict[str, dict[str, str]] = {}
    for record in json.loads(out or "[]"):
        values: dict[str, str] = {}
        for field, keys in (("capture time", ["MWG:DateTimeOriginal"]), ("City", ["MWG:City"]),
                            ("Country", ["MWG:Country"]), ("Creator", ["MWG:Creator"]),
                            ("Caption", ["MWG:Description"]), ("Make", ["IFD0:Make", "XMP-tiff:Make"]),
                            ("Model", ["IFD0:Model", "XMP-tiff:Model"]),
                            ("LensModel", _lens_keys(record))):
            value = next((_joined(record[k]) for k in keys if _joined(record.get(k)) is not None), None)
            if value is not None:
                values[field] = value
        reference[Path(record["SourceFile"]).name] = values
    return reference


def geoloc_values(claims) -> dict[str, str | None]:
    return {"capture time": claims.capture_time, "Make": claims.make, "Model": claims.model,
            "LensModel": claims.lens_model, "City": claims.city, "Country": claims.country,
            "Creator": claims.creator, "Caption": claims.caption}


def compare(reference: dict[str, dict[str, str]], ours: dict[str, dict[str, str | None]]):
    """(present, equal, differences, extra): extra lists values geoloc has where exiftool's MWG has none."""
    present = equal = 0
    differences: list[Difference] = []
    extra: list[Difference] = []
    for name, fields in reference.items():
        mine = ours.get(name, {})
        for field in FIELDS:
            theirs = fields.get(field)
            value = mine.get(field)
            if theirs is None:
                if value:
                    extra.append(Difference(name, field, "", value))
                continue
            present += 1
            if field == "capture time":
                same = normalise_time(theirs) == normalise_time(value)
            else:
                same = value is not None and theirs.strip() == value.strip()
            if same:
                equal += 1
            else:
                differences.append(Difference(name, field, theirs, value))
    return present, equal, differences, extra
