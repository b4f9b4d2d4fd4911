"""Vue d'ensemble: key figures, trend by year, main needs, territories covered."""

import streamlit as st

from dashboard import auth, charts, data, filters, fmt, layout
from pipelines import indicators

from dashboard.entry import through_app

through_app()  # a direct link on a fresh server still goes through app.py
auth.require("vue-ensemble")

scope = filters.current()
where = filters.describe(scope)
st.title("Vue d'ensemble")
st.caption(f"Périmètre : {where}")

figures = data.fetch(indicators.key_figures, scope)
if figures["accompagnements"] == 0:
    layout.empty_state()
    st.stop()

previous_scope = scope.previous_period()
previous = data.fetch(indicators.key_figures, previous_scope) if previous_scope else {}
cards = [
    ("Structures accompagnées", "structures", 0),
    ("Accompagnements", "accompagnements", 0),
    ("Heures d'accompagnement", "heures", 0),
    ("Programmes actifs", "programmes", 0),
]
for column, (label, key, decimals) in zip(st.columns(len(cards)), cards):
    column.metric(label, fmt.nombre(figures[key], decimals), fmt.variation(figures[key], previous.get(key)),
                  border=True)
if not previous_scope:
    st.caption("Choisissez une période (du… au…) pour comparer à la période précédente de même durée.")

trend = data.fetch(indicators.trend_by_year, scope)
st.plotly_chart(charts.trend_by_year(trend, "Accompagnements et structures par année de début", where),
                width="stretch")
last_day = data.fetch(indicators.filter_choices)["periode"].iloc[0]["fin"]
if last_day is not None and (last_day.month, last_day.day) != (12, 31) and int(trend["annee"].max()) == last_day.year:
    st.caption(f"{last_day.year} est une année incomplète : données jusqu'au {last_day:%d/%m/%Y}.")
layout.data_expander(trend.rename(columns={"annee": "Année", "accompagnements": "Accompagnements",
                                           "structures": "Structures", "heures": "Heures"}))

left, right = st.columns(2)
with left:
    needs = data.fetch(indicators.besoin_categories, scope).head(5)
    st.plotly_chart(charts.besoin_shares(needs, "Les cinq premiers besoins principaux", where), width="stretch")
    layout.data_expander(needs[["categorie", "libelle", "accompagnements", "part"]].rename(columns={
        "categorie": "Code", "libelle": "Catégorie", "accompagnements": "Accompagnements", "part": "Part"}))
with right:
    territories = data.fetch(indicators.departements_couverts, scope)
    territories = territories.assign(libelle=territories["code"] + " – " + territories["nom"])
    st.plotly_chart(charts.structures_by_territory(territories, "Structures accompagnées par département", where),
                    width="stretch")
    layout.data_expander(territories[["code", "nom", "structures", "accompagnements"]].rename(columns={
        "code": "Département", "nom": "Nom", "structures": "Structures", "accompagnements": "Accompagnements"}))
