"""Témoignages: cards filtered like the rest, plain text, published only with consent."""

import streamlit as st

from dashboard import auth, data, filters, fmt, layout
from pipelines.queries import temoignages as q

from dashboard.entry import through_app

through_app()  # a direct link on a fresh server still goes through app.py
auth.require("temoignages")

scope = filters.current()
where = filters.describe(scope)
include_unconsented = auth.rules().unconsented_testimonies  # the analyst view only
st.title("Témoignages")
st.caption(f"Périmètre : {where} · " + (
    "vue analyste : tous les témoignages, ceux sans consentement de publication sont signalés"
    if include_unconsented else "seuls les témoignages dont l'auteur a consenti à la publication sont affichés"))

result = data.fetch(q.temoignages, scope, vue=auth.current_role())  # the role decides what is sent
cards = result["temoignages"]
if cards.empty:
    st.info("Aucun témoignage publiable ne correspond aux filtres choisis : élargissez la région, le programme "
            "ou la période.", icon=":material/search_off:")
    st.stop()

shown = len(cards)
if include_unconsented:
    line = (f"{fmt.nombre(result['total'])} témoignage(s), dont {fmt.nombre(result['sans_consentement'])} "
            "sans consentement de publication (à ne pas diffuser)")
else:
    line = f"{fmt.nombre(result['total'])} témoignage(s) publiable(s)"
    if result["sans_consentement"]:
        line += (f" · {fmt.nombre(result['sans_consentement'])} autre(s) sans consentement de publication, "
                 "non affiché(s)")
if result["total"] > shown:
    line += f" · les {fmt.nombre(shown)} plus récents affichés"
st.subheader(line)

columns = st.columns(2)
for i, row in enumerate(cards.itertuples()):
    with columns[i % 2]:
        layout.testimony_card(row)
layout.data_table(cards, {"date": ("Date", "date"), "programme": ("Programme", "texte"), "structure": ("Structure", "texte"),
                          "commune": ("Commune", "texte"), "region": ("Région", "texte"), "auteur_role": ("Rôle", "texte"),
                          "texte": ("Texte", "texte"), "lien_media": ("Média", "lien"),
                          **({"consentement_publication": ("Publication autorisée", "texte")}
                             if include_unconsented else {})})
