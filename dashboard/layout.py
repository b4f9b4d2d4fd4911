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


def signed_in_badge() -> None:
    """Who is signed in, with which role, at the top of the sidebar (the Connexion page signs out)."""
    from dashboard import auth

    rules = auth.rules()
    st.sidebar.caption(f":material/account_circle: {auth.current_user() or 'Compte'} · rôle **{rules.label}**"
                       + (" · secret statistique appliqué" if rules.statistical_secrecy else ""))


def empty_state() -> None:
    st.info(EMPTY_TEXT, icon=":material/search_off:")


def not_built(what: str) -> None:
    st.info(f"Cette page n'est pas encore construite. Elle présentera : {what}", icon=":material/construction:")


def data_expander(frame, label: str = "Données") -> None:
    """The figures behind a chart, viewable and downloadable."""
    with st.expander(label):
        st.dataframe(frame, hide_index=True, width="stretch")


# Columns of a table: name → (French label, kind). Kinds: "texte", "nombre", "decimal", "part" (0–1 shown
# as a percentage), "date", "lien". Numbers stay numbers (sortable) and show with the reader's locale.

def table(frame, columns: dict[str, tuple[str, str]], *, height: int | str = "auto", key: str | None = None) -> None:
    """A sortable table with French headers; only the listed columns, in that order."""
    import streamlit as st

    shown = frame[[c for c in columns if c in frame.columns]].copy()
    config = {}
    for column, (label, kind) in columns.items():
        if column not in shown.columns:
            continue
        if kind == "part":
            shown[column] = shown[column].astype(float) * 100
            config[column] = st.column_config.NumberColumn(f"{label} (%)", format="localized")
        elif kind in ("nombre", "decimal"):
            config[column] = st.column_config.NumberColumn(label, format="localized")
        elif kind == "date":
            config[column] = st.column_config.DateColumn(label, format="DD/MM/YYYY")
        elif kind == "lien":
            config[column] = st.column_config.LinkColumn(label)
        else:
            config[column] = st.column_config.TextColumn(label)
    st.dataframe(shown, hide_index=True, width="stretch", column_config=config, height=height, key=key)


def data_table(frame, columns: dict[str, tuple[str, str]], label: str = "Données") -> None:
    """The figures behind a chart in an expander (sortable, downloadable as CSV from the table menu)."""
    import streamlit as st

    with st.expander(label):
        table(frame, columns)


MARKDOWN_SPECIALS = "\\`*_{}[]()#+-.!|<>~$:"


def escape_markdown(text) -> str:
    """Text from the data, made inert for widgets that render Markdown (labels, captions)."""
    return "".join("\\" + ch if ch in MARKDOWN_SPECIALS else ch for ch in str(text))


def testimony_card(row) -> None:
    """One testimony as plain text: the text is never interpreted as HTML or Markdown."""
    import pandas as pd
    import streamlit as st

    with st.container(border=True):
        if not bool(getattr(row, "consentement_publication", True)):  # only the analyst view receives these
            st.warning("Sans consentement de publication : ne pas diffuser.", icon=":material/visibility_off:")
        st.text(row.texte)
        who = [row.auteur_role] if isinstance(row.auteur_role, str) else []
        if isinstance(row.structure, str):
            who.append(row.structure)
        place = [p for p in (row.commune, row.departement, row.region) if isinstance(p, str)]
        date = pd.Timestamp(row.date).strftime("%d/%m/%Y")
        st.text(" — ".join(who) if who else "Auteur non précisé")
        st.caption(escape_markdown(f"{row.programme} · {', '.join(dict.fromkeys(place))} · {date}"))
        if isinstance(row.lien_media, str) and row.lien_media.startswith(("http://", "https://")):
            st.link_button("Voir le média", row.lien_media, icon=":material/play_circle:")
