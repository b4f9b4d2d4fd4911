"""Importer des données (built in a later issue)."""
from dashboard import layout
import streamlit as st

from dashboard.entry import through_app

through_app()  # a direct link on a fresh server still goes through app.py

st.title("Importer des données")
layout.not_built("le dépôt de fichiers CSV ou XLSX, le rapport de validation et l'historique des imports. "
                 "En attendant, importez en ligne de commande : `python -m pipelines ingest JEU FICHIER`.")
