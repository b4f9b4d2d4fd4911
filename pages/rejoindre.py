"""Rejoindre l'observatoire: the direct welcome. A structure that no programme sent describes itself and its
needs; the form is checked by the upload rules and lands in the analysts' review queue (orientation direct)."""

import streamlit as st

from dashboard import auth, data, layout
from dashboard.page import through_app
from pipelines.opp import submissions
from pipelines.privacy import attempts
from pipelines.spec import referentiels as ref
from pipelines.spec.datasets import DATASETS
from pipelines.store import warehouse

through_app()
STRUCTURES = DATASETS["structures"]
NEED_LABELS = submissions.NEED_LABELS
OPTIONAL = {"siret": "N° SIRET", "rna": "N° RNA (associations)", "annee_creation": "Année de création",
            "effectif_etp": "Effectif salarié (ETP)", "nb_benevoles": "Nombre de bénévoles",
            "budget_annuel": "Budget annuel (€)"}

st.title("Rejoindre l'observatoire")
st.caption("Votre structure culturelle n'a pas été orientée vers nous par un dispositif ? Présentez-la et dites "
           "ce dont elle a besoin : l'observatoire relit chaque demande et vous recontacte. Les champs marqués * "
           "sont obligatoires.")


def send_request() -> None:
    # A callback, not `if submitted:`: the click survives any rerun before the page body runs.
    state = st.session_state
    fields = {"nom": state.get("r_nom", ""), "forme_juridique": state.get("r_forme", ""),
              "domaine": state.get("r_domaine", ""), "code_commune": state.get("r_commune", ""),
              "employeur": state.get("r_employeur", ""), **{name: state.get(f"r_{name}", "") for name in OPTIONAL}}
    besoins = state.get("r_besoins", [])
    client = auth.client_key()
    wait = attempts.SUBMISSIONS.wait_seconds(client) or attempts.SUBMISSIONS_ALL.wait_seconds(attempts.EVERYONE)
    if wait:
        state["adhesion_erreur"] = (attempts.wait_message(wait), None)
    elif not state.get("r_consentement") or not besoins:
        state["adhesion_erreur"] = ((("Cochez l'accord de transmission pour envoyer la demande." if not
                                      state.get("r_consentement") else "")
                                     + (" Choisissez au moins un besoin." if not besoins else "")).strip(), None)
    else:
        try:
            checked = submissions.check_welcome(data.db(), fields, besoins, state.get("r_commentaire", ""))
            if not checked.ok:
                state["adhesion_erreur"] = ("Certaines réponses sont à corriger, rien n'a été envoyé :",
                                            checked.problems[checked.problems["gravite"] == "erreur"])
                return
            number = submissions.submit_welcome(data.db(), fields, besoins, state.get("r_commentaire", ""))
        except (submissions.SubmissionError, warehouse.WarehouseError) as exc:
            state["adhesion_erreur"] = (str(exc), None)
            return
        attempts.SUBMISSIONS.record(client)
        attempts.SUBMISSIONS_ALL.record(attempts.EVERYONE)
        data.clear()
        state["adhesion_envoyee"] = (f"Merci ! Votre demande est transmise à l'observatoire (n° {number}) : il la "
                                     "relit et vous recontacte.")


sent = st.session_state.pop("adhesion_envoyee", None)
if sent:
    st.success(sent, icon=":material/mark_email_read:")
refused = st.session_state.pop("adhesion_erreur", None)
if refused:
    message, problems = refused
    st.error(message, icon=":material/error:")
    for row in (problems.itertuples() if problems is not None else ()):
        label = OPTIONAL.get(row.colonne, row.colonne)
        st.markdown(f"- **{layout.escape_markdown(label)}** : {layout.escape_markdown(row.erreur)}")

with st.form("rejoindre", border=True):
    st.text_input("Nom de la structure *", max_chars=300, key="r_nom")
    left, right = st.columns(2)
    left.selectbox("Forme juridique *", list(ref.FORMES_JURIDIQUES), format_func=ref.FORMES_JURIDIQUES.get,
                   key="r_forme")
    right.selectbox("Domaine culturel principal *", list(ref.DOMAINES), format_func=ref.DOMAINES.get, key="r_domaine")
    left.text_input("Code commune INSEE du siège *", max_chars=5, key="r_commune",
                    help="5 caractères, p. ex. 14118 pour Caen (pas le code postal).")
    right.selectbox("Employeur ?", ["", "oui", "non"], key="r_employeur", format_func=lambda v: v or "—")
    for i, (name, label) in enumerate(OPTIONAL.items()):
        (left if i % 2 else right).text_input(
            label, key=f"r_{name}", help=f"{STRUCTURES.column(name).description} (p. ex. {STRUCTURES.column(name).example}).")
    st.multiselect("Vos besoins *", list(NEED_LABELS), format_func=NEED_LABELS.get, key="r_besoins",
                   placeholder="Choisissez un ou plusieurs besoins")
    st.text_area("Votre demande en quelques mots", max_chars=2000, key="r_commentaire")
    st.checkbox("J'accepte que ces informations soient transmises à l'observatoire et conservées pour "
                "l'observation (elles ne sont publiées qu'agrégées).", key="r_consentement")
    st.form_submit_button("Envoyer ma demande", type="primary", icon=":material/send:", on_click=send_request)
