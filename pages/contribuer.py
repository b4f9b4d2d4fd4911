"""Mon espace: a structure's own space, opened by its personal link (participatory observation).

The year's questionnaire prefilled with its previous answers, checked by the upload rules and sent to the
observatory's review queue; its figures over the years beside its département's and domaine's (the funder
view's rule applied to the other structures); a download of all its own data. Nothing else is reachable.
"""

import pandas as pd
import streamlit as st

from dashboard import auth, data, layout
from dashboard.page import through_app
from pipelines.opp import submissions
from pipelines.privacy import roles
from pipelines.queries import observation as q
from pipelines.reports import charts, fmt
from pipelines.spec.datasets import DATASETS
from pipelines.store import warehouse

through_app()
opened = auth.opened_space()
if opened is None:
    st.title("Espace de votre structure")
    error = st.session_state.pop(auth.LINK_ERROR, None)
    if error:
        st.error(error, icon=":material/link_off:")
    st.info("Cet espace s'ouvre avec le **lien personnel** que l'observatoire envoie à chaque structure pour sa "
            "campagne annuelle : ouvrez le lien reçu par courriel. Vous n'en avez pas ? Votre structure peut "
            "aussi rejoindre l'observatoire d'elle-même.", icon=":material/key:")
    st.page_link("pages/rejoindre.py", label="Rejoindre l'observatoire", icon=":material/person_add:")
    st.stop()
auth.require("contribuer")

card = data.fetch(q.structure_card, opened.id_structure)
st.title(f"Espace de la structure « {layout.escape_markdown(card.get('nom', opened.id_structure))} »")
st.caption(f"{card.get('commune') or 'commune inconnue'} · {card.get('departement') or ''} · "
           f"{card.get('libelle_domaine') or ''} · campagne {opened.annee} (lien valable jusqu'au "
           f"{opened.expire_le:%d/%m/%Y})")
OBSERVATIONS = DATASETS["observations"]
NEED_LABELS = submissions.NEED_LABELS

questionnaire, results, own_data = st.tabs([f"Questionnaire {opened.annee}", "Mes résultats", "Mes données"])

def send_answers() -> None:
    # A callback, not `if submitted:`: the click survives any rerun before the page body runs.
    values = {name: st.session_state.get(f"q_{name}", "") for name in q.MEASURES}
    values["besoins"] = "|".join(st.session_state.get("q_besoins", []))
    values["commentaire"] = st.session_state.get("q_commentaire", "")
    try:
        checked = submissions.check_observation(data.db(), opened, values)
        if not checked.ok:
            st.session_state["contribution_erreurs"] = checked.problems[checked.problems["gravite"] == "erreur"]
            return
        number = submissions.submit_observation(data.db(), opened, values)
    except (submissions.SubmissionError, warehouse.WarehouseError) as exc:
        st.session_state["contribution_refusee"] = str(exc)
        return
    data.clear()
    st.session_state["contribution_envoyee"] = (
        f"Merci ! Vos réponses {opened.annee} sont transmises à l'observatoire (n° {number}). Elles apparaîtront "
        "dans vos résultats une fois relues ; vous pouvez encore les modifier d'ici là.")


with questionnaire:
    sent = st.session_state.pop("contribution_envoyee", None)
    if sent:
        st.success(sent, icon=":material/mark_email_read:")
    refused = st.session_state.pop("contribution_refusee", None)
    if refused:
        st.error(refused, icon=":material/error:")
    errors = st.session_state.pop("contribution_erreurs", None)
    if errors is not None:
        st.error("Certaines réponses sont à corriger, rien n'a été envoyé :", icon=":material/error:")
        for row in errors.itertuples():
            st.markdown(f"- **{layout.escape_markdown(q.MEASURES.get(row.colonne, row.colonne))}** : "
                        f"{layout.escape_markdown(row.erreur)}")
    answers = data.fetch(submissions.previous_answers, opened)
    st.caption("Décrivez votre structure pour l'année " + str(opened.annee) + " : vos réponses précédentes sont "
               "reprises, modifiez ce qui a changé. Elles sont vérifiées comme un fichier importé, puis relues par "
               "l'observatoire avant d'entrer dans les résultats. Laissez vide ce que vous ne savez pas.")
    with st.form("questionnaire", border=True):
        left, right = st.columns(2)
        for i, name in enumerate(q.MEASURES):
            column = OBSERVATIONS.column(name)
            (left if i % 2 == 0 else right).text_input(
                q.MEASURES[name], value=answers.get(name, ""), key=f"q_{name}",
                help=f"{column.description} (p. ex. {column.example}).")
        chosen = [c for c in answers.get("besoins", "").split("|") if c in NEED_LABELS]
        st.multiselect("Vos besoins cette année, tels que vous les voyez", list(NEED_LABELS), default=chosen,
                       format_func=NEED_LABELS.get, key="q_besoins", placeholder="Choisissez un ou plusieurs besoins")
        st.text_area("Commentaire (facultatif)", value=answers.get("commentaire", ""), max_chars=2000,
                     key="q_commentaire")
        st.form_submit_button("Envoyer mes réponses à l'observatoire", type="primary", icon=":material/send:",
                              on_click=send_answers)

with results:
    mine = data.fetch(q.own_figures, opened.id_structure)
    if mine.empty:
        st.info("Vos résultats apparaîtront ici dès que l'observatoire aura relu vos premières réponses.",
                icon=":material/hourglass_top:")
    else:
        years = sorted(mine["annee"].astype(int).tolist(), reverse=True)
        year = st.selectbox("Année", years, key="resultats_annee")
        figures = data.fetch(q.territory_figures, opened.id_structure, year)
        published = data.fetch(q.published_years)
        if year not in published:
            st.info(f"Les moyennes de votre département et de votre domaine pour {year} seront publiées à la clôture "
                    "de la campagne, une fois pour toutes : seuls vos chiffres sont montrés d'ici là.",
                    icon=":material/schedule:")
        decimals = [1 if name in q.DECIMAL_MEASURES else 0 for name in figures["mesure"]]
        mean_decimals = [0 if name in ("budget_annuel", "public_touche", "heures_benevolat") else 1
                         for name in figures["mesure"]]  # a tenth of a euro says nothing
        shown = pd.DataFrame({
            "Indicateur": figures["libelle"],
            "Votre structure": [fmt.nombre(v, d) if pd.notna(v) else "—" for v, d in zip(figures["sa_valeur"], decimals)],
            f"Moyenne du département ({card.get('departement') or '—'})": [
                fmt.SECRET if s else f"{fmt.nombre(v, d)} ({fmt.nombre(n)} structures)"
                for v, n, s, d in zip(figures["departement"], figures["n_departement"], figures["secret_departement"],
                                      mean_decimals)],
            f"Moyenne du domaine ({card.get('libelle_domaine') or '—'})": [
                fmt.SECRET if s else f"{fmt.nombre(v, d)} ({fmt.nombre(n)} structures)"
                for v, n, s, d in zip(figures["domaine"], figures["n_domaine"], figures["secret_domaine"], mean_decimals)],
        })
        st.table(shown, hide_index=True, border="horizontal")  # eight rows, drawn at once, every word readable
        st.caption("Les moyennes portent sur les structures qui ont répondu cette année-là. « secret » : moins de "
                   "trois autres structures ont répondu, ou l'une d'elles pèse 85 % ou plus du total ; la valeur "
                   "n'est pas montrée, pour qu'aucune structure ne puisse retrouver celle d'une autre.")
        st.subheader("Vos chiffres au fil des années")
        measure = st.selectbox("Indicateur", list(q.MEASURES), format_func=q.MEASURES.get, key="resultats_mesure")
        history = mine[["annee", measure]].dropna()
        if history.empty:
            st.caption("Vous n'avez pas donné cet indicateur.")
        elif len(history) == 1:  # one point makes no line: say it
            st.caption(f"Une seule année pour l'instant : {fmt.nombre(history[measure].iloc[0], 1)} en "
                       f"{int(history['annee'].iloc[0])}. L'évolution s'affichera avec vos réponses suivantes.")
        else:
            st.plotly_chart(charts.lines_by(history.assign(serie=q.MEASURES[measure]), "annee", measure, "serie",
                                            q.MEASURES[measure], "", x_title="Année"),
                            key="historique_structure")

with own_data:
    st.markdown("Toutes les données que l'observatoire garde sur votre structure : sa description, ses réponses, "
                "ses accompagnements et leur suivi. Vous en restez propriétaire : écrivez à l'observatoire pour les "
                "faire corriger ou retirer.")
    st.download_button("Télécharger toutes mes données (CSV)", data.fetch(q.own_data_csv, opened.id_structure),
                       file_name=f"mes_donnees_{opened.id_structure}.csv", mime="text/csv",
                       icon=":material/download:", key="mes_donnees")
    st.caption(f"Rôle : {roles.STRUCTURE.label}.")
