"""Typologie des besoins: two-level typology, comparisons, evolution, co-occurrence."""

from __future__ import annotations

import duckdb
import pandas as pd

from pipelines import referentiels as ref
from pipelines.indicators import Scope, besoin_categories, query

AXES = {"domaine": "Domaine culturel", "departement": "Département"}


def _category_label(code: str) -> str:
    return ref.BESOIN_CATEGORIES.get(code, code)


def hierarchy(con: duckdb.DuckDBPyConnection, scope: Scope) -> pd.DataFrame:
    """Main needs per category and code (a bare category code is 'category not detailed')."""
    frame = query(con, """
        SELECT categorie_principale AS categorie, besoin_principal AS code, count(*) AS accompagnements
        FROM acc GROUP BY ALL ORDER BY categorie, accompagnements DESC, code""", scope)
    frame["categorie_libelle"] = frame["categorie"].map(_category_label)
    frame["libelle"] = [ref.BESOINS.get(c, "Sans précision") for c in frame["code"]]
    total = frame["accompagnements"].sum()
    frame["part"] = frame["accompagnements"] / total if total else 0.0
    return frame


def by_axis(con: duckdb.DuckDBPyConnection, scope: Scope, axe: str = "domaine") -> pd.DataFrame:
    """Share of each main-need category within each domaine or département (rows sum to 1)."""
    if axe not in AXES:
        raise ValueError(f"unknown axis {axe!r}: expected one of {list(AXES)}")
    column = "domaine" if axe == "domaine" else "code_departement"
    frame = query(con, f"""
        SELECT {column} AS groupe, categorie_principale AS categorie, count(*) AS accompagnements,
               count(*) / sum(count(*)) OVER (PARTITION BY {column}) AS part,
               sum(count(*)) OVER (PARTITION BY {column}) AS total_groupe
        FROM acc WHERE {column} IS NOT NULL GROUP BY 1, 2 ORDER BY groupe, categorie""", scope)
    if axe == "domaine":
        frame["groupe_libelle"] = frame["groupe"].map(ref.DOMAINES).fillna(frame["groupe"])
    else:
        names = dict(con.execute("SELECT code, nom FROM geo_departements").fetchall())
        frame["groupe_libelle"] = frame["groupe"] + " – " + frame["groupe"].map(names).fillna("")
    frame["categorie_libelle"] = frame["categorie"].map(_category_label)
    return frame


def by_year(con: duckdb.DuckDBPyConnection, scope: Scope) -> pd.DataFrame:
    """Per starting year and main-need category: accompaniments and share of the year."""
    frame = query(con, """
        SELECT year(date_debut) AS annee, categorie_principale AS categorie, count(*) AS accompagnements,
               count(*) / sum(count(*)) OVER (PARTITION BY year(date_debut)) AS part
        FROM acc GROUP BY 1, 2 ORDER BY annee, categorie""", scope)
    frame["categorie_libelle"] = frame["categorie"].map(_category_label)
    return frame


def cooccurrence(con: duckdb.DuckDBPyConnection, scope: Scope) -> pd.DataFrame:
    """Pairs of need categories named together in one accompaniment (main need or other needs).

    `accompagnements` counts accompaniments naming both categories; on the diagonal,
    accompaniments naming the category at all.
    """
    frame = query(con, """
        , b AS (
            SELECT DISTINCT id_accompagnement, split_part(code, '.', 1) AS categorie
            FROM (SELECT id_accompagnement, unnest(list_append(coalesce(besoins, []), besoin_principal)) AS code
                  FROM acc))
        SELECT x.categorie AS categorie_1, y.categorie AS categorie_2, count(*) AS accompagnements
        FROM b x JOIN b y USING (id_accompagnement)
        GROUP BY ALL ORDER BY categorie_1, categorie_2""", scope)
    frame["libelle_1"] = frame["categorie_1"].map(_category_label)
    frame["libelle_2"] = frame["categorie_2"].map(_category_label)
    return frame


def plural_needs(con: duckdb.DuckDBPyConnection, scope: Scope) -> pd.DataFrame:
    """How many accompaniments name one, two, three or more distinct needs."""
    return query(con, """
        SELECT n AS nb_besoins, count(*) AS accompagnements, count(*) / sum(count(*)) OVER () AS part
        FROM (SELECT least(length(list_distinct(list_append(coalesce(besoins, []), besoin_principal))), 3) AS n
              FROM acc)
        GROUP BY n ORDER BY n""", scope)


def page_data(con: duckdb.DuckDBPyConnection, scope: Scope, axe: str = "domaine") -> dict:
    """Everything the needs page draws, in one connection."""
    return {
        "hierarchie": hierarchy(con, scope),
        "categories": besoin_categories(con, scope),
        "comparaison": by_axis(con, scope, axe),
        "annees": by_year(con, scope),
        "cooccurrence": cooccurrence(con, scope),
        "pluralite": plural_needs(con, scope),
    }
