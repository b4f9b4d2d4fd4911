"""Territoires: indicators by région / département / commune, zones blanches, portrait.

Indicators of a territory (structures counted where their seat is):
* structures accompagnées (distinct structures with an accompaniment in scope);
* taux pour 100 000 habitants = structures ÷ population × 100 000, the population
  being the sum of its communes' (COG 2026, arrondissements not double counted);
* taux de couverture = structures ÷ reference population of cultural ESS structures,
  only where the analyst supplied one (table population_reference, schema v2);
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
        return "SELECT code_territoire, niveau, nb_structures_reference, source, annee FROM population_reference"
    return ("SELECT NULL::VARCHAR AS code_territoire, NULL::VARCHAR AS niveau, NULL::BIGINT AS nb_structures_reference,"
            " NULL::VARCHAR AS source, NULL::INTEGER AS annee WHERE false")


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
               pop.population, ref.nb_structures_reference AS reference, ref.source AS source_reference
        FROM territoire t LEFT JOIN agg USING (code) LEFT JOIN pop USING (code)
        LEFT JOIN ref ON ref.code_territoire = t.code AND ref.niveau = $niveau
        ORDER BY t.code""", scope, niveau=niveau)
    return _rates(frame)


def _rates(frame: pd.DataFrame) -> pd.DataFrame:
    structures = frame["structures"].astype(float)
    frame["taux_100k"] = structures / frame["population"].astype(float) * 100_000
    frame["couverture"] = structures / frame["reference"].astype(float).where(frame["reference"] > 0)
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


def _profile(con: duckdb.DuckDBPyConnection, scope: Scope) -> dict:
    row = query(con, """
        SELECT count(DISTINCT id_structure) AS structures, count(*) AS accompagnements,
               coalesce(sum(heures), 0) AS heures,
               avg(CASE format WHEN 'accompagnement_long' THEN 1.0 WHEN 'appui_court' THEN 0.0 END) AS part_long,
               avg((categorie_principale = 'ECO')::DOUBLE) AS part_eco,
               (SELECT avg(employeur::DOUBLE) FROM structures WHERE id_structure IN (SELECT id_structure FROM acc))
                   AS part_employeuses,
               (SELECT avg((forme_juridique = 'association')::DOUBLE) FROM structures
                WHERE id_structure IN (SELECT id_structure FROM acc)) AS part_associations
        FROM acc""", scope).iloc[0].to_dict()
    return row


def _area_population(con: duckdb.DuckDBPyConnection, region: str | None, departement: str | None) -> tuple:
    """Population and reference population of a département, a région, or the perimeter (both None)."""
    if departement:
        where, level, code = "code_departement = $code", "departement", departement
    elif region:
        where, level, code = "code_region = $code", "region", region
    else:
        where, level, code = ("code_region IN (SELECT DISTINCT c.code_region FROM structures s "
                              "JOIN geo_communes c ON c.code = s.code_commune)"), "region", None
    population = con.execute(f"SELECT sum(population) FROM geo_communes WHERE NOT arrondissement AND {where}",
                             {"code": code} if code else {}).fetchall()[0][0]
    reference = None
    if has_reference(con):
        if code:
            found = con.execute("SELECT sum(nb_structures_reference) FROM population_reference WHERE niveau = $l "
                                "AND code_territoire = $c", {"l": level, "c": code}).fetchall()[0][0]
        else:
            found = con.execute("""SELECT sum(nb_structures_reference) FROM population_reference WHERE niveau = 'region'
                AND code_territoire IN (SELECT DISTINCT c.code_region FROM structures s
                                        JOIN geo_communes c ON c.code = s.code_commune)""").fetchall()[0][0]
        reference = found
    return population, reference


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


def region_of(con: duckdb.DuckDBPyConnection, code_departement: str) -> str | None:
    found = con.execute("SELECT code_region FROM geo_departements WHERE code = $c", {"c": code_departement}).fetchall()
    return found[0][0] if found else None


def portrait(con: duckdb.DuckDBPyConnection, scope: Scope, code_departement: str,
             reference: str = "region") -> pd.DataFrame:
    """A département's figures beside a reference area: its région ('region') or the whole perimeter ('ensemble').

    Programme, domaine and period filters apply to both; the territory filters are
    replaced by the département and the reference area.
    """
    region = region_of(con, code_departement)
    areas = {
        "territoire": (None, code_departement),
        "reference": (region, None) if reference == "region" else (None, None),
    }
    columns = {}
    for name, (reg, dep) in areas.items():
        figures = _profile(con, dataclasses.replace(scope, region=reg, departement=dep))
        population, ref_count = _area_population(con, reg, dep)
        structures = float(figures["structures"])
        figures["population"] = population
        figures["taux_100k"] = structures / population * 100_000 if population else None
        figures["couverture"] = structures / ref_count if ref_count else None
        figures["heures_par_structure"] = float(figures["heures"]) / structures if structures else None
        columns[name] = figures
    return pd.DataFrame([
        {"cle": key, "indicateur": label, "format": kind,
         "territoire": columns["territoire"].get(key), "reference": columns["reference"].get(key)}
        for key, label, kind in PORTRAIT_ROWS])


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


AREA_FIGURES = ["structures", "accompagnements", "heures", "taux_100k", "couverture", "heures_par_structure"]


def _protect_areas(frame: pd.DataFrame, masks: pd.DataFrame) -> pd.DataFrame:
    """A territory table with the hierarchy's masks applied (rows indexed by their `code`)."""
    shown = [c for c in AREA_FIGURES if c in frame.columns]
    # A territory with structures but no mask (a level not computed) is masked; one with none shows its 0.
    has_structures = frame["structures"].astype(float) > 0
    counts = frame["code"].map(masks["structures"]).astype(object).fillna(has_structures).astype(bool)
    hours = frame["code"].map(masks["heures"]).astype(object).fillna(has_structures).astype(bool)
    frame = secret.apply_mask(frame, counts, shown)
    return secret.apply_mask(frame, hours, [c for c in ("heures", "heures_par_structure") if c in shown])


def protected_portrait(con: duckdb.DuckDBPyConnection, scope: Scope, code_departement: str,
                       reference: str = "region", vue: str = "analyste") -> pd.DataFrame:
    """The portrait; under secrecy a column goes (population aside) when its area's cell of the published
    cube is secret, when fewer than the threshold of structures are behind it, or when the reference area
    less the département would be that small (the difference of the two columns), and the département's
    hours go when one structure makes most of them."""
    frame = portrait(con, scope, code_departement, reference)
    if not roles.role(vue).statistical_secrecy:
        return frame
    figures = frame.set_index("cle")
    n_territory = figures.loc["structures", "territoire"] or 0
    n_reference = figures.loc["structures", "reference"] or 0
    territory_scope = dataclasses.replace(scope, region=None, departement=code_departement)
    top = hours_top(con, territory_scope)["top"].iloc[0]
    reference_scope = dataclasses.replace(scope, departement=None,
                                          region=region_of(con, code_departement) if reference == "region" else None)
    # The reference area is a cell of the published cube too: what its own view hides, the portrait hides.
    hidden = {"territoire": scope_hidden(con, territory_scope),
              "reference": scope_hidden(con, reference_scope) or secret.is_primary_secret(n_reference)
              or secret.is_primary_secret(n_reference - n_territory)}
    hours_hidden = hidden["territoire"] or secret.is_primary_secret(n_territory, top,
                                                                    figures.loc["heures", "territoire"])
    out = frame.copy()
    out["secret"] = False
    for column in ("territoire", "reference"):
        out[column] = out[column].astype(object)
        masked = out["cle"] != "population" if hidden[column] else pd.Series(False, index=out.index)
        if column == "territoire" and hours_hidden:
            masked |= out["cle"].isin(["heures", "heures_par_structure"])
        out.loc[masked, column] = None
        out["secret"] |= masked
    return out
