"""The home page in a real headless Chromium, with a screenshot to look at."""

import re

import pytest

from pipelines.queries import indicators
from pipelines.queries.indicators import Scope
from pipelines.store import warehouse
from tests.browser.conftest import ARTIFACTS, open_page, wait_for_charts

pytestmark = pytest.mark.browser


def test_home_page_shows_key_figures_and_charts(server, page, demo_db):
    open_page(page, f"{server}/")
    page.get_by_text("Structures accompagnées").first.wait_for(timeout=30_000)
    wait_for_charts(page, 3)
    page.screenshot(path=str(ARTIFACTS / "vue_ensemble.png"))

    with warehouse.read_connection(demo_db) as con:
        truth = indicators.key_figures(con, Scope())
    metric_values = [re.sub(r"\s", "", t) for t in page.locator("[data-testid='stMetricValue']").all_inner_texts()]
    assert str(truth["structures"]) in metric_values
    assert str(truth["accompagnements"]) in metric_values
    # Three charts with drawn bars, not empty frames.
    assert page.locator(".js-plotly-plot").count() == 3
    assert page.locator(".js-plotly-plot .bars path").count() > 5
    assert page.get_by_text("Données de démonstration synthétiques").count() == 1


def test_the_app_asks_nothing_of_any_other_host(server, page):
    """Observatoire runs offline: every request the browser makes goes to the app's own server."""
    outside = []
    page.on("request", lambda request: outside.append(request.url)
            if not request.url.startswith((server, "data:", "blob:")) else None)
    open_page(page, f"{server}/territoires")
    wait_for_charts(page)  # the map painted, the favicon loaded with the page
    assert not outside, outside
