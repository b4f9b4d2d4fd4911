"""Observatoire — entry point: a router and nothing else.

Pages are declared as data below; the global filters and the demo banner are
drawn here so that every page shares them.
"""

import streamlit as st

from dashboard import filters, layout

st.set_page_config(page_title="Observatoire de l'ESS culturelle", page_icon=":material/theater_comedy:", layout="wide")

PAGES = {
    "Tableau de bord": [
        st.Page("pages/vue_ensemble.py", title="Vue d'ensemble", icon=":material/dashboard:", url_path="vue-ensemble", default=True),
        st.Page("pages/structures.py", title="Structures accompagnées", icon=":material/apartment:", url_path="structures"),
        st.Page("pages/besoins.py", title="Typologie des besoins", icon=":material/category:", url_path="besoins"),
        st.Page("pages/territoires.py", title="Territoires", icon=":material/map:", url_path="territoires"),
        st.Page("pages/resultats.py", title="Résultats des programmes", icon=":material/trending_up:", url_path="resultats"),
        st.Page("pages/temoignages.py", title="Témoignages", icon=":material/format_quote:", url_path="temoignages"),
    ],
    "Réunion": [
        st.Page("pages/reunion.py", title="Mode réunion", icon=":material/co_present:", url_path="reunion"),
    ],
    "Données": [
        st.Page("pages/importer.py", title="Importer des données", icon=":material/upload_file:", url_path="importer"),
    ],
}

navigation = st.navigation(PAGES)
if not layout.warehouse_ready():
    st.stop()
layout.demo_banner()
st.session_state["scope"] = filters.sidebar_scope()
navigation.run()
