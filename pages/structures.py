"""Structures accompagnées (built in a later issue)."""
from dashboard import layout
import streamlit as st

st.title("Structures accompagnées")
layout.not_built("la liste des structures, leurs répartitions par domaine, forme juridique et taille, et le profil de chaque structure.")
