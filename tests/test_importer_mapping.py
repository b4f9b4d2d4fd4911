"""The upload page's mapping step, driven with AppTest on a private copy of the mini warehouse: an export of
another system (Windows-1252, its own headers and words) is mapped by the proposals, corrected by the
analyst, checked, saved as a profile, imported; the profile is offered when a file with the same headers
comes again. Expectations come from the corpus files and the warehouse."""

from __future__ import annotations

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboard.mapping import IGNORE_LABEL, KEEP_LABEL, NEW_LABEL, code_label, column_label
from pipelines.ingest import profiles
from pipelines.spec.datasets import DATASETS
from pipelines.store import warehouse
from tests.conftest import REPO_DIR
from tests.exports_corpus import CORPUS

APP = REPO_DIR / "app.py"
PAGE = "pages/importer.py"
# The corpus' DLA export of structures, with ids the mini warehouse does not have yet.
EXPORT = (CORPUS / "dla_structures.csv").read_bytes().replace(b"\r\nS", b"\r\nN")
NEW_IDS = {"N1", "N2", "N4"}
DOMAINES = DATASETS["structures"].column("domaine").choices


def ours(name: str) -> str:
    return column_label("structures", name)


def domaine(code: str) -> str:
    return code_label(DOMAINES, code)


@pytest.fixture
def importer(mini_db, monkeypatch):
    monkeypatch.setenv(warehouse.ENV_VAR, str(mini_db))

    def open_page() -> AppTest:
        at = AppTest.from_file(str(APP), default_timeout=90)
        at.session_state["auth_role"] = "analyste"
        at.run()
        at.switch_page(PAGE).run()
        assert not at.exception, at.exception
        return at

    return open_page


def upload(at: AppTest, name: str = "export_dla.csv", content: bytes = EXPORT) -> AppTest:
    at.file_uploader[0].set_value([(name, content, "text/csv")]).run()
    assert not at.exception, at.exception
    return at


def select(at: AppTest, label: str):
    found = [s for s in at.selectbox if s.label == label]
    assert len(found) == 1, [s.label for s in at.selectbox]
    return found[0]


def report(at: AppTest) -> pd.DataFrame:
    frames = [d.value for d in at.dataframe if "Problème et correction" in d.value.columns]
    return frames[0] if frames else pd.DataFrame(columns=["Ligne", "Colonne", "Valeur", "Problème et correction"])


def ids(db) -> set[str]:
    with warehouse.read_connection(db) as con:
        return {r[0] for r in con.execute("SELECT id_structure FROM structures").fetchall()}


def test_foreign_export_is_mapped_checked_saved_and_imported(importer, mini_db):
    at = upload(importer())
    assert any("Correspondance des colonnes de « export\\_dla\\.csv »" in m.value for m in at.markdown)
    # Each header of the file has a select holding the proposed column.
    assert select(at, "Raison sociale").value == ours("nom")
    assert select(at, "Code INSEE").value == ours("code_commune")
    assert select(at, "Observations internes").value == IGNORE_LABEL
    assert select(at, "Secteur d'activité : Théâtre").value == domaine("spectacle_vivant")
    assert report(at).empty and any("Prêt à importer : 3 lignes lues, 3 valides" in s.value for s in at.success)

    # The analyst keeps "Théâtre" as written: the report says so in the file's own words, with the nearest code.
    select(at, "Secteur d'activité : Théâtre").set_value(KEEP_LABEL).run()
    shown = report(at)
    assert shown[["Ligne", "Colonne", "Valeur"]].values.tolist() == [[2, "Secteur d'activité", "Théâtre"]]
    assert "le plus proche : « spectacle_vivant »" in shown["Problème et correction"].iloc[0]
    select(at, "Secteur d'activité : Théâtre").set_value(domaine("spectacle_vivant")).run()

    # Leaving the commune out makes it a missing required column, which a constant can fill.
    select(at, "Code INSEE").set_value(IGNORE_LABEL).run()
    assert any("Colonnes obligatoires absentes du fichier : code_commune" in w.value for w in at.warning)
    assert any(r["Colonne"] == "code_commune" and "absente" in r["Problème et correction"] for _, r in report(at).iterrows())
    constant = [t for t in at.text_input if t.label.startswith("Valeur de code_commune")]
    constant[0].set_value("14118").run()
    assert report(at).empty
    select(at, "Code INSEE").set_value(ours("code_commune")).run()

    # Saved under a name: in the warehouse, with the file's headers.
    [name] = [t for t in at.text_input if t.label == "Nom du profil"]
    name.set_value("Export DLA Calvados").run()
    [save] = [b for b in at.button if b.label == "Enregistrer comme profil"]
    save.click().run()
    assert not at.exception, at.exception
    assert any("Profil « Export DLA Calvados » enregistré (version 1)" in s.value for s in at.success)
    with warehouse.read_connection(mini_db) as con:
        stored = profiles.load(con, "Export DLA Calvados")
    assert stored.colonnes["Code INSEE"] == "code_commune" and stored.valeurs["domaine"]["Théâtre"] == "spectacle_vivant"
    assert "Observations internes" in stored.ignorer

    at.button(key="importer").click().run()
    assert not at.exception, at.exception
    assert any("Import n°" in s.value and "3 nouvelles" in s.value for s in at.success)
    assert NEW_IDS <= ids(mini_db)
    with warehouse.read_connection(mini_db) as con:
        rows = dict(con.execute("SELECT id_structure, forme_juridique FROM structures WHERE id_structure LIKE 'N%'").fetchall())
        used = con.execute("SELECT profil FROM import_fichiers ORDER BY import_id DESC LIMIT 1").fetchone()[0]
    assert rows == {"N1": "association", "N2": "association", "N4": "scop"} and used == "Export DLA Calvados"


def test_a_saved_profile_is_offered_when_the_same_headers_come_again(importer, mini_db):
    with warehouse.write_transaction(mini_db) as con:
        raw_headers = EXPORT.decode("cp1252").splitlines()[0].split(";")
        profile = profiles.Profile.from_dict({
            "jeu": "structures", "nom": "Export DLA", "ignorer": ["Observations internes", "Commune"],
            "colonnes": {"Réf. structure": "id_structure", "Raison sociale": "nom", "Statut juridique": "forme_juridique",
                         "Secteur d'activité": "domaine", "Code INSEE": "code_commune"},
            "valeurs": {"domaine": {"Théâtre": "spectacle_vivant", "Musiques actuelles": "musique",
                                    "Patrimoine bâti": "autre"},
                        "forme_juridique": {"Association loi 1901": "association",
                                            "Société coopérative et participative": "scop"}}})
        profiles.save(con, profile, role="analyste", headers=raw_headers)
    at = upload(importer())
    assert any("Profil enregistré pour ces en-têtes : « Export DLA »" in s.value for s in at.success)
    assert select(at, "Profil d'import").value == "Export DLA"
    # The profile's choices, not the proposals: it maps "Patrimoine bâti" to autre and leaves the budget out.
    assert select(at, "Secteur d'activité : Patrimoine bâti").value == domaine("autre")
    assert select(at, "Budget annuel").value == IGNORE_LABEL
    assert report(at).empty
    at.button(key="importer").click().run()
    with warehouse.read_connection(mini_db) as con:
        assert con.execute("SELECT domaine FROM structures WHERE id_structure = 'N4'").fetchone()[0] == "autre"

    # Choosing a new mapping instead goes back to the proposals.
    at = upload(importer())
    select(at, "Profil d'import").set_value(NEW_LABEL).run()
    assert select(at, "Secteur d'activité : Patrimoine bâti").value == domaine("patrimoine")
    assert select(at, "Budget annuel").value == ours("budget_annuel")


def test_a_file_in_the_interchange_format_gets_no_mapping_step(importer):
    at = upload(importer(), "structures.csv",
                b"id_structure;nom;forme_juridique;domaine;code_commune\nS60;Compagnie;association;musique;14118\n")
    assert not any("Correspondance des colonnes" in m.value for m in at.markdown)
    assert not [s for s in at.selectbox if s.label == "Profil d'import"]


def test_header_and_values_with_markup_stay_text(importer):
    hostile = ("Réf. structure;**Raison** [sociale](javascript:alert(1));Statut juridique;Secteur d'activité;Code INSEE\r\n"
               "H1;<img src=x onerror=alert(1)>;Association loi 1901;<b>Théâtre</b>;14118\r\n").encode("cp1252")
    at = upload(importer(), "hostile.csv", hostile)
    shown = " ".join(m.value for m in at.markdown)
    assert "\\*\\*Raison\\*\\* \\[sociale\\]" in shown, "Markdown in a header is escaped"
    assert "<img" not in shown.replace("\\<img", ""), "HTML in a value is escaped"


def test_a_file_of_thousands_of_columns_gets_a_bounded_mapping_step(importer):
    from pipelines.ingest.propose import MAX_HEADERS

    headers = ["Raison sociale", *[f"Champ {i}" for i in range(1500)]]
    body = (";".join(headers) + "\n" + ";".join(["Compagnie", *["x"] * 1500]) + "\n").encode()
    at = upload(importer(), "large.csv", body)
    assert any(w.value.startswith("Ce fichier a 1501 colonnes") for w in at.warning)
    per_header = [s for s in at.selectbox if s.label in set(headers)]
    assert len(per_header) == MAX_HEADERS
    # Beyond what any export has, the file is refused before any step.
    wider = (";".join(f"c{i}" for i in range(3000)) + "\n" + ";".join(["x"] * 3000) + "\n").encode()
    refused = upload(importer(), "tres_large.csv", wider)
    assert any("en-tête de 3 000 colonnes" in e.value for e in refused.error)


def test_moving_a_list_column_to_another_header_does_not_hand_over_its_codes(importer):
    """'Secteur d'activité' mapped to domaine with a value changed by hand; then 'Genre' is mapped to domaine
    instead: its values get their own proposals, not the codes chosen for the other header's values."""
    body = ("Réf. structure;Raison sociale;Statut juridique;Secteur d'activité;Genre;Code INSEE\r\n"
            "N1;A;Association loi 1901;Théâtre;Livre et lecture;14118\r\n").encode("cp1252")
    at = upload(importer(), "deux.csv", body)
    select(at, "Secteur d'activité : Théâtre").set_value(domaine("patrimoine")).run()
    select(at, "Genre").set_value(ours("domaine")).run()  # both on domaine a moment: the first one keeps it
    select(at, "Secteur d'activité").set_value(IGNORE_LABEL).run()
    assert not at.exception, at.exception
    assert select(at, "Genre : Livre et lecture").value == domaine("livre_edition_presse")
