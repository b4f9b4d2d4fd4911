"""A shared link opened first on a freshly started server is served through app.py."""

import pytest

from tests.browser.conftest import sign_in, start_streamlit, stop, wait_for_app

pytestmark = pytest.mark.browser


def test_direct_link_on_a_fresh_server_keeps_filters_and_banner(demo_db, tmp_path, browser):
    process, url = start_streamlit(demo_db, tmp_path / "streamlit.log")
    context = browser.new_context(viewport={"width": 1400, "height": 1400})
    try:
        page = context.new_page()
        page.goto(f"{url}/territoires?region=76")  # the very first request this server gets
        wait_for_app(page)
        # Not signed in: the sign-in form on that address, nothing of the page; then the page itself.
        page.get_by_role("heading", name="Connexion").wait_for(timeout=30_000)  # after the legacy-mode rerun
        assert page.locator("[data-testid='stPlotlyChart']").count() == 0
        sign_in(page, "comite")
        page.get_by_role("heading", name="Territoires").first.wait_for(timeout=30_000)
        assert page.get_by_text("Filtres", exact=True).count() == 1
        assert page.get_by_text("Données de démonstration synthétiques").count() == 1
        # The région from the URL is applied, not dropped.
        assert page.get_by_text("Périmètre : Occitanie").count() == 1
        assert "region=76" in page.url
    finally:
        context.close()
        stop(process)
