"""Mode réunion in headless Chromium at projector size: screenshots, keyboard navigation, shared URL."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS, open_page, wait_for_app, wait_for_charts

pytestmark = pytest.mark.browser


@pytest.fixture
def projector(browser):
    context = browser.new_context(viewport={"width": 1600, "height": 900}, locale="fr-FR")
    page = context.new_page()
    yield page
    context.close()


def screen_number(page) -> int:
    return int(re.search(r"ecran=(\d+)", page.url).group(1))


def test_meeting_mode_walks_with_the_keyboard_and_reopens_from_its_url(server, projector):
    page = projector
    # Streamlit only learns app.py's st.navigation once app.py has run: on a fresh server, a first deep
    # link is served by the pages/ folder instead (reported; not this test's subject). Warm it up.
    open_page(page, server)
    open_page(page, f"{server}/reunion?region=28&ecran=1")
    expect(page.get_by_text("Périmètre : Normandie")).to_be_visible(timeout=30_000)
    expect(page.locator(".reunion-chiffre")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "reunion-ecran-1.png"))

    page.locator("h1").first.click()  # focus the page, not a widget
    for expected in (2, 3, 4, 5):
        page.keyboard.press("ArrowRight")
        page.wait_for_url(re.compile(rf"ecran={expected}\b"), timeout=30_000)
        wait_for_app(page)
    expect(page.get_by_text("Besoins principaux des structures")).to_be_visible(timeout=30_000)
    expect(page.locator("[data-testid='stPlotlyChart']")).to_have_count(1)
    page.screenshot(path=str(ARTIFACTS / "reunion-ecran-5.png"))

    page.keyboard.press("ArrowLeft")
    page.wait_for_url(re.compile(r"ecran=4\b"), timeout=30_000)
    wait_for_app(page)
    page.get_by_role("button", name="Suivant").click()
    page.wait_for_url(re.compile(r"ecran=5\b"), timeout=30_000)
    wait_for_app(page)
    shared = page.url
    assert "region=28" in shared

    other = page.context.new_page()
    open_page(other, shared)
    assert screen_number(other) == 5
    expect(other.get_by_text("Besoins principaux des structures")).to_be_visible(timeout=30_000)
    expect(other.get_by_text("Périmètre : Normandie")).to_be_visible(timeout=30_000)
    open_page(other, shared.replace("ecran=5", "ecran=7"))
    expect(other.get_by_text("Structures accompagnées par département")).to_be_visible(timeout=30_000)
    other.screenshot(path=str(ARTIFACTS / "reunion-ecran-7.png"))


@pytest.mark.parametrize("width, height", [(1280, 720), (1920, 1080)])
def test_every_meeting_screen_fits_a_projector_without_the_sidebar(server, browser, width, height):
    """At projector sizes the screen is alone (no sidebar) and everything of it, down to the navigation
    buttons and a testimony's author, is above the bottom edge; each screen is saved for a look."""
    context = browser.new_context(viewport={"width": width, "height": height}, locale="fr-FR")
    page = context.new_page()
    try:
        open_page(page, server)
        open_page(page, f"{server}/reunion?region=76&ecran=1", role="comite")
        total = int(re.search(r"sur (\d+)", page.get_by_text(re.compile(r"^Écran 1 sur")).inner_text()).group(1))
        assert total >= 12, "figures, map, results, the plan's four stakes and its relevé, testimonies"
        seen = set()
        for number in range(1, total + 1):
            page.wait_for_url(re.compile(rf"ecran={number}\b"), timeout=30_000)
            wait_for_app(page)
            if page.locator(".js-plotly-plot").count():
                wait_for_charts(page)
            assert not page.locator("section[data-testid='stSidebar']").is_visible(), f"écran {number}: sidebar"
            following = page.get_by_role("button", name="Suivant")
            box = following.bounding_box()
            assert box and box["y"] + box["height"] <= height, f"écran {number}: navigation below the screen"
            title = page.locator("h1").first.inner_text()
            if title == "Témoignage":
                source = page.locator(".reunion-source").first.bounding_box()
                assert source and source["y"] + source["height"] <= height, f"écran {number}: author cut"
            kind = ("carte" if title.startswith("Carte") else "enjeu" if title.startswith("Enjeu") else
                    "releve" if title.startswith("Relevé") else "temoignage" if title == "Témoignage" else None)
            if kind and kind not in seen:
                seen.add(kind)
                page.screenshot(path=str(ARTIFACTS / f"reunion-{width}x{height}-{kind}.png"))
            if number < total:
                following.click()
        assert seen == {"carte", "enjeu", "releve", "temoignage"}
    finally:
        context.close()
