"""Témoignages: cards filtered like the rest, plain text, published only with consent."""

import streamlit as st

from dashboard import data, filters, layout
from dashboard.page import start
from pipelines.queries import temoignages as q
from pipelines.reports import fmt

page = start("temoignages")
scope, where = page.scope, page.where
include_unconsented = page.rules.unconsented_testimonies  # the analyst view only
page.heading("Témoignages", "vue analyste : tous les témoignages, ceux sans consentement de publication sont signalés"
             if include_unconsented else "seuls les témoignages dont l'auteur a consenti à la publication sont affichés")

PER_PAGE = 20  # cards a page draws: 150 at once made a 15,000-pixel page
ALL = "__tous__"
search, author, consent = st.columns([3, 2, 2] if include_unconsented else [3, 2, 0.01])
recherche = filters.url_text("Rechercher dans les témoignages", "mot", container=search,
                             placeholder="un mot du texte, un rôle" + (", une structure" if page.rules.personal_data else ""))
roles_found = data.fetch(q.author_roles, scope, page.role)
auteur = filters.url_choice("Rôle de l'auteur", {ALL: "Tous les rôles", **{r: r for r in roles_found}}, "auteur",
                            widget="selectbox", container=author)
consentement = None
if include_unconsented:
    choice = filters.url_choice("Publication", {ALL: "Tous", "oui": "Autorisée", "non": "Sans consentement"},
                                "publication", widget="selectbox", container=consent)
    consentement = None if choice == ALL else choice == "oui"
narrowing = dict(recherche=recherche, auteur_role=None if auteur == ALL else auteur, consentement=consentement)
found = data.fetch(q.temoignages, scope, vue=page.role, limite=0, **narrowing)["trouves"]
pages = max(1, -(-found // PER_PAGE))
# A narrower search may leave fewer pages than the one shown: back within range before the widget is drawn.
st.session_state["page_temoignages"] = number = min(max(1, st.session_state.get("page_temoignages", 1)), pages)
result = data.fetch(q.temoignages, scope, vue=page.role, limite=PER_PAGE, debut=(number - 1) * PER_PAGE,
                    **narrowing)  # the role decides what is sent
cards = result["temoignages"]
if cards.empty:
    st.info("Aucun témoignage publiable ne correspond aux filtres choisis : élargissez la région, le programme, "
            "la période ou la recherche.", icon=":material/search_off:")
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
if found < result["total"]:
    line += f" · {fmt.nombre(found)} pour cette recherche"
st.subheader(line)
if pages > 1:
    left, right = st.columns([1, 4], vertical_alignment="center")
    left.number_input("Page", min_value=1, max_value=pages, step=1, key="page_temoignages")
    first = (number - 1) * PER_PAGE + 1
    right.caption(f"Témoignages {fmt.nombre(first)} à {fmt.nombre(first + shown - 1)} sur {fmt.nombre(found)}, "
                  f"du plus récent au plus ancien · {pages} pages")

columns = st.columns(2)
for i, row in enumerate(cards.itertuples()):
    with columns[i % 2]:
        layout.testimony_card(row)
layout.data_table(cards, {"date": ("Date", "date"), "programme": ("Programme", "texte"), "structure": ("Structure", "texte"),
                          "commune": ("Commune", "texte"), "region": ("Région", "texte"), "auteur_role": ("Rôle", "texte"),
                          "texte": ("Texte", "texte"), "lien_media": ("Média", "lien"),
                          **({"consentement_publication": ("Publication autorisée", "texte")}
                             if include_unconsented else {})})
