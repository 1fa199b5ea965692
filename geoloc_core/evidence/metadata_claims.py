"""The written claim of a file: place, caption, creator, capture time, each value with its source tag.

Why a module of its own: ``ExifFacts`` carries the reconciled claim (``exif.py``) and the Metadata
Working Group rules that build it (``mwg.py``) read ``ExifFacts``; the record both need lives
below both, so neither imports the other back.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class MetadataClaims:
    """What the file claims in words, each value with the "Group:Tag" it came from (exiftool's names)."""

    city: str | None = None
    region: str | None = None  # Province-State
    country: str | None = None
    country_code: str | None = None  # as written: ISO 3166 alpha-2 or alpha-3
    sublocation: str | None = None
    creator: str | None = None  # several creators joined with "; "
    caption: str | None = None
    capture_time: str | None = None  # ISO 8601 local time, offset appended when written; may be a date only
    capture_time_source: str = ""
    written_date: str | None = None  # the XMP/IPTC creation date (MWG's choice between them), even beside EXIF
    written_date_source: str = ""
    make: str | None = None
    model: str | None = None
    lens_model: str | None = None
    gps: tuple[float, float] | None = None  # from XMP exif:GPSLatitude/Longitude when EXIF has none
    sources: dict[str, str] = field(default_factory=dict)  # field name -> "Group:Tag"
    notes: list[str] = field(default_factory=list)  # how IPTC vs XMP was decided, when it mattered

    @property
    def has_place(self) -> bool:
        return any((self.city, self.region, self.country, self.country_code, self.sublocation))

    @property
    def place_text(self) -> str:
        """The written location, most specific first, as one line ("Maidan, Kyiv, Ukraine")."""
        parts = [self.sublocation, self.city, self.region, self.country or self.country_code]
        return ", ".join(p for p in parts if p)

    @property
    def place_source(self) -> str:
        keys = ("sublocation", "city", "region", "country", "country_code")
        return ", ".join(dict.fromkeys(self.sources[k] for k in keys if k in self.sources))
