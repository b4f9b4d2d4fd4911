"""The screens of the meeting mode (pages/reunion.py), for a projector of 1280×720 or 1920×1080.

A screen is a section of the agenda, a title and a function that draws it. Figures come from the query
functions the pages use (masked there for a role under statistical secrecy); masked rows are left out of
the charts. The plan screens carry, for the comité and analyste roles, the form that records a decision.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from dataclasses import dataclass
from typing import Callable

import pandas as pd
import streamlit as st

from dashboard import data, layout
from pipelines import ingest
from pipelines.ingest.load import UndoRefused
from pipelines.queries import indicators
from pipelines.queries import plan as q_plan
from pipelines.queries import resultats as q_resultats
from pipelines.queries import temoignages as q_temoignages
from pipelines.queries import vue_ensemble as q_vue_ensemble
from pipelines.reports import charts, fmt, rapport
from pipelines.reports import plan as plan_report
from pipelines.spec import referentiels as ref
from pipelines.store.warehouse import WarehouseError

AGENDA = ["Vue d'ensemble", "Besoins", "Territoires", "Résultats", "Plan d'action", "Témoignages"]
CHART_FONT = 20
CHART_HEIGHT = 390  # fits 1280×720 under the banner, the agenda and the title, above the navigation
TERRITORIES_SHOWN = 13  # the départements of the largest régions (Occitanie: 13) fit; the whole set is cut
DECIDERS = ("comite", "analyste")  # the roles that record a decision during the meeting (not "national": it reads)
LAST_DECISION_KEY = "reunion_derniere_decision"  # (import_id, action) of the decision just recorded

# Meeting mode shows the screen alone: no sidebar (its filters still apply: they travel in the URL), no
# Streamlit header, tight margins, and type sized for the back of the room.
CSS = """
<style>
section[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], header[data-testid="stHeader"],
[data-testid="stSidebarCollapseButton"] { display: none !important; }
[data-testid="stMainBlockContainer"] { padding: .6rem 2rem .4rem 2rem !important; max-width: 100% !important; }
.reunion-filtres { font-size: 1.15rem; color: #1f2430; background: #f1f3f6; border-left: 6px solid #0072B2;
                   padding: .25rem .8rem; margin-bottom: .2rem; }
.reunion-agenda { font-size: 1rem; color: #444; margin-bottom: 0; }
.reunion-agenda b { color: #000; background: #ffe9b3; padding: 0 .35rem; border-radius: 4px; }
.reunion-chiffre { font-size: 9rem; font-weight: 800; color: #000; line-height: 1; margin: 1.5rem 0 .6rem 0; }
.reunion-legende { font-size: 2rem; color: #1f2430; }
.reunion-citation { font-size: 2rem; line-height: 1.3; color: #000; border-left: 10px solid #009E73;
                    padding: .4rem 1.2rem; margin: 1rem 0 .6rem 0; }
.reunion-source { font-size: 1.3rem; color: #333; }
.reunion-note { font-size: 1.05rem; color: #333; }
.reunion-actions { width: 100%; border-collapse: collapse; font-size: 1.1rem; line-height: 1.25; }
.reunion-actions td, .reunion-actions th { padding: .2rem .45rem; border-bottom: 1px solid #ddd; text-align: left; }
.reunion-actions td.reunion-court { white-space: nowrap; }
.reunion-actions th { color: #444; font-weight: 600; }
.reunion-statut { font-weight: 800; white-space: nowrap; }
.reunion-retard { color: #D55E00; font-weight: 700; white-space: nowrap; }
.reunion-barre { background: #e8ebf0; height: .9rem; width: 6rem; border-radius: 3px; display: inline-block; }
.reunion-barre span { background: #0072B2; height: 100%; display: block; border-radius: 3px; }
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


def chart(fig, note: str | None = None) -> Callable[[], None]:
    def draw():
        has_legend = sum(1 for t in fig.data if t.showlegend is not False and t.name) > 1
        # A legend above the plot, never over an axis title (it sat on the x axis's title below the plot).
        fig.update_layout(font=dict(size=CHART_FONT, color="#000"), title=dict(text=""), height=CHART_HEIGHT,
                          margin=dict(l=10, r=40, t=50 if has_legend else 10, b=10), hoverlabel=dict(font_size=18),
                          legend=dict(orientation="h", x=0, xanchor="left", y=1.02, yanchor="bottom",
                                      font=dict(size=CHART_FONT - 4)))
        fig.update_xaxes(tickfont=dict(size=CHART_FONT - 2, color="#000"))
        fig.update_yaxes(tickfont=dict(size=CHART_FONT - 2, color="#000"))
        fig.update_traces(textfont_size=CHART_FONT - 2, selector=dict(type="bar"))
        st.plotly_chart(fig, width="stretch", config={"displayModeBar": False})
        if note:
            st.markdown(f'<div class="reunion-note">{html.escape(note)}</div>', unsafe_allow_html=True)
    return draw


def map_chart(fig) -> Callable[[], None]:
    def draw():
        height = CHART_HEIGHT + 30  # a map gains more from height than a bar chart; 1280×720 has 30 px to spare
        # charts.choropleth fits its zoom to a map about 520 px high; this one is lower: zoom out to match.
        zoom = fig.layout.map.zoom - math.log2(charts.MAP_FIT_HEIGHT / height)
        fig.update_layout(title=dict(text=""), height=height, margin=dict(l=0, r=0, t=0, b=0),
                          font=dict(size=CHART_FONT - 4), map=dict(zoom=zoom))
        st.plotly_chart(fig, width="stretch", config={"displayModeBar": False})
    return draw


def quote(row) -> Callable[[], None]:
    def draw():
        source = " · ".join(str(v) for v in (row.get("auteur_role"), row.get("programme")) if v)
        st.markdown(f'<div class="reunion-citation">« {html.escape(str(row["texte"]))} »</div>'
                    f'<div class="reunion-source">{html.escape(source)}</div>', unsafe_allow_html=True)
    return draw


# --------------------------------------------------------------------------- the plan screens


def _actions_html(actions: pd.DataFrame, funder: bool) -> str:
    """A stake's actions as one legible table: status in its colour and word, progress bar, deadline, pilot."""
    e = html.escape
    rows = []
    for a in actions.to_dict("records"):
        colour = plan_report.STATUS_COLOURS[a["statut_courant"]]
        share = a["avancement"]
        bar = "" if share is None or pd.isna(share) else (
            f'<span class="reunion-barre"><span style="width:{100 * share:.0f}%"></span></span> '
            + e(plan_report.progress_words(share, funder)))
        due = "" if pd.isna(a["echeance"]) else f"{pd.Timestamp(a['echeance']):%d/%m/%Y}"
        late = f' <span class="reunion-retard">{plan_report.LATE}</span>' if a["en_retard"] else ""
        rows.append(f'<tr><td>{e(a["intitule"])}</td>'
                    f'<td class="reunion-statut" style="color:{colour}">{e(a["statut_libelle"])}</td>'
                    f'<td class="reunion-court">{bar}</td><td class="reunion-court">{due}{late}</td>'
                    f"<td>{e(a['pilote'] or '')}</td></tr>")
    return ('<table class="reunion-actions"><thead><tr><th>Action</th><th>Statut</th><th>Avancement</th>'
            f"<th>Échéance</th><th>Pilote</th></tr></thead><tbody>{''.join(rows)}</tbody></table>")


def _record(role: str) -> None:
    """The decision form's submit: one `decisions` line through the import write path."""
    action = st.session_state["reunion_decision_action"]
    text = (st.session_state["reunion_decision_texte"] or "").strip()
    if not text:
        st.session_state[LAST_DECISION_KEY] = ("erreur", "Écrivez la décision avant de l'enregistrer.")
        return
    status = st.session_state["reunion_decision_statut"]
    try:
        result = ingest.record_decision(data.db(), id_action=action, date_comite=st.session_state["reunion_decision_date"],
                                        decision=text, statut=None if status == "inchange" else status, role=role)
    except WarehouseError as refused:  # a national view, another writer, a conflict: said in French, nothing kept
        st.session_state[LAST_DECISION_KEY] = ("erreur", str(refused))
        return
    finally:
        data.clear()
    if result.status == "importe":
        st.session_state[LAST_DECISION_KEY] = ("importe", result.import_id)
        st.session_state["reunion_decision_texte"] = ""
    else:
        errors = "; ".join(result.problems["erreur"].astype(str).head(3)) if len(result.problems) else ""
        st.session_state[LAST_DECISION_KEY] = ("erreur", f"{result.message} {errors}".strip())


def _undo(import_id: int) -> None:
    try:
        ingest.undo(data.db(), import_id)
        st.session_state[LAST_DECISION_KEY] = ("annule", import_id)
    except (UndoRefused, WarehouseError) as refused:
        st.session_state[LAST_DECISION_KEY] = ("erreur", str(refused))
    data.clear()


def decision_form(actions: pd.DataFrame, role: str) -> None:
    """Record a decision on one of the screen's actions: text and, if it changes, the new status."""
    last = st.session_state.get(LAST_DECISION_KEY)
    if last and last[0] == "importe":
        left, right = st.columns([4, 1], vertical_alignment="center")
        left.success(f"Décision enregistrée (import n° {last[1]}) : le statut et l'historique sont à jour.",
                     icon=":material/check_circle:")
        right.button("Annuler cette décision", key="reunion_decision_annuler", on_click=_undo, args=(last[1],),
                     icon=":material/undo:")
    elif last and last[0] == "annule":
        st.info(f"Décision annulée (import n° {last[1]}).", icon=":material/undo:")
    elif last:
        st.error(last[1], icon=":material/error:")
    with st.popover("Enregistrer une décision", icon=":material/gavel:"):
        labels = dict(zip(actions["id_action"], actions["intitule"]))
        st.selectbox("Action", list(labels), format_func=labels.get, key="reunion_decision_action")
        st.text_area("Décision", key="reunion_decision_texte", max_chars=2000,
                     placeholder="Ce que le comité décide, sans nom de personne")
        st.selectbox("Statut à partir de cette date", ["inchange", *ref.STATUTS_ACTION],
                     format_func=lambda c: "Inchangé" if c == "inchange" else ref.STATUTS_ACTION[c],
                     key="reunion_decision_statut")
        st.date_input("Date du comité", value=dt.date.today(), format="DD/MM/YYYY", key="reunion_decision_date")
        st.button("Enregistrer", type="primary", key="reunion_decision_enregistrer", on_click=_record,
                  args=(role,))


def stake_screen(plan_data: dict, stake: dict, role: str) -> Callable[[], None]:
    def draw():
        mine = q_plan.of_stake(plan_data["actions"], stake["id_enjeu"])
        st.markdown(f'<div class="reunion-note">{html.escape(plan_report.stake_sentence(stake))}</div>',
                    unsafe_allow_html=True)
        st.markdown(_actions_html(mine, plan_data["secret_statistique"]), unsafe_allow_html=True)
        if role in DECIDERS and len(mine):
            decision_form(mine, role)
    return draw


def minutes_screen(plan_id: str, meetings: list[dt.date], role: str) -> Callable[[], None]:
    def draw():
        if not meetings:
            st.markdown('<div class="reunion-legende">Aucune décision enregistrée pour ce plan.</div>',
                        unsafe_allow_html=True)
            return
        chosen = st.selectbox("Comité du", meetings, format_func=lambda d: f"{d:%d/%m/%Y}",
                              key=f"reunion_releve_{plan_id}")
        table = data.fetch(plan_report.minutes, plan_id, chosen, role)
        # As high as its rows, up to six (then it scrolls): empty rows pushed the navigation off a 720 px screen.
        st.dataframe(table, hide_index=True, width="stretch", height=layout.height_for(len(table), 6))
        csv_col, pdf_col, _ = st.columns([1, 1, 3])
        csv_col.download_button("Relevé CSV", data.fetch(plan_report.minutes_csv, plan_id, chosen, role),
                                plan_report.minutes_file_name(plan_id, chosen, "csv"), "text/csv",
                                icon=":material/download:", key=f"releve_csv_{plan_id}", on_click="ignore")
        pdf_col.download_button("Relevé PDF", lambda: plan_report.minutes_pdf_for(data.db(), plan_id, chosen, role),
                                plan_report.minutes_file_name(plan_id, chosen, "pdf"), "application/pdf",
                                icon=":material/picture_as_pdf:", key=f"releve_pdf_{plan_id}", on_click="ignore")
    return draw


def plan_screens(scope: indicators.Scope, role: str) -> list[Screen]:
    """One screen per stake of each plan of the scope's région, then the plan's relevé de décisions."""
    screens = []
    for plan_id in data.fetch(q_plan.plans, scope.region)["id_plan"]:
        plan_data = data.fetch(q_plan.page_data, plan_id, dt.date.today(), vue=role)
        for stake in plan_data["enjeux"].to_dict("records"):
            screens.append(Screen(AGENDA[4], f"Enjeu {stake['numero']} · {stake['intitule']}",
                                  stake_screen(plan_data, stake, role)))
        meetings = data.fetch(q_plan.meeting_dates, plan_id)
        screens.append(Screen(AGENDA[4], f"Relevé de décisions · {plan_data['plan']['nom']}",
                              minutes_screen(plan_id, meetings, role)))
    return screens


# --------------------------------------------------------------------------- the whole sequence


def build_screens(scope: indicators.Scope, where: str, role: str) -> list[Screen]:
    """The sequence for a scope: same scope, same screens, same order."""
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
               chart(charts.trend_by_year(overview["annees"], "", where),
                     note=data.fetch(q_vue_ensemble.incomplete_year_note, overview["annees"]))),
    ]
    needs = layout.without_secret(overview["besoins"])
    screens.append(Screen(AGENDA[1], "Besoins principaux des structures", chart(charts.besoin_shares(needs, "", where))))

    _, territory_map = data.fetch(rapport.structures_map, scope, role, "", where)
    screens.append(Screen(AGENDA[2], "Carte des structures accompagnées", map_chart(territory_map)))
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
    else:
        screens.append(Screen(AGENDA[3], "Résultats des programmes",
                              big_number("—", "pas d'indicateur de résultat publiable pour ces filtres")))

    screens += plan_screens(scope, role)

    # Never an unconsented testimony on a projector, whoever runs the meeting; quotes name no structure.
    cards = data.fetch(q_temoignages.temoignages, scope, include_unconsented=False, limite=3)["temoignages"]
    for row in cards.to_dict("records"):
        if row.get("consentement_publication") is True:
            screens.append(Screen(AGENDA[5], "Témoignage", quote(row)))
    if not any(s.section == AGENDA[5] for s in screens):
        screens.append(Screen(AGENDA[5], "Témoignages",
                              big_number("—", "aucun témoignage publiable pour ces filtres")))
    return screens
