"""Connexion: local accounts, OIDC when configured, demo accounts only on the synthetic demo."""

import streamlit as st

from dashboard import auth
from pipelines import accounts, roles

from dashboard.entry import through_app

through_app()  # a direct link on a fresh server still goes through app.py

st.title("Connexion")

role = auth.current_role()
if role:
    auth.forward_after_sign_in("pages/vue_ensemble.py")
    st.success(f"Connecté·e en tant que **{auth.current_user()}** — rôle **{roles.ROLES[role].label}**.",
               icon=":material/verified_user:")
    st.button("Se déconnecter", icon=":material/logout:", on_click=auth.sign_out, key="se_deconnecter")
    st.stop()

if auth.oidc_configured():
    email, _ = auth._oidc_user()
    if email:
        st.warning(f"{email} est authentifié·e, mais aucun rôle ne lui est attribué. Demandez à l'administrateur "
                   "de l'ajouter avec « python -m pipelines.accounts oidc ».", icon=":material/person_off:")
        st.button("Se déconnecter", icon=":material/logout:", on_click=auth.sign_out)
    else:
        st.button("Se connecter avec le compte de l'organisation", icon=":material/key:", type="primary",
                  on_click=st.login)
    st.divider()
    st.subheader("Ou avec un compte local")

auth.login_form()

if auth.demo_available():
    st.info("**Comptes de démonstration disponibles.** L'entrepôt contient la démonstration synthétique : "
            "chaque rôle a un compte de démonstration (ils n'existent que sur la démonstration).",
            icon=":material/science:")
    for column, (name, password, label) in zip(st.columns(3), accounts.demo_accounts()):
        with column.container(border=True):
            st.markdown(f"**{label}**")
            st.caption(f"Identifiant « {name} », mot de passe « {password} »")
            st.button(f"Entrer comme {label.lower()}", key=f"demo_{name}", icon=":material/login:",
                      width="stretch", on_click=auth.sign_in_demo, args=(name, password))
else:
    st.caption("Les comptes sont créés par l'administrateur avec « python -m pipelines.accounts ajouter ».")

with st.expander("Ce que chaque rôle voit"):
    st.markdown(
        "- **Analyste** : tout, dont l'import de fichiers, l'historique et l'annulation, les noms des "
        "intervenants et les témoignages sans consentement.\n"
        "- **Comité de pilotage** : toutes les pages du tableau de bord et les exports ; pas d'import, pas de "
        "noms d'intervenants, seulement les témoignages dont la publication est autorisée.\n"
        "- **Financeur** : les pages en lecture et les exports, avec le **secret statistique** (aucune "
        "valeur calculée sur moins de 3 structures) et sans donnée personnelle.")
