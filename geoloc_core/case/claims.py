"""The written claim (IPTC/XMP place, caption, creator) as a third point, verified like EXIF GPS.

Two comparisons, each with its reason in words:
* prediction vs claimed place: the same rules and verdict words as EXIF GPS vs prediction
  (``verification.verify``), with the claimed place in the role of EXIF GPS; when only a
  country is written (or the place name is ambiguous within it), the countries are compared.
* EXIF GPS vs claimed place: a file that contradicts itself (GPS in one country, caption
  or IPTC naming another place) is a strong signal of a re-used or re-captioned photo.
  The written place is a town, not a point: within ``AGREE_KM`` of it "agrees", within
  ``NEAR_KM`` is "near" (suburbs, a wide metropolitan area, a photo from outside town),
  farther or in another country "contradicts".
"""
from __future__ import annotations

import json

from ..evidence.checks import INFO, NA, OK, WARN, CheckResult
from ..evidence.metadata_claims import MetadataClaims
from ..model.prediction import Prediction
from ..places.forward_geocoding import ClaimedPlace, ForwardGeocoder
from ..places.geocoding import Place, continent_for
from ..places.geodesy import geodesic_km
from .findings import Finding
from .verification import TOO_LITTLE_IMAGE, VerdictThresholds, verify

AGREE_KM = 25.0  # the city band
NEAR_KM = 200.0  # the region band
AGREES, NEAR, CONTRADICTS = "agrees", "near", "contradicts"


def fill_written_claims(finding: Finding, claims: MetadataClaims | None) -> None:
    """Copy the reconciled written values (as written, with their sources) into the finding."""
    if claims is None:
        return
    finding.creator, finding.caption = claims.creator, claims.caption
    if claims.capture_time:
        finding.exif_datetime_original = claims.capture_time
        finding.capture_time_source = claims.capture_time_source
    if finding.camera_make is None and claims.make:
        finding.camera_make = claims.make
        finding.add_message(f"Make from {claims.sources.get('make')} (no EXIF Make)")
    if finding.camera_model is None and claims.model:
        finding.camera_model = claims.model
        finding.add_message(f"Model from {claims.sources.get('model')} (no EXIF Model)")
    if claims.lens_model:
        finding.lens_model = claims.lens_model
    if finding.exif_lat is None and claims.gps is not None:
        finding.exif_lat, finding.exif_lon = claims.gps
        finding.add_message(f"GPS from {claims.sources.get('gps')} (no EXIF GPS)")
    if claims.has_place:
        finding.claimed_place_text = claims.place_text
        finding.claimed_city, finding.claimed_region = claims.city, claims.region
        finding.claimed_country = claims.country
        finding.claim_source = claims.place_source
    for note in claims.notes:
        finding.add_message(note)


def locate_claim(finding: Finding, claims: MetadataClaims, geocoder: ForwardGeocoder) -> ClaimedPlace:
    place = geocoder.locate(city=claims.city, region=claims.region, country=claims.country,
                            country_code=claims.country_code, sublocation=claims.sublocation)
    finding.claimed_country_code = place.country_code
    if finding.claimed_country is None and place.country:
        finding.claimed_country = place.country
    finding.claimed_lat, finding.claimed_lon = place.lat, place.lon
    if place.lat is not None:
        finding.claimed_place_found = ", ".join(p for p in (place.city, place.region, place.country_code) if p)
    finding.claim_note = place.note
    if place.candidates:
        finding.claim_candidates = json.dumps([
            {"name": c.name, "region": c.region, "country_code": c.country_code, "lat": round(c.lat, 5),
             "lon": round(c.lon, 5), "population": c.population} for c in place.candidates], ensure_ascii=False)
    return place


def _place_for(claimed: ClaimedPlace) -> Place | None:
    if claimed.country_code is None:
        return None
    lon = claimed.lon if claimed.lon is not None else 0.0
    return Place(claimed.country, claimed.country_code, continent_for(claimed.country_code, lon),
                 finding_label(claimed), 0.0)


def finding_label(claimed: ClaimedPlace) -> str | None:
    return ", ".join(p for p in (claimed.city, claimed.region, claimed.country_code) if p) or None


def verify_claim(finding: Finding, claimed: ClaimedPlace, prediction: Prediction | None, pred_place: Place | None,
                 exif_place: Place | None, model_available: bool, thresholds: VerdictThresholds,
                 withheld: str | None = None) -> None:
    """Fill the claim_* verification fields: prediction vs claimed place, EXIF GPS vs claimed place.
    ``withheld``: why no prediction was made although a model is loaded (an image too small or flat,
    evidence/information.py); the claim then says that, not "prediction failed" (#32)."""
    claimed_place = _place_for(claimed)
    written = finding.claimed_place_text or claimed.text
    if prediction is None and withheld:
        finding.claim_pred_verdict, finding.claim_pred_reason = TOO_LITTLE_IMAGE, withheld
    elif claimed.point is not None:
        result = verify(claimed.point, prediction, claimed_place, pred_place, model_available=model_available,
                        thresholds=thresholds, subject="the claimed place", medium=finding.media_kind)
        finding.claim_pred_distance_km, finding.claim_pred_verdict = result.distance_km, result.verdict
        finding.claim_pred_reason = result.reason
    elif claimed.country_code and prediction is not None and pred_place is not None and pred_place.country_code:
        same = pred_place.country_code == claimed.country_code
        finding.claim_pred_verdict = "country matches" if same else "country differs"
        finding.claim_pred_reason = (f"only the country of the claim is located ({claimed.country}); the prediction "
                                     f"lies in {pred_place.country}")
    else:
        finding.claim_pred_verdict = "cannot verify: claimed place not located" if prediction is not None else \
            ("cannot verify: no model" if not model_available else "cannot verify: prediction failed")
        finding.claim_pred_reason = claimed.note or "nothing to compare"
    exif_point = (finding.exif_lat, finding.exif_lon) if finding.exif_lat is not None else None
    if exif_point is None:
        finding.claim_exif_check = "cannot verify: no EXIF GPS"
        return
    exif_cc = exif_place.country_code if exif_place else None
    if claimed.point is not None:
        distance = geodesic_km(exif_point[0], exif_point[1], claimed.point[0], claimed.point[1])
        finding.claim_exif_distance_km = distance
        where = f"EXIF GPS lies {distance:,.1f} km from {finding_label(claimed)} (written: {written})"
        if exif_cc and claimed.country_code and exif_cc != claimed.country_code:
            finding.claim_exif_check = (f"{CONTRADICTS}: {where}, in another country "
                                        f"({exif_place.country} vs {claimed.country})")
        elif distance <= AGREE_KM:
            finding.claim_exif_check = f"{AGREES}: {where}"
        elif distance <= NEAR_KM:
            finding.claim_exif_check = f"{NEAR}: {where} (beyond {AGREE_KM:g} km, within {NEAR_KM:g} km)"
        else:
            finding.claim_exif_check = f"{CONTRADICTS}: {where} (beyond {NEAR_KM:g} km)"
    elif claimed.country_code and exif_cc:
        if exif_cc == claimed.country_code:
            finding.claim_exif_check = f"{AGREES}: EXIF GPS lies in {exif_place.country}, the written country"
        else:
            finding.claim_exif_check = (f"{CONTRADICTS}: EXIF GPS lies in {exif_place.country}, the file claims "
                                        f"{claimed.country} (written: {written})")
    else:
        finding.claim_exif_check = "cannot verify: claimed place not located"


def self_contradiction(finding: Finding) -> str | None:
    """One sentence for the banner when the file's GPS and its written place disagree."""
    if finding.claim_exif_check.startswith(CONTRADICTS):
        return ("The file contradicts itself: its GPS and its written location (" +
                (finding.claim_source or "IPTC/XMP") + ") disagree. " + finding.claim_exif_check.split(": ", 1)[1])
    return None


def claim_check(finding: Finding) -> CheckResult:
    """The written place as one traffic-light line beside the metadata checks (counted in checks_flagged,
    filterable in Batch): warn when EXIF GPS or the pixels contradict it."""
    if not finding.claimed_place_text:
        return CheckResult("claim", NA, "no place written in the caption, IPTC or XMP")
    written = f"written place {finding.claimed_place_text} ({finding.claim_source})"
    if finding.claimed_lat is None and not finding.claimed_country_code:
        return CheckResult("claim", INFO, f"{written} could not be located: {finding.claim_note}")
    parts = [written + (f" located at {finding.claimed_place_found}" if finding.claimed_place_found else
                        f" located only to the country {finding.claimed_country_code}")]
    status = INFO
    exif, pred = finding.claim_exif_check, finding.claim_pred_verdict
    if not exif.startswith("cannot verify"):
        parts.append(f"EXIF GPS {exif}")
        status = WARN if exif.startswith(CONTRADICTS) else OK if exif.startswith(AGREES) else INFO
    if pred and not pred.startswith("cannot verify"):
        parts.append(f"prediction: {pred} ({finding.claim_pred_reason})")
        if pred in ("contradicts", "unlikely", "country differs"):
            status = WARN
        elif status == INFO and pred in ("consistent", "plausible", "country matches"):
            status = OK
    return CheckResult("claim", status, "; ".join(parts))
