"""Résultats des programmes: funnel, hours, workshops, follow-up, cohorts, formats."""

from __future__ import annotations

import duckdb
import pandas as pd

from pipelines.privacy import roles, secret
from pipelines.queries.indicators import ORIENTATION_NOT_GIVEN, Scope, query
from pipelines.queries.masks import breakdown_mask, children_secret, hours_top, scope_hidden
from pipelines.spec import referentiels as ref

ETAPES = list(ref.ETAPES)  # accueil → diagnostic → accompagnement → suivi → clos
PLACES_PAR_TYPE = {"pairs": 12}  # seats per workshop where the programme sets them (peer programme)


def funnel(con: duckdb.DuckDBPyConnection, scope: Scope) -> pd.DataFrame:
    """Per programme type and step: accompaniments that reached at least that step.

    The étape column holds the furthest step reached, so 'reached diagnostic' counts
    the accompaniments at diagnostic, accompagnement, suivi or clos.
    """
    frame = query(con, """
        SELECT type_programme, etape, count(*) AS n FROM acc GROUP BY ALL""", scope)
    rows = []
    for kind, part in frame.groupby("type_programme", sort=True):
        at = dict(zip(part["etape"], part["n"]))
        for i, etape in enumerate(ETAPES):
            rows.append({"type_programme": kind, "programme": ref.TYPES_PROGRAMME.get(kind, kind),
                         "etape": etape, "etape_libelle": ref.ETAPES[etape], "ordre": i,
                         "accompagnements": int(sum(at.get(e, 0) for e in ETAPES[i:]))})
    result = pd.DataFrame(rows, columns=["type_programme", "programme", "etape", "etape_libelle", "ordre",
                                         "accompagnements"])
    firsts = result[result["ordre"] == 0].set_index("type_programme")["accompagnements"]
    result["part"] = result["accompagnements"] / result["type_programme"].map(firsts)
    return result


def hours_vs_planned(con: duckdb.DuckDBPyConnection, scope: Scope) -> pd.DataFrame:
    """Per programme: hours delivered in scope against the programme's planned hours (when it has some)."""
    return query(con, """
        SELECT a.id_programme, a.nom_programme AS programme, a.type_programme,
               coalesce(sum(a.heures), 0) AS heures_realisees, p.heures_prevues,
               coalesce(sum(a.heures_benevoles), 0) AS heures_benevoles,
               coalesce(sum(a.heures), 0) / nullif(p.heures_prevues, 0) AS taux_realisation,
               count(*) AS accompagnements
        FROM acc a JOIN programmes p USING (id_programme)
        GROUP BY a.id_programme, a.nom_programme, a.type_programme, p.heures_prevues
        ORDER BY heures_realisees DESC, programme""", scope)


def peer_resources(con: duckdb.DuckDBPyConnection, scope: Scope) -> pd.DataFrame:
    """Per programme with support between peers (modalité « pairs ») in scope: its resource persons — the
    members who support other structures, named in `intervenant` — and the volunteer hours they gave.

    A resource person is counted once per programme however many structures they followed; the hours are
    the `heures_benevoles` of the peer accompaniments (a non-monetary resource of the programme).
    """
    return query(con, """
        SELECT id_programme, nom_programme AS programme,
               count(DISTINCT intervenant) AS personnes_ressources,
               count(*) AS accompagnements, count(DISTINCT id_structure) AS structures,
               coalesce(sum(heures_benevoles), 0) AS heures_benevoles,
               coalesce(sum(heures_benevoles), 0) / nullif(count(DISTINCT intervenant), 0) AS heures_par_personne
        FROM acc WHERE modalite = 'pairs'
        GROUP BY ALL ORDER BY personnes_ressources DESC, programme""", scope)


def workshops(con: duckdb.DuckDBPyConnection, scope: Scope) -> pd.DataFrame:
    """Per programme: workshops, participants, members, seats and fill rate.

    Workshops belong to a programme, not to a structure: they are counted for the
    programmes present in scope (with an accompaniment in scope), dated in the
    period. Seats are known only where the programme sets them (12 per workshop
    for the peer programme); elsewhere the fill rate is left empty.
    """
    frame = query(con, """
        SELECT p.id_programme, p.nom AS programme, p.type AS type_programme, count(*) AS ateliers,
               sum(w.nb_participants) AS participants, sum(w.nb_adherents) AS adherents,
               sum(w.nb_participants) FILTER (WHERE w.nb_adherents IS NOT NULL) AS participants_renseignes,
               coalesce(sum(w.duree_heures), 0) AS heures
        FROM ateliers w JOIN programmes p USING (id_programme)
        WHERE w.id_programme IN (SELECT DISTINCT id_programme FROM acc)
          AND ($depuis IS NULL OR w.date >= $depuis) AND ($jusqu_au IS NULL OR w.date <= $jusqu_au)
        GROUP BY ALL ORDER BY ateliers DESC, programme""", scope)
    frame["non_adherents"] = frame["participants_renseignes"] - frame["adherents"]
    seats = frame["type_programme"].map(PLACES_PAR_TYPE)
    frame["places"] = seats * frame["ateliers"]
    frame["taux_remplissage"] = frame["participants"] / frame["places"]
    return frame


def follow_up(con: duckdb.DuckDBPyConnection, scope: Scope) -> pd.DataFrame:
    """Per échéance (fin, 6 mois, 12 mois) of the accompaniments in scope.

    * objectifs_atteints: mean % over the measures;
    * ETP / budget avant → après: paired on the same structures (measures with both
      values), one value per structure (its mean if measured more than once);
    * part_active: structures whose latest measure at that échéance says still active.
    """
    frame = query(con, """
        , r AS (SELECT r.*, acc.id_structure FROM resultats r JOIN acc USING (id_accompagnement)),
        per_structure AS (
            SELECT echeance, id_structure,
                   avg(etp_avant) FILTER (WHERE etp_avant IS NOT NULL AND etp_apres IS NOT NULL) AS etp_avant,
                   avg(etp_apres) FILTER (WHERE etp_avant IS NOT NULL AND etp_apres IS NOT NULL) AS etp_apres,
                   avg(budget_avant) FILTER (WHERE budget_avant IS NOT NULL AND budget_apres IS NOT NULL) AS budget_avant,
                   avg(budget_apres) FILTER (WHERE budget_avant IS NOT NULL AND budget_apres IS NOT NULL) AS budget_apres,
                   arg_max(structure_active, date_mesure) FILTER (WHERE structure_active IS NOT NULL) AS active
            FROM r GROUP BY ALL),
        measures AS (SELECT echeance, count(*) AS mesures, avg(objectifs_atteints) AS objectifs_atteints,
                            avg(satisfaction) AS satisfaction FROM r GROUP BY ALL)
        SELECT m.echeance, m.mesures, m.objectifs_atteints, m.satisfaction,
               count(s.id_structure) AS structures,
               count(s.etp_avant) AS structures_etp, sum(s.etp_avant) AS etp_avant, sum(s.etp_apres) AS etp_apres,
               count(s.budget_avant) AS structures_budget, avg(s.budget_avant) AS budget_avant,
               avg(s.budget_apres) AS budget_apres,
               count(s.active) AS structures_statut, avg(s.active::DOUBLE) AS part_active,
               greatest(max(s.etp_avant), max(s.etp_apres)) AS top_etp,
               greatest(max(s.budget_avant), max(s.budget_apres)) AS top_budget
        FROM measures m JOIN per_structure s USING (echeance)
        GROUP BY ALL""", scope)
    order = {e: i for i, e in enumerate(ref.ECHEANCES)}
    frame["echeance_libelle"] = frame["echeance"].map(ref.ECHEANCES)
    return frame.sort_values("echeance", key=lambda s: s.map(order), ignore_index=True)


def cohorts(con: duckdb.DuckDBPyConnection, scope: Scope) -> pd.DataFrame:
    """Per starting year: accompaniments, share closed, mean objectives at the end, share active at 12 months."""
    return query(con, """
        , fin AS (SELECT id_accompagnement, avg(objectifs_atteints) AS objectifs FROM resultats
                  WHERE echeance = 'fin' GROUP BY 1),
        douze AS (SELECT id_accompagnement, arg_max(structure_active, date_mesure) AS active FROM resultats
                  WHERE echeance = '12_mois' AND structure_active IS NOT NULL GROUP BY 1)
        SELECT year(a.date_debut) AS annee, count(*) AS accompagnements, count(DISTINCT a.id_structure) AS structures,
               avg((a.etape = 'clos')::DOUBLE) AS part_clos, avg(a.heures) AS heures_moyennes,
               avg(fin.objectifs) AS objectifs_fin, count(DISTINCT a.id_structure) FILTER (
                   WHERE fin.objectifs IS NOT NULL) AS structures_fin,
               count(douze.active) AS mesures_12_mois,
               count(DISTINCT a.id_structure) FILTER (WHERE douze.active IS NOT NULL) AS structures_12_mois,
               avg(douze.active::DOUBLE) AS part_active_12_mois
        FROM acc a LEFT JOIN fin USING (id_accompagnement) LEFT JOIN douze USING (id_accompagnement)
        GROUP BY ALL ORDER BY annee""", scope)


def formats(con: duckdb.DuckDBPyConnection, scope: Scope) -> pd.DataFrame:
    """Long supports vs short appointments: volume, hours, duration, objectives, satisfaction."""
    frame = query(con, """
        , fin AS (SELECT id_accompagnement, avg(objectifs_atteints) AS objectifs, avg(satisfaction) AS satisfaction
                  FROM resultats WHERE echeance = 'fin' GROUP BY 1)
        SELECT coalesce(a.format, 'nr') AS format, count(*) AS accompagnements,
               count(DISTINCT a.id_structure) AS structures, coalesce(sum(a.heures), 0) AS heures,
               avg(a.heures) AS heures_moyennes, median(a.date_fin - a.date_debut) AS duree_mediane_jours,
               avg(fin.objectifs) AS objectifs_fin, avg(fin.satisfaction) AS satisfaction_fin
        FROM acc a LEFT JOIN fin USING (id_accompagnement)
        GROUP BY ALL ORDER BY accompagnements DESC""", scope)
    frame["libelle"] = frame["format"].map({**ref.FORMATS, "nr": "Non renseigné"})
    return frame


def orientation_by_programme(con: duckdb.DuckDBPyConnection, scope: Scope) -> pd.DataFrame:
    """Per programme and orientation (direct, prescripteur, reseau, nr): accompaniments and their share."""
    return query(con, f"""
        SELECT nom_programme AS programme, coalesce(orientation, '{ORIENTATION_NOT_GIVEN}') AS orientation,
               count(*) AS accompagnements, count(*) / sum(count(*)) OVER (PARTITION BY nom_programme) AS part
        FROM acc GROUP BY nom_programme, coalesce(orientation, '{ORIENTATION_NOT_GIVEN}')
        ORDER BY programme, orientation""", scope)


def page_data(con: duckdb.DuckDBPyConnection, scope: Scope, vue: str = "analyste") -> dict:
    """Everything the outcomes page draws, in one connection.

    Under statistical secrecy (financeur) every figure about structures is masked here: counts and
    shares from fewer than the threshold of structures, sums one structure dominates, and the cells
    complementary masking needs against the totals on screen. Workshops stay as they are: they count
    participants of a programme's sessions, not structures.
    """
    data = {
        "entonnoir": funnel(con, scope),
        "heures": hours_vs_planned(con, scope),
        "ateliers": workshops(con, scope),
        "suivi": follow_up(con, scope),
        "cohortes": cohorts(con, scope),
        "formats": formats(con, scope),
    }
    if roles.role(vue).statistical_secrecy:
        data = _protect(con, scope, data)
        # Not protected with the published cube yet: not sent to a funder (fail closed).
        data["heures"] = data["heures"].drop(columns=["heures_benevoles"], errors="ignore")
    else:
        data["orientation"] = orientation_by_programme(con, scope)
        # Counted from `intervenant`, personal data a funder never gets (and not in the published cube).
        data["pairs"] = peer_resources(con, scope)
        data["suivi"] = data["suivi"].drop(columns=["top_etp", "top_budget"])
        data["cohortes"] = data["cohortes"].drop(columns=["structures_fin", "structures_12_mois"])
    return data


# Columns that name a row rather than measure it: they stay visible when a whole view is secret.
KEYS = {"type_programme", "programme", "etape", "etape_libelle", "ordre", "id_programme", "heures_prevues",
        "echeance", "echeance_libelle", "annee", "format", "libelle"}


def _small(counts: pd.Series) -> pd.Series:
    return counts.map(lambda n: secret.is_primary_secret(n) or n == 0)


def _dominated(top: pd.Series, total: pd.Series) -> pd.Series:
    return pd.Series([secret.is_primary_secret(3 * secret.threshold(), t, v) for t, v in zip(top, total)],
                     index=top.index)


def _protect(con: duckdb.DuckDBPyConnection, scope: Scope, data: dict) -> dict:
    per_programme = query(con, """SELECT id_programme, count(DISTINCT id_structure) AS structures FROM acc
                                   GROUP BY ALL""", scope)
    n = int(query(con, "SELECT count(DISTINCT id_structure) AS n FROM acc", scope)["n"].iloc[0])
    if n and scope_hidden(con, scope):  # a hidden scope: every figure about its structures is secret
        return {name: frame if name == "ateliers" else secret.apply_mask(
                    frame.drop(columns=[c for c in ("top_etp", "top_budget", "structures_fin", "structures_12_mois")
                                        if c in frame.columns]),
                    pd.Series(True, index=frame.index),
                    [c for c in frame.columns if c not in KEYS and c not in (
                        "top_etp", "top_budget", "structures_fin", "structures_12_mois")])
                for name, frame in data.items()}
    total_hours = float(query(con, "SELECT coalesce(sum(heures), 0) AS h FROM acc", scope)["h"].iloc[0])
    out = dict(data)

    # Funnel: the exact steps are cells of the published breakdown by programme type and step; cumulative
    # steps give them back by difference, so a type with a masked step keeps only its number of accueils
    # (its row total) when that one is published.
    steps = query(con, "SELECT type_programme, etape FROM acc GROUP BY ALL", scope)
    masked_types = set(steps.loc[breakdown_mask(con, scope, "etapes", (1, 1), steps).to_numpy(), "type_programme"])
    funnel_frame = data["entonnoir"]
    hide = funnel_frame["type_programme"].isin(masked_types) & (funnel_frame["ordre"] > 0)
    hide |= breakdown_mask(con, scope, "etapes", (1, 0), funnel_frame[["type_programme"]])
    out["entonnoir"] = secret.apply_mask(funnel_frame, hide, ["accompagnements", "part"])

    # Hours per programme: structures behind each programme, one structure dominating its hours.
    hours = data["heures"].merge(per_programme, on="id_programme", how="left")
    hours = hours.merge(hours_top(con, scope, "id_programme").rename(columns={"cle": "id_programme"}),
                        on="id_programme", how="left")
    published = hours["id_programme"].map(children_secret(con, scope, "programme")).astype(object).fillna(True)
    mask, _ = secret.mask_breakdown(hours, "heures_realisees", top="top",
                                    total=(total_hours, n, hours_top(con, scope)["top"].iloc[0]),
                                    forced=published.astype(bool))
    out["heures"] = secret.apply_mask(hours, mask, ["heures_realisees", "taux_realisation", "accompagnements"]
                                      ).drop(columns=["structures", "top"])

    # Follow-up: each figure by the structures it is computed from, sums and means by dominance.
    follow = data["suivi"]
    masks = {
        ("mesures", "objectifs_atteints", "satisfaction", "structures"): _small(follow["structures"]),
        ("structures_etp", "etp_avant", "etp_apres"): _small(follow["structures_etp"])
        | _dominated(follow["top_etp"], follow[["etp_avant", "etp_apres"]].max(axis=1)),
        ("structures_budget", "budget_avant", "budget_apres"): _small(follow["structures_budget"])
        | _dominated(follow["top_budget"], follow[["budget_avant", "budget_apres"]].max(axis=1)
                     * follow["structures_budget"]),
        ("structures_statut", "part_active"): _small(follow["structures_statut"]),
    }
    follow = follow.drop(columns=["top_etp", "top_budget"])
    for columns, mask in masks.items():
        follow = secret.apply_mask(follow, mask, list(columns))
    out["suivi"] = follow

    # Cohorts and formats: cells of the published breakdowns by year of start and by format (whole: counts,
    # hours and their means); the averages of results by the structures they are computed from.
    cohorts_frame = data["cohortes"]
    by_year = breakdown_mask(con, scope, "besoins", (0, 1), cohorts_frame[["annee"]])
    cohorts_frame = secret.apply_mask(cohorts_frame, by_year, ["accompagnements", "structures", "part_clos",
                                                               "heures_moyennes"])
    cohorts_frame = secret.apply_mask(cohorts_frame, _small(data["cohortes"]["structures_fin"]), ["objectifs_fin"])
    out["cohortes"] = secret.apply_mask(cohorts_frame, _small(data["cohortes"]["structures_12_mois"]),
                                        ["mesures_12_mois", "part_active_12_mois"]
                                        ).drop(columns=["structures_fin", "structures_12_mois"])
    formats_frame = data["formats"]
    out["formats"] = secret.apply_mask(formats_frame, breakdown_mask(con, scope, "formats", (1,), formats_frame[["format"]]),
                                       [c for c in formats_frame.columns if c not in ("format", "libelle")])
    return out
