"""Observatoire pipelines: warehouse, ingestion, indicators (no Streamlit)."""
