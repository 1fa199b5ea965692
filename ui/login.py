"""Team mode (#36): who is signed in, through Streamlit's own OpenID Connect login (``st.login``/``st.user``).

Why Streamlit's login and not our own: it is Authlib's certified OIDC client behind Streamlit's own routes
(``/oauth2callback``), the identity cookie is signed with the configured ``cookie_secret``, and it works
with any OIDC provider (Keycloak, Entra ID, Google Workspace, Authentik) from ``.streamlit/secrets.toml``
alone. geoloc adds only what is its own: every page requires the login when it is configured, the login's
e-mail is the analyst's key in the case log (``geoloc_core.case.log.access``), its name signs findings,
assessments, exports and reports, and an admin list (or a claim) gives the admin role.

Configuration (secrets.toml)::

    [auth]
    redirect_uri = "https://geoloc.example.org/oauth2callback"
    cookie_secret = "a long random string"
    client_id = "geoloc"
    client_secret = "..."
    server_metadata_url = "https://idp.example.org/.well-known/openid-configuration"

    [geoloc]
    admins = ["head.of.desk@example.org"]   # e-mails with the admin role
    admin_claim = "groups"                  # optional: or a claim of the ID token ...
    admin_claim_value = "geoloc-admins"     # ... holding (or equal to) this value
"""
from __future__ import annotations

import os
from collections.abc import Mapping

import streamlit as st

from geoloc_core.case.log.access import Member
from ui.plaintext import markdown_literal

INSECURE_ENV = "GEOLOC_INSECURE_NO_LOGIN"  # set by ``python -m ui.serve --insecure-no-login`` (ui.serve)
INSECURE_BANNER = ("No login: this server was started with --insecure-no-login, so anyone who can reach it reads "
                   "and changes every case. For a lab network only; see README \"Serving a team\".")


def auth_configured() -> bool:
    """Whether secrets.toml configures a usable default OIDC provider (Streamlit's own check of the keys) and
    Authlib is installed: then the login is on, and the server may listen beyond loopback."""
    from streamlit.auth_util import is_authlib_installed, validate_auth_credentials
    from streamlit.errors import StreamlitAuthError

    try:
        validate_auth_credentials("default")
    except StreamlitAuthError:
        return False
    except Exception:  # noqa: BLE001 (an unreadable secrets.toml: Streamlit says why at start-up; no login here)
        return False
    return is_authlib_installed()


def insecure() -> bool:
    return os.environ.get(INSECURE_ENV) == "1"


def _team_settings() -> Mapping:
    try:
        section = st.secrets.get("geoloc", {})
    except Exception:  # noqa: BLE001 (no secrets.toml)
        return {}
    return section if isinstance(section, Mapping) else {}


def is_admin(email: str, claims: Mapping, settings: Mapping) -> bool:
    """The admin role: the e-mail is in ``admins``, or the claim ``admin_claim`` equals or holds
    ``admin_claim_value``."""
    admins = {str(a).strip().lower() for a in settings.get("admins", []) if str(a).strip()}
    if email in admins:
        return True
    claim, wanted = str(settings.get("admin_claim", "")), str(settings.get("admin_claim_value", ""))
    if not claim or not wanted:
        return False
    value = claims.get(claim)
    return value == wanted or (isinstance(value, (list, tuple)) and wanted in value)


def member_from_claims(claims: Mapping, settings: Mapping) -> Member | None:
    """The signed-in analyst from the ID token's claims; None when there is no usable e-mail (the key of every
    case's owner and members) or the provider says it is not verified."""
    email = str(claims.get("email") or "").strip().lower()
    if not email or "@" not in email or claims.get("email_verified") is False:
        return None
    name = str(claims.get("name") or claims.get("preferred_username") or "").strip()[:200]
    return Member(email, name, is_admin(email, claims, settings))


def require_login() -> Member | None:
    """Every page's first call (app.py). Single-user mode (no login configured): None, and the lab banner when
    started with --insecure-no-login. Team mode: the signed-in ``Member``; otherwise the login button, and the
    page stops here."""
    if not auth_configured():
        if insecure():
            st.warning(INSECURE_BANNER)
        return None
    if not st.user.is_logged_in:
        st.session_state.pop("_member", None)  # logged out: nothing of the last login is used again
        st.title("geoloc")
        st.write("Sign in to see your cases.")
        st.button("Log in", key="login", on_click=st.login, type="primary")
        st.stop()
    member = member_from_claims(st.user.to_dict(), _team_settings())
    if member is None:
        st.session_state.pop("_member", None)
        st.error("Your login gives no verified e-mail address, which geoloc needs to know whose cases are yours. "
                 "Ask whoever runs the login to include the e-mail claim.")
        st.button("Log out", key="logout_unusable", on_click=st.logout)
        st.stop()
    st.session_state["_member"] = member
    with st.sidebar:
        st.caption(markdown_literal(f"Signed in as {member.signature}" + (" (admin)" if member.admin else "")))
        st.button("Log out", key="logout", on_click=st.logout)
    return member


def current_member() -> Member | None:
    """The member ``require_login`` found in this run (None in single-user mode)."""
    member = st.session_state.get("_member")
    return member if isinstance(member, Member) and auth_configured() else None
