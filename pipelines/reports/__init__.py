"""What leaves the warehouse as a document: CSV/XLSX exports, chart figures, French number formats and
the committee's PDF report. No Streamlit here: the dashboard and the CLI share these."""
