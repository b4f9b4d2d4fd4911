"""Pieces of page furniture every page shares."""

from __future__ import annotations

import logging

import streamlit as st

from dashboard import auth, data
from pipelines.demo import loader as demo_loader
from pipelines.privacy import secret
from pipelines.reports import exports, fmt
from pipelines.store import schema, warehouse

DEMO_TEXT = (
    "**Données de démonstration synthétiques.** Les structures, programmes et témoignages affichés sont "
    "générés automatiquement : ils ne décrivent aucune structure ni aucune personne réelles."
)
EMPTY_TEXT = "Aucun accompagnement ne correspond aux filtres choisis : élargissez la région, le programme ou la période."


def warehouse_ready() -> bool:
    """False (with instructions) when there is no warehouse to read yet, or one made by an older version
    (the dashboard only reads: it cannot add the tables a newer version expects)."""
    try:
        present = data.db().exists()
    except warehouse.WarehouseUnreachable as exc:  # a lake whose PostgreSQL is down: there, only not answering
        logging.getLogger(__name__).warning("%s", exc)  # the masked address, for whoever runs the server
        st.error("Catalogue du lac injoignable : le serveur PostgreSQL qui le tient ne répond pas. Les données ne "
                 "sont pas perdues ; réessayez dans un instant, ou prévenez la personne qui gère le serveur.")
        return False
    if not present:
        st.error(
            f"Aucun entrepôt de données trouvé ({data.db()}). Créez-le avec la démonstration :\n\n"
            "`python -m pipelines init --demo`\n\nou importez vos propres fichiers (voir le README)."
        )
        return False
    found = data.fetch(schema.current_version)
    if found < schema.SCHEMA_VERSION:
        st.error(f"L'entrepôt {data.db()} a été créé par une version précédente d'Observatoire (schéma {found}, "
                 f"attendu {schema.SCHEMA_VERSION}) : mettez-le à jour, ses données sont gardées :\n\n"
                 f"`python -m pipelines init --db {data.db()}`")
        return False
    return True


SLIM_DEMO_TEXT = ":material/science: **Démonstration synthétique** : aucune structure ni personne réelle."


MIXED_DEMO_TEXT = (" **Des fichiers y ont été importés depuis** : les chiffres mêlent ces données et la démonstration ; "
                   "pour vos propres données, utilisez un entrepôt à part (voir le README).")


def french_widgets() -> None:
    """Streamlit's file uploader and date fields have English texts and no way to set them ("Upload",
    "500MB per file", "dd/mm/yyyy"): the same places, in French, drawn by CSS over the originals. A dropped
    file's size ("67.0KB") cannot be rewritten so: it is hidden, and the report's line of the file gives it."""
    limit = st.get_option("server.maxUploadSize")
    st.markdown(f"""<style>
[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] p {{ font-size: 0; }}
[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] p::after {{
  content: "Choisir des fichiers"; font-size: 1rem; }}
[data-testid="stFileUploaderDropzoneInstructions"] span {{ font-size: 0; }}
[data-testid="stFileUploaderDropzoneInstructions"] span::before {{
  content: "Glissez-déposez ici, ou choisissez · {limit} Mo au plus par fichier · CSV, TXT, TSV, XLSX";
  font-size: 0.875rem; }}
[data-testid="stFileChip"] [data-testid="stFileChipName"] + div {{ display: none; }}
[data-testid="stDateInputField"] [data-placeholder="true"][data-type="day"],
[data-testid="stDateInputField"] [data-placeholder="true"][data-type="year"] {{ font-size: 0; }}
[data-testid="stDateInputField"] [data-placeholder="true"][data-type="day"]::before {{ content: "jj"; font-size: 1rem; }}
[data-testid="stDateInputField"] [data-placeholder="true"][data-type="year"]::before {{ content: "aaaa"; font-size: 1rem; }}
</style>""", unsafe_allow_html=True)


def demo_banner(slim: bool = False) -> None:
    """The demo warning; on a projector (meeting mode) one short line, so the screen keeps its room. When files
    were imported into the demo, it no longer says that everything shown is synthetic."""
    if data.is_demo():
        mixed = data.fetch(demo_loader.other_imports) > 0
        if slim:
            st.caption(SLIM_DEMO_TEXT + (" Des fichiers importés s'y ajoutent." if mixed else ""))
        else:
            st.warning(DEMO_TEXT + (MIXED_DEMO_TEXT if mixed else ""), icon=":material/science:")


def signed_in_badge() -> None:
    """Who is signed in, with which role, at the top of the sidebar (the Connexion page signs out)."""
    rules = auth.rules()
    st.sidebar.caption(f":material/account_circle: {escape_markdown(auth.current_user() or 'Compte')} · rôle **{rules.label}**"
                       + (" · secret statistique appliqué" if rules.statistical_secrecy else ""))


def empty_state() -> None:
    st.info(EMPTY_TEXT, icon=":material/search_off:")


def download_buttons(frame, name: str) -> None:
    """CSV (French Excel) and XLSX of a table, generated only when clicked."""
    csv_column, xlsx_column = st.columns(2)
    csv_column.download_button("CSV (Excel français)", lambda: exports.to_csv_bytes(frame), file_name=f"{name}.csv",
                               mime="text/csv", key=f"csv_{name}", on_click="ignore", icon=":material/download:")
    xlsx_column.download_button(
        "XLSX", lambda: exports.to_xlsx_bytes({name: frame}), file_name=f"{name}.xlsx", key=f"xlsx_{name}",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", on_click="ignore",
        icon=":material/download:")


def data_expander(frame, label: str = "Données", name: str | None = None) -> None:
    """The figures behind a chart, viewable and downloadable (masked cells read "secret")."""
    shown = exports.shown_with_secret(frame)
    with st.expander(label):
        st.dataframe(_as_text_where_secret(shown), hide_index=True, width="stretch")
        if name:
            download_buttons(shown, name)


def _as_text_where_secret(frame):
    """Columns mixing numbers and "secret", as French text (a table column holds one type)."""
    def text(value):
        if isinstance(value, str) or value is None:
            return value
        return fmt.nombre(value, 0 if float(value).is_integer() else 2)

    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object and out[column].map(lambda v: v == fmt.SECRET).any():
            out[column] = out[column].map(text)
    return out


def without_secret(frame):
    """The rows a chart can draw: those the query layer did not mask."""
    return secret.visible_rows(frame)


def chart_of_visible(frame, draw, *, key: str | None = None, marks: bool = False, title: str = "") -> None:
    """Plot `draw(visible rows)` — or `draw(every row)` with `marks`, for charts that show masked rows as
    "secret" (pipelines.reports.charts.bars and its kin) — or say that secrecy leaves nothing to plot."""
    visible = without_secret(frame)
    if visible.empty and len(frame):  # the chart's title still says which chart it would have been
        st.info((f"**{escape_markdown(title)}** — t" if title else "T") + "outes les valeurs de ce graphique sont "
                "couvertes par le secret statistique (moins de 3 structures) : élargissez les filtres.",
                icon=":material/lock:")
        return
    st.plotly_chart(draw(frame if marks else visible), width="stretch", key=key)


def secret_note(*parts) -> None:
    """Under secrecy, say that values are masked and why (once per screen)."""
    def masked(part) -> bool:
        if part is None:
            return True
        if hasattr(part, "columns"):
            return "secret" in part.columns and bool(part["secret"].any())
        if isinstance(part, (list, tuple)) or hasattr(part, "__iter__") and not isinstance(part, str):
            return any(masked(p) for p in part)
        return False

    if any(masked(p) for p in parts):
        st.caption(f":material/lock: {secret.rule_text()}")


# Columns of a table: name → (French label, kind). Kinds: "texte", "nombre", "decimal", "part" (0–1 shown
# as a percentage), "date", "lien". Numbers stay numbers (sortable) and show with the reader's locale.

def height_for(rows: int, at_most: int) -> int:
    """A table's height in pixels for `rows` rows, scrolling beyond `at_most`: a short result (a search that
    finds one structure) is not drawn above a column of empty rows."""
    return 38 + 35 * min(max(rows, 1), at_most)


def table(frame, columns: dict[str, tuple[str, str]], *, height: int | str = "auto", key: str | None = None) -> None:
    """A sortable table with French headers; only the listed columns, in that order.

    Under statistical secrecy, the cells the query layer masked (None on a row flagged `secret`)
    read "secret"; their columns are then shown as French-formatted text.
    """
    shown = frame[[c for c in columns if c in frame.columns]].copy()
    flagged = frame["secret"].astype(object).fillna(True).astype(bool) if "secret" in frame.columns else None
    config = {}
    for column, (label, kind) in columns.items():
        if column not in shown.columns:
            continue
        hidden = flagged & shown[column].isna() if flagged is not None else None
        if hidden is not None and hidden.any() and kind in ("nombre", "decimal", "part"):
            render = {"part": lambda v: fmt.pourcentage(v, 1), "decimal": lambda v: fmt.nombre(v, 1)}.get(
                kind, fmt.nombre)
            shown[column] = [fmt.SECRET if h else render(v) for v, h in zip(shown[column], hidden)]
            config[column] = st.column_config.TextColumn(label)
        elif kind == "part":
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


def data_table(frame, columns: dict[str, tuple[str, str]], label: str = "Données", name: str | None = None) -> None:
    """The figures behind a chart in an expander, sortable, with CSV and XLSX downloads when `name` is given."""
    with st.expander(label):
        table(frame, columns)
        if name:
            kept = [c for c in columns if c in frame.columns] + (["secret"] if "secret" in frame.columns else [])
            export = exports.shown_with_secret(frame[kept]).rename(
                columns={c: columns[c][0] for c in columns if c in frame.columns})
            download_buttons(export, name)


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
