"""The sidebar's "Keep a copy of each original file": on by default, what it costs when off, and keeping the
session's files when it is switched on later.

Why on by default (#32): off, a bundle held 0 of 1 originals, a reopened finding said "Image not kept" and the
report had no thumbnail; for an evidence tool the exact bytes behind a finding are the evidence. Switched off,
the sidebar says what is lost and how much disk the originals kept so far use (the evidence store beside the
case log, ``geoloc_core.case.log.caselog.EvidenceStore``). Switched on again, the files of this session that were
analysed meanwhile are still in the browser session (the Verify and Batch uploaders); the sidebar offers to keep
them, saying how many and their size, instead of leaving their findings without originals.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import streamlit as st

from geoloc_core.case.log.caselog import CaseLog, EvidenceStore
from geoloc_core.evidence.filefacts import sha256_hex
from geoloc_core.evidence.sources import expand_uploads
from geoloc_core.model.fetch import human_bytes
from ui import resources

KEY = "keep_evidence"
UPLOADERS = ("verify_upload", "batch_folder", "batch_files")  # the pages' file uploaders, by widget key
_OFFER = "_keep_session_files_offer"  # set when the switch goes on; cleared when the offer is answered
_KEPT_NOW = "_kept_session_files"  # what the last "keep them" did, said once


@dataclass(frozen=True)
class Unkept:
    """Files of this session with a finding in the case and no kept original."""

    files: dict[str, bytes]  # SHA-256 -> bytes

    @property
    def size(self) -> int:
        return sum(len(data) for data in self.files.values())


def store_of(log: CaseLog) -> EvidenceStore:
    return resources.evidence_of(log)


def _session_uploads() -> Iterator[tuple[str, bytes]]:
    """What the uploaders still hold in this session (zip archives as their entries)."""
    for key in UPLOADERS:
        value = st.session_state.get(key)
        for upload in value if isinstance(value, list) else [value] if value is not None else []:
            try:
                yield upload.name, upload.getvalue()
            except (AttributeError, OSError):  # not an upload (a test's or an old session's value)
                continue


def unkept_session_files(log: CaseLog, case_id: int) -> Unkept:
    """The session's files that the case has findings of but whose originals are not kept."""
    in_case, store, files = log.known_hashes(case_id), store_of(log), {}
    for source in expand_uploads(_session_uploads()):
        if source.data is None:
            continue
        digest = sha256_hex(source.data)
        if digest in in_case and digest not in files and store.size(digest) is None:
            files[digest] = source.data
    return Unkept(files)


def _switched() -> None:
    """The switch's callback: turned on, offer the session's files (answered in the sidebar)."""
    if st.session_state.get(KEY):
        st.session_state[_OFFER] = True
    else:
        st.session_state.pop(_OFFER, None)


def _keep(log: CaseLog, case_id: int) -> None:
    unkept = unkept_session_files(log, case_id)
    store = store_of(log)
    for digest, data in unkept.files.items():
        store.put(digest, data)
    st.session_state[_KEPT_NOW] = (len(unkept.files), unkept.size)
    st.session_state.pop(_OFFER, None)


def keep_switch(log: CaseLog, case_id: int) -> bool:
    """Draw the switch (on unless the analyst turned it off) with what it means; returns whether it is on."""
    st.session_state.setdefault(KEY, True)
    on = st.toggle("Keep a copy of each original file", key=KEY, on_change=_switched,
                   help="On by default. Stored under the data folder, named by SHA-256, so the exact bytes can be "
                        "produced and re-hashed later, shown when a finding is reopened, and put in reports "
                        "(thumbnail) and evidence bundles.")
    store = store_of(log)
    if not on:
        count, size = store.usage()
        st.warning(f"Originals are not kept: findings made now cannot show their image when reopened, and their "
                   f"reports and bundles hold no original or thumbnail. The {count:,} original(s) kept so far use "
                   f"{human_bytes(size)} on this disk (the evidence folder beside the case log).")  # own text: numbers
        return False
    if kept := st.session_state.pop(_KEPT_NOW, None):
        st.success(f"Kept {kept[0]:,} original(s) of this session ({human_bytes(kept[1])}).")  # own text: numbers
    if st.session_state.get(_OFFER):
        unkept = unkept_session_files(log, case_id)
        if not unkept.files:
            st.session_state.pop(_OFFER, None)
            return True
        st.info(f"{len(unkept.files):,} file(s) of this session ({human_bytes(unkept.size)}) were analysed while "
                "originals were not kept, and are still here. Keep their originals now?")  # own text: numbers
        left, right = st.columns(2)
        left.button(f"Keep these {len(unkept.files):,}", key="keep_session_files", on_click=_keep,
                    args=(log, case_id), type="primary")
        right.button("Not these", key="skip_session_files", on_click=lambda: st.session_state.pop(_OFFER, None))
    return True
