"""The upload page ("Importer des données") driven through app.py with AppTest on a private copy of the
mini warehouse: report, valid-only commit, home figures after an import, unchanged re-upload, undo with
confirmation, templates and dictionary. Expectations come from the warehouse itself (DuckDB reads, the
query layer) and from the files the tests write, never from numbers typed in by hand."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pandas as pd
import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from pipelines import ingest
from pipelines.queries import indicators
from pipelines.queries.indicators import Scope
from pipelines.spec import templates
from pipelines.spec.datasets import DATASETS, LOAD_ORDER
from pipelines.store import warehouse
from tests.conftest import MINI, REPO_DIR

APP = REPO_DIR / "app.py"
PAGE = "pages/importer.py"
HOME = "pages/vue_ensemble.py"
CSV = "text/csv"

# Lines 3 and 5 (the header is line 1) are invalid: an unknown domaine, an unknown commune code.
STRUCTURES_WITH_ERRORS = (
    "id_structure;nom;forme_juridique;domaine;code_commune;annee_creation\n"
    "S10;Compagnie Nouvelle;association;musique;14118;2001\n"
    "S11;Orchestre Mauvais;association;jazz manouche;14118;2001\n"
    "S12;Troupe Autre;scop;patrimoine;13055;\n"
    "S13;Collectif Perdu;association;musique;99999;2010\n"
).encode("utf-8")
VALID_IN_ERROR_FILE = {"S10", "S12"}
INVALID_IN_ERROR_FILE = {"S11", "S13"}

# A valid batch of two files: one new structure followed by two accompaniments (10 hours in all).
NEW_STRUCTURE = (
    "id_structure;nom;forme_juridique;domaine;code_commune\n"
    "S20;Compagnie du Test Vingt;association;spectacle_vivant;14118\n"
).encode("utf-8")
NEW_ACCOMPANIMENTS = (
    "id_accompagnement;id_structure;id_programme;date_debut;etape;modalite;heures;besoin_principal\n"
    "A20;S20;P1;01/03/2023;accueil;individuel;7;ECO.MODELE\n"
    "A21;S20;P1;01/04/2023;diagnostic;collectif;3;ORG\n"
).encode("utf-8")


# --------------------------------------------------------------------------- helpers


@pytest.fixture
def media(monkeypatch) -> dict[str, bytes]:
    """Bytes behind each download button (file id → content), as the browser would download them."""
    files: dict[str, bytes] = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def recording(self, path_or_data, mimetype, kind, filename=None):
        file_id = original(self, path_or_data, mimetype, kind, filename)
        if isinstance(path_or_data, bytes):
            files[file_id] = path_or_data
        return file_id

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", recording)
    return files


@pytest.fixture
def importer(mini_db, monkeypatch):
    monkeypatch.setenv(warehouse.ENV_VAR, str(mini_db))

    def open_page() -> AppTest:
        at = AppTest.from_file(str(APP), default_timeout=60)
        at.session_state["auth_role"] = "analyste"  # what signing in leaves in the session
        at.run()
        at.switch_page(PAGE).run()
        assert not at.exception, at.exception
        assert at.title[0].value == "Importer des données"
        return at

    return open_page


def tab(at: AppTest, label: str):
    matches = [t for t in at.tabs if t.label == label]
    assert len(matches) == 1, [t.label for t in at.tabs]
    return matches[0]


def upload(at: AppTest, *files: tuple[str, bytes]) -> AppTest:
    at.file_uploader[0].set_value([(name, content, CSV) for name, content in files]).run()
    assert not at.exception, at.exception
    return at


def snapshot(db: Path) -> dict[str, list[tuple]]:
    """Every row of every dataset table (with the import that wrote it), plus the import log."""
    with warehouse.read_connection(db) as con:
        tables = {name: sorted(con.execute(f"SELECT * FROM {name}").fetchall(), key=repr) for name in LOAD_ORDER}
        tables["imports"] = con.execute("SELECT import_id, statut FROM imports ORDER BY 1").fetchall()
    return tables


def ids(db: Path, dataset: str) -> set[str]:
    key = DATASETS[dataset].id_column
    with warehouse.read_connection(db) as con:
        return {r[0] for r in con.execute(f"SELECT {key} FROM {dataset}").fetchall()}


def report_table(at: AppTest):
    """The validation report: the dataframe whose columns are the report's French headers."""
    frames = [d.value for d in tab(at, "Déposer des fichiers").dataframe
              if "Problème et correction" in d.value.columns]
    assert len(frames) == 1
    return frames[0]


def history_table(at: AppTest):
    frames = tab(at, "Historique des imports").dataframe
    assert len(frames) == 1
    return frames[0].value


def valid_only_checkbox(at: AppTest):
    boxes = [c for c in at.checkbox if c.label.startswith("Importer uniquement les lignes valides")]
    assert len(boxes) == 1, [c.label for c in at.checkbox]
    return boxes[0]


def import_button(at: AppTest):
    return at.button(key="importer")


def texts(elements) -> list[str]:
    return [e.value for e in elements]


def as_int(text: str) -> int:
    return int(re.sub(r"\D", "", text))


def home_metrics(at: AppTest) -> dict[str, str]:
    at.switch_page(HOME).run()
    assert not at.exception, at.exception
    return {m.label: m.value for m in at.metric}


# --------------------------------------------------------------------------- report, nothing written


def test_file_with_errors_shows_report_and_writes_nothing(importer, mini_db):
    before, version = snapshot(mini_db), warehouse.version(mini_db)
    at = upload(importer(), ("structures.csv", STRUCTURES_WITH_ERRORS))

    shown = report_table(at)
    assert "Fichier" not in shown.columns, "one file: named above, its column would only take room"
    rows = {(int(r["Ligne"]), r["Colonne"]): r for _, r in shown.iterrows()}
    assert set(rows) == {(3, "domaine"), (5, "code_commune")}
    domaine = rows[(3, "domaine")]
    assert domaine["Valeur"] == "jazz manouche" and domaine["Gravité"] == "Erreur"
    assert "jazz manouche" in domaine["Problème et correction"] and "spectacle_vivant" in domaine["Problème et correction"]
    commune = rows[(5, "code_commune")]
    assert commune["Valeur"] == "99999" and "99999" in commune["Problème et correction"]
    assert "inconnu" in commune["Problème et correction"]

    metrics = {m.label: as_int(m.value) for m in at.metric}
    assert metrics["Lignes lues"] == 4 and metrics["Rejetées"] == 2 and metrics["Valides"] == 2
    assert import_button(at).disabled
    assert any("rien n'est importé" in w for w in texts(at.warning))
    # Validation read the warehouse without writing to it.
    assert snapshot(mini_db) == before and warehouse.version(mini_db) == version


def test_results_uploaded_before_their_accompaniments_are_reported_not_crashed(importer, mini_db):
    """Results for an accompaniment neither in the warehouse nor in the deposit (a common order mistake)."""
    known = ids(mini_db, "accompagnements")
    assert "A99" not in known
    body = ("id_resultat;id_accompagnement;echeance;date_mesure\n"
            "R90;A99;fin;01/01/2024\n").encode()
    at = upload(importer(), ("resultats.csv", body))
    shown = report_table(at)
    assert shown[["Ligne", "Colonne", "Valeur"]].values.tolist() == [[2, "id_accompagnement", "A99"]]
    assert "introuvable" in shown["Problème et correction"].iloc[0]
    assert import_button(at).disabled


def test_several_files_keep_the_file_column_and_unknown_headers_are_explained(importer, mini_db):
    before = snapshot(mini_db)
    accompaniments = NEW_ACCOMPANIMENTS.replace(b"ECO.MODELE", b"PAS.UN.BESOIN")
    at = upload(importer(), ("structures.csv", NEW_STRUCTURE), ("accompagnements.csv", accompaniments))
    shown = report_table(at)
    assert shown[["Fichier", "Ligne", "Colonne"]].values.tolist() == [["accompagnements.csv", 2, "besoin_principal"]]
    assert len(at.expander) == 2, "one preview per file"
    # Each file's line of the report gives its size in French (the uploader's own reads "0.3KB").
    sizes = {name: f"{len(content) / 1000:.1f}".replace(".", ",") + "\u00a0Ko" if len(content) >= 1000
             else f"{len(content)}\u00a0octets" for name, content in
             (("structures.csv", NEW_STRUCTURE), ("accompagnements.csv", accompaniments))}
    listing = next(m.value for m in at.markdown if "→" in m.value and "accompagnements.csv" in m.value)
    for name, size in sizes.items():
        assert f"`{name}` ({size}) →" in listing, (size, listing)

    unknown = upload(importer(), ("inventaire.csv", b"reference;quantite\nX;3\n"))
    # Headers of no dataset: the mapping step asks what they are instead of importing anything.
    assert any("Correspondance des colonnes de « inventaire\\.csv »" in m.value for m in unknown.markdown)
    assert any(w.value.startswith("Colonnes obligatoires absentes du fichier") for w in unknown.warning)
    assert unknown.button(key="importer").disabled
    assert snapshot(mini_db) == before


def test_an_internal_error_during_checks_is_said_in_french_without_a_traceback(importer, mini_db, monkeypatch):
    def broken(db, uploads):
        raise RuntimeError("boom")

    before = snapshot(mini_db)
    at = importer()
    monkeypatch.setattr(ingest, "preview", broken)
    upload(at, ("structures.csv", NEW_STRUCTURE))
    assert any("erreur interne" in e.value and "rien n'a été écrit" in e.value for e in at.error)
    assert not [b for b in at.button if b.key == "importer"]
    assert snapshot(mini_db) == before


def test_rejected_lines_and_report_download_as_french_excel_csv(importer, media):
    at = upload(importer(), ("structures.csv", STRUCTURES_WITH_ERRORS))
    buttons = {b.key: b for b in at.download_button}

    def downloaded(key: str) -> pd.DataFrame:
        content = media[Path(buttons[key].proto.url).stem]
        assert content.startswith("\ufeff".encode()), "BOM: French Excel opens it as UTF-8"
        return pd.read_csv(io.BytesIO(content), sep=";", encoding="utf-8-sig", dtype=str)

    rejected = downloaded("telecharger_rejets")
    assert rejected["ligne"].astype(int).tolist() == [3, 5]
    assert set(rejected["id_structure"]) == INVALID_IN_ERROR_FILE
    assert rejected["domaine"].tolist()[0] == "jazz manouche", "lines as the analyst wrote them, ready to fix"
    report = downloaded("telecharger_rapport")
    assert {"Ligne", "Colonne", "Problème et correction", "Gravité"} <= set(report.columns)
    assert report["Gravité"].tolist() == ["Erreur", "Erreur"]


def test_report_filters_narrow_the_table(importer):
    at = upload(importer(), ("structures.csv", STRUCTURES_WITH_ERRORS))
    assert len(report_table(at)) == 2
    at.multiselect(key="filtre_colonne").set_value(["code_commune"]).run()
    assert not at.exception
    narrowed = report_table(at)
    assert narrowed["Colonne"].tolist() == ["code_commune"] and narrowed["Ligne"].tolist() == [5]
    at.multiselect(key="filtre_gravite").set_value(["avertissement"]).run()
    assert report_table(at).empty


def test_filters_do_not_break_when_a_different_file_is_dropped(importer):
    at = upload(importer(), ("structures.csv", STRUCTURES_WITH_ERRORS))
    at.multiselect(key="filtre_colonne").set_value(["domaine"]).run()
    # The analyst fixes line 3 and drops the file again: 'domaine' no longer has a problem.
    fixed = STRUCTURES_WITH_ERRORS.replace(b"jazz manouche", b"musique")
    upload(at, ("structures.csv", fixed))
    shown = report_table(at)
    assert shown["Ligne"].tolist() == [5], "the report of the new file is shown in full"


def test_importing_only_valid_lines_writes_exactly_them_and_shows_in_history(importer, mini_db):
    before = ids(mini_db, "structures")
    at = upload(importer(), ("structures.csv", STRUCTURES_WITH_ERRORS))
    assert import_button(at).disabled
    valid_only_checkbox(at).check().run()
    assert not import_button(at).disabled
    import_button(at).click().run()
    assert not at.exception, at.exception

    assert ids(mini_db, "structures") - before == VALID_IN_ERROR_FILE
    assert not INVALID_IN_ERROR_FILE & ids(mini_db, "structures")
    with warehouse.read_connection(mini_db) as con:
        import_id, mode, valid, rejected = con.execute(
            "SELECT import_id, mode, nb_valides, nb_rejetes FROM imports ORDER BY import_id DESC LIMIT 1").fetchone()
        row = con.execute("SELECT nom, forme_juridique, code_commune, import_id FROM structures "
                          "WHERE id_structure = 'S12'").fetchone()
        kept = con.execute("SELECT ligne FROM lignes_rejetees WHERE import_id = ? ORDER BY 1", [import_id]).fetchall()
    assert (valid, rejected) == (2, 2) and mode == ingest.MODE_VALID_ONLY
    assert row == ("Troupe Autre", "scop", "13055", import_id)
    assert [r[0] for r in kept] == [3, 5], "rejected lines stay in the history, as the checkbox says"

    assert any(f"Import n° {import_id} enregistré" in s for s in texts(at.success))
    assert not at.file_uploader[0].value, "the uploader is emptied after a commit"
    assert not at.checkbox, "no leftover report or checkbox once the files are imported"

    history = history_table(at)
    latest = history.iloc[0]
    assert latest["import_id"] == import_id and latest["fichiers"] == "structures.csv"
    assert latest["nb_valides"] == 2 and latest["nb_rejetes"] == 2
    assert latest["statut"] == "importé"
    assert "valides" in latest["mode"] and "_" not in latest["mode"], "mode shown in French, not as a code"
    assert at.button(key=f"annuler_{import_id}")


def test_valid_import_changes_home_figures(importer, mini_db):
    at = importer()
    before_shown = home_metrics(at)  # fills the cache with the figures before the import
    with warehouse.read_connection(mini_db) as con:
        before = indicators.key_figures(con, Scope())
    assert as_int(before_shown["Structures accompagnées"]) == before["structures"]

    at.switch_page(PAGE).run()
    upload(at, ("structures.csv", NEW_STRUCTURE), ("accompagnements.csv", NEW_ACCOMPANIMENTS))
    assert report_table_absent(at)
    assert not import_button(at).disabled
    import_button(at).click().run()
    assert not at.exception, at.exception
    assert ids(mini_db, "accompagnements") >= {"A20", "A21"}

    with warehouse.read_connection(mini_db) as con:
        after = indicators.key_figures(con, Scope())
    assert after["structures"] == before["structures"] + 1
    assert after["accompagnements"] == before["accompagnements"] + 2
    assert after["heures"] == before["heures"] + 10
    shown = home_metrics(at)
    assert as_int(shown["Structures accompagnées"]) == after["structures"]
    assert as_int(shown["Accompagnements"]) == after["accompagnements"]
    assert as_int(shown["Heures d'accompagnement"]) == round(after["heures"])


def report_table_absent(at: AppTest) -> bool:
    """A valid batch: a success line, no table of problems."""
    depot = tab(at, "Déposer des fichiers")
    return (not [d for d in depot.dataframe if "Problème et correction" in d.value.columns]
            and any("Aucun problème" in s.value for s in depot.success))


def test_reuploading_identical_content_says_nothing_would_change(importer, mini_db):
    at = upload(importer(), ("structures.csv", NEW_STRUCTURE))
    import_button(at).click().run()
    assert "S20" in ids(mini_db, "structures")
    before = snapshot(mini_db)

    upload(at, ("structures.csv", NEW_STRUCTURE))
    assert any("importer ne changerait rien" in i for i in texts(at.info))
    assert import_button(at).disabled
    metrics = {m.label: as_int(m.value) for m in at.metric}
    assert metrics["Inchangées"] == 1 and metrics["Nouvelles"] == 0 and metrics["Modifiées"] == 0
    assert snapshot(mini_db) == before


def test_reuploading_the_mini_fixture_itself_changes_nothing(importer, mini_db):
    files = [(f"{name}.csv", (MINI / f"{name}.csv").read_bytes()) for name in LOAD_ORDER]
    at = upload(importer(), *files)
    with warehouse.read_connection(mini_db) as con:
        rows = sum(con.execute(f"SELECT count(*) FROM {name}").fetchone()[0] for name in LOAD_ORDER)
    metrics = {m.label: as_int(m.value) for m in at.metric}
    assert metrics["Inchangées"] == rows
    assert import_button(at).disabled


def test_a_new_deposit_does_not_inherit_the_valid_only_choice(importer, mini_db):
    before = snapshot(mini_db)
    at = upload(importer(), ("structures.csv", STRUCTURES_WITH_ERRORS))
    valid_only_checkbox(at).check().run()
    assert not import_button(at).disabled
    # Another file with errors replaces the first one before anything is imported.
    other = STRUCTURES_WITH_ERRORS.replace(b"S10;", b"S40;").replace(b"S12;", b"S42;")
    upload(at, ("structures_v2.csv", other))
    assert not valid_only_checkbox(at).value, "the valid-only choice is made again for each deposit"
    assert import_button(at).disabled
    assert snapshot(mini_db) == before


# --------------------------------------------------------------------------- undo


def test_undo_from_history_asks_for_confirmation_then_restores_the_warehouse(importer, mini_db):
    with warehouse.read_connection(mini_db) as con:
        s1 = con.execute("SELECT * FROM structures WHERE id_structure = 'S1'").df()
    changed = s1.assign(nom="Compagnie Test Un renommée")[["id_structure", "nom", "forme_juridique", "domaine",
                                                          "code_commune"]]
    body = changed.to_csv(sep=";", index=False).encode() + b"S30;Nouvelle Trente;association;musique;14118\n"
    before = snapshot(mini_db)

    at = upload(importer(), ("structures.csv", body))
    assert {m.label: as_int(m.value) for m in at.metric}["Modifiées"] == 1
    import_button(at).click().run()
    with warehouse.read_connection(mini_db) as con:
        import_id = con.execute("SELECT max(import_id) FROM imports").fetchone()[0]
        assert con.execute("SELECT nom FROM structures WHERE id_structure = 'S1'").fetchone()[0] == "Compagnie Test Un renommée"
    after_import = snapshot(mini_db)
    assert after_import != before

    at.button(key=f"annuler_{import_id}").click().run()
    assert not at.exception, at.exception
    assert any(f"Annuler l'import n° {import_id}" in w for w in texts(tab(at, "Historique des imports").warning))
    assert snapshot(mini_db) == after_import, "nothing is undone before the confirmation"

    at.button(key="garder_import").click().run()
    assert not [b for b in at.button if b.key == "confirmer_annulation"]
    assert snapshot(mini_db) == after_import

    at.button(key=f"annuler_{import_id}").click().run()
    at.button(key="confirmer_annulation").click().run()
    assert not at.exception, at.exception
    restored = snapshot(mini_db)
    assert {k: v for k, v in restored.items() if k != "imports"} == {k: v for k, v in before.items() if k != "imports"}
    assert dict(restored["imports"])[import_id] == "annule"
    assert any(f"Import n° {import_id} annulé" in s for s in texts(at.success))
    history = history_table(at)
    assert history.loc[history["import_id"] == import_id, "statut"].str.startswith("annulé le ").tolist() == [True]
    assert not [b for b in at.button if b.key == f"annuler_{import_id}"], "an undone import cannot be undone again"


def test_undo_refused_when_a_later_import_changed_the_same_rows(importer, mini_db):
    at = importer()
    for name in ("Premier nom", "Second nom"):
        body = f"id_structure;nom;forme_juridique;domaine;code_commune\nS20;{name};association;musique;14118\n"
        upload(at, ("structures.csv", body.encode()))
        import_button(at).click().run()
        assert not at.exception, at.exception
    with warehouse.read_connection(mini_db) as con:
        first, second = [r[0] for r in con.execute("SELECT import_id FROM imports ORDER BY 1 DESC LIMIT 2").fetchall()][::-1]
    before = snapshot(mini_db)

    at.button(key=f"annuler_{first}").click().run()
    at.button(key="confirmer_annulation").click().run()
    assert not at.exception, at.exception
    refusal = [e.value for e in tab(at, "Historique des imports").error]
    assert len(refusal) == 1 and f"n° {second}" in refusal[0] and "Annulez d'abord" in refusal[0]
    assert snapshot(mini_db) == before


# --------------------------------------------------------------------------- templates and dictionary


def test_templates_tab_offers_every_template_and_the_dictionary(importer, media, empty_db):
    at = importer()
    modeles = tab(at, "Modèles et dictionnaire")
    buttons = {b.key: b for b in modeles.download_button}
    for name in LOAD_ORDER:
        assert buttons[f"modele_csv_{name}"].label == "Modèle CSV"
        assert buttons[f"modele_xlsx_{name}"].label == "Modèle XLSX"
    assert {"dictionnaire_md", "dictionnaire_csv"} <= set(buttons)

    def downloaded(key: str) -> bytes:
        return media[Path(buttons[key].proto.url).stem]

    # What the analyst downloads is what the validator accepts: the six CSV templates as one batch,
    # then the six XLSX templates, on an empty warehouse.
    for kind in ("csv", "xlsx"):
        batch = [ingest.Upload(f"modele_{name}.{kind}", downloaded(f"modele_{kind}_{name}")) for name in LOAD_ORDER]
        result = ingest.preview(empty_db, batch)
        assert result.status == "valide", result.problems.to_string()
        assert result.totals["nouveau"] == len(LOAD_ORDER)
    dictionary = downloaded("dictionnaire_csv").decode("utf-8-sig")
    for name in LOAD_ORDER:
        for column in DATASETS[name].column_names:
            assert f"{name};{column};" in dictionary
    assert "# Dictionnaire des données" in downloaded("dictionnaire_md").decode("utf-8")

    # The dictionary on screen, one dataset at a time: every column with its rule, as the validator has it.
    chooser = at.selectbox(key="dictionnaire_jeu")
    assert list(chooser.options) == [f"{DATASETS[n].label} ({n})" for n in LOAD_ORDER]
    for name in LOAD_ORDER:
        chooser.set_value(name).run()
        assert not at.exception, at.exception
        shown = tab(at, "Modèles et dictionnaire").table[0].value
        assert shown["Colonne"].tolist() == DATASETS[name].column_names
        expected = templates.dictionary_frame(name)
        assert shown["Règle vérifiée à l'import"].tolist() == expected["regle"].tolist()
        assert shown["Exemple"].tolist() == templates.example_row(name)


# --------------------------------------------------------------------------- pipelines.spec.templates (no page)


@pytest.mark.parametrize("make, ext", [(templates.template_csv, "csv"), (templates.template_xlsx, "xlsx")])
def test_each_template_example_line_passes_validation(empty_db, make, ext):
    """Each template on its own, after the templates of the datasets it refers to: its example line
    is valid, recognised from its headers, and imported as one new line with its example values."""
    for name in LOAD_ORDER:
        upload = ingest.Upload(f"modele_{name}.{ext}", make(name))
        checked = ingest.preview(empty_db, [upload])
        assert checked.status == "valide", (name, checked.problems.to_string())
        assert checked.problems.empty, (name, checked.problems.to_string())
        assert checked.files[0]["jeu"] == name, "recognised from the headers alone"
        assert checked.totals == {"lus": 1, "valides": 1, "rejetes": 0, "nouveau": 1, "modifie": 0, "inchange": 0}
        done = ingest.ingest(empty_db, [upload])
        assert done.status == "importe", done.message
        ds = DATASETS[name]
        with warehouse.read_connection(empty_db) as con:
            stored = con.execute(f"SELECT {ds.id_column} FROM {name}").fetchall()
        assert stored == [(templates.example_row(name)[0],)]


def test_template_headers_and_dictionary_follow_the_dataset_definitions():
    frame = templates.dictionary_frame()
    for name in LOAD_ORDER:
        ds = DATASETS[name]
        header, example = templates.template_csv(name).decode("utf-8-sig").splitlines()
        assert header.split(";") == ds.column_names
        assert len(example.split(";")) == len(ds.columns)
        assert frame.loc[frame["jeu"] == name, "colonne"].tolist() == ds.column_names
        required = frame.loc[(frame["jeu"] == name) & (frame["obligatoire"] == "oui"), "colonne"].tolist()
        assert required == [c.name for c in ds.columns if c.required]
        assert all(c.example for c in ds.columns if c.required), "every required column has an example"
    assert frame["regle"].str.len().gt(0).all()


def test_uploading_into_the_demo_is_warned_and_the_banner_stops_saying_all_is_synthetic(demo_db, tmp_path, monkeypatch):
    import shutil

    db = tmp_path / "demo.duckdb"
    shutil.copyfile(demo_db, db)
    monkeypatch.setenv(warehouse.ENV_VAR, str(db))
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.session_state["auth_role"] = "analyste"
    at.run()
    at.switch_page(PAGE).run()
    assert any("contient la **démonstration synthétique**" in w.value for w in at.warning)
    assert not any("Des fichiers y ont été importés" in w.value for w in at.warning)
    assert ingest.ingest(db, [ingest.Upload("s.csv", NEW_STRUCTURE, "structures")]).status == "importe"
    at.run()
    assert any("Des fichiers y ont été importés depuis" in w.value for w in at.warning)
