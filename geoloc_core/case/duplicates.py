"""Near-duplicate images across a case, and the contradictions between copies.

The same photo re-shared with another crop, size or metadata keeps nearly the same
perceptual hash. Copies of one image that carry different GPS or capture times are exactly
the contradiction an analyst wants to see: at most one of them can be right.

A video (#34) is compared by every keyframe's hash (``Finding.keyframe_phashes``), any to any: a re-shared
clip may be cut to start at another scene, and a still taken from it matches one keyframe, not the first.
Two findings are as near as their nearest pair of hashes.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Sequence

from .findings import Finding
from ..places.geodesy import geodesic_km

MAX_HASH_DISTANCE = 10  # of 64 bits: resized/re-encoded copies stay well below
GPS_CONFLICT_KM = 1.0
MAX_KEYFRAME_HASHES = 64  # a record's list beyond this is not read (the reader keeps 12 keyframes)
_HASH = re.compile(r"^[0-9a-f]{1,64}$")


@dataclass
class DuplicateGroup:
    members: list[int]  # indices into the findings given
    conflicts: list[str] = field(default_factory=list)


def _distance(a: str, b: str) -> int:
    return bin(int(a, 16) ^ int(b, 16)).count("1")


def hashes_of(finding: Finding) -> list[str]:
    """The finding's perceptual hashes: a photo's one, a video's first and each keyframe's. A malformed
    ``keyframe_phashes`` (a tampered record) gives only ``phash``; entries that are not hex are skipped."""
    hashes = [finding.phash] if finding.phash else []
    try:
        listed = json.loads(finding.keyframe_phashes) if finding.keyframe_phashes else []
    except ValueError:
        listed = []
    if isinstance(listed, list):
        hashes += [h for h in listed[:MAX_KEYFRAME_HASHES] if isinstance(h, str) and _HASH.match(h) and h not in hashes]
    return hashes


def _nearest(a: Sequence[str], b: Sequence[str]) -> int:
    return min(_distance(x, y) for x in a for y in b)


def group_near_duplicates(findings: Sequence[Finding], max_distance: int = MAX_HASH_DISTANCE) -> list[DuplicateGroup]:
    """Groups of two or more findings whose perceptual hashes are within ``max_distance`` bits
    (single linkage), with the GPS and time contradictions between members."""
    hashes = {i: hashes_of(f) for i, f in enumerate(findings)}
    hashed = [i for i in hashes if hashes[i]]
    parent = {i: i for i in hashed}

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a_pos, a in enumerate(hashed):
        for b in hashed[a_pos + 1:]:
            if _nearest(hashes[a], hashes[b]) <= max_distance:
                parent[root(a)] = root(b)
    groups: dict[int, list[int]] = {}
    for i in hashed:
        groups.setdefault(root(i), []).append(i)
    result = []
    for members in groups.values():
        if len(members) > 1:
            result.append(DuplicateGroup(sorted(members), _conflicts([findings[i] for i in sorted(members)])))
    return sorted(result, key=lambda g: g.members[0])


def _conflicts(copies: list[Finding]) -> list[str]:
    notes = []
    located = [f for f in copies if f.exif_lat is not None]
    for i, a in enumerate(located):
        for b in located[i + 1:]:
            km = geodesic_km(a.exif_lat, a.exif_lon, b.exif_lat, b.exif_lon)
            if km > GPS_CONFLICT_KM:
                notes.append(f"EXIF GPS differs by {km:,.1f} km between {a.file} and {b.file}")
    times = {f.exif_datetime_original for f in copies if f.exif_datetime_original}
    if len(times) > 1:
        notes.append("DateTimeOriginal differs between copies: " + ", ".join(sorted(times)))
    return notes


def similar(phash: str | Sequence[str], candidates: Sequence[Finding],
            max_distance: int = MAX_HASH_DISTANCE) -> list[tuple[int, int]]:
    """(index into ``candidates``, bits differing) for every candidate within ``max_distance`` bits of
    ``phash`` (one hash, or a video's ``hashes_of``), nearest first: "have we seen this image before?" across
    cases; a candidate video is as near as its nearest keyframe."""
    query = [phash] if isinstance(phash, str) else list(phash)
    query = [h for h in query if h]
    if not query:
        return []
    known = [(i, hashes_of(f)) for i, f in enumerate(candidates)]
    hits = [(i, _nearest(query, hashes)) for i, hashes in known if hashes]
    return sorted(((i, d) for i, d in hits if d <= max_distance), key=lambda hit: (hit[1], hit[0]))
