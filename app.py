"""Observatoire — entry point: a router and nothing else.

Pages are declared as data below; the global filters and the demo banner are
drawn here so that every page shares them. A signed-in role only receives the
pages it may open (pipelines.privacy.roles), so the others are never run for it; a
visitor who is not signed in gets the sign-in form on whichever address was
opened, and that page once signed in.
"""

import streamlit as st

from dashboard import auth, data, filters, layout
from pipelines.privacy import roles

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
        ("pages/soumissions.py", "Soumissions des structures", ":material/inbox:", "soumissions"),
        ("pages/observation.py", "Observation participative", ":material/groups:", "observation"),
    ],
    "Structures": [
        ("pages/contribuer.py", "Mon espace", ":material/home:", "contribuer"),
        ("pages/rejoindre.py", "Rejoindre l'observatoire", ":material/person_add:", "rejoindre"),
    ],
}
SIGN_IN = ("pages/connexion.py", "Connexion", ":material/login:", "connexion")

layout.french_widgets()
if not layout.warehouse_ready():
    st.stop()
auth.open_personal_link()  # an address with `jeton=`: that structure's space, and only that
# Not signed in: every page is routable (each stops at its sign-in form) but the menu stays hidden.
navigation = st.navigation(auth.visible_pages(PAGES, SIGN_IN), position="sidebar" if auth.current_role() else "hidden",
                           expanded=True)  # every page in sight: a long menu folded under "View more" hides some
layout.demo_banner(slim=navigation.url_path == "reunion")  # meeting mode: the projector keeps its room
if navigation.url_path != "contribuer" and st.session_state.get(auth.LINK_ERROR):
    st.error(st.session_state.pop(auth.LINK_ERROR), icon=":material/link_off:")  # a personal link that opened nothing
if auth.current_role() == roles.STRUCTURE.code:
    layout.signed_in_badge()  # a structure has no filters: its space is about itself
elif auth.current_role():
    layout.signed_in_badge()
    data.publish_ahead()  # the funder's published cube, protected in the background once per warehouse version
    st.session_state["scope"] = filters.sidebar_scope()
navigation.run()
