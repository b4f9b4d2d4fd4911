"""Typologie des besoins: typology, main-need shares, comparison, evolution, co-occurrence."""

import streamlit as st

from dashboard import data, filters, layout
from dashboard.page import start
from pipelines.queries import besoins as q
from pipelines.queries import indicators
from pipelines.reports import charts

page = start("besoins", "Typologie des besoins", "besoin principal de chaque accompagnement, typologie à deux niveaux")
scope, where = page.scope, page.where

axe = filters.url_choice("Comparer les besoins principaux selon", q.AXES, "comparer", "domaine")
bundle = data.fetch(q.page_data, scope, axe, page.role)
hierarchy = bundle["hierarchie"]
if hierarchy.empty:
    layout.empty_state()
    st.stop()
layout.secret_note(*(frame for frame in bundle.values() if frame is not None))

nodes = bundle.get("treemap", hierarchy)  # under secrecy: masked needs merged into "autres" leaves
if nodes is None or nodes.empty:
    st.info("Toutes les valeurs de ce graphique sont couvertes par le secret statistique (moins de 3 structures) : "
            "élargissez les filtres.", icon=":material/lock:")
else:
    st.plotly_chart(charts.needs_treemap(nodes, "Besoins principaux par catégorie et par besoin", where),
                    width="stretch", key="treemap")
layout.data_table(hierarchy, {"categorie_libelle": ("Catégorie", "texte"), "libelle": ("Besoin", "texte"),
                              "code": ("Code", "texte"), "accompagnements": ("Accompagnements", "nombre"),
                              "part": ("Part", "part")}, name="besoins")
left, right = st.columns(2)
with left:
    categories = bundle["categories"]
    layout.chart_of_visible(categories, lambda shown: charts.besoin_shares(
        shown, "Part de chaque catégorie comme besoin principal", where), key="parts", marks=True)
    layout.data_table(categories, {"libelle": ("Catégorie", "texte"), "accompagnements": ("Accompagnements", "nombre"),
                                   "part": ("Part du besoin principal", "part")}, name="categories_besoins")
with right:
    plural = bundle["pluralite"].assign(libelle=lambda f: f["nb_besoins"].map(
        {1: "Un seul besoin", 2: "Deux besoins", 3: "Trois besoins ou plus"}))
    layout.chart_of_visible(plural.iloc[::-1], lambda shown: charts.bars(
        shown, "libelle", "part", "Nombre de besoins distincts par accompagnement", where,
        axis_title="Part des accompagnements", percent=True, color=charts.OKABE_ITO[2]), key="pluralite", marks=True)
    layout.data_table(plural, {"libelle": ("Besoins", "texte"), "accompagnements": ("Accompagnements", "nombre"),
                               "part": ("Part", "part")}, name="pluralite_besoins")

comparison = bundle["comparaison"]
label = q.AXES[axe].lower()
layout.chart_of_visible(comparison, lambda shown: charts.heatmap(
    shown, "categorie_libelle", "groupe_libelle", "part", f"Répartition des besoins principaux par {label}",
    f"{where} · chaque ligne totalise 100 %"
    + (", cases secrètes comprises" if "secret" in comparison and comparison["secret"].any() else ""),
    y_title=q.AXES[axe]), key="heatmap")
layout.data_table(comparison, {"groupe_libelle": (q.AXES[axe], "texte"), "categorie_libelle": ("Catégorie", "texte"),
                               "accompagnements": ("Accompagnements", "nombre"), "part": ("Part de la ligne", "part")},
                  name=f"besoins_par_{axe}")

years = bundle["annees"]
layout.chart_of_visible(years, lambda shown: charts.lines_by(
    shown, "annee", "part", "categorie_libelle", "Évolution de la part de chaque besoin principal par année de début",
    where, x_title="Année de début", y_title="Part des accompagnements", percent=True), key="annees")
if note := indicators.started_before_note(scope):
    st.caption(note)
layout.data_table(years, {"annee": ("Année", "texte"), "categorie_libelle": ("Catégorie", "texte"),
                          "accompagnements": ("Accompagnements", "nombre"), "part": ("Part de l'année", "part")},
                  name="besoins_par_annee")

co = bundle["cooccurrence"]
if co is None:  # not sent under secrecy: overlapping counts cannot be protected by margins
    st.caption("Les besoins exprimés ensemble (co-occurrence) ne sont pas diffusés dans la vue financeur : un "
               "accompagnement y compte dans plusieurs cases, ce que le secret statistique ne sait pas protéger.")
    st.stop()
st.plotly_chart(charts.heatmap(co, "libelle_2", "libelle_1", "accompagnements",
                               "Besoins exprimés ensemble dans un même accompagnement",
                               f"{where} · accompagnements citant les deux catégories (diagonale : citant la catégorie)",
                               percent=False), width="stretch", key="cooccurrence")
layout.data_table(co, {"libelle_1": ("Catégorie", "texte"), "libelle_2": ("Avec la catégorie", "texte"),
                       "accompagnements": ("Accompagnements", "nombre")}, name="cooccurrence_besoins")
