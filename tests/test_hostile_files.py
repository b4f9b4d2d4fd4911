"""Files a malicious or unlucky user sends (issue 14, first part): each is refused cheaply with a French
message, or read as the analyst meant, and never leaves a traceback or a half-written warehouse."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile

import openpyxl
import pandas as pd
import pytest

from pipelines import ingest
from pipelines.ingest import read
from pipelines.ingest.read import UnreadableFile, read_file
from pipelines.store import warehouse
from tests.conftest import REPO_DIR

PROGRAMMES = "id_programme;nom;operateur;type;code_region;date_debut"


def cli(*args, db):
    return subprocess.run([sys.executable, "-m", "pipelines", *args, "--db", str(db)], cwd=REPO_DIR,
                          capture_output=True, text=True, timeout=120)


def snapshot(db) -> list:
    with warehouse.read_connection(db) as con:
        return sorted(con.execute("SELECT * FROM structures").fetchall(), key=repr) + sorted(
            con.execute("SELECT * FROM programmes").fetchall(), key=repr)


# --------------------------------------------------------------------------- files that expand


def _xlsx(rows, dimension: str | None = None) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    if dimension is None:
        return buffer.getvalue()
    source, out = zipfile.ZipFile(buffer), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            content = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                content = content.replace(b'<dimension ref="A1:B2" />', f'<dimension ref="{dimension}" />'.encode())
                content = content.replace(b"</sheetData>", b'<row r="1048576"><c r="XFD1048576" t="inlineStr">'
                                          b"<is><t>x</t></is></c></row></sheetData>")
            target.writestr(item, content)
    return out.getvalue()


def test_a_tiny_xlsx_declaring_the_whole_sheet_is_refused_before_reading(empty_db):
    data = _xlsx([["id_structure", "nom"], ["S1", "A"]], dimension="A1:XFD1048576")
    assert len(data) < 10_000
    with pytest.raises(UnreadableFile, match="trop grande"):
        read_file("bombe.xlsx", data)


def test_a_zip_that_inflates_to_gigabytes_is_refused(monkeypatch):
    monkeypatch.setenv("OBSERVATOIRE_TAILLE_MAX_MO", "2")  # the same rule as at 500 MB, on a file a test can make
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", " " * (read.max_inflated_bytes() + 1))
    assert len(buffer.getvalue()) < 100_000, "a few kilobytes that would inflate beyond the limit"
    with pytest.raises(UnreadableFile, match="décompressé"):
        read_file("bombe.xlsx", buffer.getvalue())


def test_a_csv_of_a_hundred_thousand_columns_is_refused():
    data = (";".join(f"c{i}" for i in range(100_000)) + "\n" + ";" * 99_999 + "\n").encode()
    with pytest.raises(UnreadableFile, match="100 000 colonnes"):
        read_file("large.csv", data)


def test_a_single_line_of_many_megabytes_is_refused():
    data = ("id_structure;nom\nS1;" + "x" * (read.MAX_LINE_BYTES + 10) + "\n").encode()
    with pytest.raises(UnreadableFile, match="ligne 2 .*trop longue"):
        read_file("ligne.csv", data)


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_the_too_long_line_is_named_whatever_the_line_breaks(newline):
    # Lines just under the limit pass; the first one just past it is named, whatever follows it.
    limit = read.MAX_LINE_BYTES
    lines = ["id_structure;nom", "S1;" + "a" * (limit - 13), "S2;" + "b" * (limit - 13), "S3;court",
             "S4;" + "c" * (limit + 7), "S5;" + "d" * (2 * limit)]
    data = newline.join(lines + [""]).encode()
    with pytest.raises(UnreadableFile, match="ligne 5 .*trop longue"):
        read_file("lignes.csv", data)
    assert read._longest_line(newline.join(lines[:4] + [""]).encode()) is None


# --------------------------------------------------------------------------- odd but honest files


def test_dates_of_year_one_and_9999_are_refused_in_french(empty_db):
    body = f"{PROGRAMMES}\nP1;A;B;dla;28;01/01/0001\nP2;A;B;dla;28;9999-12-31\nP3;A;B;dla;28;01/01/2020\n"
    result = ingest.ingest(empty_db, [ingest.Upload("p.csv", body.encode(), "programmes")], valid_only=True)
    assert result.status == "importe"
    errors = result.problems[result.problems["gravite"] == "erreur"]
    assert errors["ligne"].tolist() == [2, 3] and errors["erreur"].str.contains("hors des années possibles").all()


def test_a_number_of_308_nines_is_refused_and_kpis_stay_json(empty_db):
    body = f"{PROGRAMMES};heures_prevues\nP1;A;B;dla;28;01/01/2020;{'9' * 308}\n"
    result = ingest.ingest(empty_db, [ingest.Upload("p.csv", body.encode(), "programmes")])
    assert result.status == "refuse" and "trop grand" in result.problems["erreur"].iloc[0]
    out = cli("kpis", db=empty_db)
    assert out.returncode == 0 and "Infinity" not in out.stdout and json.loads(out.stdout)


def test_blank_lines_before_the_header_are_skipped_and_lines_keep_their_numbers(empty_db):
    body = f"\n\n \n{PROGRAMMES}\nP1;A;B;dla;28;01/01/2020\nP2;A;B;dla;99;01/01/2020\n"
    result = ingest.ingest(empty_db, [ingest.Upload("p.csv", body.encode(), "programmes")], valid_only=True)
    assert result.status == "importe"
    errors = result.problems[result.problems["gravite"] == "erreur"]
    assert errors[["ligne", "colonne"]].values.tolist() == [[6, "code_region"]]
    assert result.problems["erreur"].str.contains("3 ligne\\(s\\) vide\\(s\\) avant l'en-tête").any()


def test_a_file_mixing_utf8_and_windows_1252_lines_is_read_line_by_line(empty_db):
    data = (f"{PROGRAMMES}\n".encode() + "P1;Théâtre;Opérateur;dla;28;01/01/2020\n".encode("utf-8")
            + "P2;Théâtre;Opérateur;dla;28;01/01/2020\n".encode("cp1252"))
    result = ingest.ingest(empty_db, [ingest.Upload("mixte.csv", data, "programmes")])
    assert result.status == "importe", result.problems
    with warehouse.read_connection(empty_db) as con:
        assert {r[0] for r in con.execute("SELECT nom FROM programmes").fetchall()} == {"Théâtre"}
    assert result.problems["erreur"].str.contains("deux encodages").any()


def test_look_alike_ids_are_one_and_case_twins_are_warned_about(empty_db):
    nfd = "Cafe\u0301"  # « Café » written as e + combining accent
    body = (f"id_structure;nom;forme_juridique;domaine;code_commune\n"
            f"Café;A;association;musique;14118\n"
            f"C1;B;association;musique;14118\n"
            f"c1;C;association;musique;14118\n"
            f"D1\u200b;D;association;musique;14118\n").encode()
    result = ingest.ingest(empty_db, [ingest.Upload("s.csv", body, "structures")])
    assert result.status == "importe", result.problems
    later = f"id_structure;nom;forme_juridique;domaine;code_commune\n{nfd};A bis;association;musique;14118\nD1;D bis;association;musique;14118\n"
    again = ingest.ingest(empty_db, [ingest.Upload("s2.csv", later.encode(), "structures")])
    assert again.totals["modifie"] == 2 and again.totals["nouveau"] == 0, "the NFD and zero-width spellings are the same ids"
    warnings = result.problems[result.problems["gravite"] == "avertissement"]
    assert warnings["erreur"].str.contains("ne diffèrent que par la casse").any()


def test_formulas_are_neutralised_in_the_rejected_lines_and_the_report(empty_db, tmp_path):
    body = f"{PROGRAMMES}\n=HYPERLINK(\"http://x\");A;B;dla;28;01/01/2020\nP2;@SUM(A1);B;dla;99;01/01/2020\nP3;\t=1+1;B;dla;28;bad\n"
    result = ingest.ingest(empty_db, [ingest.Upload("p.csv", body.encode(), "programmes")])
    rejected = pd.read_csv(io.BytesIO(result.rejected_rows_csv()), sep=";", dtype=str, encoding="utf-8-sig",
                           keep_default_na=False)
    cells = rejected.to_numpy().ravel().tolist()
    assert cells and not [c for c in cells if c.startswith(("=", "@", "\t", "+", "-"))], cells
    report = tmp_path / "rapport.csv"
    cli("ingest", "programmes", str(_write(tmp_path / "p.csv", body)), "--rapport", str(report), db=empty_db)
    text = pd.read_csv(report, sep=";", dtype=str, encoding="utf-8-sig", keep_default_na=False).to_numpy().ravel()
    assert not [c for c in text if c.startswith(("=", "@", "\t"))]


def _write(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- undo and the demo


def test_undo_keeps_history_exact_across_undone_imports(empty_db):
    def structures(name: str) -> ingest.Upload:
        return ingest.Upload("s.csv", f"id_structure;nom;forme_juridique;domaine;code_commune\nS1;{name};association;musique;14118\n"
                             .encode(), "structures")

    first = ingest.ingest(empty_db, [structures("Origine")]).import_id
    a = ingest.ingest(empty_db, [structures("Par A")]).import_id
    ingest.undo(empty_db, a)
    b = ingest.ingest(empty_db, [structures("Par B")]).import_id
    ingest.undo(empty_db, b)
    with warehouse.read_connection(empty_db) as con:
        assert con.execute("SELECT nom, import_id FROM structures").fetchall() == [("Origine", first)]


def test_undoing_an_import_keeps_a_row_a_later_import_delivered_again(empty_db):
    row = "id_structure;nom;forme_juridique;domaine;code_commune\nS1;Même;association;musique;14118\n"
    other = "id_structure;nom;forme_juridique;domaine;code_commune\nS1;Même;association;musique;14118\nS2;Autre;association;musique;14118\n"
    a = ingest.ingest(empty_db, [ingest.Upload("a.csv", row.encode(), "structures")]).import_id
    ingest.ingest(empty_db, [ingest.Upload("b.csv", other.encode(), "structures")])
    with pytest.raises(ingest.load.UndoRefused):
        ingest.undo(empty_db, a)  # B delivered S1 again: undoing A alone would delete it
    with warehouse.read_connection(empty_db) as con:
        assert con.execute("SELECT count(*) FROM structures").fetchone()[0] == 2


def test_init_demo_refuses_a_warehouse_holding_other_data(mini_db):
    before = snapshot(mini_db)
    run = cli("init", "--demo", db=mini_db)
    assert run.returncode == 1 and "contient déjà des données" in run.stderr
    assert snapshot(mini_db) == before


def test_an_accounts_file_writable_by_others_is_not_loaded(tmp_path):
    from pipelines.privacy import accounts

    path = tmp_path / "comptes.toml"
    accounts.add_account("marie", "analyste", "mot de passe", path)
    assert accounts.verify("marie", "mot de passe", path=path) == "analyste"
    path.chmod(0o666)
    with pytest.raises(accounts.AccountsError, match="modifiable par d'autres utilisateurs"):
        accounts.verify("marie", "mot de passe", path=path)


def test_a_full_disk_says_so_in_french_and_leaves_no_partial_copy(mini_db, monkeypatch):
    import errno
    import shutil

    before = snapshot(mini_db)

    def full(source, target):
        with open(target, "wb") as handle:  # half a copy, then the disk is full
            handle.write(b"x" * 1024)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(shutil, "copyfile", full)
    body = "id_structure;nom;forme_juridique;domaine;code_commune\nS80;A;association;musique;14118\n"
    with pytest.raises(warehouse.WarehouseError, match="Disque plein"):
        ingest.ingest(mini_db, [ingest.Upload("s.csv", body.encode(), "structures")])
    monkeypatch.undo()
    assert not list(mini_db.parent.glob(f".{mini_db.name}.tmp-*")), "no partial copy left on the full disk"
    assert snapshot(mini_db) == before


def test_a_csv_with_old_mac_line_endings_is_read(empty_db):
    body = "\r".join([PROGRAMMES, *[f"P{i};A;B;dla;28;01/01/2020" for i in range(300)]]) + "\r"
    result = ingest.ingest(empty_db, [ingest.Upload("mac.csv", body.encode(), "programmes")])
    assert result.status == "importe" and result.totals["lus"] == 300
