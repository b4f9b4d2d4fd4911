"""The committee report ("Rapport du comité") of a scope, as a role may see it.

Built from the very query functions the pages draw (secrecy applied there for a
funder), so the PDF says what the screen says. No Streamlit: the overview page's
download button and `python -m pipelines rapport` both call `committee_report`.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from pipelines.demo import loader as demo_loader
from pipelines.geo import reference as geo
from pipelines.privacy import roles, secret
from pipelines.queries import indicators, resultats, temoignages, territoires, vue_ensemble
from pipelines.queries.indicators import Scope
from pipelines.reports import charts, exports, fmt
from pipelines.reports import plan as plan_report
from pipelines.store import warehouse

TESTIMONIES = 6


SHARES = {"part", "part_active"}  # 0–1 values, printed as percentages


def _table(frame: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    """Masked cells read "secret", shares read "60 %", columns renamed in French, only those listed."""
    kept = [c for c in columns if c in frame.columns] + (["secret"] if "secret" in frame.columns else [])
    out = frame[kept].copy()
    for column in SHARES & set(out.columns):
        out[column] = [None if pd.isna(v) else fmt.pourcentage(float(v)) for v in out[column]]
    return exports.shown_with_secret(out).rename(columns=columns)


def structures_map(con: duckdb.DuckDBPyConnection, scope: Scope, vue: str, title: str,
                   perimetre: str) -> tuple[pd.DataFrame, "charts.go.Figure"]:
    """The territories of the scope (its départements, or the régions of the whole set) as the role may see
    them, and their map of structures accompanied: the report's map and the meeting's."""
    level = "departement" if scope.region or scope.departement else "region"
    areas = territoires.page_data(con, scope, level, vue)["territoires"]
    layer = "departements" if scope.region or scope.departement else "regions_carte"
    codes = areas["code"].tolist() if scope.region or scope.departement else None
    shown = areas.assign(structures=areas["structures"].where(areas["structures"].astype(float) > 0))
    return areas, charts.choropleth(shown, geo.read_geojson(layer), "structures", title, perimetre,
                                    value_label="structures", codes=codes)


def committee_report(con: duckdb.DuckDBPyConnection, scope: Scope, vue: str) -> exports.CommitteeReport:
    rules = roles.role(vue)
    choices = indicators.filter_choices(con)
    perimetre, filtres = indicators.scope_words(choices, scope), indicators.scope_filters(choices, scope)
    overview = vue_ensemble.page_data(con, scope, vue)
    figures = overview["chiffres"]
    key_figures = [("Structures accompagnées", fmt.chiffre(figures["structures"])),
                   ("Accompagnements", fmt.chiffre(figures["accompagnements"])),
                   ("Heures d'accompagnement", fmt.chiffre(figures["heures"])),
                   ("Programmes actifs", fmt.chiffre(figures["programmes"]))]

    needs = overview["besoins"]
    visible_needs = secret.visible_rows(needs)
    besoins = exports.Section(
        "Besoins des structures", "Besoin principal de chaque accompagnement, par catégorie de la typologie.",
        figures=[charts.besoin_shares(visible_needs, "Part de chaque catégorie comme besoin principal", perimetre)]
        if len(visible_needs) else [],
        tables=[("Catégories", _table(needs, {"libelle": "Catégorie", "accompagnements": "Accompagnements",
                                              "part": "Part"}))])

    areas, map_figure = structures_map(con, scope, vue, "Structures accompagnées par territoire", perimetre)
    map_png = exports.figure_to_png(map_figure, width=1000, height=640)
    carte = exports.Section(
        "Territoires", "Structures accompagnées au lieu de leur siège.", figures=[map_png],
        tables=[("Par territoire", _table(areas[areas["structures"].astype(float).fillna(1) > 0], {
            "nom": "Territoire", "structures": "Structures accompagnées", "accompagnements": "Accompagnements",
            "taux_100k": "Pour 100 000 habitants"}))])

    outcomes = resultats.page_data(con, scope, vue)
    follow = outcomes["suivi"]
    results = exports.Section(
        "Résultats des programmes", "Parcours, heures et suivi à la fin, à 6 et à 12 mois.",
        figures=[charts.funnel(secret.visible_rows(outcomes["entonnoir"]), "Part des accompagnements ayant atteint chaque "
                               "étape", perimetre)] if len(secret.visible_rows(outcomes["entonnoir"])) else [],
        tables=[("Suivi", _table(follow, {"echeance_libelle": "Échéance", "structures": "Structures",
                                          "objectifs_atteints": "Objectifs atteints (%)", "etp_avant": "ETP avant",
                                          "etp_apres": "ETP après", "part_active": "Structures actives"})),
                ("Heures par programme", _table(outcomes["heures"], {
                    "programme": "Programme", "heures_realisees": "Heures réalisées",
                    "heures_prevues": "Heures prévues"}))])

    # Only testimonies whose publication is authorised, whoever prints the report.
    quotes = temoignages.temoignages(con, scope, include_unconsented=False, limite=TESTIMONIES,
                                     vue=None if rules.unconsented_testimonies else vue)["temoignages"]
    return exports.CommitteeReport(
        perimetre=perimetre, filtres=filtres, chiffres_cles=key_figures, besoins=besoins, carte=carte,
        resultats=results, temoignages=quotes.to_dict("records"), definitions=indicators.DEFINITIONS,
        plans=plan_report.report_sections(
            con, scope.region or (territoires.region_of(con, scope.departement) if scope.departement else None), vue),
        regle_secret=secret.rule_text(),
        vue=("Vue financeur : secret statistique appliqué" if rules.statistical_secrecy else f"Vue {rules.label}"),
        demo=demo_loader.is_demo(con))


def committee_report_pdf(con: duckdb.DuckDBPyConnection, scope: Scope, vue: str) -> bytes:
    return exports.committee_report_pdf(committee_report(con, scope, vue))


def pdf_for(db, scope: Scope, vue: str) -> bytes:
    """The PDF for a download button: opens its own short read connection when clicked."""
    with warehouse.read_connection(db) as con:
        return committee_report_pdf(con, scope, vue)


def file_name(scope: Scope, vue: str, today=None) -> str:
    """The report's file name after its scope, view and day, so that two reports never share one name:
    'rapport-comite_region-28_domaine-musique_2024_financeur_2026-12-05.pdf'."""
    import datetime as dt

    today = today or dt.date.today()
    parts = [f"{name}-{getattr(scope, name)}" for name in ("region", "departement", "programme", "domaine")
             if getattr(scope, name)]
    if scope.whole_year:
        parts.append(str(scope.whole_year))
    elif scope.depuis or scope.jusqu_au:
        parts.append(f"{scope.depuis or 'debut'}_{scope.jusqu_au or 'fin'}")
    return exports.file_name(["rapport-comite", *parts, vue, f"{today:%Y-%m-%d}"], "pdf")
