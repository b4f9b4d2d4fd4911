"""Mode réunion (built in a later issue)."""
from dashboard import layout
import streamlit as st

st.title("Mode réunion")
layout.not_built("une présentation pour vidéoprojecteur : un chiffre ou un graphique par écran, en grand, "
                 "avec l'ordre du jour vue d'ensemble → besoins → territoires → résultats → témoignages.")
