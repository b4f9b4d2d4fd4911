"""Résultats des programmes (built in a later issue)."""
from dashboard import layout
import streamlit as st

st.title("Résultats des programmes")
layout.not_built("les étapes par programme, les heures réalisées, les ateliers et le suivi à 6 et 12 mois.")
