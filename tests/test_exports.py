"""Exports: CSV for French Excel, XLSX values and types, formula injection, PNG size, the committee PDF."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import struct
import subprocess

import openpyxl
import pandas as pd
import plotly.graph_objects as go
import pytest
from pypdf import PdfReader

from pipelines.privacy import secret
from pipelines.queries import indicators
from pipelines.queries.indicators import Scope
from pipelines.reports import charts, exports
from pipelines.store import warehouse
from tests.browser.conftest import ARTIFACTS

INJECTIONS = ["=1+1", "+33 6 12", "-2+3", "@SUM(A1)", "\tcmd", "\r=1", "=HYPERLINK(\"http://x\")"]

TABLE = pd.DataFrame({
    "Département": ["14 – Calvados", "50 – Manche", "=cmd|' /C calc'!A0"],
    "Structures": [12, 3, 4],
    "Heures": [120.5, -7.25, 0.0],
    "Début": pd.to_datetime(["2024-01-15", "2024-03-01", "2023-12-31"]),
    "Date simple": [dt.date(2024, 1, 15), dt.date(2024, 3, 1), None],
    "Note": ["-5", "@moi", None],
})


def test_csv_is_utf8_with_bom_semicolons_and_decimal_commas():
    data = exports.to_csv_bytes(TABLE)
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data.decode("utf-8-sig").split("\r\n")
    assert lines[0] == "Département;Structures;Heures;Début;Date simple;Note"
    assert lines[1] == "14 – Calvados;12;120,5;15/01/2024;15/01/2024;-5"
    assert lines[2] == "50 – Manche;3;-7,25;01/03/2024;01/03/2024;'@moi"  # a negative number stays a number
    assert lines[3].startswith("'=cmd|' /C calc'!A0;4;0,0;31/12/2023;;")


@pytest.mark.parametrize("payload", INJECTIONS)
def test_csv_neutralises_formula_cells(payload):
    data = exports.to_csv_bytes(pd.DataFrame({payload: [payload], "n": [-3]}))
    text = data.decode("utf-8-sig")
    cells = [row.split(";") for row in text.split("\r\n") if row]
    for row in cells:
        first = row[0].strip('"')
        assert first.startswith("'"), row
    assert cells[1][1] == "-3"


def test_xlsx_keeps_numbers_dates_and_neutralises_text():
    data = exports.to_xlsx_bytes({"Territoires": TABLE, "Vide": TABLE.head(0)})
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["Territoires", "Vide"]
    sheet = book["Territoires"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == tuple(TABLE.columns)
    assert rows[1][:3] == ("14 – Calvados", 12, 120.5)
    assert isinstance(rows[1][1], int) and isinstance(rows[2][2], float) and rows[2][2] == -7.25
    assert rows[1][3] == dt.datetime(2024, 1, 15)
    assert sheet.cell(row=2, column=4).number_format == "DD/MM/YYYY"
    assert sheet.cell(row=2, column=5).is_date
    assert rows[3][0] == "'=cmd|' /C calc'!A0"
    assert rows[1][5] == "-5" and rows[2][5] == "'@moi" and rows[3][5] is None
    for row in sheet.iter_rows():
        for cell in row:
            assert cell.data_type != "f"


@pytest.mark.parametrize("payload", INJECTIONS)
def test_xlsx_never_writes_a_formula(payload):
    book = openpyxl.load_workbook(io.BytesIO(exports.to_xlsx_bytes(pd.DataFrame({"texte": [payload]}))))
    cell = book.active["A2"]
    # XML stores a lone carriage return as a line feed; the apostrophe is what matters.
    assert cell.data_type == "s" and cell.value == "'" + payload.replace("\r", "\n")


def test_xlsx_of_a_protected_table_says_secret():
    stats = secret.cell_stats(pd.DataFrame({"id_structure": ["A", "B", "C", "D", "E"],
                                            "dep": ["14", "14", "14", "50", "61"]}), "dep")
    shown = secret.protect(stats).display(lambda v: int(v)).reset_index()
    book = openpyxl.load_workbook(io.BytesIO(exports.to_xlsx_bytes(shown)))
    values = [row[1] for row in book.active.iter_rows(min_row=2, values_only=True)]
    assert values == ["secret", "secret", "secret", 5]  # 1 and 1 alone would each lie in [0, 2]: too narrow


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_png_is_a_valid_image_of_the_requested_size():
    fig = charts.besoin_shares(pd.DataFrame({"libelle": ["Consolidation économique", "Emploi"],
                                             "part": [0.6, 0.4], "accompagnements": [6, 4]}),
                               "Besoins principaux", "Normandie")
    assert png_size(exports.figure_to_png(fig, width=800, height=450)) == (800, 450)
    assert png_size(exports.figure_to_png(fig, width=640, height=360, scale=2)) == (1280, 720)


# The committee report, built from the demo warehouse with the dashboard's own chart builders.

@pytest.fixture(scope="module")
def report(demo_db) -> exports.CommitteeReport:
    scope = Scope(region="28")
    with warehouse.read_connection(demo_db) as con:
        figures = indicators.key_figures(con, scope)
        needs = indicators.besoin_categories(con, scope)
        deps = indicators.departements_couverts(con, scope)
        rows = indicators.query(con, "SELECT id_structure, code_departement FROM acc", scope)
    deps = deps.assign(libelle=deps["code"] + " – " + deps["nom"])
    protected = secret.protect(secret.cell_stats(rows, "code_departement"))
    table = protected.display(lambda v: int(v)).reset_index()
    table.columns = ["Département", "Structures accompagnées"]
    return exports.CommitteeReport(
        perimetre="Normandie",
        filtres={"Région": "Normandie", "Programme": "Tous les programmes"},
        chiffres_cles=[("Structures accompagnées", str(figures["structures"])),
                       ("Accompagnements", str(figures["accompagnements"])),
                       ("Heures d'accompagnement", "secret")],
        besoins=exports.Section("Besoins", "Besoin principal déclaré à l'entrée.",
                                figures=[charts.besoin_shares(needs, "Besoins principaux", "Normandie")],
                                tables=[("Catégories", needs[["libelle", "accompagnements"]])]),
        carte=exports.Section("Territoires", figures=[charts.structures_by_territory(deps, "Par département")],
                              tables=[("Structures par département", table)]),
        resultats=exports.Section("Résultats", tables=[("Objectifs atteints", pd.DataFrame(
            {"Échéance": ["fin", "6 mois"], "Objectifs atteints": [72.5, 81.0]}))]),
        temoignages=[
            {"texte": "Le diagnostic nous a permis de revoir notre modèle.", "auteur_role": "directrice",
             "programme": "DLA Calvados", "date": dt.date(2024, 5, 2), "consentement_publication": True},
            {"texte": "Texte sans consentement", "consentement_publication": False},
        ],
        definitions=[("Structures accompagnées", "Structures distinctes ayant un accompagnement actif.")],
        regle_secret=secret.rule_text(),
        date=dt.date(2026, 3, 14),
        vue="Vue financeur : secret statistique appliqué",
        demo=True,
    )


@pytest.fixture(scope="module")
def pdf(report) -> bytes:
    return exports.committee_report_pdf(report)


def page_texts(pdf: bytes) -> list[str]:
    return [" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(pdf)).pages]


def test_pdf_has_the_expected_pages_in_order(pdf):
    texts = page_texts(pdf)
    headings = ["Rapport du comité", "Chiffres clés", "Besoins", "Territoires", "Résultats", "Témoignages",
                "Méthodologie"]
    assert len(texts) == len(headings)
    for text, heading in zip(texts, headings):
        assert heading in text, (heading, text[:200])
    assert "Page 1 / 7" in texts[0] and "Page 7 / 7" in texts[-1]


def test_pdf_text_carries_the_figures_and_the_masking(pdf, report):
    texts = page_texts(pdf)
    cover, cards, _, territories, results, quotes, method = texts
    assert "Périmètre : Normandie" in cover and "14/03/2026" in cover and "Vue financeur" in cover
    assert "démonstration synthétiques" in cover
    for label, value in report.chiffres_cles:
        assert f"{label} {value}" in cards
    shown = report.carte.tables[0][1]
    for code, value in zip(shown["Département"], shown["Structures accompagnées"]):
        assert f"{code} {value}" in territories
    assert "72,5" in results and "81" in results
    assert "revoir notre modèle" in quotes and "directrice · DLA Calvados · 02/05/2024" in quotes
    assert "sans consentement" not in " ".join(texts)
    assert "moins de 3 structures" in method


def test_a_pdf_page_renders_to_an_image(pdf):
    if not shutil.which("pdftoppm"):
        pytest.fail("pdftoppm is missing: apt-get install poppler-utils (./scripts/tester.sh does it)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "rapport-comite.pdf").write_bytes(pdf)
    for page in (1, 3, 4):
        subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", str(page), "-l", str(page), "-singlefile",
                        str(ARTIFACTS / "rapport-comite.pdf"), str(ARTIFACTS / f"rapport-comite-p{page}")],
                       check=True)
        width, height = png_size((ARTIFACTS / f"rapport-comite-p{page}.png").read_bytes())
        assert abs(width - 496) <= 1 and abs(height - 702) <= 1  # A4 (210 × 297 mm) at 60 dpi


def test_report_accepts_svg_text_and_png_bytes():
    png = exports.figure_to_png(go.Figure(go.Bar(x=[1], y=[1])), width=300, height=200)
    section = exports.Section("Carte", figures=["<svg xmlns='http://www.w3.org/2000/svg' width='10' height='10'/>", png])
    html = exports._section_html(section)
    assert "image/svg+xml" in html and "image/png" in html


def test_masked_bars_stay_on_the_chart_and_read_secret():
    """A masked category used to vanish from the funder's chart, as if it did not exist."""
    frame = pd.DataFrame({"libelle": ["Musique", "Autre", "Théâtre"], "structures": [12, None, 30],
                          "secret": [False, True, False]})
    figure = charts.bars(frame, "libelle", "structures", "Structures")
    drawn, marked = figure.data
    assert list(drawn.y) == ["Théâtre", "Musique"] and list(marked.y) == ["Autre"]  # given order, drawn bottom-up
    assert list(marked.text) == ["secret"] and list(marked.x) == [0]
    assert list(figure.layout.yaxis.categoryarray)[0] == "Autre", "masked categories go below the others"
    by_territory = charts.structures_by_territory(frame, "Départements")
    assert list(by_territory.data[1].text) == ["secret"]
    unmasked = charts.bars(frame.drop(columns="secret").dropna(), "libelle", "structures", "Structures")
    assert len(unmasked.data) == 1
    assert figure.layout.showlegend is False, "no legend entry for the marks"


def test_a_masked_funnel_step_stays_and_reads_secret():
    """DLA and the pôle vanished from the funder's steps chart after "Accueil"."""
    frame = pd.DataFrame({"programme": ["DLA", "DLA", "Pôle"], "etape_libelle": ["Accueil", "Diagnostic", "Accueil"],
                          "ordre": [0, 1, 0], "accompagnements": [10, None, 8], "part": [1.0, None, 1.0],
                          "secret": [False, True, False]})
    figure = charts.funnel(frame, "Parcours")
    dla = next(trace for trace in figure.data if trace.name == "DLA")
    assert list(dla.y) == ["Accueil", "Diagnostic"] and list(dla.text)[1] == "secret" and dla.x[1] == 0


def test_the_maps_grey_has_a_legend_entry():
    geojson = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": code, "nom": name},
         "geometry": {"type": "Polygon", "coordinates": [[[x, 45], [x + 1, 45], [x + 1, 46], [x, 45]]]}}
        for code, name, x in (("14", "Calvados", 0), ("48", "Lozère", 2))]}
    frame = pd.DataFrame({"code": ["14", "48"], "nom": ["Calvados", "Lozère"], "structures": [35, None]})
    figure = charts.choropleth(frame, geojson, "structures", "Carte")
    assert any("secret statistique" in note.text and charts.NO_DATA in note.text for note in figure.layout.annotations)


def test_a_change_that_rounds_to_nothing_is_stable_not_a_rise():
    from pipelines.reports import fmt

    assert fmt.variation(1001, 1000) == fmt.STABLE
    assert fmt.variation(1100, 1000) == "+10\u00a0% vs période précédente"
    assert fmt.variation(900, 1000).startswith("-10")
    assert fmt.variation(5, 0) is None


def test_file_sizes_read_in_french_units():
    from pipelines.reports import fmt

    assert [fmt.taille(n) for n in (1, 999, 1000, 67_037, 1_500_000, 2_000_000_000)] == [
        "1\u00a0octet", "999\u00a0octets", "1,0\u00a0Ko", "67,0\u00a0Ko", "1,5\u00a0Mo", "2,0\u00a0Go"]
