"""Sign-in on the Streamlit side: local accounts, OIDC through st.login, role rules.

One call each where it is wired:

* app.py: ``navigation = st.navigation(auth.visible_pages(PAGES, SIGN_IN))``
  — a role only ever receives the pages it may open;
* a page: ``auth.require("importer")`` at its top (defence in depth);
* anything role-dependent: ``auth.current_role()`` / ``auth.rules()``.
"""

from __future__ import annotations

import ipaddress
import os

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from dashboard import data
from pipelines.demo import loader as demo_loader
from pipelines.opp import tokens
from pipelines.privacy import accounts, attempts, roles
from pipelines.store import warehouse

ROLE_KEY = "auth_role"
USER_KEY = "auth_identifiant"
STRUCTURE_KEY = "auth_structure"  # the space a personal link opened (pipelines.opp.tokens.Opened)
LINK_ERROR = "lien_erreur"


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
    if st.session_state.get(STRUCTURE_KEY) is not None:
        return roles.STRUCTURE.code
    role = st.session_state.get(ROLE_KEY)
    if role in roles.ROLES:
        return role
    _, role = _oidc_user()
    return role


def current_user() -> str | None:
    opened = st.session_state.get(STRUCTURE_KEY)
    if opened is not None:
        return opened.id_structure
    return st.session_state.get(USER_KEY) or _oidc_user()[0]


def rules() -> roles.Role | None:
    role = current_role()
    return roles.role(role) if role else None


def opened_space() -> tokens.Opened | None:
    """The structure's space this session's personal link opened, if any."""
    return st.session_state.get(STRUCTURE_KEY)


TRUSTED_PROXY_VAR = "OBSERVATOIRE_PROXY"  # "1": behind a reverse proxy that sets X-Forwarded-For


def client_key() -> str:
    """Who is trying, for the attempt counters: the client's address (the first of X-Forwarded-For behind a
    trusted proxy, which would otherwise make every visitor one), else this browser session. A loopback
    address (a local run) is no one in particular: the session then."""
    address = st.context.ip_address if isinstance(st.context.ip_address, str) else None
    if os.environ.get(TRUSTED_PROXY_VAR) == "1":
        # The right-most entry is the one our proxy added; those before it are whatever the client sent.
        forwarded = (st.context.headers.get("X-Forwarded-For") or "").split(",")[-1].strip()
        address = forwarded or address
    if address:
        try:
            ip = ipaddress.ip_address(address)
            ip = getattr(ip, "ipv4_mapped", None) or ip
            if not ip.is_loopback:
                return f"ip:{ip}"
        except ValueError:
            pass
    ctx = get_script_run_ctx()
    return f"session:{ctx.session_id if ctx else 'inconnue'}"


def open_personal_link() -> None:
    """Called by app.py before the navigation: an address carrying `jeton=` opens that structure's space, and
    only that (any signed-in role is left). A link that opens nothing says why on the page, in French; too
    many of those from one client and it waits. An open space closes as soon as its link is revoked or expires."""
    token = st.query_params.get(tokens.PARAMETER)
    if token is not None:
        del st.query_params[tokens.PARAMETER]  # not left in the address bar, nor in a link copied from it
        client = client_key()
        wait = attempts.LINKS.wait_seconds(client)
        if wait:
            st.session_state[LINK_ERROR] = attempts.wait_message(wait)
            return
        try:
            with warehouse.read_connection(data.db()) as con:
                opened = tokens.check(con, token)
        except tokens.TokenError as exc:
            attempts.LINKS.record(client)
            st.session_state[LINK_ERROR] = str(exc)
            return
        for key in (ROLE_KEY, USER_KEY):
            st.session_state.pop(key, None)
        st.session_state[STRUCTURE_KEY] = opened
        st.session_state.pop(LINK_ERROR, None)
        return
    opened = st.session_state.get(STRUCTURE_KEY)
    if opened is not None:
        with warehouse.read_connection(data.db()) as con:
            still = tokens.still_open(con, opened.selecteur)
        if not still:
            st.session_state.pop(STRUCTURE_KEY, None)
            st.session_state[LINK_ERROR] = ("Votre lien a été révoqué ou a expiré : l'espace est fermé. Demandez un "
                                            "nouveau lien à l'observatoire.")


def demo_available() -> bool:
    return data.db().exists() and data.is_demo()


class TooManyAttempts(Exception):
    pass


def sign_in(identifier: str, password: str) -> str | None:
    """Check a local (or demo) account; on success remember the role in this session. Five wrong passwords
    from one client, or for one identifier, within 15 minutes make both wait (TooManyAttempts)."""
    keys = (client_key(), f"identifiant:{identifier.strip().lower()}")
    wait = attempts.SIGN_IN.wait_seconds(*keys)
    if wait:
        raise TooManyAttempts(attempts.wait_message(wait))
    role = accounts.verify(identifier.strip(), password, demo=demo_available())
    if role:
        attempts.SIGN_IN.clear(*keys)
        st.session_state.pop(STRUCTURE_KEY, None)
        st.session_state[ROLE_KEY] = role
        st.session_state[USER_KEY] = identifier.strip()
    else:
        attempts.SIGN_IN.record(*keys)
    return role


def sign_out() -> None:
    for key in (ROLE_KEY, USER_KEY, STRUCTURE_KEY):
        st.session_state.pop(key, None)
    if oidc_configured() and st.user.is_logged_in:
        st.logout()


SIGN_IN_ERROR = "auth_erreur"
JUST_SIGNED_IN = "auth_vient_de_se_connecter"


def _signed_in(role: str | None) -> None:
    """Callbacks run before the script body: remember the outcome for the run that follows."""
    if role:
        st.session_state[JUST_SIGNED_IN] = True
    else:
        st.session_state[SIGN_IN_ERROR] = "Identifiant ou mot de passe incorrect."


def _submit_form() -> None:
    try:
        _signed_in(sign_in(st.session_state.get("connexion_identifiant", ""),
                           st.session_state.get("connexion_mot_de_passe", "")))
    except (accounts.AccountsError, TooManyAttempts) as exc:
        st.session_state[SIGN_IN_ERROR] = str(exc)


def sign_in_demo(identifier: str, password: str) -> None:
    """Callback of the demo buttons of the sign-in page."""
    try:
        _signed_in(sign_in(identifier, password))
    except TooManyAttempts as exc:
        st.session_state[SIGN_IN_ERROR] = str(exc)


def login_form() -> None:
    """The local sign-in form (identifier + password).

    Signing in happens in callbacks rather than after `if submitted:`: a callback runs
    before the script, so a rerun triggered while the script runs cannot lose it.
    """
    with st.form("connexion", enter_to_submit=True):
        st.text_input("Identifiant", key="connexion_identifiant")
        st.text_input("Mot de passe", type="password", key="connexion_mot_de_passe")
        st.form_submit_button("Se connecter", type="primary", on_click=_submit_form)
    error = st.session_state.pop(SIGN_IN_ERROR, None)
    if error:
        st.error(error)


def forward_after_sign_in(first_page: str) -> None:
    """Called by the sign-in page: right after signing in, go on to the dashboard (app.py has just built
    the role's navigation, so st.switch_page can reach it)."""
    if st.session_state.pop(JUST_SIGNED_IN, False):
        st.switch_page(first_page)


PageSpec = tuple[str, str, str, str]  # (script, title, icon, url path) as app.py declares them


def allowed_pages(role: str | None, pages: dict[str, list[PageSpec]],
                  sign_in_page: PageSpec) -> dict[str, list[PageSpec]]:
    """The sections and pages a role may open, plus the sign-in page (first when not signed in)."""
    if role is None:  # every page, so that a shared link opens it once signed in (pages stop at require())
        return {"Compte": [sign_in_page], **pages}
    if role == roles.STRUCTURE.code:  # its space, and the way out
        script, _, _, url_path = sign_in_page
        return {"Mon espace": [spec for specs in pages.values() for spec in specs if spec[3] in roles.STRUCTURE.pages],
                "Compte": [(script, "Quitter mon espace", ":material/logout:", url_path)]}
    # The structures' own pages are for structures and visitors, not in a signed-in team member's menu.
    out = {section: [spec for spec in specs if roles.may_open(role, spec[3]) and spec[3] not in roles.STRUCTURE_PAGES]
           for section, specs in pages.items()}
    out = {section: specs for section, specs in out.items() if specs}
    script, _, _, url_path = sign_in_page  # signed in, the same page is where one signs out
    out.setdefault("Compte", []).append((script, "Mon compte (déconnexion)", ":material/logout:", url_path))
    return out


def visible_pages(pages: dict[str, list[PageSpec]], sign_in_page: PageSpec) -> dict[str, list]:
    """The navigation the signed-in role receives; its first page opens by default.

    Roles are matched on the declared URL path, before any st.Page exists: Streamlit reports the
    default page's url_path as "", so filtering st.Page objects would drop it.
    """
    allowed = allowed_pages(current_role(), pages, sign_in_page)
    first = next(iter(allowed.values()))[0]
    return {section: [st.Page(script, title=title, icon=icon, url_path=url_path, default=(spec is first))
                      for spec in specs for script, title, icon, url_path in [spec]]
            for section, specs in allowed.items()}


def sign_in_panel() -> None:
    """Everything a visitor needs to sign in: OIDC when configured, the local form, the demo accounts."""
    if oidc_configured():
        email, _ = _oidc_user()
        if email:
            st.warning(f"{email} est authentifié·e, mais aucun rôle ne lui est attribué. Demandez à "
                       "l'administrateur de l'ajouter avec « python -m pipelines comptes oidc ».",
                       icon=":material/person_off:")
            st.button("Se déconnecter", icon=":material/logout:", on_click=sign_out)
        else:
            st.button("Se connecter avec le compte de l'organisation", icon=":material/key:", type="primary",
                      on_click=st.login)
        st.divider()
        st.subheader("Ou avec un compte local")

    login_form()

    if demo_available():
        st.info("**Comptes de démonstration disponibles.** L'entrepôt contient la démonstration synthétique : "
                "chaque rôle a un compte de démonstration (ils n'existent que sur la démonstration).",
                icon=":material/science:")
        for column, (name, password, label) in zip(st.columns(3), accounts.demo_accounts()):
            with column.container(border=True):
                st.markdown(f"**{label}**")
                st.caption(f"Identifiant « {name} », mot de passe « {password} »")
                st.button(f"Entrer comme {label.lower()}", key=f"demo_{name}", icon=":material/login:",
                          width="stretch", on_click=sign_in_demo, args=(name, password))
        with st.container(border=True):
            st.markdown("**Espace d'une structure** (observation participative)")
            st.caption("Chaque structure reçoit un lien personnel vers son espace ; celui-ci ouvre l'espace d'une "
                       "structure synthétique de la démonstration.")
            st.link_button("Ouvrir l'espace de démonstration", demo_loader.demo_link(), icon=":material/home:")
    else:
        st.caption("Les comptes sont créés par l'administrateur avec « python -m pipelines comptes ajouter ».")
    st.page_link("pages/rejoindre.py", label="Rejoindre l'observatoire : votre structure vient d'elle-même",
                 icon=":material/person_add:")

    with st.expander("Ce que chaque rôle voit"):
        st.markdown(
            "- **Analyste** : tout, dont l'import de fichiers, l'historique et l'annulation, les noms des "
            "intervenants et les témoignages sans consentement.\n"
            "- **Comité de pilotage** : toutes les pages du tableau de bord et les exports ; pas d'import, pas de "
            "noms d'intervenants, seulement les témoignages dont la publication est autorisée.\n"
            "- **Financeur** : les pages en lecture et les exports, avec le **secret statistique** (aucune "
            "valeur calculée sur moins de 3 structures) et sans donnée personnelle.")


def require(page: str) -> str:
    """Stop the page here unless the signed-in role may open it; returns the role.

    A visitor who is not signed in gets the sign-in form in place of the page: once signed in,
    the same address (filters included) opens, so a shared link survives the sign-in.
    """
    role = current_role()
    if role is None:
        st.title("Connexion")
        st.caption("Connectez-vous pour ouvrir cette page : elle s'affichera dès la connexion, avec ses filtres.")
        sign_in_panel()
        st.stop()
    if not roles.may_open(role, page):
        st.error(f"Le rôle {roles.role(role).label} n'a pas accès à cette page.", icon=":material/block:")
        st.stop()
    st.session_state.pop(JUST_SIGNED_IN, None)  # arrived where the visitor was going
    return role
