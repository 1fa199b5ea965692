"""The Case log's "Who works on this case" section on a team server (#36): the owner and members, and for the
owner or an admin the means to add or remove a member (by the e-mail their login gives) or hand the case over.

Thin: the rule of who may do this lives in ``geoloc_core.case.log.access``; here a refusal is only shown."""
from __future__ import annotations

import streamlit as st

from geoloc_core.case.log.access import AccessDenied, ScopedCaseLog
from ui.plaintext import markdown_literal


def _change(log: ScopedCaseLog, case_id: int, action: str) -> None:
    email = str(st.session_state.get(f"member_email_{case_id}", "")).strip().lower()  # as typed when clicked
    if "@" not in email:
        st.session_state["_membership_said"] = ("error", "Give the e-mail address the colleague logs in with.")
        return
    try:
        {"add": log.add_case_member, "remove": log.remove_case_member, "owner": log.set_case_owner}[action](case_id,
                                                                                                       email)
    except AccessDenied as exc:
        st.session_state["_membership_said"] = ("error", str(exc))
        return
    st.session_state["_membership_said"] = ("success", {"add": f"{email} added to the case.",
                                                        "remove": f"{email} removed from the case.",
                                                        "owner": f"{email} now owns the case."}[action])


def members_section(log, case_id: int) -> None:
    """Nothing in single-user mode (``log`` is then the plain case log)."""
    if not isinstance(log, ScopedCaseLog):
        return
    with st.expander("Who works on this case"):
        owner = log.case_owner(case_id)
        st.caption(markdown_literal(f"Owner: {owner or 'none (made without a login: an admin hands it over)'}"))
        members = log.case_members(case_id)
        st.caption(markdown_literal("Members: " + (", ".join(members) if members else "none")))
        if said := st.session_state.pop("_membership_said", None):
            (st.error if said[0] == "error" else st.success)(markdown_literal(said[1]))
        if not log.access.can_manage(case_id):
            st.caption("Only the case's owner or an admin adds or removes members.")
            return
        st.text_input("Colleague's login e-mail", key=f"member_email_{case_id}")
        add, remove, hand = st.columns(3)
        add.button("Add to the case", key=f"member_add_{case_id}", on_click=_change, args=(log, case_id, "add"))
        remove.button("Remove from the case", key=f"member_remove_{case_id}", on_click=_change,
                      args=(log, case_id, "remove"))
        hand.button("Make owner", key=f"member_owner_{case_id}", on_click=_change, args=(log, case_id, "owner"))
