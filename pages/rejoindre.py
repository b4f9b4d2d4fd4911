"""Rejoindre l'observatoire: the direct welcome. A structure that no programme sent describes itself and its
needs; the form is checked by the upload rules and lands in the analysts' review queue (orientation direct)."""

import streamlit as st

from dashboard import auth, data, layout
from dashboard.page import through_app
from pipelines.opp import submissions
from pipelines.privacy import attempts
from pipelines.spec import referentiels as ref
from pipelines.spec.datasets import DATASETS

through_app()
STRUCTURES = DATASETS["structures"]
NEED_LABELS = {code: f"{code} — {label}" for code, label in ref.BESOINS_ACCEPTES.items() if "." in code}
OPTIONAL = {"siret": "N° SIRET", "rna": "N° RNA (associations)", "annee_creation": "Année de création",
            "effectif_etp": "Effectif salarié (ETP)", "nb_benevoles": "Nombre de bénévoles",
            "budget_annuel": "Budget annuel (€)"}

st.title("Rejoindre l'observatoire")
st.caption("Votre structure culturelle n'a pas été orientée vers nous par un dispositif ? Présentez-la et dites "
           "ce dont elle a besoin : l'observatoire relit chaque demande et vous recontacte. Les champs marqués * "
           "sont obligatoires.")
sent = st.session_state.pop("adhesion_envoyee", None)
if sent:
    st.success(sent, icon=":material/mark_email_read:")

with st.form("rejoindre", border=True):
    fields = {"nom": st.text_input("Nom de la structure *", max_chars=300, key="r_nom")}
    left, right = st.columns(2)
    fields["forme_juridique"] = left.selectbox("Forme juridique *", list(ref.FORMES_JURIDIQUES),
                                               format_func=ref.FORMES_JURIDIQUES.get, key="r_forme")
    fields["domaine"] = right.selectbox("Domaine culturel principal *", list(ref.DOMAINES),
                                        format_func=ref.DOMAINES.get, key="r_domaine")
    fields["code_commune"] = left.text_input("Code commune INSEE du siège *", max_chars=5, key="r_commune",
                                             help="5 caractères, p. ex. 14118 pour Caen (pas le code postal).")
    employer = right.selectbox("Employeur ?", ["", "oui", "non"], key="r_employeur",
                               format_func=lambda v: v or "—")
    fields["employeur"] = employer
    for i, (name, label) in enumerate(OPTIONAL.items()):
        fields[name] = (left if i % 2 else right).text_input(
            label, key=f"r_{name}", help=f"{STRUCTURES.column(name).description} (p. ex. {STRUCTURES.column(name).example}).")
    besoins = st.multiselect("Vos besoins *", list(NEED_LABELS), format_func=NEED_LABELS.get, key="r_besoins",
                             placeholder="Choisissez un ou plusieurs besoins")
    commentaire = st.text_area("Votre demande en quelques mots", max_chars=2000, key="r_commentaire")
    consent = st.checkbox("J'accepte que ces informations soient transmises à l'observatoire et conservées pour "
                          "l'observation (elles ne sont publiées qu'agrégées).", key="r_consentement")
    submitted = st.form_submit_button("Envoyer ma demande", type="primary", icon=":material/send:")

if submitted:
    client = auth.client_key()
    wait = attempts.SUBMISSIONS.wait_seconds(client)
    if wait:
        st.error(attempts.wait_message(wait), icon=":material/hourglass_top:")
    elif not consent or not besoins:
        st.error(("Cochez l'accord de transmission pour envoyer la demande." if not consent else "")
                 + (" Choisissez au moins un besoin." if not besoins else ""), icon=":material/error:")
    else:
        checked = submissions.check_welcome(data.db(), fields, besoins, commentaire)
        if not checked.ok:
            st.error("Certaines réponses sont à corriger, rien n'a été envoyé :", icon=":material/error:")
            for row in checked.problems[checked.problems["gravite"] == "erreur"].itertuples():
                label = OPTIONAL.get(row.colonne, row.colonne)
                st.markdown(f"- **{layout.escape_markdown(label)}** : {layout.escape_markdown(row.erreur)}")
        else:
            number = submissions.submit_welcome(data.db(), fields, besoins, commentaire)
            attempts.SUBMISSIONS.record(client)
            data.clear()
            st.session_state["adhesion_envoyee"] = (
                f"Merci ! Votre demande est transmise à l'observatoire (n° {number}) : il la relit et vous recontacte.")
            st.rerun()
