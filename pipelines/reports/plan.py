"""A sector plan as the committee reads it: the actions table, the per-stake sections of the committee
report and the relevé de décisions of a meeting (CSV and PDF). No Streamlit: the Plan d'action page, the
meeting screens, the committee report and the CLI all take their tables from here.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from pipelines.demo import loader as demo_loader
from pipelines.privacy import roles
from pipelines.queries import plan as q_plan
from pipelines.reports import exports, fmt
from pipelines.store import warehouse

# Status → colour (Okabe-Ito, as the charts): the word is always written next to it.
STATUS_COLOURS = {"a_lancer": "#7f7f7f", "en_cours": "#0072B2", "realisee": "#009E73", "reportee": "#E69F00",
                  "abandonnee": "#000000"}
LATE = "en retard"


def joined(items) -> str:
    """A list cell (an array from DuckDB, or NA) as 'CRESS, DLA'."""
    return "" if items is None or items is pd.NA or isinstance(items, float) else ", ".join(items)


def progress_words(share: float | None, funder: bool) -> str:
    """'60 %' of the target, or for a funder the quarter reached ('de 50 à 75 %')."""
    if share is None or pd.isna(share):
        return ""
    if share >= 1:
        return "cible atteinte"
    if not funder:
        return fmt.pourcentage(share)
    if share < 1 / q_plan.PROGRESS_BANDS:
        return f"moins de {fmt.pourcentage(1 / q_plan.PROGRESS_BANDS)}"
    return f"de {fmt.pourcentage(share)} à {fmt.pourcentage(share + 1 / q_plan.PROGRESS_BANDS)}"


def actions_table(actions: pd.DataFrame, funder: bool) -> pd.DataFrame:
    """The actions with French headers, in display order: what the page lists, the PDF prints and the CSV
    holds. A funder's frame carries no value nor comment (pipelines.queries.plan.page_data)."""
    out = pd.DataFrame({
        "Action": actions["intitule"],
        "Statut": actions["statut_libelle"],
        "Pilote": actions["pilote"],
        "Partenaires": actions["partenaires"].map(joined),
        "Échéance": actions["echeance"].map(lambda d: "" if pd.isna(d) else f"{pd.Timestamp(d):%d/%m/%Y}"),
        "Retard": actions["en_retard"].map(lambda late: LATE if late else ""),
        "Indicateur": actions["indicateur_libelle"],
    })
    if not funder:
        out["Valeur"] = actions["valeur"]
    out["Cible"] = actions["cible"]
    out["Avancement"] = [progress_words(s, funder) for s in actions["avancement"]]
    if not funder:
        out["Commentaire"] = actions["commentaire"]
    return out


def decisions_table(decisions: pd.DataFrame, funder: bool) -> pd.DataFrame:
    out = pd.DataFrame({
        "Comité du": decisions["date_comite"].map(lambda d: f"{pd.Timestamp(d):%d/%m/%Y}"),
        "Action": decisions["action"],
        "Nouveau statut": decisions["statut_libelle"].fillna(""),
    })
    if not funder:
        out.insert(2, "Décision", decisions["decision"])
    return out


def stake_sentence(stake: dict) -> str:
    """'4 actions : 1 réalisée, 2 en cours, 1 en retard · avancement moyen des indicateurs 60 %'."""
    parts = [f"{stake['realisees']} réalisée(s)", f"{stake['en_cours']} en cours"]
    if stake["en_retard"]:
        parts.append(f"{stake['en_retard']} en retard")
    text = f"{stake['actions']} action(s) : " + ", ".join(parts)
    if stake["avancement_moyen"] is not None and not pd.isna(stake["avancement_moyen"]):
        text += f" · avancement moyen des indicateurs {fmt.pourcentage(stake['avancement_moyen'])}"
    return text


def report_sections(con: duckdb.DuckDBPyConnection, region: str | None, vue: str,
                    au: dt.date | None = None) -> list[exports.Section]:
    """The committee report's chapter on each plan of the scope: progress per stake, the late actions and the
    decisions of the last meeting."""
    au = au or dt.date.today()
    sections = []
    for plan_id in q_plan.plans(con, region)["id_plan"]:
        data = q_plan.page_data(con, plan_id, au, vue)
        funder = data["secret_statistique"]
        stakes = data["enjeux"]
        progress = pd.DataFrame({"Enjeu": [f"{s['numero']}. {s['intitule']}" for s in stakes.to_dict("records")],
                                 "Actions": stakes["actions"], "Réalisées": stakes["realisees"],
                                 "En cours": stakes["en_cours"], "En retard": stakes["en_retard"],
                                 "Avancement moyen": [progress_words(v, False) for v in stakes["avancement_moyen"]]})
        late = data["actions"][data["actions"]["en_retard"]]
        meetings = [d for d in q_plan.meeting_dates(con, plan_id) if d <= au]
        tables = [("Avancement par enjeu", progress)]
        if len(late):
            tables.append(("Actions en retard", actions_table(late, funder)[["Action", "Statut", "Pilote", "Échéance"]]))
        notes = [] if len(late) else ["Aucune action en retard."]
        if meetings:
            last = data["decisions"][data["decisions"]["date_comite"] == pd.Timestamp(meetings[0])]
            tables.append((f"Décisions du comité du {meetings[0]:%d/%m/%Y}", decisions_table(last, funder)))
        plan = data["plan"]
        sections.append(exports.Section(
            f"Plan d'action : {plan['nom']}",
            f"Porté par {plan['porteur']} · état au {au:%d/%m/%Y} · {len(data['actions'])} actions.",
            tables=tables, notes=notes))
    return sections


def minutes(con: duckdb.DuckDBPyConnection, plan_id: str, date_comite: dt.date, vue: str) -> pd.DataFrame:
    """The relevé de décisions of one meeting, as the role may read it (a funder: no decision text)."""
    return decisions_table(q_plan.decisions(con, [plan_id], date_comite), roles.role(vue).statistical_secrecy)


def minutes_file_name(plan_id: str, date_comite: dt.date, extension: str) -> str:
    """'releve-decisions_PS-2026_2026-04-25.csv': the plan and the meeting, so two relevés never share a name."""
    return exports.file_name(["releve-decisions", plan_id, f"{date_comite:%Y-%m-%d}"], extension)


def minutes_csv(con: duckdb.DuckDBPyConnection, plan_id: str, date_comite: dt.date, vue: str) -> bytes:
    return exports.to_csv_bytes(minutes(con, plan_id, date_comite, vue))


def minutes_pdf(con: duckdb.DuckDBPyConnection, plan_id: str, date_comite: dt.date, vue: str) -> bytes:
    plan = q_plan.plans(con, plan=plan_id).iloc[0]
    return exports.minutes_pdf(f"Relevé de décisions du comité du {date_comite:%d/%m/%Y}", plan["nom"],
                               minutes(con, plan_id, date_comite, vue), demo=demo_loader.is_demo(con))


def minutes_pdf_for(db, plan_id: str, date_comite: dt.date, vue: str) -> bytes:
    """The relevé's PDF for a download button: opens its own short read connection when clicked."""
    with warehouse.read_connection(db) as con:
        return minutes_pdf(con, plan_id, date_comite, vue)
