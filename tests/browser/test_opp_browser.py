"""The participatory observation in a real headless Chromium, on a private copy of the demo: the demo link opens
its structure's space (prefilled questionnaire, results, own data) and nothing of another structure; a forged
link says why in French; the analyst accepts the answers in the review queue and the 'Observation participative'
page draws its charts. Screenshots in tests/artifacts/ (look at them)."""

from __future__ import annotations

import shutil

import pytest

from pipelines.demo.loader import DEMO_TOKEN
from pipelines.store import warehouse
from tests.browser.conftest import ARTIFACTS, open_page, start_streamlit, stop, wait_for_app, wait_for_charts

pytestmark = pytest.mark.browser


def test_structure_space_queue_and_dashboard(demo_db, tmp_path, browser):
    db = tmp_path / "opp.duckdb"
    shutil.copyfile(demo_db, db)
    with warehouse.read_connection(db) as con:
        mine = con.execute("SELECT s.id_structure, s.nom FROM opp_jetons j JOIN structures s USING (id_structure) "
                           "WHERE j.selecteur = ?", [DEMO_TOKEN.split(".")[0]]).fetchone()
        others = [r[0] for r in con.execute("SELECT nom FROM structures WHERE id_structure <> ? ORDER BY 1 LIMIT 50",
                                            [mine[0]]).fetchall()]
        last_year = con.execute("SELECT nb_benevoles FROM observations WHERE id_structure = ? AND annee = 2024",
                                [mine[0]]).fetchone()[0]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    process, url = start_streamlit(db, tmp_path / "streamlit.log")
    context = browser.new_context(viewport={"width": 1400, "height": 2000}, locale="fr-FR")
    try:
        page = context.new_page()
        page.goto(f"{url}/contribuer?jeton={DEMO_TOKEN}")
        page.get_by_role("heading", name=f"Espace de la structure « {mine[1]} »").wait_for(timeout=60_000)
        wait_for_app(page)
        page.get_by_text("Vos besoins cette année").wait_for(timeout=30_000)  # widgets load their code lazily
        page.get_by_text("Commentaire (facultatif)").wait_for(timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "opp_espace_questionnaire.png"), full_page=True)
        assert "jeton=" not in page.url, "the token leaves the address bar"
        volunteers = page.get_by_label("Bénévoles", exact=True)
        assert volunteers.input_value() == str(last_year), "prefilled from the structure's previous answers"
        body = page.inner_text("body")
        assert not [name for name in others if name in body]
        assert page.get_by_role("link", name="Vue d'ensemble").count() == 0, "no other page in its menu"

        volunteers.fill(str(last_year + 3))
        page.get_by_role("button", name="Envoyer mes réponses à l'observatoire").click()
        page.get_by_text("sont transmises à l'observatoire").wait_for(timeout=30_000)
        page.get_by_role("tab", name="Mes résultats").click()
        page.get_by_text("Vos chiffres au fil des années").wait_for(timeout=30_000)
        wait_for_app(page)
        page.screenshot(path=str(ARTIFACTS / "opp_espace_resultats.png"), full_page=True)
        assert "secret" in page.inner_text("body") or "structures)" in page.inner_text("body")

        forged = context.new_page()
        forged.goto(f"{url}/contribuer?jeton=0123456789abcdef.faux")
        forged.get_by_text("Ce lien n'est pas valide").wait_for(timeout=60_000)
        forged.screenshot(path=str(ARTIFACTS / "opp_lien_invalide.png"))
        assert mine[1] not in forged.inner_text("body")

        analyst = browser.new_context(viewport={"width": 1400, "height": 2000}, locale="fr-FR").new_page()
        open_page(analyst, f"{url}/soumissions")
        analyst.get_by_role("heading", name="Soumissions des structures").wait_for(timeout=30_000)
        analyst.get_by_role("button", name="Accepter").first.click()
        analyst.get_by_text("Import n°").first.wait_for(timeout=60_000)
        analyst.screenshot(path=str(ARTIFACTS / "opp_soumissions.png"), full_page=True)
        with warehouse.read_connection(db) as con:
            assert con.execute("SELECT nb_benevoles FROM observations WHERE id_structure = ? AND annee = 2025",
                               [mine[0]]).fetchone()[0] == last_year + 3
        analyst.get_by_role("link", name="Observation participative").click()
        analyst.get_by_role("heading", name="Observation participative").wait_for(timeout=60_000)
        wait_for_app(analyst)
        wait_for_charts(analyst, minimum=3)
        analyst.screenshot(path=str(ARTIFACTS / "opp_tableau_de_bord.png"), full_page=True)
        assert analyst.get_by_text("Campagne 2025 : taux de réponse").count() == 1
    finally:
        context.close()
        stop(process)
