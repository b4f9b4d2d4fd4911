"""Participatory observation: invitation links, the structure's space, the review queue, the results given back.
Driven through the real CLI, the real ingestion path and app.py with AppTest, on private copies of the mini
warehouse; expectations come from the fixture files, the warehouse and the funder view's rule."""

from __future__ import annotations

import base64
import datetime as dt
import json
import subprocess
import sys

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from pipelines import ingest
from pipelines.opp import submissions, tokens
from pipelines.privacy import attempts, roles, secret
from pipelines.queries import observation as q
from pipelines.queries.indicators import Scope
from pipelines.spec.datasets import LOAD_ORDER
from pipelines.store import warehouse
from tests.conftest import REPO_DIR

APP = REPO_DIR / "app.py"


def cli(*args, db):
    return subprocess.run([sys.executable, "-m", "pipelines", *args, "--db", str(db)], cwd=REPO_DIR,
                          capture_output=True, text=True, timeout=120)


def snapshot(db) -> dict:
    with warehouse.read_connection(db) as con:
        return {name: sorted(con.execute(f"SELECT * FROM {name}").fetchall(), key=repr) for name in LOAD_ORDER}


def link_for(db, structure: str, annee: int = 2026, **kw) -> str:
    [invitation] = tokens.invite(db, annee, structure=structure, **kw)
    return invitation.lien.split("jeton=", 1)[1]


@pytest.fixture(autouse=True)
def fresh_counters():
    """Each test starts with no failed attempt counted (the counters live in the process)."""
    for counter in (attempts.LINKS, attempts.SIGN_IN, attempts.SUBMISSIONS, attempts.SUBMISSIONS_ALL):
        counter._times.clear()
    yield


def open_app(db, monkeypatch, token: str | None = None, role: str | None = None) -> AppTest:
    monkeypatch.setenv(warehouse.ENV_VAR, str(db))
    at = AppTest.from_file(str(APP), default_timeout=90)
    if token is not None:
        at.query_params["jeton"] = token
    if role is not None:
        at.session_state["auth_role"] = role
    at.run()
    assert not at.exception, at.exception
    return at


def sent_text(at: AppTest) -> str:
    parts = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning", "success", "error"):
        parts += [str(e.value) for e in getattr(at, kind)]
    parts += [t.value.to_csv() for t in [*at.dataframe, *at.table]] + [str(t.value) for t in at.text_input]
    return "\n".join(parts)


# --------------------------------------------------------------------------- invitations and tokens


def test_inviter_writes_one_secret_link_per_structure_of_the_region(mini_db, tmp_path):
    out = tmp_path / "liens.csv"
    run = cli("opp", "inviter", "--annee", "2025", "--region", "28", "--out", str(out),
              "--base-url", "https://observatoire.example.org/", db=mini_db)
    assert run.returncode == 0, run.stderr
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    frame = pd.read_csv(out, sep=";", dtype=str, encoding="utf-8-sig")
    with warehouse.read_connection(mini_db) as con:
        in_region = {r[0] for r in con.execute("""SELECT s.id_structure FROM structures s JOIN geo_communes c
                                                 ON c.code = s.code_commune WHERE c.code_region = '28'""").fetchall()}
        stored = con.execute("SELECT * FROM opp_jetons").df()
    assert list(frame.columns) == ["id_structure", "lien", "expire_le"] and set(frame["id_structure"]) == in_region
    for link in frame["lien"]:
        assert link.startswith("https://observatoire.example.org/contribuer?jeton=")
        selector, verifier = link.split("jeton=")[1].split(".")
        assert len(base64.urlsafe_b64decode(verifier + "=" * (-len(verifier) % 4))) * 8 >= 128
        assert verifier not in stored.to_csv(), "only a hash of the secret half is kept"
    expected = dt.date.today() + dt.timedelta(days=tokens.DEFAULT_VALIDITY_DAYS)
    assert set(frame["expire_le"]) == {f"{expected:%d/%m/%Y}"}


def test_forged_wrong_expired_and_revoked_tokens_open_nothing(mini_db):
    good = link_for(mini_db, "S1", expire_le=dt.date.today() + dt.timedelta(days=10))
    selector, verifier = good.split(".")
    with warehouse.read_connection(mini_db) as con:
        assert tokens.check(con, good).id_structure == "S1"
        altered = verifier[:-1] + ("y" if verifier.endswith("x") else "x")  # one character off, never the same
        for forged in ("", "abc", "abc.def", f"{selector}.{altered}", f"{'0' * 16}.{verifier}", good + "x" * 300):
            with pytest.raises(tokens.TokenError, match="Ce lien n'est pas valide"):
                tokens.check(con, forged)
        with pytest.raises(tokens.TokenError, match="Ce lien a expiré le"):
            tokens.check(con, good, today=dt.date.today() + dt.timedelta(days=11))
    newer = link_for(mini_db, "S1")  # a new link for the same campaign replaces the old one
    with warehouse.read_connection(mini_db) as con:
        with pytest.raises(tokens.TokenError, match="Ce lien a été révoqué le"):
            tokens.check(con, good)
        assert tokens.check(con, newer).id_structure == "S1"
    assert "1 lien(s) révoqué(s)" in cli("opp", "revoquer", "S1", db=mini_db).stdout
    with warehouse.read_connection(mini_db) as con:
        with pytest.raises(tokens.TokenError, match="révoqué"):
            tokens.check(con, newer)


# --------------------------------------------------------------------------- the structure's space


def test_a_token_opens_its_structures_space_and_no_other(mini_db, monkeypatch):
    at = open_app(mini_db, monkeypatch, token=link_for(mini_db, "S1"))
    assert at.title[0].value == "Espace de la structure « Compagnie Test Un »"
    text = sent_text(at)
    for other in ("Ensemble Test Deux", "Collectif Test Trois", "Patrimoine Test Quatre"):
        assert other not in text
    assert "jeton" not in at.query_params, "the token does not stay in the address"
    # Every other page is out of its reach, public ones included: never even registered in its navigation.
    for page in ("vue_ensemble", "importer", "soumissions", "observation", "rejoindre", "plan", "reunion"):
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(f"pages/{page}.py")
        assert not roles.may_open(roles.STRUCTURE.code, page.replace("_", "-"))
    # Its own data only.
    with warehouse.read_connection(mini_db) as con:
        mine = q.own_data_csv(con, "S1").decode("utf-8-sig")
    assert "Compagnie Test Un" in mine and "S2" not in mine and "Chargé de mission 1" not in mine


def test_a_revoked_link_closes_an_open_space(mini_db, monkeypatch):
    at = open_app(mini_db, monkeypatch, token=link_for(mini_db, "S1"))
    assert at.title[0].value == "Espace de la structure « Compagnie Test Un »"
    tokens.revoke(mini_db, "S1")
    at.run()
    assert "Compagnie Test Un" not in sent_text(at)
    assert any("révoqué ou a expiré" in e.value for e in at.error)


def test_forged_links_are_refused_in_french_then_rate_limited(mini_db, monkeypatch):
    good = link_for(mini_db, "S1")
    at = open_app(mini_db, monkeypatch, token="0123456789abcdef.faux")
    assert any("Ce lien n'est pas valide" in e.value for e in at.error)
    for _ in range(attempts.LINKS.limit):
        at.query_params["jeton"] = "0123456789abcdef.faux"
        at.run()
    at.query_params["jeton"] = good  # even a good link waits once this client has guessed too often
    at.run()
    assert any("Trop d'essais infructueux" in e.value for e in at.error)
    assert "Compagnie Test Un" not in sent_text(at)


def test_sign_in_is_rate_limited(mini_db, monkeypatch, tmp_path):
    from pipelines.privacy import accounts

    path = tmp_path / "comptes.toml"
    accounts.add_account("marie", "analyste", "bon mot de passe", path)
    monkeypatch.setenv("OBSERVATOIRE_COMPTES", str(path))
    at = open_app(mini_db, monkeypatch)
    for _ in range(attempts.SIGN_IN.limit):
        at.text_input(key="connexion_identifiant").set_value("marie")
        at.text_input(key="connexion_mot_de_passe").set_value("mauvais")
        at.button[0].click().run()
        assert any("incorrect" in e.value for e in at.error)
    at.text_input(key="connexion_identifiant").set_value("marie")
    at.text_input(key="connexion_mot_de_passe").set_value("bon mot de passe")
    at.button[0].click().run()
    assert any("Trop d'essais infructueux" in e.value for e in at.error)
    assert "auth_role" not in at.session_state, "the right password waits too"


def test_questionnaire_is_prefilled_from_last_year_submitted_accepted_and_undone(mini_db, monkeypatch):
    at = open_app(mini_db, monkeypatch, token=link_for(mini_db, "S1", annee=2026))
    fields = {t.key: t for t in at.text_input}
    # S1 answered 2025 (tests/fixtures/mini/observations.csv): carried forward, its comment left behind.
    assert fields["q_effectif_etp"].value == "2" and fields["q_budget_annuel"].value == "90000"
    assert fields["q_nb_benevoles"].value == "12" and at.text_area(key="q_commentaire").value == ""
    assert at.multiselect(key="q_besoins").value == ["ECO.FINANCEMENT"]

    fields["q_nb_benevoles"].set_value("beaucoup")
    at.button[0].click().run()
    assert any("rien n'a été envoyé" in e.value for e in at.error)
    assert any("n'est pas un nombre entier" in m.value for m in at.markdown)
    with warehouse.read_connection(mini_db) as con:
        assert submissions.listing(con).empty, "a wrong answer queues nothing"

    before = snapshot(mini_db)
    at.text_input(key="q_nb_benevoles").set_value("15")
    at.text_input(key="q_heures_benevolat").set_value("1 200,5")
    at.button[0].click().run()
    assert any("Vos réponses 2026 sont transmises" in s.value for s in at.success)
    assert snapshot(mini_db) == before, "nothing reaches the data before an analyst accepts"
    with warehouse.read_connection(mini_db) as con:
        queue = submissions.listing(con)
        changes = submissions.changes(con, int(queue["id_soumission"].iloc[0]))
    assert queue[["nature", "structure", "annee", "statut"]].values.tolist() == [["observation", "S1", 2026, "en_attente"]]
    assert {"annee", "nb_benevoles", "heures_benevolat"} <= set(changes["colonne"])

    number = int(queue["id_soumission"].iloc[0])
    listed = json.loads(cli("opp", "soumissions", "--json", db=mini_db).stdout)
    assert listed[0]["id_soumission"] == number and any(c["colonne"] == "nb_benevoles" for c in listed[0]["changements"])
    accepted = cli("opp", "accepter", str(number), db=mini_db)
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    with warehouse.read_connection(mini_db) as con:
        row = con.execute("SELECT nb_benevoles, heures_benevolat, source FROM observations WHERE id_structure = 'S1' "
                          "AND annee = 2026").fetchone()
        declared = q.declared_by_year(con, Scope())
        import_id = con.execute("SELECT import_id FROM opp_soumissions WHERE id_soumission = ?", [number]).fetchone()[0]
    assert row == (15, 1200.5, "questionnaire") and 2026 in declared["annee"].tolist()
    assert cli("opp", "accepter", str(number), db=mini_db).returncode == 1, "decided once"
    ingest.undo(mini_db, import_id)
    assert snapshot(mini_db) == before


def opened_for(db, structure: str, annee: int = 2026) -> tokens.Opened:
    token = link_for(db, structure, annee)  # written before the reader opens: it reads the file as it is then
    with warehouse.read_connection(db) as con:
        return tokens.check(con, token)


def test_a_refused_submission_changes_nothing(mini_db):
    opened = opened_for(mini_db, "S2")
    number = submissions.submit_observation(mini_db, opened, {"nb_benevoles": "9"})
    before = snapshot(mini_db)
    assert cli("opp", "refuser", str(number), "--motif", "", db=mini_db).returncode == 1
    assert cli("opp", "refuser", str(number), "--motif", "Doublon d'une réponse par courriel", db=mini_db).returncode == 0
    assert snapshot(mini_db) == before
    with warehouse.read_connection(mini_db) as con:
        row = submissions.listing(con).iloc[0]
    assert (row["statut"], row["motif"]) == ("refusee", "Doublon d'une réponse par courriel")


def test_direct_welcome_is_queued_then_accepted_with_orientation_direct(mini_db, monkeypatch):
    at = open_app(mini_db, monkeypatch)
    at.switch_page("pages/rejoindre.py").run()
    at.text_input(key="r_nom").set_value("<b>Compagnie</b> **Nouvelle**")
    at.text_input(key="r_commune").set_value("99999")
    at.multiselect(key="r_besoins").set_value(["EMP.RH", "ECO.GESTION"])
    at.checkbox(key="r_consentement").check()
    at.button[0].click().run()
    assert any("rien n'a été envoyé" in e.value for e in at.error) and any("99999" in m.value for m in at.markdown)
    at.text_input(key="r_commune").set_value("14118")
    at.button[0].click().run()
    assert any("Votre demande est transmise" in s.value for s in at.success)
    with warehouse.read_connection(mini_db) as con:
        number = int(submissions.listing(con)["id_soumission"].iloc[0])
    result = submissions.accept(mini_db, number, "analyste", programme="P1")
    assert result.status == "importe", result.problems
    with warehouse.read_connection(mini_db) as con:
        structure = con.execute("SELECT id_structure, nom FROM structures WHERE id_structure LIKE 'OPP%'").fetchone()
        acc = con.execute("SELECT etape, orientation, besoin_principal, besoins FROM accompagnements "
                          "WHERE id_structure = ?", [structure[0]]).fetchone()
    assert structure[1] == "<b>Compagnie</b> **Nouvelle**", "kept as typed: shown as text everywhere"
    assert acc == ("accueil", "direct", "EMP.RH", ["EMP.RH", "ECO.GESTION"])

    analyst = open_app(mini_db, monkeypatch, role="analyste")
    analyst.switch_page("pages/soumissions.py").run()
    analyst.segmented_control(key="statut_soumissions").set_value("acceptee").run()
    assert not analyst.exception and any("Accueil direct" in e.label for e in analyst.expander)


# --------------------------------------------------------------------------- results given back


def _observe(db, rows: list[tuple[str, str, str, float]]) -> None:
    """Structures (id, département's commune, domaine) each declaring a budget for 2025."""
    structures = "id_structure;nom;forme_juridique;domaine;code_commune\n" + "".join(
        f"{s};Structure {s};association;{d};{c}\n" for s, c, d, _ in rows)
    observations = "id_observation;id_structure;annee;budget_annuel;source\n" + "".join(
        f"OB-{s};{s};2025;{b};import\n" for s, _, _, b in rows)
    result = ingest.ingest(db, [ingest.Upload("s.csv", structures.encode(), "structures"),
                                ingest.Upload("o.csv", observations.encode(), "observations")])
    assert result.status == "importe", result.problems


def publish(db, annee: int = 2025) -> None:
    with warehouse.write_transaction(db) as con:
        q.publish(con, annee, "analyste")


def figures_of(db, structure: str = "S1", annee: int = 2025) -> pd.DataFrame:
    with warehouse.read_connection(db) as con:
        return q.territory_figures(con, structure, annee).set_index("mesure")


def test_results_back_follow_the_funder_rule_on_the_other_structures(tmp_path, mini_db):
    import shutil

    # Calvados (14): S1 already declared 2025; X1 and X2 too: two others only → the département is secret.
    _observe(mini_db, [("X1", "14118", "musique", 50_000), ("X2", "14047", "musique", 70_000)])
    two_others = tmp_path / "deux.duckdb"
    shutil.copyfile(mini_db, two_others)
    publish(two_others)
    budget = figures_of(two_others).loc["budget_annuel"]
    assert budget["sa_valeur"] == 90_000 and budget["secret_departement"] and pd.isna(budget["departement"])
    # A third other: the mean shows; but one structure making 85 % of the others' sum makes it secret again.
    _observe(mini_db, [("X3", "14366", "musique", 60_000)])
    dominated = tmp_path / "domine.duckdb"
    shutil.copyfile(mini_db, dominated)
    publish(mini_db)
    with warehouse.read_connection(mini_db) as con:
        budget = q.territory_figures(con, "S1", 2025).set_index("mesure").loc["budget_annuel"]
        others = con.execute("""SELECT o.budget_annuel FROM observations o JOIN structures s USING (id_structure)
                                JOIN geo_communes c ON c.code = s.code_commune WHERE o.annee = 2025
                                AND c.code_departement = '14' AND o.id_structure <> 'S1'""").df()["budget_annuel"]
    assert not secret.is_primary_secret(len(others), others.max(), others.sum())
    assert budget["departement"] == pytest.approx((90_000 + 50_000 + 70_000 + 60_000) / 4) and budget["n_departement"] == 4
    _observe(dominated, [("X4", "14118", "musique", 2_000_000)])
    publish(dominated)
    figures = figures_of(dominated)
    assert figures.loc["budget_annuel", "secret_departement"], "X4 dominates the others: secret"
    # The domaine (spectacle_vivant): S1 alone declared; nothing of anyone else can show.
    assert figures["secret_domaine"].all() and figures["domaine"].isna().all()


def test_the_results_page_shows_no_other_structures_value(mini_db, monkeypatch):
    _observe(mini_db, [("X1", "14118", "musique", 51_111), ("X2", "14047", "musique", 72_222)])
    publish(mini_db)
    at = open_app(mini_db, monkeypatch, token=link_for(mini_db, "S1"))
    text = sent_text(at)
    assert "90\u202f000" in text, "its own budget"
    for value in ("51\u202f111", "72\u202f222", "51111", "72222", "Structure X1", "Structure X2"):
        assert value not in text
    assert "secret" in text


def test_published_figures_do_not_move_so_no_answer_can_be_differenced(mini_db):
    """A structure that reads its page before and after another's answers are accepted sees the same means:
    they are frozen once per campaign (a moving mean and count gave the newcomer's value away)."""
    _observe(mini_db, [("X1", "14118", "musique", 50_000), ("X2", "14047", "musique", 70_000),
                       ("X3", "14366", "musique", 60_000)])
    publish(mini_db)
    before = figures_of(mini_db)
    assert not before.loc["budget_annuel", "secret_departement"]
    _observe(mini_db, [("X5", "14118", "musique", 123_456)])
    pd.testing.assert_frame_equal(figures_of(mini_db).drop(columns="sa_valeur"), before.drop(columns="sa_valeur"))
    refused = cli("opp", "publier", "--annee", "2025", db=mini_db)
    assert refused.returncode == 1 and "déjà été publiés" in refused.stderr
    # Before its publication, a campaign gives back nothing of the others.
    assert figures_of(mini_db, annee=2024)[["departement", "domaine"]].isna().all().all()


def test_others_all_declaring_zero_stay_secret(mini_db):
    zeros = "id_observation;id_structure;annee;nb_salaries;source\n" + "".join(
        f"OB-{s};{s};2025;0;import\n" for s in ("X1", "X2", "X3"))
    _observe(mini_db, [("X1", "14118", "musique", 1), ("X2", "14047", "musique", 2), ("X3", "14366", "musique", 3)])
    assert ingest.ingest(mini_db, [ingest.Upload("z.csv", zeros.encode(), "observations")]).status == "importe"
    publish(mini_db)
    salaries = figures_of(mini_db).loc["nb_salaries"]
    assert salaries["secret_departement"] and pd.isna(salaries["departement"]), "0 + 0 + 0 tells each one's 0"


def test_a_revoked_link_sends_nothing_and_a_number_always_means_the_same_answers(mini_db):
    opened = opened_for(mini_db, "S2")
    first = submissions.submit_observation(mini_db, opened, {"nb_benevoles": "5"})
    second = submissions.submit_observation(mini_db, opened, {"nb_benevoles": "6"})
    assert second != first
    with warehouse.read_connection(mini_db) as con:
        statuses = dict(con.execute("SELECT id_soumission, statut FROM opp_soumissions").fetchall())
    assert statuses == {first: "remplacee", second: "en_attente"}
    with pytest.raises(submissions.SubmissionError, match="déjà remplacée"):
        submissions.accept(mini_db, first, "analyste")
    tokens.revoke(mini_db, "S2")
    with pytest.raises(submissions.SubmissionError, match="révoqué ou a expiré"):
        submissions.submit_observation(mini_db, opened, {"nb_benevoles": "7"})


def test_an_acceptance_racing_a_refusal_writes_nothing(mini_db, monkeypatch):
    number = submissions.submit_observation(mini_db, opened_for(mini_db, "S2"), {"nb_benevoles": "777"})
    before = snapshot(mini_db)
    real_load = submissions._load

    def refused_meanwhile(con, n):  # the refusal lands after accept() read the submission as pending
        loaded = real_load(con, n)
        monkeypatch.setattr(submissions, "_load", real_load)
        submissions.refuse(mini_db, n, "Doublon")
        return loaded

    monkeypatch.setattr(submissions, "_load", refused_meanwhile)
    with pytest.raises(submissions.SubmissionError, match="déjà refusée entre-temps"):
        submissions.accept(mini_db, number, "analyste")
    assert snapshot(mini_db) == before


def test_answers_are_cleaned_of_controls_and_update_a_surveys_own_row(mini_db):
    survey = "id_observation;id_structure;annee;nb_benevoles;source\nFED-2026-17;S1;2026;9;import\n"
    assert ingest.ingest(mini_db, [ingest.Upload("f.csv", survey.encode(), "observations")]).status == "importe"
    opened = opened_for(mini_db, "S1")
    number = submissions.submit_observation(mini_db, opened, {
        "nb_benevoles": "11", "commentaire": "Ligne\x0bWord\x00 \x1b[31mrouge\u200b\u202e"})
    assert submissions.accept(mini_db, number, "analyste").status == "importe"
    with warehouse.read_connection(mini_db) as con:
        rows = con.execute("SELECT id_observation, nb_benevoles, commentaire, source FROM observations "
                           "WHERE id_structure = 'S1' AND annee = 2026").fetchall()
    assert rows == [("FED-2026-17", 11, "Ligne\nWord [31mrouge", "questionnaire")]


def test_the_links_file_is_readable_by_its_owner_only(mini_db, tmp_path):
    out = tmp_path / "liens.csv"
    run = cli("opp", "inviter", "--annee", "2025", "--out", str(out), db=mini_db)
    assert run.returncode == 0 and oct(out.stat().st_mode & 0o777) == "0o600"
    assert "--base-url" in run.stderr, "links to localhost are said to open only here"


def test_links_that_cannot_be_written_revoke_nothing(mini_db, tmp_path):
    first = link_for(mini_db, "S1", annee=2025)
    run = cli("opp", "inviter", "--annee", "2025", "--out", str(tmp_path / "absent" / "liens.csv"), db=mini_db)
    assert run.returncode == 2 and "Rien n'a changé" in run.stderr
    with warehouse.read_connection(mini_db) as con:
        assert tokens.check(con, first).id_structure == "S1", "the link already sent still works"
        assert con.execute("SELECT count(*) FROM opp_jetons").fetchone()[0] == 1


def test_two_overlapping_areas_never_give_one_structure_away_by_difference(mini_db):
    """Every structure of Calvados declared in the domaine musique, plus one elsewhere: the domaine's sum minus
    the département's would be that one's budget. Neither mean is shown then."""
    musique = [("X1", "14118", "musique", 50_000), ("X2", "14047", "musique", 70_000), ("X3", "14366", "musique", 60_000),
               ("Y1", "76540", "musique", 123_456)]
    _observe(mini_db, musique)
    structures = "id_structure;nom;forme_juridique;domaine;code_commune\nS1;Compagnie Test Un;association;musique;14118\n"
    assert ingest.ingest(mini_db, [ingest.Upload("s.csv", structures.encode(), "structures")]).status == "importe"
    publish(mini_db)
    budget = figures_of(mini_db).loc["budget_annuel"]
    assert budget["secret_departement"] and budget["secret_domaine"]
    # With three structures outside the département, the difference hides each of them: both are shown.
    _observe(mini_db, [("Y2", "76540", "musique", 10_000), ("Y3", "76540", "musique", 20_000)])
    with warehouse.write_transaction(mini_db) as con:
        con.execute("DELETE FROM opp_publications")
        con.execute("DELETE FROM opp_valeurs_publiees")
    publish(mini_db)
    budget = figures_of(mini_db).loc["budget_annuel"]
    assert not budget["secret_departement"] and not budget["secret_domaine"]
