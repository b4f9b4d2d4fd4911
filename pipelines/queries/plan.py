"""Plan d'action: a sector plan's stakes and actions, their current status, lateness and live indicators.

Rules of the interchange format v1.1 (`../shared/spec/format-echange-v1.md`): an action's current status is
the `statut` of its latest decision that has one (by date_comite, then id_decision), else actions.statut;
it is late when its echeance is past and its status is neither realisee nor abandonnee. Both are read
at a date (`au`): decisions taken after it do not count yet. An action with an indicator is measured
by the indicator functions every page uses (pipelines.queries.indicators.key_figures, the workshops of
pipelines.queries.resultats), over the plan's région and period with the pages' scope rule (an
accompaniment counts when it is active during the period).
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from pipelines.privacy import roles, secret
from pipelines.queries import indicators, resultats
from pipelines.queries.indicators import Scope
from pipelines.spec import referentiels as ref


def plans(con: duckdb.DuckDBPyConnection, region: str | None = None, plan: str | None = None) -> pd.DataFrame:
    return con.execute("""
        SELECT id_plan, nom, code_region, porteur, date_debut, date_fin FROM plans
        WHERE ($region IS NULL OR code_region = $region) AND ($plan IS NULL OR id_plan = $plan)
        ORDER BY code_region, id_plan""", {"region": region, "plan": plan}).df()


def stakes(con: duckdb.DuckDBPyConnection, plan_ids: list[str]) -> pd.DataFrame:
    return con.execute("""SELECT id_enjeu, id_plan, numero, intitule, mots_cles FROM enjeux
                          WHERE list_contains($plans, id_plan) ORDER BY id_plan, numero""", {"plans": plan_ids}).df()


def actions(con: duckdb.DuckDBPyConnection, plan_ids: list[str], au: dt.date) -> pd.DataFrame:
    """The plans' actions with `statut_courant` (and its label), `en_retard` and their `derniere_decision`
    date, as of `au`."""
    frame = con.execute("""
        WITH latest AS (
            SELECT id_action, statut, date_comite FROM decisions
            WHERE statut IS NOT NULL AND date_comite <= $au
            QUALIFY row_number() OVER (PARTITION BY id_action ORDER BY date_comite DESC, id_decision DESC) = 1),
        last_meeting AS (SELECT id_action, max(date_comite) AS derniere_decision FROM decisions
                         WHERE date_comite <= $au GROUP BY 1)
        SELECT a.*, coalesce(l.statut, a.statut) AS statut_courant, m.derniere_decision,
               coalesce(a.echeance < $au AND coalesce(l.statut, a.statut) NOT IN ('realisee', 'abandonnee'), false)
                   AS en_retard
        FROM actions a LEFT JOIN latest l USING (id_action) LEFT JOIN last_meeting m USING (id_action)
        WHERE list_contains($plans, a.id_plan)
        ORDER BY a.id_plan, a.id_action""", {"plans": plan_ids, "au": au}).df()
    frame["statut_libelle"] = frame["statut_courant"].map(ref.STATUTS_ACTION)
    return frame.drop(columns=["import_id"])


def decisions(con: duckdb.DuckDBPyConnection, plan_ids: list[str], date_comite: dt.date | None = None) -> pd.DataFrame:
    """Decisions on the plans' actions (of one meeting when `date_comite` is given), in meeting order."""
    frame = con.execute("""
        SELECT d.id_decision, d.id_action, a.id_plan, a.intitule AS action, d.date_comite, d.decision, d.statut,
               d.auteur_role
        FROM decisions d JOIN actions a USING (id_action)
        WHERE list_contains($plans, a.id_plan) AND ($date IS NULL OR d.date_comite = $date)
        ORDER BY d.date_comite, d.id_decision""", {"plans": plan_ids, "date": date_comite}).df()
    frame["statut_libelle"] = frame["statut"].map(ref.STATUTS_ACTION)
    return frame


def plan_scope(plan: pd.Series, au: dt.date, programme: str | None = None) -> Scope:
    """The plan's région and period (until `au` at the latest): what its indicators count."""
    end = au if pd.isna(plan["date_fin"]) else min(pd.Timestamp(plan["date_fin"]).date(), au)
    return Scope(region=plan["code_region"], programme=programme, depuis=pd.Timestamp(plan["date_debut"]).date(),
                 jusqu_au=end)


def measure(con: duckdb.DuckDBPyConnection, action: pd.Series, plan: pd.Series,
            au: dt.date) -> tuple[float | None, int | None]:
    """The live value of an action's indicator (None without one) and, for an indicator counted over
    accompaniments, how many structures it rests on (None for workshops): one query for both."""
    kind = action.get("indicateur")
    if kind is None or pd.isna(kind):
        return None, None
    programme = action.get("indicateur_programme")
    scope = plan_scope(plan, au, None if pd.isna(programme) else programme)
    if kind in ("ateliers", "participants"):
        return float(resultats.workshops(con, scope)[kind].sum()), None
    besoin = action.get("indicateur_besoin")
    figures = indicators.key_figures(con, scope, besoin=None if pd.isna(besoin) else besoin)
    return float(figures[kind]), figures["structures"]


def indicator_value(con: duckdb.DuckDBPyConnection, action: pd.Series, plan: pd.Series, au: dt.date) -> float | None:
    """The live value of an action's indicator (None without one)."""
    return measure(con, action, plan, au)[0]


def summary(con: duckdb.DuckDBPyConnection, region: str | None = None, plan: str | None = None,
            au: dt.date | None = None) -> dict:
    """What `python -m pipelines plan --json` prints: per plan, its actions by current status and by stake
    (an action in two stakes counts in both), the late ones, and each measured action's value and target."""
    au = au or dt.date.today()
    found = plans(con, region, plan)
    listed = actions(con, found["id_plan"].tolist(), au)
    out = []
    for p in found.to_dict("records"):
        mine = listed[listed["id_plan"] == p["id_plan"]]
        by_stake = mine["enjeux"].explode().value_counts()
        out.append({
            "id_plan": p["id_plan"], "nom": p["nom"], "actions": int(len(mine)),
            "par_statut": {s: int(n) for s, n in mine["statut_courant"].value_counts().sort_index().items()},
            "par_enjeu": {e: int(by_stake.get(e, 0)) for e in stakes(con, [p["id_plan"]])["id_enjeu"]},
            "en_retard": int(mine["en_retard"].sum()),
            "indicateurs": {a["id_action"]: {"valeur": indicator_value(con, pd.Series(a), pd.Series(p), au),
                                             "cible": None if pd.isna(a["cible"]) else float(a["cible"])}
                            for a in mine.to_dict("records") if not pd.isna(a["indicateur"])},
        })
    return {"plans": out}


PROGRESS_BANDS = 4  # a funder reads progress by quarter of the target, never the value (statistical secrecy)


def progress(value: float | None, target: float | None) -> float | None:
    """The share of the target reached, capped at 1 (None without a value or a positive target)."""
    if value is None or target is None or pd.isna(value) or pd.isna(target) or target <= 0:
        return None
    return min(float(value) / float(target), 1.0)


def funder_progress(value: float | None, target: float | None, structures: int | None) -> float | None:
    """What a funder sees of an indicator: its progress rounded down to a quarter of the target, or None
    when the value rests on fewer structures than the secrecy threshold. The plan's period is not a
    calendar year (the funder's published slices) and its restrictions (a need, a programme) cut cells
    no funder table shows: a number here could be subtracted from a published one, a quarter of a target
    cannot be subtracted to one or two structures."""
    share = progress(value, target)
    if share is None or (structures is not None and structures < secret.threshold()):
        return None
    return int(share * PROGRESS_BANDS) / PROGRESS_BANDS


def page_data(con: duckdb.DuckDBPyConnection, plan_id: str, au: dt.date, vue: str = "analyste") -> dict:
    """Everything the Plan d'action page, the meeting screens and the committee report show of one plan, as
    of `au`: the plan, its stakes in order with their progress, its actions (current status, lateness,
    indicator against target) and its decisions. A funder (statistical secrecy) receives no comment, no
    decision text and no indicator value, only its progress by quarter of the target."""
    rules = roles.role(vue)
    found = plans(con, plan=plan_id)
    if found.empty:
        raise ValueError(f"Plan d'action « {plan_id} » inconnu.")
    plan = found.iloc[0].to_dict()
    stake_rows = stakes(con, [plan_id])
    listed = actions(con, [plan_id], au)
    measured = [measure(con, pd.Series(a), pd.Series(plan), au) for a in listed.to_dict("records")]
    listed["valeur"] = [m[0] for m in measured]
    listed["cible"] = listed["cible"].astype(float)
    listed["indicateur_libelle"] = listed["indicateur"].map(ref.INDICATEURS_ACTION)
    if rules.statistical_secrecy:
        listed["avancement"] = [funder_progress(v, c, n) for (v, n), c in zip(measured, listed["cible"])]
        listed["valeur"] = None
        listed["commentaire"] = None
    else:
        listed["avancement"] = [progress(v, c) for v, c in zip(listed["valeur"], listed["cible"])]
    history = decisions(con, [plan_id])
    history = history[history["date_comite"] <= pd.Timestamp(au)]
    if rules.statistical_secrecy:
        history = history.assign(decision=None)
    return {"plan": plan, "enjeux": _stake_progress(stake_rows, listed), "actions": listed,
            "decisions": history.reset_index(drop=True), "au": au, "secret_statistique": rules.statistical_secrecy}


def _stake_progress(stake_rows: pd.DataFrame, listed: pd.DataFrame) -> pd.DataFrame:
    """Per stake: its actions, how many are réalisées, en cours, late, and the mean progress of the measured
    ones (an action in two stakes counts in both)."""
    per_stake = listed.explode("enjeux")
    rows = []
    for stake in stake_rows.to_dict("records"):
        mine = per_stake[per_stake["enjeux"] == stake["id_enjeu"]]
        measured = mine["avancement"].dropna()
        rows.append({**stake, "actions": len(mine),
                     "realisees": int((mine["statut_courant"] == "realisee").sum()),
                     "en_cours": int((mine["statut_courant"] == "en_cours").sum()),
                     "en_retard": int(mine["en_retard"].sum()),
                     "avancement_moyen": float(measured.mean()) if len(measured) else None})
    return pd.DataFrame(rows, columns=[*stake_rows.columns, "actions", "realisees", "en_cours", "en_retard",
                                       "avancement_moyen"])


def meeting_dates(con: duckdb.DuckDBPyConnection, plan_id: str) -> list[dt.date]:
    """The dates of the plan's committee meetings, latest first."""
    rows = con.execute("""SELECT DISTINCT d.date_comite FROM decisions d JOIN actions a USING (id_action)
                          WHERE a.id_plan = $plan ORDER BY 1 DESC""", {"plan": plan_id}).fetchall()
    return [r[0] for r in rows]


def filter_actions(listed: pd.DataFrame, statuts: list[str] = (), enjeux: list[str] = (),
                   pilotes: list[str] = ()) -> pd.DataFrame:
    """The actions with one of `statuts` (current status), serving one of `enjeux`, led by one of `pilotes`;
    an empty choice keeps everything."""
    keep = pd.Series(True, index=listed.index)
    if statuts:
        keep &= listed["statut_courant"].isin(statuts)
    if enjeux:
        keep &= listed["enjeux"].map(lambda served: bool(set(served) & set(enjeux)))
    if pilotes:
        keep &= listed["pilote"].isin(pilotes)
    return listed[keep]


def of_stake(listed: pd.DataFrame, id_enjeu: str) -> pd.DataFrame:
    return listed[listed["enjeux"].map(lambda served: id_enjeu in set(served))]
