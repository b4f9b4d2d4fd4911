"""Territoires (built in a later issue)."""
from dashboard import layout
import streamlit as st

st.title("Territoires")
layout.not_built("les cartes par région, département et commune, les zones blanches et le portrait de territoire.")
