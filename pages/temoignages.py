"""Témoignages: cards filtered like the rest, plain text, published only with consent."""

import streamlit as st

from dashboard import data, layout
from dashboard.page import start
from pipelines.queries import temoignages as q
from pipelines.reports import fmt

page = start("temoignages")
scope, where = page.scope, page.where
include_unconsented = page.rules.unconsented_testimonies  # the analyst view only
page.heading("Témoignages", "vue analyste : tous les témoignages, ceux sans consentement de publication sont signalés"
             if include_unconsented else "seuls les témoignages dont l'auteur a consenti à la publication sont affichés")

result = data.fetch(q.temoignages, scope, vue=page.role)  # the role decides what is sent
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
