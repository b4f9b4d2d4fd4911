"""Ingestion behaviour an analyst relies on: verdicts, atomicity, idempotence, update, undo."""

from __future__ import annotations

import subprocess
import sys

from pipelines import ingest
from pipelines.store import warehouse
from tests.conftest import MINI, REPO_DIR


def count(db, table: str) -> int:
    with warehouse.read_connection(db) as con:
        return con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]


def upload(name: str, text: str, encoding: str = "utf-8", dataset: str | None = None) -> ingest.Upload:
    return ingest.Upload(name, text.encode(encoding), dataset)


HEADER = "id_structure;nom;forme_juridique;domaine;code_commune\n"


def test_mini_fixture_loads_every_row(mini_db):
    assert [count(mini_db, t) for t in ("structures", "programmes", "accompagnements", "ateliers", "resultats", "temoignages")] == [4, 2, 5, 2, 3, 2]


def test_values_are_parsed_as_the_spec_says(mini_db):
    with warehouse.read_connection(mini_db) as con:
        s2 = con.execute("SELECT forme_juridique, domaine, budget_annuel, employeur FROM structures WHERE id_structure='S2'").fetchall()[0]
        s3 = con.execute("SELECT forme_juridique, latitude FROM structures WHERE id_structure='S3'").fetchall()[0]
        s4 = con.execute("SELECT budget_annuel FROM structures WHERE id_structure='S4'").fetchall()[0][0]
        a1 = con.execute("SELECT besoins, date_debut::VARCHAR FROM accompagnements WHERE id_accompagnement='A1'").fetchall()[0]
        p1 = con.execute("SELECT financeurs FROM programmes WHERE id_programme='P1'").fetchall()[0][0]
    assert s2 == ("association", "musique", 12000.0, False)  # label "Musique" and "Association" → codes
    assert s3 == ("association", 43.6)  # INSEE category 9220 → association; decimal comma
    assert s4 == 250000.5  # "250000,50"
    assert a1 == (["ECO.MODELE", "ORG.GOUVERNANCE"], "2022-03-01")
    assert p1 == ["Etat", "Région"]


def test_one_bad_line_refuses_the_whole_batch_and_writes_nothing(mini_db):
    before = mini_db.read_bytes()
    result = ingest.ingest(mini_db, [upload("s.csv", HEADER + "S10;Bonne;association;musique;14118\nS11;Mauvaise;association;musique;99999\n")])
    assert result.status == "refuse"
    assert mini_db.read_bytes() == before
    (problem,) = result.problems[result.problems["gravite"] == "erreur"].itertuples()
    assert (problem.ligne, problem.colonne, problem.valeur) == (3, "code_commune", "99999")
    assert problem.erreur.startswith("Code commune 99999 inconnu : attendu un code INSEE à 5 caractères")


def test_valid_only_mode_writes_the_valid_lines_and_keeps_the_rejected(mini_db):
    result = ingest.ingest(mini_db, [upload("s.csv", HEADER + "S10;Bonne;association;musique;14118\nS11;Mauvaise;association;musique;99999\n")],
                           valid_only=True)
    assert result.status == "importe"
    assert (result.totals["nouveau"], result.totals["rejetes"]) == (1, 1)
    with warehouse.read_connection(mini_db) as con:
        assert con.execute("SELECT ligne, colonne FROM lignes_rejetees WHERE import_id = ?", [result.import_id]).fetchall() == [(3, "code_commune")]
    assert count(mini_db, "structures") == 5


def test_reuploading_identical_content_changes_nothing_and_says_so(mini_db):
    before = mini_db.read_bytes()
    result = ingest.ingest(mini_db, [ingest.Upload.from_path(MINI / "structures.csv", "structures")])
    assert result.status == "inchange" and "Aucune modification" in result.message
    assert mini_db.read_bytes() == before


def test_update_by_id_then_undo_restores_previous_values(mini_db):
    result = ingest.ingest(mini_db, [upload("s.csv", HEADER + "S2;Ensemble renommé;association;musique;76540\nS12;Nouvelle;association;patrimoine;14118\n")])
    assert (result.totals["modifie"], result.totals["nouveau"]) == (1, 1)
    with warehouse.read_connection(mini_db) as con:
        assert con.execute("SELECT nom, budget_annuel FROM structures WHERE id_structure='S2'").fetchall() == [("Ensemble renommé", None)]
    restored = ingest.undo(mini_db, result.import_id)
    assert restored["structures"] == 2
    with warehouse.read_connection(mini_db) as con:
        assert con.execute("SELECT nom, budget_annuel FROM structures WHERE id_structure='S2'").fetchall() == [("Ensemble Test Deux", 12000.0)]
        assert con.execute("SELECT count(*) FROM structures WHERE id_structure='S12'").fetchall()[0][0] == 0
        assert con.execute("SELECT statut FROM imports WHERE import_id = ?", [result.import_id]).fetchall() == [("annule",)]


def test_batch_is_loaded_in_dependency_order_whatever_the_file_order(empty_db):
    files = [ingest.Upload.from_path(MINI / f"{n}.csv", n) for n in ("temoignages", "resultats", "accompagnements", "ateliers", "programmes", "structures")]
    assert ingest.ingest(empty_db, files).status == "importe"


def test_windows_1252_semicolon_file_is_detected_and_read(mini_db):
    text = HEADER + "S20;Théâtre de l’Œuvre « Été »;association;spectacle vivant;14118\n"
    result = ingest.ingest(mini_db, [upload("export.csv", text, "cp1252")])
    assert result.status == "importe", result.problems
    assert result.files[0]["encodage"] == "Windows-1252" and result.files[0]["separateur"] == ";"
    with warehouse.read_connection(mini_db) as con:
        assert con.execute("SELECT nom FROM structures WHERE id_structure='S20'").fetchall()[0][0] == "Théâtre de l’Œuvre « Été »"


def cli(*args, db):
    return subprocess.run([sys.executable, "-m", "pipelines", *args, "--db", str(db)], cwd=REPO_DIR,
                          capture_output=True, text=True, timeout=120)


def test_cli_exit_codes(mini_db, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "S30;X;association;musique;99999\n")
    report = tmp_path / "rapport.csv"
    refused = cli("ingest", "structures", str(bad), "--rapport", str(report), db=mini_db)
    assert refused.returncode == 1
    assert "ligne 2, colonne code_commune" in refused.stdout
    assert "Code commune 99999 inconnu" in report.read_text(encoding="utf-8-sig")
    binary = tmp_path / "image.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    unreadable = cli("ingest", "structures", str(binary), db=mini_db)
    assert unreadable.returncode == 2 and "binaire" in unreadable.stderr
    assert cli("ingest", "inconnu", str(bad), db=mini_db).returncode == 2
    good = tmp_path / "good.csv"
    good.write_text(HEADER + "S31;Y;association;musique;14118\n")
    assert cli("ingest", "structures", str(good), db=mini_db).returncode == 0
    history = cli("historique", db=mini_db)
    assert history.returncode == 0 and "good.csv" in history.stdout


def test_a_commune_code_that_lost_its_leading_zero_is_restored_with_a_warning(mini_db):
    content = ("id_structure;nom;forme_juridique;domaine;code_commune\n"
               "S90;Compagnie de l'Ain;association;musique;1004\n").encode("utf-8")
    result = ingest.ingest(mini_db, [ingest.Upload("structures.csv", content, "structures")])
    assert result.status == "importe"
    warning = result.problems.iloc[0]
    assert (warning.ligne, warning.colonne, warning.gravite) == (2, "code_commune", "avertissement")
    assert warning.erreur.startswith("Code commune 1004 complété d'un zéro initial")
    with warehouse.read_connection(mini_db) as con:
        assert con.execute("SELECT code_commune FROM structures WHERE id_structure = 'S90'").fetchone()[0] == "01004"


def test_a_preview_is_not_checked_again_at_commit_unless_the_warehouse_changed(mini_db, monkeypatch):
    """The upload page shows a preview, then commits it: the checks run once when nothing was written meanwhile,
    twice when something was (the preview's verdict may no longer hold)."""
    calls = []
    real = ingest.check_batch
    monkeypatch.setattr(ingest, "check_batch", lambda raws, con: calls.append(1) or real(raws, con))
    upload = [ingest.Upload("s.csv", (HEADER + "S40;Une;association;musique;14118\n").encode(), "structures")]
    checked = ingest.preview(mini_db, upload)
    assert ingest.ingest(mini_db, upload, checked=checked).status == "importe" and len(calls) == 1
    other = [ingest.Upload("s.csv", (HEADER + "S41;Deux;association;musique;14118\n").encode(), "structures")]
    checked = ingest.preview(mini_db, other)
    ingest.ingest(mini_db, [ingest.Upload("t.csv", (HEADER + "S42;Trois;association;musique;14118\n").encode(),
                                          "structures")])  # another write in between
    assert ingest.ingest(mini_db, other, checked=checked).status == "importe" and len(calls) == 4


def test_a_file_longer_than_one_scan_batch_is_written_whole_in_its_order(mini_db, monkeypatch):
    # DuckDB scans the rows a batch per thread (load.in_batches): every batch is written, none twice, and the
    # rows keep the file's order (what a reader listing them without a sort would see).
    from pipelines.ingest import load

    monkeypatch.setattr(load, "SCAN_BATCH_ROWS", 2)
    names = {f"S{30 + i}": f"Structure {i}" for i in range(7)}
    body = "".join(f"{sid};{name};association;musique;14118\n" for sid, name in names.items())
    first = ingest.ingest(mini_db, [upload("s.csv", HEADER + body)])
    assert (first.totals["nouveau"], first.totals["modifie"]) == (7, 0)
    with warehouse.read_connection(mini_db) as con:
        written = con.execute("SELECT id_structure, nom FROM structures WHERE import_id = ? ORDER BY rowid",
                              [first.import_id]).fetchall()
        journal = con.execute("SELECT count(*) FROM journal_structures WHERE import_id = ?", [first.import_id]).fetchall()
    assert written == list(names.items()) and journal == [(7,)]
    # The update path reads the same batches: two names changed, five delivered again unchanged.
    changed = body.replace("Structure 1;", "Structure une;").replace("Structure 5;", "Structure cinq;")
    second = ingest.ingest(mini_db, [upload("s.csv", HEADER + changed)])
    assert (second.totals["nouveau"], second.totals["modifie"], second.totals["inchange"]) == (0, 2, 5)
    assert count(mini_db, "structures") == 4 + 7


def test_an_id_sent_in_two_files_of_one_batch_is_refused_in_the_second(mini_db):
    first = upload("structures-a.csv", HEADER + "S50;Une;association;musique;14118\nS51;Deux;association;musique;14118\n")
    second = upload("structures-b.csv", HEADER + "S52;Trois;association;musique;14118\nS50;Une bis;association;musique;14118\n")
    result = ingest.ingest(mini_db, [first, second])
    assert result.status == "refuse"
    errors = result.problems[result.problems["gravite"] == "erreur"]
    assert [(e.fichier, e.ligne, e.colonne) for e in errors.itertuples()] == [("structures-b.csv", 3, "id_structure")]
    assert errors["erreur"].iloc[0].startswith("Identifiant déjà présent dans un autre fichier de ce lot")
