"""The upload page in a real headless Chromium: a Windows-1252, ';'-separated export with one invalid line
goes through the real file input, the French report names the right line, the valid lines are imported,
and the history and templates tabs are drawn. Screenshots in tests/artifacts/ (look at them)."""

from __future__ import annotations

import re
import shutil

import pytest

from pipelines.spec.datasets import LOAD_ORDER
from pipelines.store import warehouse
from tests.browser.conftest import ARTIFACTS, open_page, start_streamlit, stop, wait_for_app

pytestmark = pytest.mark.browser

# As French Excel saves "CSV (séparateur : point-virgule)": Windows-1252, ';', CRLF. Line 4 (the header is
# line 1) has a domaine that is not in the list; the other two are valid and full of cp1252-only characters.
HEADER = "id_structure;nom;forme_juridique;domaine;code_commune;annee_creation"
LINES = [
    "S50;Compagnie de l’Œuvre éphémère;association;spectacle_vivant;14118;2004",
    "S51;Chœur d’été « Cantabile »;association;musique;76540;2011",
    "S52;Théâtre du Cœur;association;théâtre de rue;14118;2002",
]
INVALID_LINE = 4
CP1252 = ("\r\n".join([HEADER, *LINES]) + "\r\n").encode("cp1252")


def grid_rows(page) -> list[list[str]]:
    """Cells of the rendered rows of every data grid (drawn on a canvas, mirrored in an accessible table)."""
    rows = page.locator("[data-testid='stDataFrame'] table tr")
    return [rows.nth(i).locator("td, th").all_inner_texts() for i in range(rows.count())]


def grid_cell(page, text: str):
    """The first grid cell holding `text`, in the accessible table the grid mirrors its drawn rows into
    (hidden from view, so it is waited for as attached): waiting on it waits for the grid to draw that row."""
    return page.locator("[data-testid='stDataFrame'] table td", has_text=text).first


def selected_options(page) -> list[str]:
    """What each select shows as chosen (Streamlit keeps it in the select's input, not in its text)."""
    return page.evaluate("() => [...document.querySelectorAll(\"[data-testid='stSelectbox'] input\")].map(i => i.value)")


def test_upload_cp1252_file_shows_french_report_then_imports_valid_lines(mini_db, tmp_path, browser):
    assert CP1252.decode("cp1252") and b"\x92" in CP1252 and b"\x9c" in CP1252  # real ’ and œ bytes
    db = tmp_path / "import.duckdb"
    shutil.copyfile(mini_db, db)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    process, url = start_streamlit(db, tmp_path / "streamlit.log")
    # Streamlit scrolls inside its own container: a tall viewport shows the whole page.
    context = browser.new_context(viewport={"width": 1400, "height": 2400}, locale="fr-FR")
    try:
        page = context.new_page()
        open_page(page, f"{url}/importer")
        page.get_by_role("heading", name="Importer des données").first.wait_for(timeout=30_000)

        page.locator("input[type=file]").first.set_input_files(
            files=[{"name": "export_structures.csv", "mimeType": "text/csv", "buffer": CP1252}])
        page.get_by_text("Rapport de vérification").first.wait_for(timeout=60_000)
        wait_for_app(page)
        page.get_by_text("Aperçu de export_structures.csv").click()  # the parsed lines, as read
        grid_cell(page, "S51").wait_for(state="attached", timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "importer_rapport.png"))
        preview = [r for r in grid_rows(page) if "S50" in r or "S51" in r]
        assert len(preview) == 2 and "Compagnie de l’Œuvre éphémère" in preview[0], preview
        assert "Chœur d’été « Cantabile »" in preview[1], preview

        # The file was read as Windows-1252 with ';': the detection line says so, accents intact.
        assert page.get_by_text("Windows-1252", exact=False).count() >= 1
        assert page.get_by_text("1 erreur, 0 avertissement", exact=False).count() == 1
        assert page.get_by_text("3 lignes lues, 2 valides, 1 rejetée", exact=False).count() >= 1
        rows = grid_rows(page)
        problem = [r for r in rows if "théâtre de rue" in r]  # the Valeur cell, decoded from cp1252
        assert len(problem) == 1, rows
        assert problem[0][:2] == [str(INVALID_LINE), "domaine"], problem[0]
        assert "ne fait pas partie de la liste domaine" in " ".join(problem[0]) and "Erreur" in problem[0]
        assert page.get_by_role("button", name="Importer", exact=True).is_disabled()

        page.get_by_text("Importer uniquement les lignes valides").click()
        button = page.get_by_role("button", name="Importer", exact=True)
        page.wait_for_function("() => [...document.querySelectorAll('button')].some("
                               "b => b.innerText.trim().endsWith('Importer') && !b.disabled)", timeout=30_000)
        button.click()
        page.get_by_text(re.compile(r"Import n° \d+ enregistré")).wait_for(timeout=60_000)
        wait_for_app(page)
        assert page.get_by_text("Rapport de vérification").count() == 0, "the report goes once the lines are in"

        with warehouse.read_connection(db) as con:
            names = dict(con.execute("SELECT id_structure, nom FROM structures WHERE id_structure LIKE 'S5%'").fetchall())
            import_id = con.execute("SELECT max(import_id) FROM imports").fetchone()[0]
        assert names == {"S50": "Compagnie de l’Œuvre éphémère", "S51": "Chœur d’été « Cantabile »"}
        assert page.get_by_text(f"Import n° {import_id} enregistré", exact=False).count() == 1
        assert page.locator("[data-testid='stFileUploaderFile']").count() == 0, "the uploader is emptied"
        page.screenshot(path=str(ARTIFACTS / "importer_apres_import.png"))

        page.get_by_role("tab", name="Historique des imports").click()
        page.get_by_role("heading", name="Annuler un import").wait_for(timeout=30_000)
        grid_cell(page, "export_structures.csv").wait_for(state="attached", timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "importer_historique.png"))
        history = " ".join(" ".join(r) for r in grid_rows(page))
        assert "export_structures.csv" in history and "valides seulement" in history

        page.get_by_role("tab", name="Modèles et dictionnaire").click()
        page.get_by_role("heading", name="Dictionnaire des données").wait_for(timeout=30_000)
        page.locator("[data-testid='stTable'] td", has_text="id_structure").first.wait_for(timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "importer_modeles.png"))
        assert page.get_by_role("button", name="Modèle CSV").count() == len(LOAD_ORDER)
        assert page.get_by_role("button", name="Modèle XLSX").count() == len(LOAD_ORDER)
    finally:
        context.close()
        stop(process)


def test_export_of_another_software_is_mapped_saved_and_imported(mini_db, tmp_path, browser):
    """The corpus' DLA export (Windows-1252, its own headers and words, CRLF) through the real file input: the
    mapping step proposes a column for each header, the report is clean, the mapping is saved as a profile and
    the lines imported; the profile is offered when the same file comes again."""
    from tests.exports_corpus import CORPUS

    export = (CORPUS / "dla_structures.csv").read_bytes().replace(b"\r\nS", b"\r\nN")
    assert "Société coopérative".encode("cp1252") in export and b"\xe9" in export  # really Windows-1252
    db = tmp_path / "profil.duckdb"
    shutil.copyfile(mini_db, db)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    process, url = start_streamlit(db, tmp_path / "streamlit.log")
    context = browser.new_context(viewport={"width": 1400, "height": 3200}, locale="fr-FR")
    try:
        page = context.new_page()
        open_page(page, f"{url}/importer")
        page.get_by_role("heading", name="Importer des données").first.wait_for(timeout=30_000)
        page.locator("input[type=file]").first.set_input_files(
            files=[{"name": "export_dla.csv", "mimeType": "text/csv", "buffer": export}])
        page.get_by_text("Correspondance des colonnes de").first.wait_for(timeout=60_000)
        page.get_by_text("Rapport de vérification").first.wait_for(timeout=60_000)
        wait_for_app(page)
        page.screenshot(path=str(ARTIFACTS / "importer_correspondance.png"), full_page=True)
        # Headers and values in the file's own words, decoded from Windows-1252, each with its proposal.
        assert page.get_by_text("Valeurs de « Secteur d'activité » à traduire en codes de domaine").count() == 1
        assert page.get_by_text("« Société coopérative et participative »").count() >= 1
        chosen = selected_options(page)
        assert "code_commune * — Code commune INSEE du siège" in chosen and "scop — SCOP" in chosen, chosen
        assert page.get_by_text("Prêt à importer : 3 lignes lues, 3 valides", exact=False).count() >= 1

        page.get_by_label("Nom du profil", exact=True).and_(page.locator("input")).fill("Export DLA Calvados")
        # Typed, then the button clicked at once (the name is not yet sent when the click is).
        page.get_by_role("button", name="Enregistrer comme profil").click()
        page.get_by_text("Profil « Export DLA Calvados » enregistré").wait_for(timeout=30_000)
        wait_for_app(page)
        page.get_by_role("button", name="Importer", exact=True).click()
        page.get_by_text(re.compile(r"Import n° \d+ enregistré")).wait_for(timeout=60_000)
        with warehouse.read_connection(db) as con:
            rows = dict(con.execute("SELECT id_structure, domaine FROM structures WHERE id_structure LIKE 'N%'").fetchall())
            profile = con.execute("SELECT nom, jeu FROM profils_import").fetchall()
        assert rows == {"N1": "spectacle_vivant", "N2": "musique", "N4": "patrimoine"}
        assert profile == [("Export DLA Calvados", "structures")]

        # The same headers again: the saved profile is offered and applied.
        page.locator("input[type=file]").first.set_input_files(
            files=[{"name": "export_dla_decembre.csv", "mimeType": "text/csv", "buffer": export}])
        page.get_by_text("Profil enregistré pour ces en-têtes").wait_for(timeout=60_000)
        page.get_by_text("Rapport de vérification").first.wait_for(timeout=60_000)
        wait_for_app(page)
        page.screenshot(path=str(ARTIFACTS / "importer_profil_retrouve.png"), full_page=True)
        assert page.get_by_text("profil « Export DLA Calvados »", exact=False).count() >= 1
        assert page.get_by_text("3 inchangées", exact=False).count() >= 1
    finally:
        context.close()
        stop(process)
