"""Mode réunion: one key figure or one chart per screen, for a projector.

The agenda follows the pages (vue d'ensemble → besoins → territoires →
résultats → témoignages). The screen number lives in the URL (`ecran=3`) next
to the filters, so a shared address reopens the same screen of the same
sequence. ← / → (or the buttons) move between screens.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Callable

import streamlit as st

from dashboard import data, layout
from dashboard.page import start
from pipelines.queries import indicators
from pipelines.queries import resultats as q_resultats
from pipelines.queries import temoignages as q_temoignages
from pipelines.queries import vue_ensemble as q_vue_ensemble
from pipelines.reports import charts, fmt

page = start("reunion")


URL_KEY = "ecran"
STATE_KEY = "reunion_ecran"
AGENDA = ["Vue d'ensemble", "Besoins", "Territoires", "Résultats", "Témoignages"]
CHART_FONT = 22
TERRITORIES_SHOWN = 15  # a région's départements fit; the whole set is cut to its largest

CSS = """
<style>
.reunion-filtres { font-size: 1.35rem; color: #1f2430; background: #f1f3f6; border-left: 6px solid #0072B2;
                   padding: .5rem 1rem; margin-bottom: .6rem; }
.reunion-agenda { font-size: 1.1rem; color: #555; margin-bottom: .4rem; }
.reunion-agenda b { color: #000; background: #ffe9b3; padding: 0 .35rem; border-radius: 4px; }
.reunion-chiffre { font-size: 11rem; font-weight: 800; color: #000; line-height: 1; margin: 3rem 0 1rem 0; }
.reunion-legende { font-size: 2rem; color: #1f2430; }
.reunion-citation { font-size: 2.3rem; line-height: 1.35; color: #000; border-left: 10px solid #009E73;
                    padding: .6rem 1.4rem; margin: 2rem 0 1rem 0; }
.reunion-source { font-size: 1.4rem; color: #333; }
</style>
"""


@dataclass(frozen=True)
class Screen:
    section: str  # one of AGENDA
    title: str
    draw: Callable[[], None]


def big_number(value: str, caption: str) -> Callable[[], None]:
    def draw():
        st.markdown(f'<div class="reunion-chiffre">{html.escape(value)}</div>'
                    f'<div class="reunion-legende">{html.escape(caption)}</div>', unsafe_allow_html=True)
    return draw


def chart(fig) -> Callable[[], None]:
    def draw():
        fig.update_layout(font=dict(size=CHART_FONT, color="#000"), title=dict(text=""), height=470,
                          margin=dict(l=10, r=40, t=10, b=10), hoverlabel=dict(font_size=20))
        fig.update_xaxes(tickfont=dict(size=CHART_FONT - 2, color="#000"))
        fig.update_yaxes(tickfont=dict(size=CHART_FONT - 2, color="#000"))
        fig.update_traces(textfont_size=CHART_FONT, selector=dict(type="bar"))
        st.plotly_chart(fig, width="stretch", config={"displayModeBar": False})
    return draw


def quote(row) -> Callable[[], None]:
    def draw():
        source = " · ".join(str(v) for v in (row.get("auteur_role"), row.get("programme")) if v)
        st.markdown(f'<div class="reunion-citation">« {html.escape(str(row["texte"]))} »</div>'
                    f'<div class="reunion-source">{html.escape(source)}</div>', unsafe_allow_html=True)
    return draw


def build_screens(scope: indicators.Scope, where: str, role: str | None) -> list[Screen]:
    """The sequence for a scope: same scope, same screens, same order.

    Figures come from the overview's query (pipelines.queries.vue_ensemble), which masks them
    for a role under statistical secrecy; masked rows are left out of the charts.
    """
    overview = data.fetch(q_vue_ensemble.page_data, scope, role)
    figures = overview["chiffres"]
    if overview["annees"].empty:
        return [Screen(AGENDA[0], "Aucun accompagnement", big_number("0", "accompagnement pour ces filtres"))]

    screens = [
        Screen(AGENDA[0], "Structures accompagnées", big_number(fmt.chiffre(figures["structures"]),
                                                                "structures accompagnées")),
        Screen(AGENDA[0], "Accompagnements", big_number(fmt.chiffre(figures["accompagnements"]), "accompagnements")),
        Screen(AGENDA[0], "Heures d'accompagnement", big_number(fmt.chiffre(figures["heures"]),
                                                                "heures d'accompagnement")),
        Screen(AGENDA[0], "Accompagnements et structures par année",
               chart(charts.trend_by_year(overview["annees"], "", where))),
    ]
    needs = layout.without_secret(overview["besoins"])
    screens.append(Screen(AGENDA[1], "Besoins principaux des structures", chart(charts.besoin_shares(needs, "", where))))

    territories = layout.without_secret(overview["departements"])
    # Visible rows only, so numbers (masked rows made the column an object one, which nlargest refuses).
    territories = territories.assign(libelle=territories["code"] + " – " + territories["nom"],
                                     structures=territories["structures"].astype(float))
    # A projector shows a dozen bars legibly, not two dozen: the largest, named in the title.
    shown = territories.nlargest(TERRITORIES_SHOWN, "structures") if len(territories) > TERRITORIES_SHOWN else territories
    title = ("Structures accompagnées par département" if len(shown) == len(territories)
             else f"Les {TERRITORIES_SHOWN} départements comptant le plus de structures accompagnées")
    screens.append(Screen(AGENDA[2], title, chart(charts.structures_by_territory(shown, "", where))))

    funnel = layout.without_secret(data.fetch(q_resultats.page_data, scope, role)["entonnoir"])
    if len(funnel):
        screens.append(Screen(AGENDA[3], "Parcours des accompagnements, étape par étape",
                              chart(charts.funnel(funnel, "", where))))
    if not any(s.section == AGENDA[3] for s in screens):
        screens.append(Screen(AGENDA[3], "Résultats des programmes",
                              big_number("—", "pas d'indicateur de résultat publiable pour ces filtres")))

    # Never an unconsented testimony on a projector, whoever runs the meeting; quotes name no structure.
    cards = data.fetch(q_temoignages.temoignages, scope, include_unconsented=False, limite=3)["temoignages"]
    for row in cards.to_dict("records"):
        if row.get("consentement_publication") is True:
            screens.append(Screen(AGENDA[4], "Témoignage", quote(row)))
    if not any(s.section == AGENDA[4] for s in screens):
        screens.append(Screen(AGENDA[4], "Témoignages",
                              big_number("—", "aucun témoignage publiable pour ces filtres")))
    return screens


def _index_from_url(count: int) -> int:
    try:
        wanted = int(st.query_params.get(URL_KEY, "1"))
    except ValueError:
        wanted = 1
    return min(max(wanted, 1), count) - 1


def _go(step: int, count: int) -> None:
    st.session_state[STATE_KEY] = min(max(st.session_state[STATE_KEY] + step, 0), count - 1)
    st.query_params[URL_KEY] = str(st.session_state[STATE_KEY] + 1)


scope, where = page.scope, page.where
screens = build_screens(scope, where, page.role)
count = len(screens)
if STATE_KEY not in st.session_state:
    st.session_state[STATE_KEY] = _index_from_url(count)
st.session_state[STATE_KEY] = min(st.session_state[STATE_KEY], count - 1)
index = st.session_state[STATE_KEY]
st.query_params[URL_KEY] = str(index + 1)
screen = screens[index]

st.markdown(CSS, unsafe_allow_html=True)
agenda = " → ".join(f"<b>{html.escape(s)}</b>" if s == screen.section else html.escape(s) for s in AGENDA)
st.markdown(f'<div class="reunion-filtres">Périmètre : {html.escape(where)}</div>'
            f'<div class="reunion-agenda">{agenda} · écran {index + 1} / {count}</div>', unsafe_allow_html=True)
st.title(screen.title, anchor=False)
screen.draw()

previous, position, following = st.columns([1, 2, 1], vertical_alignment="center")
previous.button("Précédent", key="reunion_precedent", icon=":material/arrow_back:", shortcut="Left",
                disabled=index == 0, on_click=_go, args=(-1, count), width="stretch")
position.progress((index + 1) / count, text=f"Écran {index + 1} sur {count} — touches ← et → pour avancer")
following.button("Suivant", key="reunion_suivant", icon=":material/arrow_forward:", shortcut="Right",
                 disabled=index == count - 1, on_click=_go, args=(1, count), type="primary", width="stretch")
