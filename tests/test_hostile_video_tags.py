"""A video's container text that is not UTF-8 (#34): one QuickTime tag with invalid UTF-8 bytes (a hostile or
merely old encoder) must never cost the whole clip (its keyframes and its prediction). PyAV decodes every tag strictly when the container is opened, so the open itself raised and the clip
read as "MOV could not be read (UnicodeDecodeError ...)"; ``av.open(..., metadata_errors="replace")`` in
geoloc_core/evidence/video/reading.py keeps the clip, the bad bytes shown as U+FFFD (checked here with av.open
patched so: this test then passes; the tags after the bad one, Model and the ISO 6709 place, still did not come
back through PyAV, which is worth a look by whoever fixes it).

Marked xfail (strict) while that fix waits: the reading module belongs to the video helper this session; the
marker comes off with the fix (a strict xfail that passes fails the run, so the fix cannot go unnoticed)."""
from __future__ import annotations

import pytest

from geoloc_core.evidence.video import read_video
from tests.videogen import cut_clip

MARK = b"MAKEMARKXX"


def test_one_tag_with_invalid_utf8_never_costs_the_whole_clip():
    data = cut_clip([10], 20, fmt="mov", metadata={"com.apple.quicktime.make": MARK.decode(),
                                                   "com.apple.quicktime.model": "GoodModel",
                                                   "com.apple.quicktime.location.ISO6709": "+48.8584+002.2945/"})
    assert read_video(data).claims.Make == MARK.decode()  # the clip as written reads
    reading = read_video(data.replace(MARK, b"MAKE\xff\xfe\xc0MAXX"))  # same length: every box size still holds
    assert reading.error is None, reading.error
    assert len(reading.keyframes) == 2  # the clip's pictures, for its prediction
    assert reading.claims.Make.startswith("MAKE") and "\ufffd" in reading.claims.Make  # the bad bytes, shown as such
