"""Near-duplicate images across a case, and the contradictions between copies.

The same photo re-shared with another crop, size or metadata keeps nearly the same
perceptual hash. Copies of one image that carry different GPS or capture times are exactly
the contradiction an analyst wants to see: at most one of them can be right.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from .findings import Finding
from ..places.geodesy import geodesic_km

MAX_HASH_DISTANCE = 10  # of 64 bits: resized/re-encoded copies stay well below
GPS_CONFLICT_KM = 1.0


@dataclass
class DuplicateGroup:
    members: list[int]  # indices into the findings given
    conflicts: list[str] = field(default_factory=list)


def _distance(a: str, b: str) -> int:
    return bin(int(a, 16) ^ int(b, 16)).count("1")


def group_near_duplicates(findings: Sequence[Finding], max_distance: int = MAX_HASH_DISTANCE) -> list[DuplicateGroup]:
    """Groups of two or more findings whose perceptual hashes are within ``max_distance`` bits
    (single linkage), with the GPS and time contradictions between members."""
    hashed = [i for i, f in enumerate(findings) if f.phash]
    parent = {i: i for i in hashed}

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a_pos, a in enumerate(hashed):
        for b in hashed[a_pos + 1:]:
            if _distance(findings[a].phash, findings[b].phash) <= max_distance:
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


def similar(phash: str, candidates: Sequence[Finding], max_distance: int = MAX_HASH_DISTANCE) -> list[tuple[int, int]]:
    """(index into ``candidates``, bits differing) for every candidate within ``max_distance`` bits of
    ``phash``, nearest first: "have we seen this image before?" across cases."""
    if not phash:
        return []
    hits = [(i, _distance(phash, f.phash)) for i, f in enumerate(candidates) if f.phash]
    return sorted(((i, d) for i, d in hits if d <= max_distance), key=lambda hit: (hit[1], hit[0]))
