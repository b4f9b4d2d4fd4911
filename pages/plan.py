"""Plan d'action: a sector plan's stakes in order, each with its actions, their status, pilot, deadline and
live indicator, and the history of the committee's decisions."""

import datetime as dt

import pandas as pd
import streamlit as st

from dashboard import data, filters, layout
from dashboard.page import start
from pipelines.queries import plan as q
from pipelines.reports import fmt
from pipelines.reports import plan as report
from pipelines.spec import referentiels as ref

page = start("plan")
plans = data.fetch(q.plans, page.scope.region)
if plans.empty:
    page.heading("Plan d'action")
    st.info("Aucun plan d'action sectoriel pour ce périmètre : importez les fichiers plans, enjeux, actions et "
            "décisions (page Importer des données), ou choisissez une autre région.", icon=":material/search_off:")
    st.stop()

au = dt.date.today()
page.heading("Plan d'action", f"état au {au:%d/%m/%Y} : statut de chaque action d'après la dernière décision du comité")
plan_id = filters.url_choice("Plan", dict(zip(plans["id_plan"], plans["nom"])), "plan", widget="select")
result = data.fetch(q.page_data, plan_id, au, vue=page.role)
plan, stakes, actions, funder = result["plan"], result["enjeux"], result["actions"], result["secret_statistique"]
st.caption(layout.escape_markdown(f"Porté par {plan['porteur']}"))
if funder:
    st.caption(":material/lock: Vue financeur : les commentaires et le texte des décisions ne sont pas diffusés ; "
               "l'avancement des indicateurs est donné par quart de la cible, sans la valeur (secret statistique).")

done = int((actions["statut_courant"] == "realisee").sum())
cards = st.columns(4)
cards[0].metric("Actions", fmt.nombre(len(actions)))
cards[1].metric("Réalisées", fmt.nombre(done))
cards[2].metric("En cours", fmt.nombre(int((actions["statut_courant"] == "en_cours").sum())))
cards[3].metric("En retard", fmt.nombre(int(actions["en_retard"].sum())),
                help="Échéance passée, ni réalisée ni abandonnée.")

chosen_status, chosen_stake, chosen_pilot = st.columns(3)
statuses = chosen_status.multiselect("Statut", list(ref.STATUTS_ACTION), format_func=ref.STATUTS_ACTION.get,
                                     placeholder="Tous les statuts")
stake_labels = {s["id_enjeu"]: f"{s['numero']}. {s['intitule']}" for s in stakes.to_dict("records")}
wanted_stakes = chosen_stake.multiselect("Enjeu", list(stake_labels), format_func=stake_labels.get,
                                         placeholder="Tous les enjeux")
pilots = sorted(actions["pilote"].dropna().unique())
wanted_pilots = chosen_pilot.multiselect("Pilote", pilots, placeholder="Tous les pilotes")

shown = q.filter_actions(actions, statuses, wanted_stakes, wanted_pilots)
# What a committee looks at first (status, progress), then who and when.
PAGE_COLUMNS = ["Action", "Statut", "Avancement", "Indicateur", "Valeur", "Cible", "Échéance", "Retard", "Pilote",
                "Partenaires", "Commentaire"]
STATUS_COLOURS = {ref.STATUTS_ACTION[code]: colour for code, colour in report.STATUS_COLOURS.items()}
history = result["decisions"]
for stake in stakes.to_dict("records"):
    if wanted_stakes and stake["id_enjeu"] not in wanted_stakes:
        continue
    mine = q.of_stake(shown, stake["id_enjeu"])
    with st.container(border=True):
        st.subheader(layout.escape_markdown(stake_labels[stake["id_enjeu"]]), anchor=False)
        st.progress(stake["realisees"] / stake["actions"] if stake["actions"] else 0.0,
                    text=report.stake_sentence(stake))
        if mine.empty:
            st.caption("Aucune action de cet enjeu pour ces filtres.")
            continue
        table = report.actions_table(mine, funder)
        if not funder:  # the bar says the share; a funder reads the quarter in words, never a bar's exact length
            table["Avancement"] = mine["avancement"].to_numpy()
        table = table[[c for c in PAGE_COLUMNS if c in table.columns]]
        for column in ("Valeur", "Cible"):
            if column in table.columns:
                table[column] = [fmt.nombre(v) if pd.notna(v) else "" for v in table[column]]
        words = [c for c in table.columns if c != "Avancement" or funder]
        table[words] = table[words].fillna("")  # an action without indicator shows blanks, not "None"
        styled = table.style.map(lambda word: f"color: {STATUS_COLOURS.get(word, '#1f2430')}; font-weight: 700",
                                 subset=["Statut"])
        st.dataframe(styled, hide_index=True, width="stretch", column_config={
            "Action": st.column_config.TextColumn("Action", width="large"),
            "Avancement": (st.column_config.TextColumn("Avancement vers la cible") if funder else
                           st.column_config.ProgressColumn("Avancement vers la cible", min_value=0, max_value=1,
                                                           format="percent"))})
        decided = history[history["id_action"].isin(mine["id_action"])]
        with st.expander(f"Historique des décisions ({len(decided)})"):
            if decided.empty:
                st.caption("Aucune décision du comité sur ces actions.")
            else:
                st.dataframe(report.decisions_table(decided.sort_values("date_comite", ascending=False), funder),
                             hide_index=True, width="stretch")
if not pd.isna(plan["date_fin"]):
    st.caption(f"Plan du {pd.Timestamp(plan['date_debut']):%d/%m/%Y} au {pd.Timestamp(plan['date_fin']):%d/%m/%Y}. "
               "Les indicateurs comptent les accompagnements de la région actifs pendant le plan, jusqu'à "
               "aujourd'hui, comme les autres pages.")
