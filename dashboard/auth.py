"""Sign-in on the Streamlit side: local accounts, OIDC through st.login, role rules.

One call each where it is wired:

* app.py: ``navigation = st.navigation(auth.visible_pages(PAGES, connexion_page))``
  — a role only ever receives the pages it may open;
* a page: ``auth.require("importer")`` at its top (defence in depth);
* anything role-dependent: ``auth.current_role()`` / ``auth.rules()``.
"""

from __future__ import annotations

import streamlit as st

from dashboard import data
from pipelines import accounts, roles

ROLE_KEY = "auth_role"
USER_KEY = "auth_identifiant"


def oidc_configured() -> bool:
    """True when .streamlit/secrets.toml has an [auth] section (st.login is usable)."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all
        return False


def _oidc_user() -> tuple[str | None, str | None]:
    """(e-mail, role) of a user signed in through OIDC; role None if not in the accounts file."""
    if not oidc_configured() or not st.user.is_logged_in:
        return None, None
    email = st.user.get("email")
    return email, accounts.oidc_role(email)


def current_role() -> str | None:
    """The signed-in user's role code, or None."""
    role = st.session_state.get(ROLE_KEY)
    if role in roles.ROLES:
        return role
    _, role = _oidc_user()
    return role


def current_user() -> str | None:
    return st.session_state.get(USER_KEY) or _oidc_user()[0]


def rules() -> roles.Role | None:
    role = current_role()
    return roles.ROLES[role] if role else None


def demo_available() -> bool:
    return data.db().exists() and data.is_demo()


def sign_in(identifier: str, password: str) -> str | None:
    """Check a local (or demo) account; on success remember the role in this session."""
    role = accounts.verify(identifier.strip(), password, demo=demo_available())
    if role:
        st.session_state[ROLE_KEY] = role
        st.session_state[USER_KEY] = identifier.strip()
    return role


def sign_out() -> None:
    for key in (ROLE_KEY, USER_KEY):
        st.session_state.pop(key, None)
    if oidc_configured() and st.user.is_logged_in:
        st.logout()


def login_form() -> None:
    """The local sign-in form (identifier + password)."""
    with st.form("connexion", enter_to_submit=True):
        identifier = st.text_input("Identifiant", key="connexion_identifiant")
        password = st.text_input("Mot de passe", type="password", key="connexion_mot_de_passe")
        submitted = st.form_submit_button("Se connecter", type="primary")
    if submitted:
        try:
            role = sign_in(identifier, password)
        except accounts.AccountsError as exc:
            st.error(str(exc))
            return
        if role:
            st.rerun()
        st.error("Identifiant ou mot de passe incorrect.")


def visible_pages(pages: dict[str, list], sign_in_page) -> dict[str, list]:
    """The navigation a role receives: only the pages it may open, plus the sign-in page."""
    role = current_role()
    out = {}
    for section, items in pages.items():
        kept = [p for p in items if roles.may_open(role, p.url_path)]
        if kept:
            out[section] = kept
    out.setdefault("Compte", []).append(sign_in_page)
    if role is None:
        return {"Compte": [sign_in_page]}
    return out


def require(page: str) -> str:
    """Stop the page here unless the signed-in role may open it; returns the role."""
    role = current_role()
    if not roles.may_open(role, page):
        if role is None:
            st.warning("Connectez-vous pour voir cette page.", icon=":material/lock:")
        else:
            st.error(f"Le rôle {roles.ROLES[role].label} n'a pas accès à cette page.", icon=":material/block:")
        st.stop()
    return role
