"""Import profiles and proposals (issue: real exports in). Exports are written as other software writes them
(tests/fixtures/exports, their expected mapping in attendu.toml); profiles go through the real CLI, the
warehouse and the ingestion path; expectations come from the fixture files and the warehouse."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import subprocess
import sys
import tomllib
import zipfile

import openpyxl
import pandas as pd
import pytest

from pipelines import ingest
from pipelines.ingest import profiles, propose
from pipelines.ingest.profiles import Profile, ProfileError
from pipelines.ingest.read import UnreadableFile, read_file
from pipelines.spec.datasets import DATASETS, LOAD_ORDER
from pipelines.store import warehouse
from tests.conftest import MINI, REPO_DIR, create_warehouse
from tests.exports_corpus import CORPUS, HELD_OUT, expectations, score


def cli(*args, db):
    return subprocess.run([sys.executable, "-m", "pipelines", *args, "--db", str(db)], cwd=REPO_DIR,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def communes(tmp_path_factory) -> frozenset:
    db = create_warehouse(tmp_path_factory.mktemp("geo") / "geo.duckdb")
    with warehouse.read_connection(db) as con:
        return propose.commune_codes(con)


# --------------------------------------------------------------------------- proposals


def test_corpus_has_at_least_thirty_headers_from_several_kinds_of_exports():
    cases = expectations()
    assert sum(len(c.colonnes) for c in cases) >= 30
    assert len({c.jeu for c in cases}) >= 5 and any(c.path.suffix == ".xlsx" for c in cases)


@pytest.mark.parametrize("corpus, share", [(CORPUS, 0.9), (HELD_OUT, 0.85)], ids=["corpus", "inedit"])
def test_proposals_guess_the_corpus_headers_and_values(communes, corpus, share):
    """At least `share` of the headers and of the values to translate guessed as an analyst maps them (the
    held-out corpus was written without seeing our vocabulary: a lower bar, measured in bench_proposals)."""
    cases = expectations(corpus)
    scores = [score(case, communes) for case in cases]
    headers = sum(s.headers for s in scores)
    right = sum(s.right for s in scores)
    wrong = [(s.name, *w) for s in scores for w in s.wrong]
    assert right / headers >= share, wrong
    values = sum(s.values for s in scores)
    assert sum(s.values_right for s in scores) / values >= share, [(s.name, *w) for s in scores for w in s.values_wrong]
    # The dataset itself is recognised from foreign headers, for every kind of export.
    assert [(s.name, s.dataset_guessed) for s in scores] == [(c.name, c.jeu) for c in cases]


def test_proposals_leave_no_required_column_missing_on_the_corpus(communes):
    for case in expectations():
        proposal = propose.propose(case.raw(), case.jeu, communes)
        assert proposal.manquantes == [], (case.name, proposal.manquantes)


def test_values_alone_say_siret_commune_and_date(communes):
    raw = read_file("export.csv", (
        "Réf;Col B;Col C;Col D;Col E\n"
        "A1;73282932000074;14118;01/03/2022;12345678901234\n"
        "A2;44306184100047;76540;2023-04-01;98765432109876\n").encode())
    colonnes = propose.propose(raw, "structures", communes).colonnes
    assert colonnes["Col B"] == "siret" and colonnes["Col C"] == "code_commune"
    assert colonnes["Col E"] is None, "14 digits without a valid Luhn key are not a SIRET"
    dated = propose.propose(raw, "accompagnements", communes).colonnes
    assert dated["Col D"] == "date_debut", "a column of dates goes to the dataset's first free date column"
    # Without the commune reference, 5-digit codes prove nothing.
    assert propose.propose(raw, "structures", None).colonnes["Col C"] is None


def test_unknown_value_gets_the_nearest_code_in_proposal_and_report(mini_db):
    etape = DATASETS["accompagnements"].column("etape")
    assert propose.propose_values(etape, ["terminé", "clos", "Diag", "zzz"]) == {
        "terminé": "clos", "Diag": "diagnostic", "zzz": None}
    body = ("id_accompagnement;id_structure;id_programme;date_debut;etape;modalite;besoin_principal\n"
            "A90;S1;P1;01/03/2024;terminé;individuel;ECO\n").encode()
    result = ingest.ingest(mini_db, [ingest.Upload("a.csv", body, "accompagnements")])
    assert result.status == "refuse"
    assert result.problems.iloc[0]["erreur"].endswith("le plus proche : « clos » (Clos).")


# --------------------------------------------------------------------------- profiles: TOML and warehouse


PROFILE_TOML = """
jeu = "structures"
nom = "Export DLA"
ignorer = ["Observations internes", "Commune"]
[colonnes]
"Réf. structure" = "id_structure"
"Raison sociale" = "nom"
"N° SIRET" = "siret"
"N° RNA" = "rna"
"Statut juridique" = "forme_juridique"
"Secteur d'activité" = "domaine"
"Code INSEE" = "Code-Commune"
"Date de création" = "annee_creation"
"Effectif ETP" = "effectif_etp"
"Nombre de bénévoles" = "nb_benevoles"
"Budget annuel" = "budget_annuel"
[valeurs.forme_juridique]
"Association loi 1901" = "association"
"Société coopérative et participative" = "SCOP"
[valeurs.domaine]
"Théâtre" = "Spectacle vivant"
"Musiques actuelles" = "musique"
"Patrimoine bâti" = "patrimoine"
"""


def test_profile_round_trip_toml_warehouse_toml(empty_db, tmp_path):
    source = tmp_path / "export-dla.toml"
    source.write_text(PROFILE_TOML, encoding="utf-8")
    imported = cli("profil", "importer", str(source), db=empty_db)
    assert imported.returncode == 0 and "Profil « Export DLA » enregistré (jeu structures, version 1)" in imported.stdout
    exported = tmp_path / "sortie.toml"
    assert cli("profil", "exporter", "Export DLA", "--out", str(exported), db=empty_db).returncode == 0
    again = Profile.from_file(exported)
    assert again == Profile.from_toml(PROFILE_TOML)
    # Our names are written as ours once read: "Code-Commune" → code_commune, a label → its code.
    data = tomllib.loads(exported.read_text(encoding="utf-8"))
    assert data["colonnes"]["Code INSEE"] == "code_commune" and data["valeurs"]["domaine"]["Théâtre"] == "spectacle_vivant"
    # Exporting what was imported, then importing it again, adds no version; a change adds one.
    assert "version 1" in cli("profil", "importer", str(exported), db=empty_db).stdout
    changed = exported.read_text(encoding="utf-8").replace('"Patrimoine bâti" = "patrimoine"', '"Patrimoine bâti" = "autre"')
    exported.write_text(changed, encoding="utf-8")
    assert "version 2" in cli("profil", "importer", str(exported), db=empty_db).stdout
    shown = cli("profil", "montrer", "Export DLA", "--version", "1", db=empty_db)
    assert '"Patrimoine bâti" = "patrimoine"' in shown.stdout and "# versions : 1 (" in shown.stdout
    assert ", 2 (" in shown.stdout
    listed = cli("profil", "lister", db=empty_db)
    assert "Export DLA  (jeu structures, version 2" in listed.stdout


@pytest.mark.parametrize("text, expected", [
    ('jeu = "structures"\n[colonnes]\n"Raison sociale" = "raison"', "« raison » n'est pas une colonne du jeu structures"),
    ('jeu = "inconnu"', "« jeu » doit nommer un jeu de données"),
    ('jeu = "structures"\n[valeurs.domaine]\n"Théâtre" = "theatre"', "« theatre » : code inconnu ; codes possibles : spectacle_vivant"),
    ('jeu = "structures"\n[valeurs.nom]\n"A" = "b"', "nom n'est pas une liste de codes"),
    ('jeu = "structures"\n[colonnes]\n"A" = "nom"\n"B" = "nom"', "« A » et « B » vont tous deux dans nom"),
    ('jeu = "structures"\ncolonnes = 3', "[colonnes] : table TOML attendue"),
    ('jeu = "structures"\n[colonnes\n', "TOML illisible"),
    ('jeu = "structures"\nautre = 1', "clé(s) inconnue(s) autre"),
])
def test_a_wrong_profile_is_refused_in_french(text, expected):
    with pytest.raises(ProfileError) as raised:
        Profile.from_toml(text, "p.toml")
    assert expected in str(raised.value) and str(raised.value).startswith("p.toml : ")


def test_a_profile_that_is_not_a_profile_is_refused_before_parsing(tmp_path, empty_db):
    huge = tmp_path / "enorme.toml"
    huge.write_bytes(b"# " + b"x" * (profiles.MAX_TOML_BYTES + 1))
    refused = cli("profil", "importer", str(huge), db=empty_db)
    assert refused.returncode == 2 and "profil trop volumineux" in refused.stderr
    binary = tmp_path / "image.toml"
    binary.write_bytes(b"\x89PNG\xff\xfe")
    assert "doit être un fichier texte UTF-8" in cli("profil", "importer", str(binary), db=empty_db).stderr
    unknown = cli("ingest", "structures", str(MINI / "structures.csv"), "--profil", "Absent", db=empty_db)
    assert unknown.returncode == 2 and "Profil « Absent » introuvable" in unknown.stderr


def test_stored_profile_is_found_again_for_the_same_headers(empty_db):
    raw = (CORPUS / "dla_structures.csv").read_bytes()
    headers = read_file("dla_structures.csv", raw).headers
    with warehouse.write_transaction(empty_db) as con:
        profiles.save(con, Profile.from_toml(PROFILE_TOML), role="analyste", headers=headers)
    with warehouse.read_connection(empty_db) as con:
        assert profiles.matching(con, headers) == [("Export DLA", True)]
        assert profiles.matching(con, [h.upper() for h in reversed(headers)]) == [("Export DLA", True)]
        assert profiles.matching(con, ["id_structure", "nom"]) == []
    # The CLI says which profile to use when such a file comes without one.
    plain = cli("ingest", "structures", str(CORPUS / "dla_structures.csv"), db=empty_db)
    assert plain.returncode == 1 and "importez avec --profil \"Export DLA\"" in plain.stderr


def test_proposer_prints_the_issue_json_and_writes_a_usable_profile(mini_db, tmp_path):
    out = tmp_path / "propose.toml"
    run = cli("profil", "proposer", "auto", str(CORPUS / "dla_accompagnements.csv"), "--json", "--out", str(out),
              "--nom", "DLA accompagnements", db=mini_db)
    assert run.returncode == 0, run.stderr
    printed = json.loads(run.stdout)
    assert set(printed) == {"jeu", "colonnes", "valeurs", "manquantes"} and printed["jeu"] == "accompagnements"
    assert printed["colonnes"]["Phase"] == "etape" and printed["colonnes"]["Date de saisie"] is None
    assert printed["valeurs"]["etape"]["Clôturé"] == "clos" and printed["manquantes"] == []
    profile = Profile.from_file(out)
    assert profile.nom == "DLA accompagnements" and "Date de saisie" in profile.ignorer
    imported = cli("ingest", "accompagnements", str(CORPUS / "dla_accompagnements.csv"), "--profil", str(out),
                   db=mini_db)
    assert imported.returncode == 0, imported.stdout
    with warehouse.read_connection(mini_db) as con:
        row = con.execute("SELECT etape, modalite, besoins, orientation FROM accompagnements WHERE id_accompagnement = 'A5'").fetchone()
    assert row == ("diagnostic", "individuel", None, "prescripteur")


# --------------------------------------------------------------------------- a profile in the ingestion path


def _foreign(dataset: str, rename: dict[str, str], values: dict[str, dict[str, str]]) -> bytes:
    """The mini fixture's file of `dataset` as another system exports it: its headers and words, Windows-1252."""
    frame = pd.read_csv(MINI / f"{dataset}.csv", sep=";", dtype=str, keep_default_na=False)
    for column, mapping in values.items():
        frame[column] = frame[column].map(lambda cell: "|".join(mapping.get(i, i) for i in cell.split("|")))
    frame = frame.rename(columns=rename)
    return frame.to_csv(sep=";", index=False, lineterminator="\r\n").encode("cp1252")


STRUCTURES_RENAMED = {"id_structure": "Réf. structure", "nom": "Raison sociale", "siret": "N° SIRET", "rna": "N° RNA",
                      "forme_juridique": "Statut juridique", "domaine": "Secteur d'activité", "code_commune": "Code INSEE",
                      "annee_creation": "Date de création", "effectif_etp": "Effectif ETP",
                      "nb_benevoles": "Nombre de bénévoles", "budget_annuel": "Budget annuel",
                      "employeur": "Structure employeuse", "latitude": "Lat", "longitude": "Lon"}
ACCOMPAGNEMENTS_RENAMED = {"id_accompagnement": "N° dossier", "id_structure": "Réf. structure", "id_programme": "Dispositif",
                           "date_debut": "Date d'entrée", "date_fin": "Date de sortie", "etape": "Phase",
                           "modalite": "Modalité", "heures": "Nombre d'heures", "besoin_principal": "Problématique principale",
                           "besoins": "Autres problématiques", "format": "Type d'appui", "orientation": "Origine de la demande",
                           "heures_benevoles": "Heures de pairs", "intervenant": "Chargé de mission"}
THEIR_WORDS = {"etape": {"clos": "Clôturé", "accompagnement": "En cours", "suivi": "Suivi post-accompagnement"},
               "modalite": {"individuel": "Individuelle", "collectif": "Collective", "pairs": "Entre pairs"},
               "besoins": {"ORG.GOUVERNANCE": "Gouvernance", "EMP.RH": "Ressources humaines"}}


def _dataset_rows(db) -> dict[str, list[tuple]]:
    with warehouse.read_connection(db) as con:
        return {name: sorted(con.execute(f"SELECT {', '.join(DATASETS[name].column_names)} FROM {name}").fetchall(), key=repr)
                for name in LOAD_ORDER}


def test_ingest_with_a_profile_equals_the_same_rows_in_the_interchange_format(tmp_path, communes):
    reference = create_warehouse(tmp_path / "format.duckdb")
    assert ingest.ingest(reference, [ingest.Upload.from_path(MINI / f"{n}.csv", n) for n in LOAD_ORDER]).status == "importe"

    foreign = {"structures": _foreign("structures", STRUCTURES_RENAMED, {}),
               "accompagnements": _foreign("accompagnements", ACCOMPAGNEMENTS_RENAMED, THEIR_WORDS)}
    assert "Clôturé".encode("cp1252") in foreign["accompagnements"]
    uploads = []
    for name in LOAD_ORDER:
        if name in foreign:
            raw = read_file(f"export_{name}.csv", foreign[name])
            proposal = propose.propose(raw, name, communes)  # confirmed as proposed, as an analyst would
            assert proposal.manquantes == []
            uploads.append(ingest.Upload(f"export_{name}.csv", foreign[name], None, proposal.to_profile(f"Export {name}")))
        else:
            uploads.append(ingest.Upload.from_path(MINI / f"{name}.csv", name))
    mapped = create_warehouse(tmp_path / "profil.duckdb")
    result = ingest.ingest(mapped, uploads)
    assert result.status == "importe", result.problems
    assert _dataset_rows(mapped) == _dataset_rows(reference)
    with warehouse.read_connection(mapped) as con:
        used = dict(con.execute("SELECT jeu, profil FROM import_fichiers WHERE profil IS NOT NULL").fetchall())
    assert used == {"structures": "Export structures", "accompagnements": "Export accompagnements"}


def test_errors_after_mapping_name_the_files_header_and_line(mini_db):
    body = ("Réf. structure;Raison sociale;Statut juridique;Secteur d'activité;Code INSEE\r\n"
            "S70;Compagnie A;Association loi 1901;Théâtre;14118\r\n"
            "S71;Compagnie B;Association loi 1901;Danse contemporaine;14118\r\n"
            "S72;Compagnie C;Association loi 1901;Théâtre;99999\r\n").encode("cp1252")
    profile = Profile.from_toml(PROFILE_TOML)
    result = ingest.ingest(mini_db, [ingest.Upload("export.csv", body, None, profile)])
    assert result.status == "refuse"
    errors = result.problems[result.problems["gravite"] == "erreur"]
    found = {(row.ligne, row.colonne, row.valeur) for row in errors.itertuples()}
    assert found == {(3, "Secteur d'activité", "Danse contemporaine"), (4, "Code INSEE", "99999")}
    dance = errors[errors["ligne"] == 3]["erreur"].iloc[0]
    assert "liste domaine" in dance and "le plus proche : « spectacle_vivant »" in dance
    # The rejected-lines file gives the lines back in the file's own headers, ready to fix.
    rejected = pd.read_csv(io.BytesIO(result.rejected_rows_csv()), sep=";", dtype=str, encoding="utf-8-sig")
    assert list(rejected.columns[2:7]) == ["Réf. structure", "Raison sociale", "Statut juridique",
                                           "Secteur d'activité", "Code INSEE"]
    assert rejected["Réf. structure"].tolist() == ["S71", "S72"]


def test_a_constant_fills_a_column_the_file_lacks_and_is_checked_like_a_cell(mini_db):
    body = ("N° session;Date de la session;Intitulé de l'atelier;Nb présents\n"
            "W70;15/03/2024;Trésorerie;8\nW71;12/04/2024;Communication;10\n").encode()
    base = {"jeu": "ateliers", "nom": "Ateliers sans programme",
            "colonnes": {"N° session": "id_atelier", "Date de la session": "date",
                         "Intitulé de l'atelier": "theme", "Nb présents": "nb_participants"}}
    unknown = Profile.from_dict({**base, "constantes": {"id_programme": "P404"}})
    refused = ingest.ingest(mini_db, [ingest.Upload("ateliers.csv", body, None, unknown)])
    assert refused.status == "refuse"
    assert set(refused.problems["colonne"]) == {"id_programme (constante du profil)"}
    assert set(refused.problems["ligne"]) == {2, 3}
    formula = Profile.from_dict({**base, "constantes": {"id_programme": "=HYPERLINK(\"http://x\")"}})
    assert ingest.ingest(mini_db, [ingest.Upload("ateliers.csv", body, None, formula)]).status == "refuse"
    good = Profile.from_dict({**base, "constantes": {"id_programme": "P2"}})
    assert ingest.ingest(mini_db, [ingest.Upload("ateliers.csv", body, None, good)]).status == "importe"
    with warehouse.read_connection(mini_db) as con:
        assert con.execute("SELECT id_atelier, id_programme FROM ateliers WHERE id_atelier LIKE 'W7%' ORDER BY 1").fetchall() == [
            ("W70", "P2"), ("W71", "P2")]


def test_a_profile_for_another_dataset_is_refused(mini_db):
    upload = ingest.Upload("x.csv", b"id_structure;nom\nS1;A\n", "accompagnements", Profile.from_toml(PROFILE_TOML))
    with pytest.raises(ProfileError, match="fait pour le jeu structures, pas pour accompagnements"):
        ingest.ingest(mini_db, [upload])


# --------------------------------------------------------------------------- XLSX as they come


def test_xlsx_reads_the_first_visible_sheet_below_its_title_rows(communes):
    path = CORPUS / "federation_enquete.xlsx"
    book = openpyxl.load_workbook(path)
    assert book.worksheets[0].sheet_state == "hidden", "the corpus file hides its first sheet"
    raw = read_file(path.name, path.read_bytes())
    assert raw.sheet == "Enquête 2025" and raw.header_line == 3 and raw.headers[0] == "Identifiant"
    assert list(raw.frame.index) == [4, 5, 6], "lines numbered as the spreadsheet numbers its rows"
    assert any("« Paramètres »" in note and "masquée" in note for note in raw.notes)
    assert any("l'en-tête est la ligne 3" in note for note in raw.notes)


def test_xlsx_errors_point_at_spreadsheet_rows_and_serial_dates_are_dates(mini_db):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Suivi des accompagnements — export du 01/12/2026"])
    sheet.append(["N° dossier", "Réf. structure", "Dispositif", "Date d'entrée", "Phase", "Modalité", "Problématique principale"])
    sheet.append(["A80", "S1", "P1", dt.datetime(2024, 3, 1), "En cours", "Individuelle", "ECO"])
    sheet.append(["A81", "S1", "P1", 45383, "En cours", "Individuelle", "ECO"])  # a date whose format was lost
    sheet.append(["A82", "S404", "P1", "01/05/2024", "En cours", "Individuelle", "ECO"])
    buffer = io.BytesIO()
    book.save(buffer)
    proposal = propose.propose(read_file("suivi.xlsx", buffer.getvalue()), "accompagnements")
    result = ingest.ingest(mini_db, [ingest.Upload("suivi.xlsx", buffer.getvalue(), None, proposal.to_profile("Suivi"))],
                           valid_only=True)
    assert result.status == "importe", result.problems
    errors = result.problems[result.problems["gravite"] == "erreur"]
    assert [(r.ligne, r.colonne) for r in errors.itertuples()] == [(5, "Réf. structure")]
    serial = result.problems[result.problems["colonne"] == "Date d'entrée"]
    assert serial["ligne"].tolist() == [4] and "lu comme une date Excel : le 01/04/2024" in serial["erreur"].iloc[0]
    with warehouse.read_connection(mini_db) as con:
        dates = dict(con.execute("SELECT id_accompagnement, date_debut FROM accompagnements WHERE id_accompagnement IN ('A80', 'A81')").fetchall())
    assert dates == {"A80": dt.date(2024, 3, 1), "A81": dt.date(2024, 4, 1)}


def test_a_workbook_whose_sheets_are_all_hidden_is_refused_in_french():
    book = openpyxl.Workbook()
    book.active.title = "Données"
    book.active.append(["id_structure", "nom"])
    book.active.append(["S1", "A"])
    buffer = io.BytesIO()
    book.save(buffer)
    # Excel lets a file hide every sheet through a macro; openpyxl will not write one: edit the XML.
    source, target = zipfile.ZipFile(buffer), io.BytesIO()
    with zipfile.ZipFile(target, "w") as out:
        for item in source.infolist():
            content = source.read(item)
            if item.filename == "xl/workbook.xml":
                content = content.replace(b'state="visible" r:id', b'state="hidden" r:id')
            out.writestr(item, content)
    with pytest.raises(UnreadableFile, match="toutes les feuilles du classeur sont masquées"):
        read_file("cache.xlsx", target.getvalue())


# --------------------------------------------------------------------------- what an attacker tried (issue 12 review)


@pytest.mark.parametrize("text, expected", [
    ('jeu = "structures"\nignorer = ["N° SIRET"]\n[colonnes]\n"n° siret" = "siret"', "à la fois associé (à siret) et dans « ignorer »"),
    ('jeu = "structures"\n[colonnes]\n"Raison sociale" = "nom"\n"RAISON  SOCIALE" = "rna"', "« Raison sociale » et « RAISON  SOCIALE » sont les mêmes en-têtes"),
    ('jeu = "structures"\n[valeurs.domaine]\n"Théâtre" = "spectacle_vivant"\n"THEATRE" = "musique"', "« Théâtre » et « THEATRE » sont les mêmes valeurs"),
    ('jeu = ["structures"]', "« jeu » doit nommer un jeu de données"),
    ('jeu = {a = 1}', "« jeu » doit nommer un jeu de données"),
    ('jeu = "structures"\nnom = "a\\nb"', "sans caractère de contrôle"),
    ('jeu = "structures"\nnom = "' + "x" * 121 + '"', "nom trop long (121 caractères"),
    ("jeu = " + "[" * 5000 + "]" * 5000, "TOML trop imbriqué"),
])
def test_ambiguous_or_hostile_profiles_are_refused_in_french(text, expected):
    with pytest.raises(ProfileError) as raised:
        Profile.from_toml(text, "p.toml")
    assert expected in str(raised.value) and str(raised.value).startswith("p.toml : ")


def test_two_spellings_of_a_header_are_refused_not_silently_dropped(empty_db, tmp_path):
    body = "id_structure;nom;forme_juridique;domaine;code_commune;SIRET;Siret \nX1;A;association;musique;14118;73282932000074;\n"
    path = tmp_path / "deux_siret.csv"
    path.write_text(body, encoding="utf-8")
    profile = propose.propose(read_file(path.name, path.read_bytes()), "structures").to_profile("Deux SIRET")
    assert "Siret" not in profile.ignorer and profile.colonnes["SIRET"] == "siret"
    result = ingest.ingest(empty_db, [ingest.Upload(path.name, path.read_bytes(), None, profile)])
    assert result.status == "refuse" and result.problems["erreur"].str.startswith("Colonne en double").any()


def test_a_stored_profile_with_a_bad_name_cannot_be_saved_and_an_old_one_blocks_nothing(empty_db):
    profile = Profile.from_toml(PROFILE_TOML)
    for name in ("ligne1\nligne2", "\u200b", "x" * 200):
        with pytest.raises(ProfileError):
            with warehouse.write_transaction(empty_db) as con:
                profiles.save(con, dataclasses.replace(profile, nom=name), role="analyste")
    with warehouse.write_transaction(empty_db) as con:  # as an older version could have stored it
        con.execute("INSERT INTO profils_import VALUES ('bad\nname', 1, 'structures', 'jeu = [', [], now(), 'analyste')")
        profiles.save(con, profile, role="analyste", headers=list(profile.colonnes))
    with warehouse.read_connection(empty_db) as con:
        assert profiles.matching(con, list(profile.colonnes)) == [("Export DLA", True)]


def test_list_errors_quote_the_files_words_and_constants_take_the_profiles_values(mini_db):
    body = ("N° dossier;Réf. structure;Dispositif;Date d'entrée;Phase;Modalité;Problématique principale;Problématiques\n"
            "A90;S1;P1;01/03/2024;Clôturé;Individuelle;ECO;Gestion|Truc\n").encode()
    profile = Profile.from_dict({
        "jeu": "accompagnements",
        "colonnes": {"N° dossier": "id_accompagnement", "Réf. structure": "id_structure", "Dispositif": "id_programme",
                     "Date d'entrée": "date_debut", "Phase": "etape", "Modalité": "modalite",
                     "Problématique principale": "besoin_principal", "Problématiques": "besoins", "Absente": "format"},
        "valeurs": {"besoins": {"Gestion": "ECO.GESTION"}, "etape": {"Clôturé": "clos"},
                    "modalite": {"Individuelle": "individuel"}, "orientation": {"Spontanée": "direct"}},
        "constantes": {"orientation": "Spontanée"}})
    result = ingest.ingest(mini_db, [ingest.Upload("a.csv", body, None, profile)])
    errors = result.problems[result.problems["gravite"] == "erreur"]
    assert errors[["colonne", "valeur"]].values.tolist() == [["Problématiques", "Gestion|Truc"]]
    assert "« Truc »" in errors["erreur"].iloc[0]
    warnings = result.problems[result.problems["gravite"] == "avertissement"]["erreur"]
    assert warnings.str.contains("associe l'en-tête « Absente » à format, mais ce fichier ne l'a pas").any()
    assert result.batch.files[0].typed["orientation"].tolist() == ["direct"]
