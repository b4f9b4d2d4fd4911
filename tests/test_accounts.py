"""Accounts: argon2 hashes, wrong passwords, a file outside the repo, demo accounts only on the demo."""

from __future__ import annotations

import io
import stat

import pytest
from streamlit.testing.v1 import AppTest

from pipelines import __main__ as cli
from pipelines.privacy import accounts, roles
from pipelines.store import warehouse
from tests.conftest import REPO_DIR

APP = REPO_DIR / "app.py"


@pytest.fixture
def comptes(tmp_path, monkeypatch):
    path = tmp_path / "config" / "comptes.toml"
    monkeypatch.setenv(accounts.ENV_VAR, str(path))
    return path


def test_password_is_stored_as_an_argon2_hash_only(comptes):
    accounts.add_account("marie.dupont", "analyste", "un mot de passe solide")
    text = comptes.read_text()
    assert "un mot de passe solide" not in text
    assert "$argon2id$" in text
    assert stat.S_IMODE(comptes.stat().st_mode) == 0o600
    assert accounts.verify("marie.dupont", "un mot de passe solide") == "analyste"


def test_wrong_password_or_unknown_user_is_refused(comptes):
    accounts.add_account("marie.dupont", "comite", "un mot de passe solide")
    assert accounts.verify("marie.dupont", "un mot de passe solidE") is None
    assert accounts.verify("marie.dupont", "") is None
    assert accounts.verify("inconnu", "un mot de passe solide") is None


def test_replacing_an_account_changes_its_role_and_password(comptes):
    accounts.add_account("paul", "comite", "premier mot de passe")
    accounts.add_account("paul", "financeur", "second mot de passe")
    assert accounts.verify("paul", "premier mot de passe") is None
    assert accounts.verify("paul", "second mot de passe") == "financeur"


@pytest.mark.parametrize("identifier, role, password, message", [
    ("marie", "admin", "un mot de passe solide", "Rôle inconnu"),
    ("marie", "analyste", "court", "trop court"),
    ("ma rie", "analyste", "un mot de passe solide", "Identifiant"),
    ("demo-analyste", "analyste", "un mot de passe solide", "démonstration"),
])
def test_bad_requests_are_explained(comptes, identifier, role, password, message):
    with pytest.raises(accounts.AccountsError, match=message):
        accounts.add_account(identifier, role, password)


def test_the_accounts_file_is_refused_inside_the_repository(monkeypatch):
    monkeypatch.setenv(accounts.ENV_VAR, str(REPO_DIR / "comptes.toml"))
    with pytest.raises(accounts.AccountsError, match="en dehors"):
        accounts.add_account("marie", "analyste", "un mot de passe solide")
    assert not (REPO_DIR / "comptes.toml").exists()
    with pytest.raises(accounts.AccountsError):
        accounts.accounts_path(REPO_DIR / "data" / ".." / "comptes.toml")


def test_default_file_is_in_the_user_config(monkeypatch):
    monkeypatch.delenv(accounts.ENV_VAR, raising=False)
    path = accounts.accounts_path()
    assert path.parts[-3:] == (".config", "observatoire", "comptes.toml")
    assert REPO_DIR not in path.parents


@pytest.mark.parametrize("identifier, role", [("demo-analyste", "analyste"), ("demo-comite", "comite"),
                                              ("demo-financeur", "financeur")])
def test_demo_accounts_only_in_demo_mode(comptes, identifier, role):
    assert accounts.verify(identifier, identifier, demo=True) == role
    assert accounts.verify(identifier, identifier, demo=False) is None
    assert accounts.verify(identifier, "autre chose", demo=True) is None


def test_oidc_users_get_the_role_of_their_email(comptes):
    accounts.map_oidc("Tresorier@Financeur.fr", "financeur")
    assert accounts.oidc_role("tresorier@financeur.fr") == "financeur"
    assert accounts.oidc_role("autre@financeur.fr") is None
    assert accounts.oidc_role(None) is None


def test_cli_adds_an_account_from_stdin(comptes, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("mot de passe du comité\n"))
    assert cli.main(["comptes", "ajouter", "comite.normandie", "--role", "comite", "--mot-de-passe-stdin"]) == 0
    assert "enregistré" in capsys.readouterr().out
    assert accounts.verify("comite.normandie", "mot de passe du comité") == "comite"
    assert cli.main(["comptes", "lister"]) == 0
    assert "comite.normandie\tComité de pilotage" in capsys.readouterr().out


def test_cli_asks_twice_and_refuses_a_mismatch(comptes, monkeypatch, capsys):
    answers = iter(["un mot de passe solide", "un autre mot de passe"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert cli.main(["comptes", "ajouter", "marie", "--role", "analyste"]) == 2
    assert "diffèrent" in capsys.readouterr().err
    assert not comptes.exists()


def test_role_rules():
    assert roles.may_open("analyste", "importer")
    assert not roles.may_open("comite", "importer") and not roles.may_open("financeur", "importer")
    assert not roles.may_open(None, "vue-ensemble") and roles.may_open(None, "connexion")
    assert [r.code for r in roles.ROLES.values() if r.statistical_secrecy] == ["financeur"]


# The sign-in page.

def connexion(db, monkeypatch) -> AppTest:
    monkeypatch.setenv(warehouse.ENV_VAR, str(db))
    return AppTest.from_file(str(APP), default_timeout=60).run()  # not signed in: app.py opens Connexion


def sign_in(at: AppTest, identifier: str, password: str) -> AppTest:
    at.text_input(key="connexion_identifiant").input(identifier)
    at.text_input(key="connexion_mot_de_passe").input(password)
    return at.button[0].click().run()


def page_text(at: AppTest) -> str:
    return " ".join(str(e.value) for e in [*at.markdown, *at.info, *at.success, *at.error, *at.caption, *at.warning])


def test_sign_in_page_offers_demo_accounts_on_the_demo(demo_db, comptes, monkeypatch):
    at = connexion(demo_db, monkeypatch)
    assert not at.exception
    assert "Comptes de démonstration disponibles" in page_text(at)
    assert [t.value for t in at.title] == ["Connexion"]
    assert not at.metric, "nothing of the dashboard before signing in"
    at = sign_in(at, "demo-financeur", "demo-financeur")
    assert not at.exception
    assert at.session_state["auth_role"] == "financeur"
    assert [t.value for t in at.title] == ["Vue d'ensemble"], "signing in opens the dashboard"
    assert "Financeur" in page_text(at)


@pytest.mark.parametrize("identifier, role", [("demo-analyste", "analyste"), ("demo-comite", "comite")])
def test_demo_buttons_sign_in_with_one_click(demo_db, comptes, monkeypatch, identifier, role):
    at = connexion(demo_db, monkeypatch)
    at = at.button(key=f"demo_{identifier}").click().run()
    assert not at.exception
    assert at.session_state["auth_role"] == role
    assert [t.value for t in at.title] == ["Vue d'ensemble"]
    at.switch_page("pages/connexion.py").run()
    at = at.button(key="se_deconnecter").click().run()
    assert "auth_role" not in at.session_state
    assert [t.value for t in at.title] == ["Connexion"]


def test_sign_in_page_without_demo_has_no_demo_accounts(mini_db, comptes, monkeypatch):
    accounts.add_account("marie.dupont", "comite", "un mot de passe solide")
    at = connexion(mini_db, monkeypatch)
    assert "démonstration" not in page_text(at)
    assert not at.table
    at = sign_in(at, "demo-analyste", "demo-analyste")
    assert "Identifiant ou mot de passe incorrect" in page_text(at)
    assert "auth_role" not in at.session_state
    at = sign_in(at, "marie.dupont", "un mot de passe solide")
    assert at.session_state["auth_role"] == "comite"


@pytest.mark.parametrize("role, expected", [
    (None, {"Compte": ["connexion"], "Tableau de bord": ["vue-ensemble", "structures"], "Données": ["importer"]}),
    ("financeur", {"Tableau de bord": ["vue-ensemble", "structures"], "Compte": ["connexion"]}),
    ("analyste", {"Tableau de bord": ["vue-ensemble", "structures"], "Données": ["importer"],
                  "Compte": ["connexion"]}),
])
def test_navigation_holds_only_the_pages_a_role_may_open(role, expected):
    from dashboard import auth

    spec = lambda url: (f"pages/{url}.py", url.title(), ":material/star:", url)  # noqa: E731
    pages = {"Tableau de bord": [spec("vue-ensemble"), spec("structures")], "Données": [spec("importer")]}
    allowed = auth.allowed_pages(role, pages, spec("connexion"))
    assert {k: [p[3] for p in v] for k, v in allowed.items()} == expected


@pytest.mark.parametrize("role, pages", [
    ("analyste", {"vue_ensemble", "structures", "besoins", "territoires", "resultats", "temoignages", "reunion",
                  "importer", "connexion"}),
    ("comite", {"vue_ensemble", "structures", "besoins", "territoires", "resultats", "temoignages", "reunion",
                "connexion"}),
])
def test_a_role_receives_only_its_pages_and_opens_on_the_overview(demo_db, monkeypatch, role, pages):
    """The app itself: Streamlit knows (and so serves) only the role's pages, the overview first."""
    monkeypatch.setenv(warehouse.ENV_VAR, str(demo_db))
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.session_state["auth_role"] = role
    at.run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Vue d'ensemble"]
    for name in {"vue_ensemble", "structures", "besoins", "territoires", "resultats", "temoignages", "reunion",
                 "importer", "connexion"}:
        if name in pages:
            at.switch_page(f"pages/{name}.py")
        else:
            with pytest.raises(ValueError, match="Could not find a navigation page"):
                at.switch_page(f"pages/{name}.py")


def test_a_shared_link_opens_its_own_view_once_signed_in(demo_db, comptes, monkeypatch):
    """A committee member opens a link to a filtered page: sign-in form first, then that very view."""
    monkeypatch.setenv(warehouse.ENV_VAR, str(demo_db))
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.query_params["region"] = "76"
    at.run()
    at.switch_page("pages/territoires.py").run()
    assert [t.value for t in at.title] == ["Connexion"]
    assert not at.get("plotly_chart") and not at.dataframe, "nothing of the page before signing in"
    at = at.button(key="demo_demo-comite").click().run()
    assert not at.exception
    assert at.title[0].value == "Territoires"
    assert at.query_params["region"] == "76"
    assert "Occitanie" in " ".join(c.value for c in at.caption)
