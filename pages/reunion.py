"""Mode réunion: one key figure, chart, map or plan stake per screen, for a projector.

The agenda follows the pages (vue d'ensemble → besoins → territoires → résultats → plan d'action →
témoignages); the screens are built in dashboard.meeting. The screen number lives in the URL (`ecran=3`)
next to the filters, so a shared address reopens the same screen of the same sequence. ← / → (or the
buttons) move between screens.
"""

from __future__ import annotations

import html

import streamlit as st

from dashboard import layout, meeting
from dashboard.page import start

page = start("reunion")

URL_KEY = "ecran"
STATE_KEY = "reunion_ecran"


def _index_from_url(count: int) -> int:
    try:
        wanted = int(st.query_params.get(URL_KEY, "1"))
    except ValueError:
        wanted = 1
    return min(max(wanted, 1), count) - 1


def _go(step: int, count: int) -> None:
    st.session_state[STATE_KEY] = min(max(st.session_state[STATE_KEY] + step, 0), count - 1)
    st.query_params[URL_KEY] = str(st.session_state[STATE_KEY] + 1)
    st.session_state.pop(meeting.LAST_DECISION_KEY, None)  # a decision's notice stays on its own screen


scope, where = page.scope, page.where
screens = meeting.build_screens(scope, where, page.role)
count = len(screens)
if STATE_KEY not in st.session_state:
    st.session_state[STATE_KEY] = _index_from_url(count)
st.session_state[STATE_KEY] = min(st.session_state[STATE_KEY], count - 1)
index = st.session_state[STATE_KEY]
st.query_params[URL_KEY] = str(index + 1)
screen = screens[index]

st.markdown(meeting.CSS, unsafe_allow_html=True)
agenda = " → ".join(f"<b>{html.escape(s)}</b>" if s == screen.section else html.escape(s) for s in meeting.AGENDA)
st.markdown(f'<div class="reunion-filtres">Périmètre : {html.escape(where)}</div>'
            f'<div class="reunion-agenda">{agenda} · écran {index + 1} / {count}</div>', unsafe_allow_html=True)
st.title(layout.escape_markdown(screen.title), anchor=False)  # stake titles come from the data
screen.draw()

previous, position, following, leave = st.columns([2, 4, 2, 1], vertical_alignment="center")
previous.button("Précédent", key="reunion_precedent", icon=":material/arrow_back:", shortcut="Left",
                disabled=index == 0, on_click=_go, args=(-1, count), width="stretch")
position.progress((index + 1) / count, text=f"Écran {index + 1} sur {count} — touches ← et → pour avancer")
following.button("Suivant", key="reunion_suivant", icon=":material/arrow_forward:", shortcut="Right",
                 disabled=index == count - 1, on_click=_go, args=(1, count), type="primary", width="stretch")
if leave.button("Quitter", key="reunion_quitter", icon=":material/close:", help="Retour au tableau de bord"):
    st.switch_page("pages/vue_ensemble.py")  # the sidebar and its menu come back
