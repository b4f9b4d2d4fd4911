"""Soumissions des structures: the analysts' review queue of the participatory observation. Each submission
with what it would change in the warehouse; accepting writes it through ingestion (history, undo), refusing
keeps a reason and changes no data."""

import streamlit as st

from dashboard import data, layout
from dashboard.page import start
from pipelines.opp import submissions
from pipelines.queries import observation
from pipelines.store import warehouse

page = start("soumissions", "Soumissions des structures",
             "réponses au questionnaire annuel et demandes d'accueil direct, à relire avant d'entrer dans les données")
NATURES = {submissions.OBSERVATION: "Questionnaire annuel", submissions.ADHESION: "Accueil direct (nouvelle structure)"}


def decide(number: int, accept: bool) -> None:
    # A callback: the decision is taken once, before the queue is drawn again.
    try:
        if accept:
            programme = st.session_state.get(f"programme_{number}") or None
            result = submissions.accept(data.db(), number, page.role, programme=programme)
            message = (("ok" if result.committed else "refus"),
                       f"Soumission n° {number} : {result.message}" + (
                           " Annulable dans « Importer des données » > Historique." if result.import_id else ""))
        else:
            submissions.refuse(data.db(), number, st.session_state.get(f"motif_{number}", ""))
            message = ("ok", f"Soumission n° {number} refusée : rien n'a été écrit dans les données.")
    except (submissions.SubmissionError, warehouse.WarehouseError) as exc:
        message = ("refus", str(exc))
    data.clear()
    st.session_state["soumission_message"] = message


def publish(year: int) -> None:
    try:
        with warehouse.write_transaction(data.db()) as con:
            count = observation.publish(con, year, page.role)
        message = ("ok", f"Résultats de la campagne {year} publiés aux structures ({count} ont répondu) : ils ne "
                         "changeront plus.")
    except (ValueError, warehouse.WarehouseError) as exc:
        message = ("refus", str(exc))
    data.clear()
    st.session_state["soumission_message"] = message


status, text = st.session_state.pop("soumission_message", (None, None))
if status:
    (st.success if status == "ok" else st.error)(text)

published = data.fetch(observation.published_years)
campaigns = [int(y) for y in data.fetch(observation.campaign_years) if int(y) not in published]
if campaigns:
    with st.container(border=True):
        st.markdown("**Publier les résultats d'une campagne** : chaque structure voit alors, à côté de ses chiffres, "
                    "les moyennes de son département et de son domaine, figées (une seule publication par campagne, "
                    "pour qu'aucune réponse ne se déduise de deux versions). Acceptez d'abord les réponses en attente.")
        left, right = st.columns([1, 2], vertical_alignment="bottom")
        year = left.selectbox("Campagne", campaigns, key="campagne_a_publier")
        sure = right.checkbox(f"Je publie la campagne {year} : c'est définitif", key=f"publier_sur_{year}")
        st.button("Publier", key="publier_campagne", icon=":material/publish:", on_click=publish, args=(year,),
                  disabled=not sure)

status_filter = st.segmented_control("Statut", list(submissions.STATUS_LABELS), default=submissions.PENDING,
                                     format_func=submissions.STATUS_LABELS.get, key="statut_soumissions")
queue = data.fetch(submissions.listing, status_filter)
if queue.empty:
    st.info("Aucune soumission " + (submissions.STATUS_LABELS.get(status_filter, "") if status_filter else "") + ".",
            icon=":material/inbox:")
    st.stop()
programmes = data.fetch(submissions.programme_choices)
for row in queue.itertuples():
    number = int(row.id_soumission)
    title = (f"N° {number} · {NATURES[row.nature]} · {layout.escape_markdown(row.structure or '')} · {row.annee} · "
             f"{row.cree_le:%d/%m/%Y %H:%M} · {submissions.STATUS_LABELS[row.statut]}")
    with st.expander(title, expanded=row.statut == submissions.PENDING and len(queue) <= 5):
        changes = data.fetch(submissions.changes, number)
        if changes.empty:
            st.caption("Rien ne changerait : l'entrepôt dit déjà la même chose.")
        else:
            st.dataframe(changes.rename(columns={"jeu": "Jeu", "colonne": "Colonne", "avant": "Dans l'entrepôt",
                                                 "apres": "Soumis"}), hide_index=True, width="stretch")
        if row.statut != submissions.PENDING:
            decided = f"Décidée le {row.decide_le:%d/%m/%Y %H:%M}" if row.decide_le is not None else "Décidée"
            st.caption(decided + (f" · motif : {layout.escape_markdown(row.motif)}" if row.motif else "")
                       + (f" · import n° {int(row.import_id)}" + (" (annulé depuis)" if row.annulee else "")
                          if row.import_id == row.import_id and row.import_id is not None else ""))
            continue
        if row.nature == submissions.ADHESION:
            st.selectbox("Orienter vers le programme (facultatif : crée un accompagnement à l'étape accueil)",
                         ["", *programmes], format_func=lambda p: programmes.get(p, "— aucun —"),
                         key=f"programme_{number}")
        left, right = st.columns(2)
        left.button("Accepter", key=f"accepter_{number}", type="primary", icon=":material/check:",
                    on_click=decide, args=(number, True))
        right.text_input("Motif du refus", key=f"motif_{number}")
        right.button("Refuser", key=f"refuser_{number}", icon=":material/close:", on_click=decide, args=(number, False))
