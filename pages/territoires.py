"""Territoires: maps by région / département, drill-down to communes, zones blanches, portrait."""

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
                                codes=codes)
        st.plotly_chart(fig, width="stretch", key="carte")
    if indicateur == "couverture":
        sources = bundle["sources_reference"]
        st.caption("Population de référence : " + layout.escape_markdown(" ; ".join(
            f"{s.source} ({s.annee})" for s in sources.itertuples())) + ". Territoires gris : pas de référence fournie.")
    elif indicateur == "taux_100k":
        st.caption("Population : somme des populations communales du Code officiel géographique 2026.")
    layout.secret_note(shown)
    in_data = shown[shown["structures"].astype(float).fillna(1) > 0] if not scope.region else shown
    layout.data_table(in_data, {
        "code": ("Code", "texte"), "nom": ("Territoire", "texte"), "structures": ("Structures accompagnées", "nombre"),
        "accompagnements": ("Accompagnements", "nombre"), "heures": ("Heures", "decimal"),
        "population": ("Population", "nombre"), "taux_100k": ("Pour 100 000 habitants", "decimal"),
        "reference": ("Population de référence", "nombre"), "couverture": ("Taux de couverture", "part"),
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
departements = data.fetch(q.by_territory, scope, "departement")
departements = departements[departements["structures"] > 0]  # only codes and names reach the browser
if departements.empty:
    layout.empty_state()
    st.stop()
options = dict(zip(departements["code"], departements["code"] + " – " + departements["nom"]))
left, right = st.columns(2)
code = filters.url_choice("Département", options, "portrait", widget="selectbox", container=left)
reference = filters.url_choice("Comparer à", {"region": "Sa région", "ensemble": "L'ensemble des régions suivies"},
                               "reference", "region", container=right)
portrait = data.fetch(q.protected_portrait, scope, code, reference, role)
ref_name = "sa région" if reference == "region" else "l'ensemble des régions suivies"
scope_words = filters.describe(scope.__class__(None, None, scope.programme, scope.domaine, scope.depuis, scope.jusqu_au))


def show(value, kind, masked=False):
    if masked:
        return fmt.SECRET
    if value is None or value != value:
        return "—"
    return fmt.pourcentage(value, 1) if kind == "part" else fmt.nombre(value, 1 if kind == "decimal" else 0)


cards = portrait.set_index("cle")
SHORT = {"structures": "Structures accompagnées", "taux_100k": "Pour 100 000 habitants",
         "couverture": "Taux de couverture", "heures_par_structure": "Heures par structure"}
metrics = st.columns(2) + st.columns(2)
for column, key in zip(metrics, SHORT):
    row = cards.loc[key]
    masked = bool(row.get("secret", False))
    column.metric(SHORT[key], show(row["territoire"], row["format"], masked and row["territoire"] is None),
                  f"{ref_name.capitalize()} : {show(row['reference'], row['format'], masked and row['reference'] is None)}",
                  delta_color="off",
                  delta_arrow="off", border=True)
parts = portrait[portrait["format"] == "part"].dropna(subset=["territoire"])
parts = parts.assign(territoire_libelle=options[code], reference_libelle=ref_name)
st.plotly_chart(charts.grouped_bars(parts, "indicateur", {"territoire": options[code], "reference": ref_name.capitalize()},
                                    f"Portrait : {options[code]} comparé à {ref_name}", scope_words,
                                    y_title="Part", horizontal=True, height=380)
                .update_xaxes(tickformat=".0%").update_traces(hovertemplate="%{y} : %{x:.1%}<extra></extra>"),
                width="stretch", key="portrait")
flags = portrait["secret"] if "secret" in portrait.columns else [False] * len(portrait)
layout.secret_note(portrait)
layout.data_table(portrait.assign(
    territoire=[show(v, k, m and v is None) for v, k, m in zip(portrait["territoire"], portrait["format"], flags)],
    reference=[show(v, k, m and v is None) for v, k, m in zip(portrait["reference"], portrait["format"], flags)]
).drop(columns="secret", errors="ignore"),
                  {"indicateur": ("Indicateur", "texte"), "territoire": (options[code], "texte"),
                   "reference": (ref_name.capitalize(), "texte")})
