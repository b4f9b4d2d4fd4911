"""Typologie des besoins: two-level typology, comparisons, evolution, co-occurrence."""

from __future__ import annotations

import duckdb
import pandas as pd

from pipelines.privacy import roles, secret
from pipelines.queries import indicators
from pipelines.queries.indicators import NB_BESOINS_SQL, Scope, besoin_categories, query
from pipelines.queries.masks import breakdown_mask, children_secret, scope_hidden
from pipelines.spec import referentiels as ref

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
    """Per starting year and main-need category: accompaniments and share of the year (the period's years
    only, as indicators.trend_by_year)."""
    frame = query(con, f"""
        SELECT year(date_debut) AS annee, categorie_principale AS categorie, count(*) AS accompagnements,
               count(*) / sum(count(*)) OVER (PARTITION BY year(date_debut)) AS part
        FROM acc WHERE {indicators.STARTED_IN_PERIOD} GROUP BY 1, 2 ORDER BY annee, categorie""", scope)
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
    return query(con, f"""
        SELECT n AS nb_besoins, count(*) AS accompagnements, count(*) / sum(count(*)) OVER () AS part
        FROM (SELECT {NB_BESOINS_SQL} AS n
              FROM acc)
        GROUP BY n ORDER BY n""", scope)


def page_data(con: duckdb.DuckDBPyConnection, scope: Scope, axe: str = "domaine", vue: str = "analyste") -> dict:
    """Everything the needs page draws, in one connection.

    Under statistical secrecy (financeur) every table is masked with its margins (categories within
    the total, needs within their category, the comparison and yearly tables as cross-tables with
    their row totals) and the co-occurrence matrix is not sent: its cells overlap (one accompaniment
    counts in several), so no margin relation protects them against differencing.
    """
    secrecy = roles.role(vue).statistical_secrecy
    data = {
        "hierarchie": hierarchy(con, scope),
        "categories": besoin_categories(con, scope),
        "comparaison": by_axis(con, scope, axe),
        "annees": by_year(con, scope),
        "cooccurrence": None if secrecy else cooccurrence(con, scope),
        "pluralite": plural_needs(con, scope),
    }
    return _protect(con, scope, data, axe) if secrecy else data


SECRET_NEEDS = "Autres besoins (secret statistique)"
SECRET_CATEGORIES = "Autres catégories (secret statistique)"


def _treemap_nodes(hierarchie: pd.DataFrame, categories: pd.DataFrame, total: int) -> pd.DataFrame:
    """The typology a funder can see as treemap leaves: masked needs merged into one leaf per category,
    masked categories into one node. Each merged value is a margin less visible cells, so it is as
    public as those are, and it holds at least two masked cells (complementary secrecy)."""
    visible_categories = categories[~categories["secret"]]
    leaves = []
    for row in visible_categories.itertuples():
        inside = hierarchie[hierarchie["categorie"] == row.categorie]
        shown = inside[~inside["secret"]]
        leaves.append(shown[["categorie", "categorie_libelle", "code", "libelle", "accompagnements"]])
        rest = int(row.accompagnements) - int(shown["accompagnements"].sum())
        if rest:
            leaves.append(pd.DataFrame([{"categorie": row.categorie, "categorie_libelle": row.libelle,
                                         "code": f"{row.categorie}.SECRET", "libelle": SECRET_NEEDS,
                                         "accompagnements": rest}]))
    rest = total - int(visible_categories["accompagnements"].sum())
    if rest:
        leaves.append(pd.DataFrame([{"categorie": "SECRET", "categorie_libelle": SECRET_CATEGORIES,
                                     "code": "SECRET", "libelle": SECRET_CATEGORIES, "accompagnements": rest}]))
    nodes = pd.concat(leaves, ignore_index=True) if leaves else hierarchie.head(0)
    return nodes.assign(accompagnements=nodes["accompagnements"].astype(int))


def _protect(con: duckdb.DuckDBPyConnection, scope: Scope, data: dict, axe: str) -> dict:
    """Every table masked as the funder's published breakdown of needs says (pipelines.queries.cube:
    main need and year of start, below the published cube's cells), so that a territory's needs and its
    neighbours' or its région's agree."""
    figures = query(con, "SELECT count(*) AS total, count(DISTINCT id_structure) AS n FROM acc", scope).iloc[0]
    total, n = int(figures["total"]), int(figures["n"])
    everything_secret = n > 0 and scope_hidden(con, scope)

    def masked(frame: pd.DataFrame, name: str, family: tuple[int, ...], keys: list[str]) -> pd.Series:
        if everything_secret:
            return pd.Series(True, index=frame.index)
        return breakdown_mask(con, scope, name, family, frame[keys])

    def one_way(frame: pd.DataFrame, name: str, family: tuple[int, ...], keys: list[str]) -> pd.DataFrame:
        return secret.apply_mask(frame, masked(frame, name, family, keys), ["accompagnements", "part"])

    categories = one_way(data["categories"], "besoins", (1, 0), ["categorie"])
    hierarchie = one_way(data["hierarchie"], "besoins", (2, 0), ["code"])
    pluralite = one_way(data["pluralite"], "pluralite", (1,), ["nb_besoins"])

    def cross(frame: pd.DataFrame, cells: pd.Series, row_hidden: pd.Series) -> pd.DataFrame:
        """A share is hidden with its cell or with its row's total (which it is a part of)."""
        share_hidden = cells | row_hidden
        out = secret.apply_mask(frame, cells, ["accompagnements"])
        out["part"] = out["part"].astype(object).where(~share_hidden.to_numpy(), None)
        if "total_groupe" in out.columns:
            out["total_groupe"] = out["total_groupe"].astype(object).where(~row_hidden.to_numpy(), None)
        out["secret"] = out["secret"] | share_hidden.to_numpy()
        return out

    along = "domaine" if axe == "domaine" else "departement"
    comparison = data["comparaison"].assign(**{along: data["comparaison"]["groupe"]})
    children = children_secret(con, scope, along)
    comparaison = cross(data["comparaison"], masked(comparison, "besoins", (1, 0), [along, "categorie"]),
                        everything_secret | comparison["groupe"].map(children).astype(object).fillna(True).astype(bool))
    annees = cross(data["annees"], masked(data["annees"], "besoins", (1, 1), ["categorie", "annee"]),
                   masked(data["annees"], "besoins", (0, 1), ["annee"]))
    return {**data, "categories": categories, "hierarchie": hierarchie,
            "treemap": None if everything_secret else _treemap_nodes(hierarchie, categories, total),
            "pluralite": pluralite, "comparaison": comparaison, "annees": annees, "cooccurrence": None}
