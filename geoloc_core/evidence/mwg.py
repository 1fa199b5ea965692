"""One value per fact from EXIF, IPTC-IIM and XMP, reconciled as the Metadata Working Group says,
with the tag each value came from.

Why MWG: agency files carry the same fact up to three times (EXIF, IPTC, XMP), and
the copies disagree when a tool that knows only one of them edited the file. The MWG
"Guidelines for Handling Image Metadata" 2.0 settle which copy to believe; exiftool's
MWG module is the reference implementation, and these rules follow it line by line
(``lib/Image/ExifTool/MWG.pm``):

* EXIF wins where EXIF has the fact: DateTimeOriginal, ImageDescription (caption),
  Artist (creator), Make, Model, GPS.
* Between IPTC and XMP the IPTC digest decides. Photoshop resource 0x0425 stores the
  MD5 of the IPTC block as it was when the XMP was last synchronised with it. XMP is
  used when the file has no IPTC, or when XMP has the value and the stored digest is
  absent or equals the MD5 of the IPTC block now. Otherwise (the IPTC was changed by a
  tool that did not update XMP) the IPTC value is used, and an IPTC value cut at the
  dataset's length limit is completed from XMP when XMP continues it.
* For places, XMP's Iptc4xmpExt LocationShown fields come before the legacy
  photoshop:City/State/Country and Iptc4xmpCore:Location.

A day-only XMP photoshop:DateCreated is completed with the IPTC TimeCreated (or Photo Mechanic's
XMP TimeCreated) of the same day, as exiftool's Composite:DateTimeOriginal joins them
(``complete_time``). The capture time goes one step further than MWG's DateTimeOriginal (which stops at
IPTC DateCreated): XMP-exif:DateTimeOriginal, then MWG's CreateDate chain (EXIF
DateTimeDigitized, XMP-xmp:CreateDate, IPTC DigitalCreationDate), always with the
source named, because a digitisation date is a weaker claim than a capture date.
"""
from __future__ import annotations

import re
from .embedded_metadata import EmbeddedMetadata, xmp_coordinate
from .exif import ExifFacts
from .metadata_claims import MetadataClaims

IPTC_LIMITS = {"IPTC:City": 32, "IPTC:Sub-location": 32, "IPTC:Province-State": 32,
               "IPTC:Country-PrimaryLocationName": 64, "IPTC:By-line": 32, "IPTC:Caption-Abstract": 2000}


def _first(value: str | list[str] | None) -> str | None:
    if isinstance(value, list):
        return value[0] if value else None
    return value


def _joined(value: str | list[str] | None) -> str | None:
    if isinstance(value, list):
        return "; ".join(v for v in value if v) or None
    return value


def _blank(value: str | None) -> bool:
    return value is None or not value.strip(" ")


class _Reconciler:
    def __init__(self, exif: ExifFacts | None, meta: EmbeddedMetadata):
        self.exif, self.meta = exif, meta
        current, stored = meta.iptc_digest_current, meta.iptc_digest_stored
        # exiftool's rule: XMP is trusted unless IPTC exists and a stored digest disagrees with it
        self.digest_matches = current is None or stored is None or current == stored
        self.claims = MetadataClaims()
        if current and stored and current != stored:
            self.claims.notes.append("IPTC digest does not match: the IPTC was edited after the XMP was last "
                                     "synchronised, so IPTC values are preferred (MWG)")

    def iptc_or_xmp(self, name: str, iptc_tag: str, xmp_tags: tuple[str, ...], join: bool = False) -> None:
        pick = _joined if join else _first
        xmp_tag = next((t for t in xmp_tags if self.meta.xmp.get(t)), None)
        xmp_value = pick(self.meta.xmp.get(xmp_tag)) if xmp_tag else None
        iptc_value = self.meta.iptc.get(iptc_tag)
        if self.meta.iptc_digest_current is None or (xmp_value is not None and self.digest_matches):
            if xmp_value is not None:
                self._set(name, xmp_value, xmp_tag)
            return
        value = pick(iptc_value)
        if value is None:
            return
        limit = IPTC_LIMITS.get(iptc_tag)
        if xmp_value and limit and len(value) == limit and len(xmp_value) > limit and xmp_value.startswith(value):
            self._set(name, xmp_value, f"{xmp_tag} (completing {iptc_tag}, cut at {limit} characters)")
            return
        self._set(name, value, iptc_tag)

    def _set(self, name: str, value: str, source: str) -> None:
        setattr(self.claims, name, value)
        self.claims.sources[name] = source

    def run(self) -> MetadataClaims:
        exif, meta, claims = self.exif, self.meta, self.claims
        self.iptc_or_xmp("city", "IPTC:City", ("XMP-iptcExt:LocationShownCity", "XMP-photoshop:City"))
        self.iptc_or_xmp("region", "IPTC:Province-State",
                         ("XMP-iptcExt:LocationShownProvinceState", "XMP-photoshop:State"))
        self.iptc_or_xmp("country", "IPTC:Country-PrimaryLocationName",
                         ("XMP-iptcExt:LocationShownCountryName", "XMP-photoshop:Country"))
        self.iptc_or_xmp("country_code", "IPTC:Country-PrimaryLocationCode",
                         ("XMP-iptcExt:LocationShownCountryCode", "XMP-iptcCore:CountryCode"))
        self.iptc_or_xmp("sublocation", "IPTC:Sub-location",
                         ("XMP-iptcExt:LocationShownSublocation", "XMP-iptcCore:Location"))
        if exif is not None and not _blank(exif.Artist):
            self._set("creator", "; ".join(p.strip() for p in exif.Artist.split(";") if p.strip()), "IFD0:Artist")
        else:
            self.iptc_or_xmp("creator", "IPTC:By-line", ("XMP-dc:Creator",), join=True)
        if exif is not None and not _blank(exif.ImageDescription):
            self._set("caption", exif.ImageDescription, "IFD0:ImageDescription")
        else:
            self.iptc_or_xmp("caption", "IPTC:Caption-Abstract", ("XMP-dc:Description",))
        self._capture_time()
        for name, exif_value, exif_tag, xmp_tag in (
                ("make", exif and exif.Make, "IFD0:Make", "XMP-tiff:Make"),
                ("model", exif and exif.Model, "IFD0:Model", "XMP-tiff:Model")):
            if exif_value:
                self._set(name, exif_value, exif_tag)
            elif _first(meta.xmp.get(xmp_tag)):
                self._set(name, _first(meta.xmp[xmp_tag]), xmp_tag)
        if exif is not None and exif.LensModel:
            self._set("lens_model", exif.LensModel, exif.LensModelSource or "ExifIFD:LensModel")
        else:
            for tag in ("XMP-exifEX:LensModel", "XMP-aux:Lens"):
                if _first(meta.xmp.get(tag)):
                    self._set("lens_model", _first(meta.xmp[tag]), tag)
                    break
        if exif is None or not exif.has_gps:
            lat = xmp_coordinate(_first(meta.xmp.get("XMP-exif:GPSLatitude")))
            lon = xmp_coordinate(_first(meta.xmp.get("XMP-exif:GPSLongitude")))
            if lat is not None and lon is not None and abs(lat) <= 90 and abs(lon) <= 180 and (lat, lon) != (0, 0):
                claims.gps = (lat, lon)
                claims.sources["gps"] = "XMP-exif:GPSLatitude/GPSLongitude"
        return claims

    def _written_date(self) -> tuple[str | None, str]:
        """MWG's pick between XMP photoshop:DateCreated and IPTC DateCreated+TimeCreated, with a
        date-only pick completed by the other copy's time of the same day (see ``complete_time``)."""
        meta = self.meta
        xmp_date = xmp_datetime(_first(meta.xmp.get("XMP-photoshop:DateCreated")))
        iptc_date = iptc_datetime(_first(meta.iptc.get("IPTC:DateCreated")), _first(meta.iptc.get("IPTC:TimeCreated")))
        photomech = iptc_datetime(xmp_date.replace("-", "") if xmp_date and len(xmp_date) == 10 else None,
                                  _first(meta.xmp.get("XMP-photomech:TimeCreated")))
        if xmp_date and (meta.iptc_digest_current is None or self.digest_matches):
            for other, other_tag in ((iptc_date, "IPTC:TimeCreated"), (photomech, "XMP-photomech:TimeCreated")):
                completed = complete_time(xmp_date, other)
                if completed != xmp_date:
                    return completed, f"XMP-photoshop:DateCreated+{other_tag}"
            return xmp_date, "XMP-photoshop:DateCreated"
        if iptc_date:
            completed = complete_time(iptc_date, xmp_date)
            if completed != iptc_date:
                return completed, "IPTC:DateCreated+XMP-photoshop:DateCreated (time)"
            return iptc_date, "IPTC:DateCreated+TimeCreated"
        return None, ""

    def _capture_time(self) -> None:
        exif, meta = self.exif, self.meta
        written, written_source = self._written_date()
        if written:
            self.claims.written_date, self.claims.written_date_source = written, written_source
        if exif is not None and exif.DateTimeOriginal:
            self._set("capture_time", exif.datetime_original_with_offset, "ExifIFD:DateTimeOriginal")
        else:
            if written:
                self._set("capture_time", written, written_source)
            elif xmp_datetime(_first(meta.xmp.get("XMP-exif:DateTimeOriginal"))):
                self._set("capture_time", xmp_datetime(_first(meta.xmp["XMP-exif:DateTimeOriginal"])),
                          "XMP-exif:DateTimeOriginal")
            elif exif is not None and exif.DateTimeDigitized:
                self._set("capture_time", exif.DateTimeDigitized, "ExifIFD:CreateDate (digitised, not capture)")
            else:
                xmp_create = xmp_datetime(_first(meta.xmp.get("XMP-xmp:CreateDate")))
                iptc_create = iptc_datetime(_first(meta.iptc.get("IPTC:DigitalCreationDate")),
                                            _first(meta.iptc.get("IPTC:DigitalCreationTime")))
                if xmp_create and (meta.iptc_digest_current is None or self.digest_matches):
                    self._set("capture_time", xmp_create, "XMP-xmp:CreateDate (digitised, not capture)")
                elif iptc_create:
                    self._set("capture_time", iptc_create, "IPTC:DigitalCreationDate (digitised, not capture)")
        self.claims.capture_time_source = self.claims.sources.get("capture_time", "")


_XMP_DATE = re.compile(r"^(\d{4})(?:[-:](\d{2})(?:[-:](\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?"
                       r"(Z|[+-]\d{2}:?\d{2})?)?)?)?$")


def _offset_text(zone: str | None) -> str:
    if not zone:
        return ""
    if zone == "Z":
        return "+00:00"
    zone = zone.replace(":", "")
    return f"{zone[:3]}:{zone[3:5]}"


def xmp_datetime(text: str | None) -> str | None:
    """XMP date ("2004-02-26", "1993-01-01T03:11:11.311+01:00") -> ISO 8601 without fractions; None if invalid."""
    if not text:
        return None
    match = _XMP_DATE.match(text.strip())
    if not match:
        return None
    year, month, day, hour, minute, second, zone = match.groups()
    if month is None or day is None:
        return None  # a year or month alone cannot date a photo for the time or sun checks
    if not (1 <= int(month) <= 12 and 1 <= int(day) <= 31):
        return None
    if hour is None:
        return f"{year}-{month}-{day}"
    if int(hour) > 23 or int(minute) > 59 or int(second or 0) > 59:
        return None
    return f"{year}-{month}-{day}T{hour}:{minute}:{second or '00'}{_offset_text(zone)}"


def iptc_datetime(date: str | None, time: str | None) -> str | None:
    """IPTC DateCreated "CCYYMMDD" and TimeCreated "HHMMSS±HHMM" -> ISO 8601."""
    if not date or not re.fullmatch(r"\d{8}", date.strip()):
        return None
    date = date.strip()
    iso = f"{date[:4]}-{date[4:6]}-{date[6:8]}"
    if not (1 <= int(date[4:6]) <= 12 and 1 <= int(date[6:8]) <= 31):
        return None
    match = re.fullmatch(r"(\d{2})(\d{2})(\d{2})([+-]\d{4})?", (time or "").strip())
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59 or int(match.group(3)) > 59:
        return iso
    return f"{iso}T{match.group(1)}:{match.group(2)}:{match.group(3)}{_offset_text(match.group(4))}"


def complete_time(date: str | None, other: str | None) -> str | None:
    """``date`` with the time (and offset) of ``other`` when ``date`` is a day alone and ``other``
    is the same day with a time; else ``date`` unchanged.

    Why: IPTC-IIM keeps the day (2:55) and the time (2:60) apart, and writers that sync IPTC to XMP
    often copy only the day into photoshop:DateCreated (Photo Mechanic keeps the time in its own
    XMP-photomech:TimeCreated). MWG's composite then stops at the day, while exiftool's
    Composite:DateTimeOriginal joins DateCreated and TimeCreated: the time and sun checks need the
    hour and the offset, and a copy of the same day cannot contradict the chosen one."""
    if date and other and len(date) == 10 and "T" in other and other.startswith(date + "T"):
        return other
    return date


def reconcile(exif: ExifFacts | None, meta: EmbeddedMetadata) -> MetadataClaims:
    """EXIF + IPTC + XMP -> one value per fact with its source (rules in the module docstring)."""
    claims = _Reconciler(exif, meta).run()
    return claims
