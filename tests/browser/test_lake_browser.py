"""The dashboard served from a DuckLake (PostgreSQL catalog) in a real headless Chromium, while an analyst's
CLI import writes to the same lake."""

import subprocess
import sys

import pytest

from tests.browser.conftest import ARTIFACTS, REPO, open_page, start_streamlit, stop, wait_for_charts, wait_for_painted_map

pytestmark = pytest.mark.browser


@pytest.fixture
def lake_server(demo_lake, tmp_path):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    process, url = start_streamlit(demo_lake, tmp_path / "streamlit.log")
    yield url
    stop(process)


def test_the_dashboard_reads_a_lake_and_sees_an_import_made_meanwhile(lake_server, page, demo_lake, new_lake, tmp_path):
    open_page(page, f"{lake_server}/territoires?region=76")
    page.get_by_text("Portrait de territoire").first.wait_for(timeout=60_000)
    wait_for_charts(page, 3)
    assert wait_for_painted_map(page), "the map is painted"
    page.screenshot(path=str(ARTIFACTS / "lac_territoires_76.png"), full_page=True)
    assert page.locator("[data-testid='stException']").count() == 0

    open_page(page, f"{lake_server}/structures?recherche=Bench")
    page.get_by_text("Aucune structure accompagnée ne correspond").first.wait_for(timeout=30_000)
    assert page.get_by_text("Compagnie Bench du lac").count() == 0
    # The dashboard holds its reader connection; an analyst imports from the CLI at the same time.
    (tmp_path / "structures.csv").write_text(
        "id_structure;nom;forme_juridique;domaine;code_commune\nSLAC1;Compagnie Bench du lac;association;musique;76540\n",
        encoding="utf-8")
    (tmp_path / "accompagnements.csv").write_text(
        "id_accompagnement;id_structure;id_programme;date_debut;etape;modalite;heures;besoin_principal\n"
        "ALAC1;SLAC1;P08;01/03/2024;accompagnement;individuel;12;ECO.MODELE\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "pipelines", "ingest", "auto", str(tmp_path / "structures.csv"),
                           str(tmp_path / "accompagnements.csv"), "--db", demo_lake.url],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    try:
        open_page(page, f"{lake_server}/structures?recherche=Bench")  # a new visit, as a colleague would
        # The profile's heading: the table's cells are drawn on a canvas (their text sits in hidden cells).
        page.get_by_role("heading", name="Compagnie Bench du lac").wait_for(timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "lac_structures_apres_import.png"), full_page=True)
    finally:  # the session's demo lake is shared: leave it as it was
        import_id = done.stdout.split("n° ")[1].split()[0]
        subprocess.run([sys.executable, "-m", "pipelines", "annuler", import_id, "--db", demo_lake.url], cwd=REPO,
                       check=True, capture_output=True, timeout=120)
