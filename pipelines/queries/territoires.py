"""Territoires: indicators by région / département / commune, zones blanches, portrait.

Indicators of a territory (structures counted where their seat is):
* structures accompagnées (distinct structures with an accompaniment in scope);
* taux pour 100 000 habitants = structures ÷ population × 100 000, the population
  being the sum of its communes' (COG 2026, arrondissements not double counted);
* taux de couverture = structures ÷ reference population of cultural ESS structures,
  only where the analyst supplied one (table population_reference, schema v2); an interval
  structures ÷ max … structures ÷ min where the reference is a range (schema v8), whose middle
  orders territories and colours the map;
* heures par structure = hours of the accompaniments in scope ÷ structures.
"""

from __future__ import annotations

import dataclasses

import duckdb
import pandas as pd

from pipelines.privacy import roles, secret
from pipelines.queries.indicators import Scope, query
from pipelines.queries.masks import LEVELS, hours_top, scope_hidden, territory_masks

NIVEAUX = ("region", "departement")
INDICATEURS = {
    "structures": "Structures accompagnées",
    "taux_100k": "Structures accompagnées pour 100 000 habitants",
    "couverture": "Taux de couverture (structures accompagnées ÷ population de référence)",
    "heures_par_structure": "Heures d'accompagnement par structure",
}


def has_reference(con: duckdb.DuckDBPyConnection) -> bool:
    """True when the warehouse has a reference population (schema v2 and at least one row)."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'population_reference'").fetchall()[0][0]
    return bool(exists) and bool(con.execute("SELECT count(*) FROM population_reference").fetchall()[0][0])


def _reference_sql(con: duckdb.DuckDBPyConnection) -> str:
    if has_reference(con):
        return ("SELECT code_territoire, niveau, nb_structures_reference, nb_structures_reference_max, source, annee "
                "FROM population_reference")
    return ("SELECT NULL::VARCHAR AS code_territoire, NULL::VARCHAR AS niveau, NULL::BIGINT AS nb_structures_reference,"
            " NULL::BIGINT AS nb_structures_reference_max, NULL::VARCHAR AS source, NULL::INTEGER AS annee WHERE false")


def by_territory(con: duckdb.DuckDBPyConnection, scope: Scope, niveau: str = "departement") -> pd.DataFrame:
    """Every région or département of the scope's geography (all of France without one), with its indicators."""
    if niveau not in NIVEAUX:
        raise ValueError(f"unknown level {niveau!r}: expected one of {NIVEAUX}")
    if niveau == "region":
        territories = """SELECT code, nom, code AS code_region FROM geo_regions
                         WHERE ($region IS NULL OR code = $region)
                           AND ($departement IS NULL OR code = (SELECT code_region FROM geo_departements WHERE code = $departement))"""
        key = "code_region"
    else:
        territories = """SELECT code, nom, code_region FROM geo_departements
                         WHERE ($region IS NULL OR code_region = $region) AND ($departement IS NULL OR code = $departement)"""
        key = "code_departement"
    frame = query(con, f"""
        , territoire AS ({territories}),
        agg AS (SELECT {key} AS code, count(DISTINCT id_structure) AS structures, count(*) AS accompagnements,
                       coalesce(sum(heures), 0) AS heures FROM acc GROUP BY 1),
        pop AS (SELECT {key} AS code, sum(population) AS population FROM geo_communes WHERE NOT arrondissement GROUP BY 1),
        ref AS ({_reference_sql(con)})
        SELECT t.code, t.nom, t.code_region, coalesce(agg.structures, 0) AS structures,
               coalesce(agg.accompagnements, 0) AS accompagnements, coalesce(agg.heures, 0) AS heures,
               pop.population, ref.nb_structures_reference AS reference,
               ref.nb_structures_reference_max AS reference_max, ref.source AS source_reference
        FROM territoire t LEFT JOIN agg USING (code) LEFT JOIN pop USING (code)
        LEFT JOIN ref ON ref.code_territoire = t.code AND ref.niveau = $niveau
        ORDER BY t.code""", scope, niveau=niveau)
    return _rates(frame)


def _rates(frame: pd.DataFrame) -> pd.DataFrame:
    structures = frame["structures"].astype(float)
    frame["taux_100k"] = structures / frame["population"].astype(float) * 100_000
    bounds = [coverage(n, ref, ref_max) or (None, None)
              for n, ref, ref_max in zip(structures, frame["reference"], frame["reference_max"])]
    frame["couverture_min"] = pd.Series([low for low, _ in bounds], index=frame.index, dtype=float)
    frame["couverture_max"] = pd.Series([high for _, high in bounds], index=frame.index, dtype=float)
    frame["couverture"] = (frame["couverture_min"] + frame["couverture_max"]) / 2  # orders and colours the map
    frame["heures_par_structure"] = frame["heures"].astype(float) / structures.where(structures > 0)
    return frame


def communes(con: duckdb.DuckDBPyConnection, scope: Scope) -> pd.DataFrame:
    """Communes with structures accompanied in scope (drill-down below a département)."""
    return query(con, """
        SELECT c.code, c.nom, c.code_departement, c.nom_epci AS epci, c.population,
               count(DISTINCT acc.id_structure) AS structures, count(*) AS accompagnements,
               coalesce(sum(acc.heures), 0) AS heures
        FROM acc JOIN geo_communes c ON c.code = acc.code_commune
        GROUP BY ALL ORDER BY structures DESC, accompagnements DESC, c.nom""", scope)


def zones_blanches(con: duckdb.DuckDBPyConnection, scope: Scope) -> pd.DataFrame:
    """EPCI of the observatory's perimeter where no structure is accompanied in scope.

    Perimeter: the régions where the warehouse knows structures (narrowed by the
    région/département filters). Without a census of cultural structures by
    EPCI, each zone says why it matters: `structures_connues` are structures of
    the warehouse seated there (same domaine filter) that no accompaniment in
    scope reached; the population tells how large the uncovered area is.
    Sorted by known structures then population.
    """
    return query(con, """
        , perimetre AS (SELECT DISTINCT c.code_region FROM structures s JOIN geo_communes c ON c.code = s.code_commune),
        epci AS (
            SELECT code_epci, any_value(nom_epci) AS nom_epci, mode(code_departement) AS code_departement,
                   sum(population) AS population, count(*) AS communes
            FROM geo_communes
            WHERE NOT arrondissement AND code_epci IS NOT NULL
              AND code_region IN (SELECT code_region FROM perimetre)
              AND ($region IS NULL OR code_region = $region)
              AND ($departement IS NULL OR code_departement = $departement)
            GROUP BY code_epci),
        accompagnees AS (SELECT c.code_epci, count(DISTINCT acc.id_structure) AS n
                         FROM acc JOIN geo_communes c ON c.code = acc.code_commune GROUP BY 1),
        connues AS (SELECT c.code_epci, count(*) AS n FROM structures s JOIN geo_communes c ON c.code = s.code_commune
                    WHERE $domaine IS NULL OR s.domaine = $domaine GROUP BY 1)
        SELECT e.code_epci, e.nom_epci, e.code_departement, d.nom AS departement, e.communes, e.population,
               coalesce(connues.n, 0) AS structures_connues
        FROM epci e JOIN geo_departements d ON d.code = e.code_departement
        LEFT JOIN accompagnees USING (code_epci) LEFT JOIN connues USING (code_epci)
        WHERE coalesce(accompagnees.n, 0) = 0
        ORDER BY structures_connues DESC, population DESC, e.code_epci""", scope)


def coverage(structures, reference, reference_max=None) -> tuple[float, float] | None:
    """Taux de couverture: structures ÷ reference population, as (low, high). With a range of reference
    populations (min … max, spec v1.1) it is the interval structures ÷ max … structures ÷ min; without a
    range both ends are the same. None where no reference (or a zero one) was supplied."""
    if structures is None or pd.isna(structures) or reference is None or pd.isna(reference) or reference <= 0:
        return None
    high = float(structures) / float(reference)
    has_range = reference_max is not None and not pd.isna(reference_max) and reference_max > reference
    return (float(structures) / float(reference_max) if has_range else high), high


def _profile(con: duckdb.DuckDBPyConnection, scope: Scope, epci: str | None = None) -> dict:
    row = query(con, """
        , zone AS (SELECT * FROM acc WHERE $epci IS NULL
                   OR code_commune IN (SELECT code FROM geo_communes WHERE code_epci = $epci))
        SELECT count(DISTINCT id_structure) AS structures, count(*) AS accompagnements,
               coalesce(sum(heures), 0) AS heures,
               avg(CASE format WHEN 'accompagnement_long' THEN 1.0 WHEN 'appui_court' THEN 0.0 END) AS part_long,
               avg((categorie_principale = 'ECO')::DOUBLE) AS part_eco,
               (SELECT avg(employeur::DOUBLE) FROM structures WHERE id_structure IN (SELECT id_structure FROM zone))
                   AS part_employeuses,
               (SELECT avg((forme_juridique = 'association')::DOUBLE) FROM structures
                WHERE id_structure IN (SELECT id_structure FROM zone)) AS part_associations
        FROM zone""", scope, epci=epci).iloc[0].to_dict()
    return row


# The perimeter of "l'ensemble des régions suivies": the régions where the warehouse knows structures.
PERIMETER_REGIONS = "SELECT DISTINCT c.code_region FROM structures s JOIN geo_communes c ON c.code = s.code_commune"


def _area_population(con: duckdb.DuckDBPyConnection, level: str, code: str | None) -> tuple:
    """Population and reference population (min, max) of a département, an EPCI, a région, or the
    perimeter (level 'ensemble'). An EPCI has no reference population (the file gives régions and
    départements)."""
    where = {"departement": "code_departement = $code", "region": "code_region = $code",
             "epci": "code_epci = $code", "ensemble": f"code_region IN ({PERIMETER_REGIONS})"}[level]
    params = {"code": code} if level != "ensemble" else {}
    population = con.execute(f"SELECT sum(population) FROM geo_communes WHERE NOT arrondissement AND {where}",
                             params).fetchall()[0][0]
    if level == "epci" or not has_reference(con):
        return population, None, None
    codes = "$code" if level != "ensemble" else PERIMETER_REGIONS
    reference, reference_max, missing = con.execute(f"""
        SELECT sum(nb_structures_reference), sum(coalesce(nb_structures_reference_max, nb_structures_reference)),
               {"1" if level != "ensemble" else f"(SELECT count(*) FROM ({PERIMETER_REGIONS}))"} - count(*)
        FROM population_reference WHERE niveau = $l AND code_territoire IN ({codes})""",
        {**params, "l": "region" if level == "ensemble" else level}).fetchall()[0]
    if missing:  # a perimeter where some région has no reference: its structures would inflate the rate
        return population, None, None
    return population, reference, reference_max


def scope_coverage(con: duckdb.DuckDBPyConnection, scope: Scope, structures: int | None) -> float | dict | None:
    """The scope's coverage rate as `kpis` prints it: a number, {"min", "max"} for a range, None without a
    reference population (of the département, else the région, else every région of the perimeter)."""
    if scope.departement:
        level, code = "departement", scope.departement
    elif scope.region:
        level, code = "region", scope.region
    else:
        level, code = "ensemble", None
    _, ref_min, ref_max = _area_population(con, level, code)
    bounds = coverage(structures, ref_min, ref_max)
    if bounds is None:
        return None
    low, high = (round(value, 6) for value in bounds)
    return high if low == high else {"min": low, "max": high}


PORTRAIT_ROWS = [
    ("structures", "Structures accompagnées", "nombre"),
    ("accompagnements", "Accompagnements", "nombre"),
    ("heures", "Heures d'accompagnement", "nombre"),
    ("heures_par_structure", "Heures par structure", "decimal"),
    ("population", "Population (habitants)", "nombre"),
    ("taux_100k", "Structures accompagnées pour 100 000 habitants", "decimal"),
    ("couverture", "Taux de couverture", "part"),
    ("part_eco", "Part du besoin principal « consolidation économique »", "part"),
    ("part_long", "Part des accompagnements longs", "part"),
    ("part_employeuses", "Part de structures employeuses", "part"),
    ("part_associations", "Part d'associations", "part"),
]
# The ends of the coverage interval, rows of the portrait that pages draw with the coverage (not on their own).
COVERAGE_BOUNDS = ("couverture_min", "couverture_max")
REFERENCES = {"region": "Sa région", "ensemble": "L'ensemble des régions suivies", "aucune": "Aucune"}
EPCI_PREFIX = "epci:"
MAX_AREAS = 6


def region_of(con: duckdb.DuckDBPyConnection, code_departement: str) -> str | None:
    found = con.execute("SELECT code_region FROM geo_departements WHERE code = $c", {"c": code_departement}).fetchall()
    return found[0][0] if found else None


def _area(con: duckdb.DuckDBPyConnection, key: str) -> tuple[str, str, str | None]:
    """An area of the comparison from its key ('14' a département, 'epci:200065597' an EPCI): its level,
    code and région (None when unknown)."""
    if key.startswith(EPCI_PREFIX):
        code = key[len(EPCI_PREFIX):]
        found = con.execute("SELECT mode(code_region) FROM geo_communes WHERE code_epci = $c", {"c": code}).fetchall()
        return "epci", code, found[0][0] if found else None
    return "departement", key, region_of(con, key)


def comparison_choices(con: duckdb.DuckDBPyConnection, scope: Scope, with_epci: bool = True) -> dict[str, str]:
    """Départements, then EPCI, with structures accompanied in scope: area key → French label."""
    departements = by_territory(con, scope, "departement")
    choices = {r.code: f"{r.code} – {r.nom}" for r in departements[departements["structures"] > 0].itertuples()}
    if with_epci:
        epcis = query(con, """SELECT c.code_epci, any_value(c.nom_epci) AS nom, mode(c.code_departement) AS dep
                              FROM acc JOIN geo_communes c ON c.code = acc.code_commune
                              WHERE c.code_epci IS NOT NULL GROUP BY 1 ORDER BY dep, nom""", scope)
        choices.update({EPCI_PREFIX + r.code_epci: f"{r.nom} ({r.dep}, EPCI)" for r in epcis.itertuples()})
    return choices


def reference_label(con: duckdb.DuckDBPyConnection, areas: list[str], reference: str) -> str | None:
    """The reference column's name: the first area's région by name, the perimeter, or None."""
    if reference == "region":
        region = _area(con, areas[0])[2]
        found = con.execute("SELECT nom FROM geo_regions WHERE code = $c", {"c": region}).fetchall()
        return found[0][0] if found else "Sa région"
    return "L'ensemble des régions suivies" if reference == "ensemble" else None


def comparison(con: duckdb.DuckDBPyConnection, scope: Scope, areas: list[str],
               reference: str = "region") -> pd.DataFrame:
    """Territories side by side — départements or EPCI (keys as `_area`), up to MAX_AREAS — and a reference
    area: the région of the first one ('region'), the whole perimeter ('ensemble') or none ('aucune').

    One row per indicator (PORTRAIT_ROWS, then the coverage interval's ends), one column per area key, and
    'reference'. Programme, domaine and period filters apply to every column; the territory filters are
    replaced by each area.
    """
    if not areas:
        raise ValueError("no area to compare")
    columns = {}
    first_region = None
    for key in list(dict.fromkeys(areas))[:MAX_AREAS]:
        level, code, region = _area(con, key)
        first_region = first_region or region
        area_scope = dataclasses.replace(scope, region=None, departement=code if level == "departement" else None)
        columns[key] = _figures(con, area_scope, level, code, epci=code if level == "epci" else None)
    if reference == "region":
        columns["reference"] = _figures(con, dataclasses.replace(scope, region=first_region, departement=None),
                                        "region", first_region)
    elif reference == "ensemble":
        columns["reference"] = _figures(con, dataclasses.replace(scope, region=None, departement=None),
                                        "ensemble", None)
    rows = [*PORTRAIT_ROWS, ("couverture_min", "Taux de couverture (bas)", "part"),
            ("couverture_max", "Taux de couverture (haut)", "part")]
    return pd.DataFrame([{"cle": key, "indicateur": label, "format": kind,
                          **{column: figures.get(key) for column, figures in columns.items()}}
                         for key, label, kind in rows])


def _figures(con: duckdb.DuckDBPyConnection, scope: Scope, level: str, code: str | None,
             epci: str | None = None) -> dict:
    figures = _profile(con, scope, epci)
    population, ref_min, ref_max = _area_population(con, level, code)
    structures = float(figures["structures"])
    figures["population"] = population
    figures["taux_100k"] = structures / population * 100_000 if population else None
    bounds = coverage(structures, ref_min, ref_max)
    figures["couverture_min"], figures["couverture_max"] = bounds or (None, None)
    figures["couverture"] = sum(bounds) / 2 if bounds else None  # the interval's middle orders and draws it
    figures["heures_par_structure"] = float(figures["heures"]) / structures if structures else None
    return figures


def portrait(con: duckdb.DuckDBPyConnection, scope: Scope, code_departement: str,
             reference: str = "region") -> pd.DataFrame:
    """A département's figures ('territoire') beside its région or the whole perimeter ('reference')."""
    return comparison(con, scope, [code_departement], reference).rename(columns={code_departement: "territoire"})


def reference_sources(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Sources and years of the reference population, to cite under the coverage map."""
    if not has_reference(con):
        return pd.DataFrame(columns=["source", "annee", "territoires"])
    return con.execute("SELECT source, annee, count(*) AS territoires FROM population_reference "
                       "GROUP BY ALL ORDER BY source, annee").df()


def page_data(con: duckdb.DuckDBPyConnection, scope: Scope, niveau: str = "departement",
              vue: str = "analyste") -> dict:
    """Everything the map part of the Territoires page draws, in one connection.

    Under statistical secrecy (financeur) territories and communes are masked with the structures
    accompanied in scope as their margin, and zones blanches lose their count of known structures.
    """
    data = {
        "territoires": by_territory(con, scope, niveau),
        "communes": communes(con, scope),
        "zones_blanches": zones_blanches(con, scope),
        "sources_reference": reference_sources(con),
    }
    if roles.role(vue).statistical_secrecy:
        masks = {level: territory_masks(con, scope)[level] for level in LEVELS}
        if scope_hidden(con, scope):  # the whole view is secret: every territory and commune with it
            masks = {level: m.assign(structures=True, heures=True) for level, m in masks.items()}
        key = "code_region" if niveau == "region" else "code_departement"
        data["territoires"] = _protect_areas(data["territoires"], masks[key])
        # A masked commune is left out altogether: its name beside "secret" would still point at a structure.
        communes_shown = _protect_areas(data["communes"], masks["code_commune"])
        data["communes"] = communes_shown[~communes_shown["secret"]].reset_index(drop=True)
        data["zones_blanches"] = data["zones_blanches"].drop(columns="structures_connues")
    return data


AREA_FIGURES = ["structures", "accompagnements", "heures", "taux_100k", "couverture", "couverture_min", "couverture_max",
                "heures_par_structure"]


def _protect_areas(frame: pd.DataFrame, masks: pd.DataFrame) -> pd.DataFrame:
    """A territory table with the hierarchy's masks applied (rows indexed by their `code`)."""
    shown = [c for c in AREA_FIGURES if c in frame.columns]
    # A territory with structures but no mask (a level not computed) is masked; one with none shows its 0.
    has_structures = frame["structures"].astype(float) > 0
    counts = frame["code"].map(masks["structures"]).astype(object).fillna(has_structures).astype(bool)
    hours = frame["code"].map(masks["heures"]).astype(object).fillna(has_structures).astype(bool)
    frame = secret.apply_mask(frame, counts, shown)
    return secret.apply_mask(frame, hours, [c for c in ("heures", "heures_par_structure") if c in shown])


def protected_comparison(con: duckdb.DuckDBPyConnection, scope: Scope, areas: list[str],
                         reference: str = "region", vue: str = "analyste") -> pd.DataFrame:
    """The comparison; under secrecy a column goes (population aside) when its area's cell of the published
    cube is secret — an EPCI is no cell of it, so it always goes —, when fewer than the threshold of
    structures are behind it, or when the reference area less the chosen départements inside it would be that
    small (the difference of the columns), and an area's hours go when one structure makes most of them."""
    frame = comparison(con, scope, areas, reference)
    if not roles.role(vue).statistical_secrecy:
        return frame
    figures = frame.set_index("cle")
    area_columns = [c for c in frame.columns if c not in ("cle", "indicateur", "format", "reference")]
    hidden, hours_hidden = {}, {}
    for key in area_columns:
        level, code, _ = _area(con, key)
        if level != "departement":
            hidden[key] = hours_hidden[key] = True
            continue
        area_scope = dataclasses.replace(scope, region=None, departement=code)
        hidden[key] = scope_hidden(con, area_scope)
        top = hours_top(con, area_scope)["top"].iloc[0]
        hours_hidden[key] = hidden[key] or secret.is_primary_secret(figures.loc["structures", key] or 0, top,
                                                                    figures.loc["heures", key])
    if "reference" in frame.columns:
        region = _area(con, area_columns[0])[2] if reference == "region" else None
        reference_scope = dataclasses.replace(scope, departement=None, region=region)
        n_reference = figures.loc["structures", "reference"] or 0
        inside = [k for k in area_columns if not k.startswith(EPCI_PREFIX)
                  and (region is None or _area(con, k)[2] == region)]
        n_inside = sum(figures.loc["structures", k] or 0 for k in inside)
        # The reference area is a cell of the published cube too: what its own view hides, the comparison hides.
        hidden["reference"] = hours_hidden["reference"] = (
            scope_hidden(con, reference_scope) or secret.is_primary_secret(n_reference)
            or secret.is_primary_secret(n_reference - n_inside))
    out = frame.copy()
    out["secret"] = False
    for column in hidden:
        out[column] = out[column].astype(object)
        masked = out["cle"] != "population" if hidden[column] else pd.Series(False, index=out.index)
        if hours_hidden[column]:
            masked |= out["cle"].isin(["heures", "heures_par_structure"])
        out.loc[masked, column] = None
        out["secret"] |= masked
    return out


def protected_portrait(con: duckdb.DuckDBPyConnection, scope: Scope, code_departement: str,
                       reference: str = "region", vue: str = "analyste") -> pd.DataFrame:
    """The single département's portrait under the role's rules (columns 'territoire', 'reference')."""
    return protected_comparison(con, scope, [code_departement], reference, vue).rename(
        columns={code_departement: "territoire"})
