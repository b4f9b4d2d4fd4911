"""Observatoire — entry point: a router and nothing else.

Pages are declared as data below; the global filters and the demo banner are
drawn here so that every page shares them. A signed-in role only receives the
pages it may open (pipelines.privacy.roles), so the others are never run for it; a
visitor who is not signed in gets the sign-in form on whichever address was
opened, and that page once signed in.
"""

import streamlit as st

from dashboard import auth, data, filters, layout

# A local icon: a Material icon as favicon is fetched from Google's font servers, which an offline
# installation cannot reach.
st.set_page_config(page_title="Observatoire de l'ESS culturelle", page_icon="dashboard/icone.png", layout="wide")

# Section → pages as (script, French title, icon, URL path). The URL path names the page in pipelines.privacy.roles.
PAGES = {
    "Tableau de bord": [
        ("pages/vue_ensemble.py", "Vue d'ensemble", ":material/dashboard:", "vue-ensemble"),
        ("pages/structures.py", "Structures accompagnées", ":material/apartment:", "structures"),
        ("pages/besoins.py", "Typologie des besoins", ":material/category:", "besoins"),
        ("pages/territoires.py", "Territoires", ":material/map:", "territoires"),
        ("pages/resultats.py", "Résultats des programmes", ":material/trending_up:", "resultats"),
        ("pages/temoignages.py", "Témoignages", ":material/format_quote:", "temoignages"),
    ],
    "Pilotage": [
        ("pages/plan.py", "Plan d'action", ":material/flag:", "plan"),
        ("pages/reunion.py", "Mode réunion", ":material/co_present:", "reunion"),
    ],
    "Données": [
        ("pages/importer.py", "Importer des données", ":material/upload_file:", "importer"),
    ],
}
SIGN_IN = ("pages/connexion.py", "Connexion", ":material/login:", "connexion")

if not layout.warehouse_ready():
    st.stop()
# Not signed in: every page is routable (each stops at its sign-in form) but the menu stays hidden.
navigation = st.navigation(auth.visible_pages(PAGES, SIGN_IN), position="sidebar" if auth.current_role() else "hidden")
layout.demo_banner(slim=navigation.url_path == "reunion")  # meeting mode: the projector keeps its room
if auth.current_role():
    layout.signed_in_badge()
    data.publish_ahead()  # the funder's published cube, protected in the background once per warehouse version
    st.session_state["scope"] = filters.sidebar_scope()
navigation.run()
