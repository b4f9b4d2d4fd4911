"""Connexion: local accounts, OIDC when configured, demo accounts only on the synthetic demo."""

import streamlit as st

from dashboard import auth, layout
from dashboard.page import through_app
from pipelines.privacy import roles

through_app()  # a direct link on a fresh server still goes through app.py

st.title("Connexion")

role = auth.current_role()
if role == roles.STRUCTURE.code:
    st.info("Vous êtes dans l'espace de votre structure, ouvert par son lien personnel. Le quitter ferme l'espace "
            "dans ce navigateur ; votre lien reste valable jusqu'à sa date d'expiration.", icon=":material/home:")
    st.button("Quitter mon espace", icon=":material/logout:", on_click=auth.sign_out, key="se_deconnecter")
    st.stop()
if role:
    auth.forward_after_sign_in("pages/vue_ensemble.py")
    st.success(f"Connecté·e en tant que **{layout.escape_markdown(auth.current_user())}** — rôle **{roles.ROLES[role].label}**.",
               icon=":material/verified_user:")
    st.button("Se déconnecter", icon=":material/logout:", on_click=auth.sign_out, key="se_deconnecter")
    st.stop()

auth.sign_in_panel()
