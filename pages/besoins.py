"""Typologie des besoins (built in a later issue)."""
from dashboard import layout
import streamlit as st

st.title("Typologie des besoins")
layout.not_built("la typologie des besoins à deux niveaux, la part de chaque catégorie et leur évolution.")
