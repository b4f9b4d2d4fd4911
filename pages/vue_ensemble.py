"""Vue d'ensemble: key figures, trend by year, main needs, territories covered."""

import streamlit as st

from dashboard import data, layout
from dashboard.page import start
from pipelines.queries import indicators
from pipelines.queries import vue_ensemble as q
from pipelines.reports import charts, fmt, rapport

page = start("vue-ensemble")
scope, where, role = page.scope, page.where, page.role
title, report = st.columns([3, 1], vertical_alignment="bottom")
page.heading("Vue d'ensemble", container=title)
report.download_button(
    "Rapport du comité (PDF)", lambda: rapport.pdf_for(data.db(), scope, role), file_name=rapport.file_name(scope, role),
    mime="application/pdf", on_click="ignore", icon=":material/picture_as_pdf:", width="stretch",
    help="Le périmètre et les filtres affichés, chiffres clés, besoins, carte, résultats, témoignages autorisés "
         "et méthodologie ; généré à la demande (quelques secondes).")

bundle = data.fetch(q.page_data, scope, role)
figures, previous = bundle["chiffres"], bundle["precedent"] or {}
trend, needs, territories = bundle["annees"], bundle["besoins"], bundle["departements"]
if trend.empty:
    layout.empty_state()
    st.stop()

cards = [
    ("Structures accompagnées", "structures", 0),
    ("Accompagnements", "accompagnements", 0),
    ("Heures d'accompagnement", "heures", 0),
    ("Programmes actifs", "programmes", 0),
]
for column, (label, key, decimals) in zip(st.columns(len(cards)), cards):
    value = figures[key]
    change = fmt.variation(value, previous.get(key)) if value is not None and previous.get(key) is not None else None
    stable = change == fmt.STABLE
    column.metric(label, fmt.chiffre(value, decimals), change, border=True,
                  delta_color="off" if stable else "normal", delta_arrow="off" if stable else "auto")
if not scope.previous_period():
    st.caption("Choisissez une année pour comparer à l'année précédente." if page.rules.statistical_secrecy
               else "Choisissez une période (du… au…) pour comparer à la période précédente de même durée.")
layout.secret_note(figures.values(), trend, needs, territories)

TITLES = {"annees": "Accompagnements et structures par année de début", "besoins": "Les cinq premiers besoins principaux",
          "departements": "Structures accompagnées par département"}
layout.chart_of_visible(trend.assign(secret=trend[["accompagnements", "structures"]].isna().all(axis=1)),
                        lambda shown: charts.trend_by_year(shown, TITLES["annees"], where), title=TITLES["annees"])
for note in (data.fetch(q.incomplete_year_note, trend), indicators.started_before_note(scope)):
    if note:
        st.caption(note)
layout.data_expander(trend.rename(columns={"annee": "Année", "accompagnements": "Accompagnements",
                                           "structures": "Structures", "heures": "Heures"}), name="annees")

left, right = st.columns(2)
with left:
    layout.chart_of_visible(needs, lambda shown: charts.besoin_shares(shown.head(5), TITLES["besoins"], where),
                            title=TITLES["besoins"])
    layout.data_expander(needs[[c for c in ("categorie", "libelle", "accompagnements", "part", "secret")
                                if c in needs]].rename(columns={
        "categorie": "Code", "libelle": "Catégorie", "accompagnements": "Accompagnements", "part": "Part"}),
        name="besoins")
with right:
    territories = territories.assign(libelle=territories["code"] + " – " + territories["nom"])
    layout.chart_of_visible(territories, lambda shown: charts.structures_by_territory(
        shown, TITLES["departements"], where), marks=True, title=TITLES["departements"])
    layout.data_expander(territories[[c for c in ("code", "nom", "structures", "accompagnements", "secret")
                                      if c in territories]].rename(columns={
        "code": "Département", "nom": "Nom", "structures": "Structures", "accompagnements": "Accompagnements"}),
        name="departements")
