"""The dashboard serves while an analyst runs `python -m pipelines ingest` on the same warehouse."""

import re
import shutil
import subprocess
import sys

import pytest

from tests.browser.conftest import ARTIFACTS, open_page, sign_in, start_streamlit, stop, wait_for_app
from tests.conftest import REPO_DIR

pytestmark = pytest.mark.browser


def structures_shown(page) -> int:
    values = page.locator("[data-testid='stMetricValue']").all_inner_texts()
    return int(re.sub(r"\s", "", values[0]))


def test_cli_ingest_while_dashboard_serves_and_page_shows_new_figures(demo_db, tmp_path, browser):
    db = tmp_path / "partage.duckdb"
    shutil.copyfile(demo_db, db)
    process, url = start_streamlit(db, tmp_path / "streamlit.log")
    context = browser.new_context(viewport={"width": 1400, "height": 1600})
    try:
        page = context.new_page()
        open_page(page, url)
        page.locator("[data-testid='stMetricValue']").first.wait_for()
        before = structures_shown(page)

        structures = tmp_path / "structures.csv"
        structures.write_text("id_structure;nom;forme_juridique;domaine;code_commune\nSX1;Nouvelle compagnie;association;musique;14118\n")
        accompagnements = tmp_path / "accompagnements.csv"
        accompagnements.write_text("id_accompagnement;id_structure;id_programme;date_debut;etape;modalite;besoin_principal\n"
                                   "AX1;SX1;P01;01/03/2026;accueil;individuel;ECO.MODELE\n")
        cli = subprocess.run([sys.executable, "-m", "pipelines", "ingest", "auto", str(structures), str(accompagnements),
                              "--db", str(db)], cwd=REPO_DIR, capture_output=True, text=True, timeout=120)
        assert cli.returncode == 0, cli.stdout + cli.stderr

        page.reload()  # a new session: sign in again
        wait_for_app(page)
        sign_in(page)
        page.locator("[data-testid='stMetricValue']").first.wait_for()
        assert structures_shown(page) == before + 1
        page.screenshot(path=str(ARTIFACTS / "apres_import_cli.png"))
    finally:
        context.close()
        stop(process)
