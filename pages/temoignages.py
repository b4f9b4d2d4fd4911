"""Témoignages (built in a later issue)."""
from dashboard import layout
import streamlit as st

st.title("Témoignages")
layout.not_built("les témoignages des structures accompagnées, publiés avec leur consentement.")
