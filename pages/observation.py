"""Observation participative: what structures declare of themselves each year — response rate of each campaign
per territory, the declared figures and their evolution (volunteer hours as non-monetary resources, jobs,
budget, own revenue), needs declared by the structures against needs recorded by the programmes."""

import streamlit as st

from dashboard import data, layout
from dashboard.page import start
from pipelines.queries import observation as q
from pipelines.reports import charts, fmt

page = start("observation", "Observation participative",
             "ce que les structures déclarent d'elles-mêmes chaque année (questionnaire ou enquête d'un réseau), "
             "relu par l'observatoire ; la période choisie retient les années observées")
scope, where = page.scope, page.where

rates = data.fetch(q.response_rates, scope)
if rates.empty:
    st.info("Aucune campagne d'observation dans ce périmètre : invitez les structures avec "
            "« python -m pipelines opp inviter --annee AAAA --out liens.csv ».", icon=":material/mail:")
else:
    campaigns = rates.groupby("annee")[["invitees", "repondantes"]].sum()
    columns = st.columns(len(campaigns) or 1)
    for column, (year, row) in zip(columns, campaigns.iterrows()):
        column.metric(f"Campagne {year} : taux de réponse", fmt.pourcentage(row["repondantes"] / row["invitees"]),
                      help=f"{fmt.nombre(row['repondantes'])} structures ont répondu par leur lien sur "
                           f"{fmt.nombre(row['invitees'])} invitées.")
    latest = rates[rates["annee"] == rates["annee"].max()].sort_values("taux", ascending=False)
    st.plotly_chart(charts.bars(latest.assign(territoire=latest["nom_territoire"].fillna(latest["territoire"])),
                                "territoire", "taux", f"Taux de réponse à la campagne {latest['annee'].iloc[0]}",
                                where, percent=True, axis_title="Structures ayant répondu / invitées"),
                    key="taux_reponse")
    layout.data_table(rates, {"annee": ("Campagne", "texte"), "nom_territoire": ("Territoire", "texte"),
                              "invitees": ("Invitées", "nombre"), "repondantes": ("Ont répondu", "nombre"),
                              "taux": ("Taux de réponse", "part")}, name="taux_de_reponse")

declared = data.fetch(q.declared_by_year, scope)
if declared.empty:
    st.info("Aucune observation relue dans ce périmètre.", icon=":material/search_off:")
    st.stop()
st.subheader("Ce que les structures déclarent")
latest = declared.iloc[-1]
st.caption(f"Année {int(latest['annee'])}, structures dont l'observation a été relue.")
cards = [("Structures", "structures", 0), ("Heures de bénévolat", "heures_benevolat", 0),
         ("Emplois (ETP)", "effectif_etp", 1), ("Budgets cumulés (€)", "budget_annuel", 0),
         ("Recettes propres (moy.)", "part_recettes_propres", None)]
for column, (label, key, decimals) in zip(st.columns(len(cards)), cards):
    value = latest[key]
    column.metric(label, fmt.pourcentage(value / 100) if decimals is None else fmt.nombre(value, decimals))
st.caption("Les heures de bénévolat sont une ressource non monétaire : à 12 € de l'heure (SMIC chargé indicatif), "
           f"celles de {int(latest['annee'])} valent environ {fmt.nombre(latest['heures_benevolat'] * 12)} €.")
if len(declared) > 1:
    st.plotly_chart(charts.lines_by(q.evolution_index(declared), "annee", "indice", "mesure",
                                    f"Évolution des totaux déclarés (indice 100 en {int(declared['annee'].iloc[0])})",
                                    where, x_title="Année observée", y_title="Indice"), key="evolution")
    st.caption("Les totaux dépendent aussi du nombre de structures qui répondent chaque année : voir le tableau.")
layout.data_table(declared, {"annee": ("Année", "texte"), "structures": ("Structures", "nombre"),
                             **{m: (label, "decimal") for m, label in q.MEASURES.items()}}, name="observations_declarees")

st.subheader("Besoins déclarés et besoins repérés par les programmes")
needs = data.fetch(q.needs_compared, scope)
st.plotly_chart(charts.grouped_bars(needs.assign(part_declaree=needs["part_declaree"] * 100,
                                                 part_programmes=needs["part_programmes"] * 100),
                                    "libelle", {"part_declaree": "Déclarés par les structures (% des structures)",
                                                "part_programmes": "Besoin principal des accompagnements (%)"},
                                    "Besoins : ce que les structures disent, ce que les programmes notent", where,
                                    y_title="%", horizontal=True, height=460), key="besoins_compares")
st.caption("Une structure peut déclarer plusieurs besoins : la première série ne totalise pas 100 %.")
