"""Importer des données: upload CSV/XLSX, validation report, commit, history with undo, templates.

The page only lays out widgets: reading, validation, loading and undo live in
pipelines.ingest, templates and the data dictionary in pipelines.spec.templates.
"""

import hashlib
import logging
import math

import pandas as pd
import streamlit as st

from dashboard import data, layout, mapping
from dashboard.page import start
from pipelines import ingest
from pipelines.ingest.load import UndoRefused
from pipelines.reports import fmt
from pipelines.spec import templates
from pipelines.spec.datasets import DATASETS, LOAD_ORDER
from pipelines.store import national, warehouse

ROLE = start("importer").role  # analysts only: other roles never receive this page

LOG = logging.getLogger(__name__)
AUTO = "auto"
PREVIEW_LINES = 10
UNDO_SHOWN = 20
CHARS_PER_LINE = 70  # of the report's explanation column on a laptop screen
SEVERITY_LABELS = {"erreur": "Erreur", "avertissement": "Avertissement"}
DICTIONARY_LABELS = {"colonne": "Colonne", "obligatoire": "Obligatoire", "description": "Description",
                     "exemple": "Exemple", "type": "Type", "regle": "Règle vérifiée à l'import"}
PROBLEM_LABELS = {"fichier": "Fichier", "ligne": "Ligne", "colonne": "Colonne", "valeur": "Valeur",
                  "erreur": "Problème et correction", "gravite": "Gravité"}


def dataset_label(name: str) -> str:
    if name == AUTO:
        return "Reconnaître automatiquement (d'après les en-têtes)"
    return f"{DATASETS[name].label} ({name})"


def cached_preview(uploads: list[ingest.Upload]) -> ingest.IngestResult:
    """The validation report, recomputed only when the files, the choice or the warehouse change."""
    key = (ingest.uploads_key(uploads), str(data.db()), warehouse.version(data.db()))
    cached = st.session_state.get("import_apercu")
    if cached is None or cached[0] != key:
        cached = (key, ingest.preview(data.db(), uploads))
        st.session_state["import_apercu"] = cached
    return cached[1]


def summary_metrics(totals: dict) -> None:
    cards = [("Lignes lues", "lus"), ("Valides", "valides"), ("Rejetées", "rejetes"),
             ("Nouvelles", "nouveau"), ("Modifiées", "modifie"), ("Inchangées", "inchange")]
    for column, (label, key) in zip(st.columns(len(cards)), cards):
        column.metric(label, fmt.nombre(totals[key]))


def detection_table(result: ingest.IngestResult) -> None:
    """One line per file: what it was recognised as, how it was read, and its counts."""
    lines = []
    for f in result.files:
        name = f["fichier"].replace("`", "'")
        size = f" ({fmt.taille(f['octets'])})" if f.get("octets") is not None else ""
        lines.append(f"- `{name}`{size} → **{DATASETS[f['jeu']].label}** · {f['detection']} · "
                     f"{plural(f['lus'], 'ligne lue', 'lignes lues')}, {plural(f['rejetes'], 'rejetée')} · "
                     f"{plural(f['nouveau'], 'nouvelle')}, {plural(f['modifie'], 'modifiée')}, "
                     f"{plural(f['inchange'], 'inchangée')}")
    st.markdown("\n".join(lines))


def parsed_preview(result: ingest.IngestResult) -> None:
    for check in result.batch.files:
        lines = check.typed.head(PREVIEW_LINES)
        if lines.empty:
            continue
        rejected = set(check.rejected_lines)
        shown = lines.rename_axis("Ligne")
        shown.insert(0, "vérification", ["rejetée" if line in rejected else "valide" for line in lines.index])
        first, last = int(lines.index[0]), int(lines.index[-1])
        span = f"la ligne {first}" if first == last else f"les lignes {first} à {last}"
        renamed = ", ".join(f"« {written} » → {name}" for name, written in check.columns.items() if written != name)
        with st.expander(f"Aperçu de {check.raw.file_name} : {span}, telles qu'elles seront enregistrées"):
            st.caption(f"{plural(len(check.columns), 'colonne reconnue', 'colonnes reconnues')} sur "
                       f"{len(check.raw.headers)}{' ; renommées : ' + renamed if renamed else ''}. Les listes sont "
                       "ramenées à leurs codes, les nombres et les dates lus à la française. Une case vide est une "
                       "valeur absente, ou refusée : le rapport ci-dessous dit pourquoi.")
            dates = {c.name: st.column_config.DateColumn(format="DD/MM/YYYY")
                     for c in check.dataset.columns if c.kind == "date"}
            st.dataframe(shown, width="stretch", placeholder="", column_config=dates)


def row_height(messages) -> int | None:
    """Rows tall enough for the longest explanation to wrap (the grid wraps text only above 4rem)."""
    longest = int(messages.str.len().max()) if len(messages) else 0
    lines = math.ceil(longest / CHARS_PER_LINE)
    return None if lines <= 1 else min(max(66, 16 + 19 * lines), 130)


def report(result: ingest.IngestResult) -> None:
    problems = result.problems
    errors = int((problems["gravite"] == "erreur").sum())
    warnings = len(problems) - errors
    st.subheader("Rapport de vérification")
    if problems.empty:
        st.success("Aucun problème trouvé : toutes les lignes sont conformes au format d'échange.",
                   icon=":material/check_circle:")
        return
    st.caption(f"{plural(errors, 'erreur')}, {plural(warnings, 'avertissement')}. Les numéros de ligne "
               "sont ceux du fichier (l'en-tête est la ligne 1), les colonnes sont nommées comme dans le fichier.")
    left, middle, right = st.columns(3)
    files = left.multiselect("Fichier", sorted(problems["fichier"].unique()), key="filtre_fichier",
                             placeholder="Tous les fichiers")
    columns = middle.multiselect("Colonne", sorted(problems["colonne"].unique()), key="filtre_colonne",
                                 placeholder="Toutes les colonnes")
    severities = right.multiselect("Gravité", list(SEVERITY_LABELS), format_func=SEVERITY_LABELS.get,
                                   key="filtre_gravite", placeholder="Toutes")
    shown = problems
    if files:
        shown = shown[shown["fichier"].isin(files)]
    if columns:
        shown = shown[shown["colonne"].isin(columns)]
    if severities:
        shown = shown[shown["gravite"].isin(severities)]
    shown = shown.assign(gravite=shown["gravite"].map(SEVERITY_LABELS))[list(PROBLEM_LABELS)]
    if len(result.files) == 1:
        shown = shown.drop(columns="fichier")  # named above and in the filter: room for the explanation
    st.dataframe(shown.rename(columns=PROBLEM_LABELS), hide_index=True, width="stretch",
                 row_height=row_height(shown["erreur"]),
                 column_config={"Ligne": st.column_config.NumberColumn(width=60, format="%d"),
                                "Colonne": st.column_config.TextColumn(width=130),
                                "Valeur": st.column_config.TextColumn(width=150),
                                "Gravité": st.column_config.TextColumn(width=110),
                                "Problème et correction": st.column_config.TextColumn(width="large")})
    left, right = st.columns(2)
    if result.totals["rejetes"]:
        left.download_button("Télécharger les lignes rejetées (CSV, avec la colonne erreur)",
                             result.rejected_rows_csv(), file_name="lignes_rejetees.csv", mime="text/csv",
                             icon=":material/download:", key="telecharger_rejets")
    right.download_button("Télécharger le rapport complet (CSV)",
                          ingest.report_csv(problems.assign(gravite=problems["gravite"].map(SEVERITY_LABELS))
                                            .rename(columns={"jeu": "Jeu de données", **PROBLEM_LABELS})),
                          file_name="rapport_import.csv", mime="text/csv", icon=":material/download:",
                          key="telecharger_rapport")


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """'1 ligne valide', '2 lignes valides' (0 takes the singular in French)."""
    return f"{fmt.nombre(count)} {singular if count <= 1 else (plural_form or singular + 's')}"


def request_import() -> None:
    # A callback, not `if st.button(...)`: the click survives any rerun before the page body runs.
    st.session_state["import_demande"] = True


def commit(uploads: list[ingest.Upload], result: ingest.IngestResult, digest: str, requested: bool) -> None:
    has_errors = result.status == "erreurs"
    valid_only = False
    if has_errors:
        valid = result.totals["valides"]
        if valid == 0:
            st.warning("Aucune ligne n'est valide : corrigez le fichier d'après le rapport et déposez-le de nouveau.",
                       icon=":material/warning:")
        else:
            which = "la ligne valide" if valid == 1 else "les " + plural(valid, "ligne valide", "lignes valides")
            st.warning(f"Par défaut rien n'est importé tant que le dépôt contient des erreurs. Corrigez les lignes "
                       f"rejetées et déposez le fichier de nouveau, ou importez seulement {which}.",
                       icon=":material/warning:")
        # Keyed on the files: a new deposit starts unticked, whatever was chosen for the previous one.
        valid_only = st.checkbox("Importer uniquement les lignes valides (les lignes rejetées restent dans l'historique)",
                                 key=f"valides_seulement_{digest}", disabled=valid == 0)
    nothing_new = result.totals["nouveau"] + result.totals["modifie"] == 0
    if nothing_new and result.totals["valides"]:
        st.info("Toutes les lignes valides sont déjà dans l'entrepôt à l'identique : importer ne changerait rien.",
                icon=":material/info:")
    disabled = (has_errors and not valid_only) or result.totals["valides"] == 0 or nothing_new
    st.button("Importer", type="primary", disabled=disabled, icon=":material/upload:", key="importer",
              on_click=request_import)
    if not requested or disabled:
        return
    bar = st.progress(0.0, text="Import en cours")
    try:
        done = ingest.ingest(data.db(), uploads, valid_only=valid_only, role=ROLE, checked=result,  # checked once
                             progress=lambda fraction, label: bar.progress(min(max(fraction, 0.0), 1.0), text=label))
    except (ingest.UnreadableFile, ingest.DatasetNotRecognised, warehouse.WarehouseError) as exc:
        bar.empty()
        st.error(str(exc), icon=":material/error:")
        return
    data.clear()
    st.session_state.pop("import_apercu", None)
    st.session_state["import_message"] = (done.status, done.message)
    if done.committed:
        st.session_state["depot"] = st.session_state.get("depot", 0) + 1  # empties the uploader
    st.rerun()


def upload_tab() -> None:
    # Taken here, before any early return: a click never lingers to import a later deposit by itself.
    requested = st.session_state.pop("import_demande", False)
    status, message = st.session_state.pop("import_message", (None, None))
    if status == "importe":
        st.success(message + " Tous les tableaux de bord affichent désormais ces données.", icon=":material/check_circle:")
    elif status == "inchange":
        st.info(message, icon=":material/info:")
    elif status == "refuse":
        st.error(message, icon=":material/error:")

    if data.fetch(national.is_national):
        st.info("Cet entrepôt est la **vue nationale** : il se reconstruit à partir des entrepôts régionaux "
                "(`python -m pipelines national`) ; on n'y importe rien. Importez dans l'entrepôt de la région.",
                icon=":material/public:")
        return
    if data.is_demo():
        st.warning("Cet entrepôt contient la **démonstration synthétique** : ce que vous importez ici s'y mêle, et les "
                   "comptes publics de la démonstration le verront. Pour vos propres données, créez un entrepôt à part "
                   "(`python -m pipelines init --db data/mon-observatoire.duckdb`, puis `OBSERVATOIRE_DB`).",
                   icon=":material/science:")
    dataset = st.selectbox("Jeu de données", [AUTO, *LOAD_ORDER], format_func=dataset_label, key="jeu")
    files = st.file_uploader(
        "Fichiers CSV ou XLSX (plusieurs fichiers sont importés ensemble, dans l'ordre structures → programmes → "
        "accompagnements → ateliers → résultats → témoignages)",
        type=["csv", "txt", "tsv", "xlsx"], accept_multiple_files=True,
        key=f"fichiers_{st.session_state.get('depot', 0)}")
    if not files:
        st.caption("Glissez vos fichiers dans le cadre ci-dessus, ou cliquez sur « Choisir des fichiers ». "
                   "Besoin d'un exemple ? Les modèles et le dictionnaire des données sont dans l'onglet "
                   "« Modèles et dictionnaire ».")
        return
    uploads = [ingest.Upload(f.name, f.getvalue(), None if dataset == AUTO else dataset) for f in files]
    try:
        # Exports of other software are mapped onto a dataset first (a profile), then checked like any file.
        uploads = [mapping.mapped_upload(u, ROLE) for u in uploads]
        result = cached_preview(uploads)
    except (ingest.UnreadableFile, ingest.DatasetNotRecognised, ingest.ProfileError) as exc:
        st.error(str(exc), icon=":material/error:")
        return
    except Exception as exc:  # a bug in the checks must not leave the analyst in front of a traceback
        st.error("La vérification de ces fichiers a échoué sur une erreur interne : rien n'a été écrit. "
                 "Signalez-la avec le fichier concerné.", icon=":material/bug_report:")
        LOG.exception("upload check failed")
        with st.expander("Détail technique"):
            st.code(f"{type(exc).__name__}: {exc}", language=None)
        return
    detection_table(result)
    summary_metrics(result.totals)
    (st.warning if result.status == "erreurs" else st.success)(result.message)
    parsed_preview(result)
    report(result)
    commit(uploads, result, deposit_digest(uploads), requested)


def deposit_digest(uploads: list[ingest.Upload]) -> str:
    digest = hashlib.sha256()
    for u in uploads:
        digest.update(f"{u.name}\0{u.dataset}\0{u.profile}\0".encode() + hashlib.sha256(u.data).digest())
    return digest.hexdigest()[:16]


MODE_LABELS = {ingest.MODE_STRICT: "tout ou rien", ingest.MODE_VALID_ONLY: "valides seulement"}
STATUS_LABELS = {"importe": "importé", "annule": "annulé"}


def datasets_in_order(text: str | None) -> str:
    names = [n.strip() for n in (text or "").split(",") if n.strip()]
    return ", ".join(sorted(names, key=lambda n: LOAD_ORDER.index(n) if n in LOAD_ORDER else len(LOAD_ORDER)))


def ask_undo(import_id: int) -> None:
    st.session_state["annulation_demandee"] = import_id


def keep_import() -> None:
    st.session_state.pop("annulation_demandee", None)


def confirm_undo(import_id: int) -> None:
    # Runs as a callback: the undo happens once, before the page is drawn again with the new history.
    st.session_state.pop("annulation_demandee", None)
    try:
        restored = ingest.undo(data.db(), import_id)
    except (UndoRefused, warehouse.WarehouseError) as exc:
        st.session_state["annulation_message"] = ("refus", str(exc))
        return
    finally:
        data.clear()
    detail = ", ".join(f"{name} : {plural(n, 'ligne')}" for name, n in restored.items() if n)
    st.session_state["annulation_message"] = ("ok", f"Import n° {import_id} annulé ({detail or 'aucune ligne'}). "
                                                    "Tous les tableaux de bord ont retrouvé les données d'avant.")


def history_tab() -> None:
    status, message = st.session_state.pop("annulation_message", (None, None))
    if status == "ok":
        st.success(message, icon=":material/undo:")
    elif status == "refus":
        st.error(message, icon=":material/block:")
    frame = ingest.history(data.db())
    if frame.empty:
        st.info("Aucun import enregistré pour l'instant.", icon=":material/history:")
        return
    frame = frame.assign(statut=frame["statut"].map(STATUS_LABELS).fillna(frame["statut"]),
                         mode=frame["mode"].map(MODE_LABELS).fillna(frame["mode"]),
                         jeux=frame["jeux"].map(datasets_in_order))
    shown = frame.assign(statut=[
        f"{status} le {cancelled:%d/%m/%Y %H:%M}" if not pd.isna(cancelled) else status
        for status, cancelled in zip(frame["statut"], frame["annule_le"])])
    count = st.column_config.NumberColumn
    st.dataframe(
        shown, hide_index=True, width="stretch",
        column_order=["import_id", "cree_le", "statut", "fichiers", "nb_lus", "nb_rejetes", "nb_nouveaux",
                      "nb_modifies", "mode", "role"],
        column_config={
            "import_id": count("N°", format="%d", width=45),
            "cree_le": st.column_config.DatetimeColumn("Date", format="DD/MM/YYYY HH:mm", width=120),
            "statut": st.column_config.TextColumn("Statut", width=140),
            "fichiers": st.column_config.TextColumn("Fichiers", width=180),
            "nb_lus": count("Lues", width=65), "nb_rejetes": count("Rejetées", width=65),
            "nb_nouveaux": count("Nouvelles", width=65), "nb_modifies": count("Modifiées", width=65),
            "mode": st.column_config.TextColumn("Mode", width=110),
            "role": st.column_config.TextColumn("Rôle", width=70),
        })

    st.subheader("Annuler un import")
    st.caption("Annuler supprime les lignes que l'import a ajoutées et rend aux lignes modifiées leurs valeurs "
               "précédentes. C'est refusé si un import plus récent a modifié les mêmes lignes : annulez-le d'abord.")
    pending = st.session_state.get("annulation_demandee")
    for row in frame[frame["statut"] == STATUS_LABELS["importe"]].head(UNDO_SHOWN).itertuples():
        import_id = int(row.import_id)
        text, button = st.columns([5, 1], vertical_alignment="center")
        text.markdown(f"**N° {import_id}** · {row.cree_le:%d/%m/%Y %H:%M} · {row.jeux} · "
                      f"{plural(row.nb_nouveaux, 'nouvelle')}, {plural(row.nb_modifies, 'modifiée')} · "
                      f"{layout.escape_markdown(row.fichiers)}")
        button.button("Annuler", key=f"annuler_{import_id}", icon=":material/undo:", on_click=ask_undo,
                      args=(import_id,), disabled=pending == import_id)
        if pending == import_id:
            with st.container(border=True):
                st.warning(f"Annuler l'import n° {import_id} ? Lignes ajoutées, qui seront supprimées : "
                           f"{fmt.nombre(row.nb_nouveaux)}. Lignes modifiées, qui retrouveront leurs valeurs "
                           f"précédentes : {fmt.nombre(row.nb_modifies)}.", icon=":material/warning:")
                yes, no = st.columns(2)
                yes.button("Oui, annuler cet import", type="primary", key="confirmer_annulation",
                           on_click=confirm_undo, args=(import_id,))
                no.button("Non, garder l'import", key="garder_import", on_click=keep_import)


def templates_tab() -> None:
    st.caption("Chaque modèle contient les en-têtes attendus et une ligne d'exemple ; le dictionnaire décrit chaque "
               "colonne et la règle vérifiée à l'import. Ils sont générés à partir des mêmes définitions que la "
               "vérification.")
    for name in LOAD_ORDER:
        label, csv_column, xlsx_column = st.columns([3, 1, 1], vertical_alignment="center")
        label.markdown(f"**{DATASETS[name].label}** ({name}) — {DATASETS[name].description}")
        csv_column.download_button("Modèle CSV", templates.template_csv(name), file_name=f"modele_{name}.csv",
                                   mime="text/csv", key=f"modele_csv_{name}", icon=":material/download:")
        xlsx_column.download_button(
            "Modèle XLSX", templates.template_xlsx(name), file_name=f"modele_{name}.xlsx", key=f"modele_xlsx_{name}",
            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", icon=":material/download:")
    st.subheader("Dictionnaire des données")
    left, right = st.columns(2)
    left.download_button("Dictionnaire (Markdown)", templates.dictionary_markdown().encode("utf-8"),
                         file_name="dictionnaire_donnees.md", mime="text/markdown", key="dictionnaire_md",
                         icon=":material/download:")
    right.download_button("Dictionnaire (CSV)", templates.dictionary_csv(), file_name="dictionnaire_donnees.csv",
                          mime="text/csv", key="dictionnaire_csv", icon=":material/download:")
    name = st.selectbox("Jeu de données décrit", LOAD_ORDER, format_func=dataset_label, key="dictionnaire_jeu")
    # A static table: every rule is shown in full, wrapped, however long its list of accepted values.
    st.table(templates.dictionary_frame(name)[list(DICTIONARY_LABELS)].rename(columns=DICTIONARY_LABELS),
             hide_index=True, border="horizontal")


st.title("Importer des données")
st.caption("Déposez les fichiers exportés de vos outils (CSV ou Excel) : ils sont vérifiés ligne à ligne avant "
           "tout enregistrement, et un import peut être annulé.")
depot, historique, modeles = st.tabs(["Déposer des fichiers", "Historique des imports", "Modèles et dictionnaire"])
with depot:
    upload_tab()
with historique:
    history_tab()
with modeles:
    templates_tab()
