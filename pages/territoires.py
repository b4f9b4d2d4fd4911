"""Territoires: maps by région / département, drill-down to communes, zones blanches, portrait."""

import pandas as pd
import streamlit as st

from dashboard import data, filters, layout
from dashboard.page import start
from pipelines.geo import reference as geo
from pipelines.queries import territoires as q
from pipelines.reports import charts, fmt

page = start("territoires", "Territoires", "structures comptées au lieu de leur siège")
scope, where = page.scope, page.where

INDICATEURS = {"structures": "Nombre de structures", "taux_100k": "Pour 100 000 habitants",
               "couverture": "Taux de couverture", "heures_par_structure": "Heures par structure"}
left, right = st.columns([3, 2])
indicateur = filters.url_choice("Indicateur", INDICATEURS, "indicateur", "structures", container=left)
if scope.departement:
    niveau = "departement"
elif scope.region:
    niveau = "departement"
    right.caption("Région choisie : la carte descend aux départements ; choisissez un département pour voir ses communes.")
else:
    niveau = filters.url_choice("Niveau", {"region": "Régions", "departement": "Départements"}, "niveau",
                                "departement", container=right)

role = page.role
bundle = data.fetch(q.page_data, scope, niveau, role)
territories = bundle["territoires"]
masked_any = "secret" in territories.columns and bool(territories["secret"].any())
if not masked_any and territories["accompagnements"].astype(float).sum() == 0:
    layout.empty_state()
    st.stop()

label = q.INDICATEURS[indicateur]
percent = indicateur == "couverture"
unit = {"structures": "structures", "taux_100k": "pour 100 000 hab.", "couverture": "couverture",
        "heures_par_structure": "h par structure"}[indicateur]
shown = territories.copy()
if indicateur != "structures":
    shown.loc[shown["structures"].astype(float) == 0, indicateur] = None  # no structure: not a measured zero rate
# The coverage as it reads: "25,0 %", or "13,9 – 33,7 %" where the reference population is a range.
shown["couverture_texte"] = [fmt.SECRET if secret and low is None else fmt.couverture(low, high) for low, high, secret
                             in zip(shown["couverture_min"], shown["couverture_max"],
                                    shown.get("secret", pd.Series(False, index=shown.index)))]
shown["reference_texte"] = [fmt.nombre(low) + (f" – {fmt.nombre(high)}" if pd.notna(high) else "") if pd.notna(low) else "—"
                            for low, high in zip(shown["reference"], shown["reference_max"])]
ranges = bool((shown["couverture_min"] != shown["couverture_max"]).any() and shown["couverture_min"].notna().any())
if indicateur == "couverture" and shown["couverture"].notna().sum() == 0:
    st.info("Le taux de couverture demande une population de référence des structures culturelles de l'ESS "
            "(fichier code_territoire ; niveau ; nb_structures_reference ; source ; annee) : aucune n'a été "
            "fournie pour ces territoires.", icon=":material/info:")
else:
    if scope.departement:
        st.subheader("Communes du département")
        st.caption("Les centres des communes ne sont pas disponibles hors ligne et les structures n'ont pas de "
                   "coordonnées : le détail communal est présenté en barres plutôt qu'en bulles sur la carte.")
    else:
        layer = ("regions_carte" if niveau == "region" else "departements_carte") if not scope.region else "departements"
        codes = territories["code"].tolist() if scope.region else None
        level_words = "région" if niveau == "region" else "département"
        fig = charts.choropleth(shown, geo.read_geojson(layer), indicateur, f"{label} par {level_words}",
                                where + ("" if scope.region else " · outre-mer en encarts à l'ouest"),
                                value_label=unit, percent=percent, decimals=1 if indicateur != "structures" else 0,
                                codes=codes, value_text="couverture_texte" if percent else None)
        st.plotly_chart(fig, width="stretch", key="carte")
    if indicateur == "couverture":
        sources = bundle["sources_reference"]
        st.caption("Population de référence : " + layout.escape_markdown(" ; ".join(
            f"{s.source} ({s.annee})" for s in sources.itertuples())) + ". Territoires gris : pas de référence fournie."
            + (" Là où elle est une fourchette (minimum – maximum), le taux est un intervalle, lu au survol ; la "
               "couleur en marque le milieu." if ranges else ""))
    elif indicateur == "taux_100k":
        st.caption("Population : somme des populations communales du Code officiel géographique 2026.")
    layout.secret_note(shown)
    in_data = shown[shown["structures"].astype(float).fillna(1) > 0] if not scope.region else shown
    layout.data_table(in_data, {
        "code": ("Code", "texte"), "nom": ("Territoire", "texte"), "structures": ("Structures accompagnées", "nombre"),
        "accompagnements": ("Accompagnements", "nombre"), "heures": ("Heures", "decimal"),
        "population": ("Population", "nombre"), "taux_100k": ("Pour 100 000 habitants", "decimal"),
        "reference_texte": ("Population de référence", "texte"), "couverture_texte": ("Taux de couverture", "texte"),
        **({"couverture_min": ("Couverture basse", "part"), "couverture_max": ("Couverture haute", "part")}
           if ranges else {}),
        "heures_par_structure": ("Heures par structure", "decimal")}, name=f"territoires_{niveau}")

communes = bundle["communes"]
role_secrecy = page.rules.statistical_secrecy
if (scope.region or scope.departement) and communes.empty and role_secrecy and (scope.domaine or scope.programme):
    st.info("En vue financeur, les communes sont détaillées sans filtre de domaine ni de programme : retirez ces "
            "filtres pour les voir (le secret statistique ne peut pas protéger chaque commune de chaque domaine).",
            icon=":material/lock:")
elif (scope.region or scope.departement) and communes.empty:
    st.info("Aucune commune ne compte assez de structures accompagnées pour être montrée sans lever le secret "
            "statistique.", icon=":material/lock:")
elif scope.region or scope.departement:
    labelled = communes.assign(libelle=lambda f: f["nom"] + " (" + f["code_departement"] + ")")
    # At région level, a top 20 of communes with one structure each would be an arbitrary list: the chart keeps
    # the communes that gather several; the table below still lists them all.
    ranked = labelled if scope.departement else labelled[labelled["structures"] > 1]
    if ranked.empty:
        st.caption("Aucune commune ne compte plus d'une structure accompagnée : le tableau ci-dessous les liste toutes.")
    else:
        layout.chart_of_visible(ranked, lambda visible: charts.bars(
            visible.head(20), "libelle", "structures", "Communes comptant le plus de structures accompagnées"
            + ("" if scope.departement else " (plus d'une)"), where,
            axis_title="Structures accompagnées", color=charts.OKABE_ITO[2], hover_unit="structures"), key="communes")
    layout.data_table(communes, {
        "nom": ("Commune", "texte"), "code": ("Code INSEE", "texte"), "epci": ("EPCI", "texte"),
        "population": ("Population", "nombre"), "structures": ("Structures accompagnées", "nombre"),
        "accompagnements": ("Accompagnements", "nombre"), "heures": ("Heures", "decimal")},
        label=f"Données : les {fmt.nombre(len(communes))} communes", name="communes")

st.header("Zones blanches")
blanks = bundle["zones_blanches"]
st.caption("Intercommunalités (EPCI) des régions suivies par l'observatoire où **aucune structure n'est accompagnée** "
           "dans le périmètre choisi. Faute de recensement des structures culturelles par EPCI, la colonne « structures "
           "connues » indique les structures de l'entrepôt qui y ont leur siège (accompagnées à une autre période ou "
           "par un autre programme) ; la population dit l'ampleur de la zone.")
if blanks.empty:
    st.success("Aucune zone blanche : chaque intercommunalité du périmètre compte au moins une structure accompagnée.")
else:
    st.metric("Intercommunalités sans structure accompagnée", fmt.nombre(len(blanks)), border=True)
    if "structures_connues" in blanks.columns:  # not sent to a role under secrecy: small counts of structures
        known = int((blanks["structures_connues"] > 0).sum())
        st.caption(f"Dont {fmt.nombre(known)} où l'entrepôt connaît des structures non accompagnées dans ce "
                   "périmètre.")
    layout.table(blanks, {
        "nom_epci": ("Intercommunalité", "texte"), "departement": ("Département", "texte"),
        "communes": ("Communes", "nombre"), "population": ("Population", "nombre"),
        "structures_connues": ("Structures connues", "nombre")}, height=320, key="zones_blanches")

st.header("Portrait de territoire")
# Funders compare départements only: an EPCI is no cell of the published cube, so its figures would be secret.
choices = data.fetch(q.comparison_choices, scope, not page.rules.statistical_secrecy)
if not choices:
    layout.empty_state()
    st.stop()
left, right = st.columns([3, 2])
areas = filters.url_choices("Territoires comparés (départements ou intercommunalités)", choices, "portrait",
                            [next(iter(choices))], max_selections=q.MAX_AREAS, container=left,
                            placeholder="Choisissez jusqu'à six territoires")
reference = filters.url_choice("Comparer à", q.REFERENCES, "reference", "region", container=right)
portrait = data.fetch(q.protected_comparison, scope, areas, reference, role)
ref_name = data.fetch(q.reference_label, areas, reference)
series = {key: choices[key] for key in areas}
if ref_name:
    series["reference"] = ref_name
scope_words = filters.describe(scope.__class__(None, None, scope.programme, scope.domaine, scope.depuis, scope.jusqu_au))
flags = portrait["secret"] if "secret" in portrait.columns else pd.Series(False, index=portrait.index)
rows = portrait.set_index("cle")


def show(key: str, column: str) -> str:
    """A cell of the comparison in French: "secret", "—", or the value (the coverage as its interval)."""
    value, kind = rows.loc[key, column], rows.loc[key, "format"]
    if value is None and bool(rows.loc[key].get("secret", False)):
        return fmt.SECRET
    if value is None or value != value:
        return "—"
    if key == "couverture":
        return fmt.couverture(rows.loc["couverture_min", column], rows.loc["couverture_max", column])
    return fmt.pourcentage(value, 1) if kind == "part" else fmt.nombre(value, 1 if kind == "decimal" else 0)


SHORT = {"structures": "Structures accompagnées", "taux_100k": "Pour 100 000 habitants",
         "couverture": "Taux de couverture", "heures_par_structure": "Heures par structure"}
if len(areas) == 1:  # one territory: its key figures as cards, its reference under each
    metrics = st.columns(2) + st.columns(2)
    for column, key in zip(metrics, SHORT):
        under = f"{ref_name} : {show(key, 'reference')}" if ref_name else None
        column.metric(SHORT[key], show(key, areas[0]), under, delta_color="off", delta_arrow="off", border=True)
parts = portrait[(portrait["format"] == "part") & ~portrait["cle"].isin(q.COVERAGE_BOUNDS)]
parts = parts[parts[list(series)].notna().any(axis=1)]
bounds = {column: [(rows.loc["couverture_min", column], rows.loc["couverture_max", column])
                   if key == "couverture" and pd.notna(rows.loc["couverture_min", column]) else None
                   for key in parts["cle"]] for column in series}
title = (f"Portrait : {choices[areas[0]]} comparé à {ref_name}" if len(areas) == 1 and ref_name
         else f"Portrait : {choices[areas[0]]}" if len(areas) == 1
         else f"Portrait : {len(areas)} territoires côte à côte" + (f", et {ref_name}" if ref_name else ""))
if not parts.empty:
    st.plotly_chart(charts.share_comparison(parts, series, title, scope_words, bounds=bounds), width="stretch",
                    key="portrait")
if (rows.loc["couverture_min", list(series)].astype(float) != rows.loc["couverture_max", list(series)].astype(float)
        ).any() and rows.loc["couverture_min", list(series)].notna().any():
    st.caption("Taux de couverture : la population de référence est une fourchette (par exemple Sirène et une "
               "enquête) ; le taux est l'intervalle structures ÷ maximum … structures ÷ minimum, la barre en "
               "marque le milieu.")
layout.secret_note(portrait)
table = portrait[~portrait["cle"].isin(q.COVERAGE_BOUNDS)]
layout.data_table(table.assign(**{column: [show(key, column) for key in table["cle"]] for column in series})
                  .drop(columns="secret", errors="ignore"),
                  {"indicateur": ("Indicateur", "texte"), **{column: (label, "texte") for column, label in series.items()}},
                  name="portrait")
