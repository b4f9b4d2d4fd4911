"""Streamlit-side helpers shared by the pages (filters, cached queries, charts, formatting)."""
