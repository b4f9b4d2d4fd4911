"""Each role signs in on the demo in headless Chromium; screenshots of what each one sees (tests/artifacts/)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS, open_page, wait_for_app

pytestmark = pytest.mark.browser

SIDEBAR = "[data-testid='stSidebarNav']"


def test_sign_in_page_is_all_a_visitor_gets(server, page):
    page.goto(f"{server}/structures")
    wait_for_app(page)
    expect(page.get_by_role("heading", name="Connexion")).to_be_visible()
    expect(page.get_by_role("button", name="Entrer comme financeur")).to_be_visible()
    assert page.locator("[data-testid='stPlotlyChart']").count() == 0
    assert page.locator(SIDEBAR).count() == 0, "no menu before signing in"
    page.screenshot(path=str(ARTIFACTS / "connexion.png"))


@pytest.mark.parametrize("role, uploads", [("analyste", True), ("comite", False), ("financeur", False)])
def test_each_role_signs_in_and_sees_its_dashboard(server, page, role, uploads):
    open_page(page, f"{server}/", role=role)
    expect(page.get_by_role("heading", name="Vue d'ensemble")).to_be_visible()
    menu = page.locator(SIDEBAR)
    expect(menu.get_by_text("Structures accompagnées")).to_be_visible()
    assert (menu.get_by_text("Importer des données").count() == 1) is uploads
    page.locator("[data-testid='stPlotlyChart']").nth(2).wait_for(timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / f"role-{role}-vue-ensemble.png"))


def test_funder_sees_secret_on_a_small_territory(server, page):
    open_page(page, f"{server}/?departement=48", role="financeur")
    expect(page.get_by_text("secret", exact=True).first).to_be_visible()
    expect(page.get_by_text("Secret statistique").first).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "role-financeur-lozere.png"))
    open_page(page, f"{server}/structures?region=76", role="financeur")
    expect(page.get_by_text("liste nominative")).to_be_visible()
    page.locator("[data-testid='stPlotlyChart']").nth(3).wait_for(timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "role-financeur-structures.png"))
