#!/usr/bin/env bash
# Installs everything, builds the warehouse on the synthetic demo, and serves the dashboard.
# Usage: ./scripts/demarrer.sh [--server.port 8501 …]  (extra arguments go to streamlit run)
source "$(dirname "$0")/_venv.sh" requirements.txt
.venv/bin/python -m pipelines init --demo
exec .venv/bin/streamlit run app.py "$@"
