"""Every dashboard page in a real headless Chromium, with a screenshot to look at (tests/artifacts/)."""

import pytest

from tests.browser.conftest import ARTIFACTS, REPO, open_page, wait_for_charts, wait_for_painted_map

pytestmark = pytest.mark.browser

# (url path and query, screenshot name, text that must be drawn, minimum plotly charts)
PAGES = [
    ("structures", "structures", "Répartitions", 5),
    ("besoins", "besoins", "Besoins principaux par catégorie", 5),
    ("territoires", "territoires", "Zones blanches", 2),
    ("territoires?region=76&indicateur=couverture", "territoires_occitanie_couverture", "Portrait de territoire", 3),
    ("territoires?niveau=region&indicateur=taux_100k", "territoires_regions", "Zones blanches", 2),
    ("resultats", "resultats", "Ateliers collectifs", 6),
    ("temoignages", "temoignages", "témoignage(s), dont", 0),  # the analyst view: every testimony, flagged
]


@pytest.mark.parametrize("path, name, text, charts", PAGES, ids=[p[1] for p in PAGES])
def test_page_draws_its_charts(server, page, path, name, text, charts):
    open_page(page, f"{server}/{path}")  # a direct link, even as a fresh server's first visit (dashboard.page.through_app)
    page.get_by_text(text).first.wait_for(timeout=30_000)
    if charts:
        wait_for_charts(page, charts)
    if "territoires" in path:
        wait_for_painted_map(page)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.get_by_text("Filtres").count() >= 1, "the page runs inside app.py (sidebar filters drawn)"
    assert page.locator(".js-plotly-plot").count() >= charts
    if "territoires" in path:
        # The map is drawn: MapLibre canvas present, and a colour bar for the values.
        assert page.locator(".js-plotly-plot canvas").count() >= 1
        assert page.locator(".js-plotly-plot .colorbar").count() >= 1
        assert wait_for_painted_map(page), "the map is painted (its territories in colour)"


def test_testimonies_are_plain_text(server, page):
    open_page(page, f"{server}/temoignages", role="comite")
    page.get_by_text("témoignage(s) publiable(s)").first.wait_for(timeout=30_000)
    assert page.locator("[data-testid='stText']").count() > 10


def test_a_departement_lists_its_communes_with_whole_ticks(server, page):
    open_page(page, f"{server}/territoires?departement=09")
    page.get_by_text("Communes comptant le plus").first.wait_for(timeout=30_000)
    wait_for_charts(page, 1)
    chart = page.locator(".js-plotly-plot", has_text="Communes comptant le plus").first
    chart.screenshot(path=str(ARTIFACTS / "territoires_ariege_communes.png"))
    ticks = [t for t in chart.locator(".xtick text").all_text_contents() if t.strip()]
    assert ticks and len(ticks) == len(set(ticks)), ticks  # no "0, 0, 1, 1" from rounded fractional steps


def test_territories_side_by_side_with_the_coverage_interval(server, page):
    """Two départements and an EPCI against Normandie, whose demo reference population is a range: the
    coverage bars carry their interval, every share tick reads "… %", and hovering a bar says both ends."""
    open_page(page, f"{server}/territoires?region=28&portrait=14,76,epci:200065597")
    page.get_by_text("Portrait : 3 territoires côte à côte").first.wait_for(timeout=30_000)
    chart = page.locator(".js-plotly-plot", has_text="Portrait : 3 territoires").first
    chart.scroll_into_view_if_needed()
    chart.locator(".legendtext").first.wait_for(timeout=30_000)
    chart.screenshot(path=str(ARTIFACTS / "territoires_cote_a_cote.png"))
    assert chart.locator(".legendtext").all_text_contents() == [
        "14 – Calvados", "76 – Seine-Maritime", "CU Caen la Mer (14, EPCI)", "Normandie"]
    ticks = [t for t in chart.locator(".xtick text").all_text_contents() if t.strip()]
    assert ticks and all(t.endswith("\u00a0%") for t in ticks), ticks
    assert chart.locator(".errorbar").count() >= 3  # Calvados, Seine-Maritime and Normandie have an interval
    first_bar = chart.locator(".trace.bars").first.locator(".point").first  # Calvados' coverage (first row)
    box = first_bar.bounding_box()  # the plot's drag layer lies over the bars: move the mouse, as a person does
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    hover = chart.locator(".hovertext").first
    hover.wait_for(timeout=10_000)
    assert " – " in hover.text_content() and "%" in hover.text_content()


def _shown_text(locator, pseudo: str) -> str:
    """What CSS draws in an element's ::before/::after (Streamlit's English texts are covered that way)."""
    return locator.evaluate(f"e => getComputedStyle(e, '{pseudo}').content").strip('"')


def test_the_uploader_and_the_date_fields_speak_french(server, page):
    open_page(page, f"{server}/importer")
    dropzone = page.locator("[data-testid='stFileUploaderDropzone']").first
    dropzone.wait_for(timeout=30_000)
    label = dropzone.locator("button [data-testid='stMarkdownContainer'] p").first
    assert label.inner_text() == "Upload"  # Streamlit's own word is still there, drawn at size 0…
    assert label.evaluate("e => getComputedStyle(e).fontSize") == "0px"
    assert _shown_text(label, "::after") == "Choisir des fichiers"  # …under the French one
    limit = dropzone.locator("[data-testid='stFileUploaderDropzoneInstructions'] span").first
    assert "500 Mo au plus par fichier" in _shown_text(limit, "::before")
    dropzone.screenshot(path=str(ARTIFACTS / "importer_depot_fr.png"))
    # A dropped file: Streamlit's "1.2KB" is hidden; the report's line of the file gives the size in French.
    dropped = b"".join((REPO / "data" / "demo" / "structures.csv").read_bytes().splitlines(keepends=True)[:12])
    page.locator("input[type=file]").first.set_input_files(
        files=[{"name": "structures.csv", "mimeType": "text/csv", "buffer": dropped}])
    page.get_by_text("Rapport de vérification").first.wait_for(timeout=60_000)
    chip = page.locator("[data-testid='stFileChip']").first
    assert chip.inner_text().strip() == "structures.csv", chip.inner_text()
    size = f"({len(dropped) / 1000:.1f}".replace(".", ",") + "\u00a0Ko)"  # '(1,9 Ko)'
    assert page.locator("li", has_text="structures.csv").filter(has_text=size).count() == 1, size
    page.locator("[data-testid='stFileUploader']").first.screenshot(path=str(ARTIFACTS / "importer_fichier_depose.png"))
    day = page.locator("[data-testid='stSidebar'] [data-testid='stDateInputField'] [data-type='day']").first
    year = page.locator("[data-testid='stSidebar'] [data-testid='stDateInputField'] [data-type='year']").first
    assert (_shown_text(day, "::before"), _shown_text(year, "::before")) == ("jj", "aaaa")
    field = page.locator("[data-testid='stSidebar'] [data-testid='stDateInputField']").first
    field.scroll_into_view_if_needed()
    assert field.evaluate("e => e.scrollWidth <= e.clientWidth + 1"), "the date field shows its whole text"
    page.locator("[data-testid='stSidebar']").screenshot(path=str(ARTIFACTS / "filtres_dates_fr.png"))
