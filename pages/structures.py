"""Structures accompagnées: searchable list, breakdowns, and the profile of one structure."""

import datetime as dt

import pandas as pd
import streamlit as st

from dashboard import data, filters, layout
from dashboard.page import start
from pipelines.queries import structures as q
from pipelines.reports import charts, fmt

page = start("structures", "Structures accompagnées")
scope, where = page.scope, page.where

funder = page.rules.statistical_secrecy
recherche = None if funder else filters.url_text("Rechercher une structure", "recherche",
                                                 placeholder="Nom, commune ou identifiant")
bundle = data.fetch(q.page_data, scope, recherche, page.role)
table, breakdowns = bundle["table"], bundle["repartitions"]
if breakdowns["domaine"].empty:
    layout.empty_state()
    st.stop()
total = bundle["total"] if funder else int(breakdowns["domaine"]["structures"].sum())

st.subheader(f"{fmt.chiffre(total)} structures accompagnées")
if funder:
    st.info("Vue financeur : la liste nominative des structures et leurs profils ne sont pas diffusés ; les "
            "répartitions ci-dessous respectent le secret statistique.", icon=":material/lock:")
elif table.empty:
    st.info(f"Aucune structure accompagnée ne correspond à la recherche « {layout.escape_markdown(recherche)} ».",
            icon=":material/search_off:")
else:
    matches = int(table["total"].iloc[0])
    layout.table(table, {
        "nom": ("Nom", "texte"), "commune": ("Commune", "texte"), "departement": ("Département", "texte"),
        "domaine": ("Domaine", "texte"), "forme_juridique": ("Forme juridique", "texte"),
        "programmes": ("Programmes", "texte"), "accompagnements": ("Accompagnements", "nombre"),
        "heures": ("Heures", "decimal"),
    }, height=layout.height_for(len(table), 9), key="table_structures")
    if matches > len(table):
        st.caption(f"{fmt.nombre(len(table))} premières structures sur {fmt.nombre(matches)} (ordre alphabétique) : "
                   "précisez la recherche pour trouver les autres. Cliquez sur un en-tête pour trier.")
    else:
        several = matches > 1
        found = f"{fmt.nombre(matches)} structure{'s' * several}"
        if recherche:
            found += (f" sur {fmt.nombre(total)} correspond{'ent' * several} à la recherche "
                      f"« {layout.escape_markdown(recherche)} »")
        st.caption(f"{found}. Cliquez sur un en-tête de colonne pour trier.")

st.header("Répartitions")
columns = st.columns(2)
for i, (axe, (label, _)) in enumerate(q.AXES.items()):
    frame = breakdowns[axe]
    with columns[i % 2]:
        layout.chart_of_visible(frame, lambda shown: charts.bars(
            shown, "libelle", "structures", f"Structures accompagnées — {label.lower()}", where,
            axis_title="Structures", color=charts.OKABE_ITO[i % 3], hover_unit="structures"), key=f"repartition_{axe}",
            marks=True)
        layout.data_table(frame, {"libelle": (label, "texte"), "structures": ("Structures", "nombre"),
                                  "part": ("Part", "part")}, name=f"structures_{axe}")
layout.secret_note(*breakdowns.values())

if funder:  # no profile of one structure outside the nominative views
    st.stop()
st.header("Profil d'une structure")
if table.empty:
    st.info("Aucune structure à afficher : modifiez la recherche.", icon=":material/search_off:")
    st.stop()
names = dict(zip(table["id_structure"], table["nom"] + " (" + table["commune"].fillna("commune inconnue") + ")"))
chosen = filters.url_choice("Structure", names, "structure", widget="selectbox")
profile = data.fetch(q.structure_profile, scope, chosen)
if profile is None:
    layout.empty_state()
    st.stop()

fiche = profile["fiche"].iloc[0]
st.subheader(layout.escape_markdown(fiche["nom"]))
facts = st.columns(4)
facts[0].metric("Domaine", fiche["domaine"] or "—")
facts[1].metric("Forme juridique", fiche["forme_juridique"] or "—")
facts[2].metric("Effectif salarié (ETP)", fmt.nombre(fiche["effectif_etp"], 1))
# pd.isna, not `x != x`: a missing integer is pd.NA, whose comparison has no truth value (it crashed the page).
facts[3].metric("Budget annuel", "—" if pd.isna(fiche["budget_annuel"]) else f"{fmt.nombre(fiche['budget_annuel'])} €")
created = "" if pd.isna(fiche["annee_creation"]) else f" · créée en {int(fiche['annee_creation'])}"
st.caption(layout.escape_markdown(f"{fiche['commune']} ({fiche['departement']}, {fiche['region']}) · {fiche['epci'] or ''}{created}"))

parcours = profile["parcours"]
st.plotly_chart(charts.timeline(parcours, dt.date.today(), "Parcours dans les programmes",
                                "une barre par accompagnement, de son début à sa fin (ou à aujourd'hui) ; "
                                "couleur = étape atteinte (accueil → diagnostic → accompagnement → suivi → clos)"),
                width="stretch", key="parcours")
layout.data_table(parcours, {
    "programme": ("Programme", "texte"), "type_libelle": ("Type", "texte"), "date_debut": ("Début", "date"),
    "date_fin": ("Fin", "date"), "etape_libelle": ("Étape atteinte", "texte"), "format_libelle": ("Format", "texte"),
    "heures": ("Heures", "decimal"), "besoin_libelle": ("Besoin principal", "texte")})

left, right = st.columns(2)
with left:
    st.subheader("Besoins exprimés")
    layout.table(profile["besoins"].assign(principal=profile["besoins"]["principal"].map({True: "oui", False: "non"})), {
        "libelle": ("Besoin", "texte"), "categorie": ("Catégorie", "texte"), "principal": ("Besoin principal", "texte"),
        "accompagnements": ("Accompagnements", "nombre")})
with right:
    st.subheader("Résultats à la fin, à 6 et à 12 mois")
    results = profile["resultats"]
    if results.empty:
        st.info("Aucun résultat mesuré pour cette structure.", icon=":material/hourglass_empty:")
    else:
        layout.table(results.assign(structure_active=results["structure_active"].map({True: "oui", False: "non"})), {
            "programme": ("Programme", "texte"), "echeance_libelle": ("Échéance", "texte"),
            "objectifs_atteints": ("Objectifs atteints (%)", "nombre"), "etp_avant": ("ETP avant", "decimal"),
            "etp_apres": ("ETP après", "decimal"), "budget_avant": ("Budget avant (€)", "nombre"),
            "budget_apres": ("Budget après (€)", "nombre"), "structure_active": ("Active", "texte")})

st.subheader("Témoignages publiés")
cards = profile["temoignages"]
if cards.empty:
    st.caption("Aucun témoignage publiable pour cette structure.")
for row in cards.itertuples():
    layout.testimony_card(row)
