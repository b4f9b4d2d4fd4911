"""Pieces of page furniture every page shares."""

from __future__ import annotations

import streamlit as st

from dashboard import data
from pipelines import warehouse

DEMO_TEXT = (
    "**Données de démonstration synthétiques.** Les structures, programmes et témoignages affichés sont "
    "générés automatiquement : ils ne décrivent aucune structure ni aucune personne réelles."
)
EMPTY_TEXT = "Aucun accompagnement ne correspond aux filtres choisis : élargissez la région, le programme ou la période."


def warehouse_ready() -> bool:
    """False (with instructions) when there is no warehouse to read yet."""
    if data.db().exists():
        return True
    st.error(
        f"Aucun entrepôt de données trouvé ({data.db()}). Créez-le avec la démonstration :\n\n"
        "`python -m pipelines init --demo`\n\nou importez vos propres fichiers (voir le README)."
    )
    return False


def demo_banner() -> None:
    if data.is_demo():
        st.warning(DEMO_TEXT, icon=":material/science:")


def empty_state() -> None:
    st.info(EMPTY_TEXT, icon=":material/search_off:")


def not_built(what: str) -> None:
    st.info(f"Cette page n'est pas encore construite. Elle présentera : {what}", icon=":material/construction:")


def data_expander(frame, label: str = "Données") -> None:
    """The figures behind a chart, viewable and downloadable."""
    with st.expander(label):
        st.dataframe(frame, hide_index=True, width="stretch")
