"""Vue d'ensemble: key figures, trend by year, main needs, départements covered.

`page_data(con, scope, vue)` is what the overview page, the meeting mode and
the committee report draw. For a role under statistical secrecy (financeur) the
masking happens here, before anything leaves the query layer: a masked value is
None and its row carries `secret = True`.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from pipelines.privacy import roles, secret
from pipelines.queries import indicators
from pipelines.queries.indicators import Scope, query
from pipelines.queries.masks import hours_top, scope_hidden, territory_masks

KEY_FIGURES = ("structures", "accompagnements", "heures", "programmes")


def page_data(con: duckdb.DuckDBPyConnection, scope: Scope, vue: str = "analyste") -> dict:
    previous_scope = scope.previous_period()
    out = {
        "chiffres": indicators.key_figures(con, scope),
        "precedent": indicators.key_figures(con, previous_scope) if previous_scope else None,
        "annees": indicators.trend_by_year(con, scope),
        "besoins": indicators.besoin_categories(con, scope),
        "departements": indicators.departements_couverts(con, scope),
    }
    if roles.role(vue).statistical_secrecy:
        out = protect(con, scope, out)
        if previous_scope:
            out["precedent"] = protect_key_figures(con, previous_scope, out["precedent"])
    return out


def protect_key_figures(con: duckdb.DuckDBPyConnection, scope: Scope, figures: dict,
                        top: float | None = None) -> dict:
    """Key figures under secrecy: all but the programme count go when the scope is hidden (fewer than
    the threshold of structures, or a territory the hierarchy masks); hours also go when one structure
    makes most of them (`top`: that structure's hours, when the caller has them already)."""
    shown = dict(figures)
    if figures["structures"] == 0:
        return shown
    if scope_hidden(con, scope):
        return {**shown, "structures": None, "accompagnements": None, "heures": None}
    if top is None:
        top = hours_top(con, scope)["top"].iloc[0]
    if secret.is_primary_secret(figures["structures"], top, figures["heures"]):
        shown["heures"] = None
    return shown


def protect(con: duckdb.DuckDBPyConnection, scope: Scope, data: dict) -> dict:
    """The overview as a funder may see it: every breakdown masked with the key figures as its margin."""
    figures = data["chiffres"]
    total_top = hours_top(con, scope)["top"].iloc[0]
    totals = {"structures": (figures["structures"], figures["structures"], None),
              "accompagnements": (figures["accompagnements"], figures["structures"], None),
              "heures": (figures["heures"], figures["structures"], total_top)}

    annees = data["annees"].merge(hours_top(con, scope, "year(date_debut)").rename(columns={"cle": "annee"}),
                                  on="annee", how="left")
    annees["n_structures"] = annees["structures"]  # the counts behind each cell, kept while columns get masked
    hidden_total = set()
    for measure in ("structures", "accompagnements", "heures"):
        mask, total_hidden = secret.mask_breakdown(annees, measure, structures="n_structures",
                                                   top="top" if measure == "heures" else None, total=totals[measure])
        annees = secret.apply_mask(annees, mask, [measure])
        if total_hidden:
            hidden_total.add(measure)

    structures_by_need = query(con, """
        SELECT categorie_principale AS categorie, count(DISTINCT id_structure) AS structures FROM acc GROUP BY 1""",
        scope)
    besoins = data["besoins"].merge(structures_by_need, on="categorie", how="left")
    mask, total_hidden = secret.mask_breakdown(besoins, "accompagnements", total=totals["accompagnements"])
    besoins = secret.apply_mask(besoins, mask, ["accompagnements", "part"]).drop(columns="structures")
    if total_hidden:
        hidden_total.add("accompagnements")

    # Départements: the masks of the whole territorial hierarchy, the same in every view.
    masks = territory_masks(con, scope)["code_departement"]["structures"]
    departements = data["departements"]
    departements = secret.apply_mask(departements, departements["code"].map(masks).astype(object).fillna(True).astype(bool),
                                     ["structures", "accompagnements"])

    # A key figure is the margin of these tables: masked in one of them, it is masked on the card too.
    chiffres = protect_key_figures(con, scope, figures, total_top)
    for measure in hidden_total:
        chiffres[measure] = None
    if chiffres["structures"] is None:  # a hidden scope: nothing of it but "secret"
        everything = {"annees": ["structures", "accompagnements", "heures"], "besoins": ["accompagnements", "part"],
                      "departements": ["structures", "accompagnements"]}
        tables = {"annees": annees, "besoins": besoins, "departements": departements}
        annees, besoins, departements = (secret.apply_mask(tables[name], pd.Series(True, index=tables[name].index),
                                                           columns) for name, columns in everything.items())
    return {**data, "chiffres": chiffres, "annees": annees.drop(columns=["top", "n_structures"]), "besoins": besoins,
            "departements": departements}


def kpis(con: duckdb.DuckDBPyConnection, scope: Scope, vue: str = "analyste") -> dict:
    """What `python -m pipelines kpis [--vue ROLE]` prints; masked values read "secret"."""
    if not roles.role(vue).statistical_secrecy:
        return indicators.kpis(con, scope)
    data = page_data(con, scope, vue)
    figures = data["chiffres"]
    per_region = indicators.structures_par_region(con, scope)
    regions = pd.DataFrame({"code": list(per_region), "structures": list(per_region.values())})
    hidden = territory_masks(con, scope)["code_region"]["structures"]
    if figures["structures"] is None:  # a hidden scope: no breakdown either
        hidden = hidden.map(lambda _: True)
    regions = secret.apply_mask(regions, regions["code"].map(hidden).fillna(True).astype(bool), ["structures"])

    def shown(value):
        return secret.SECRET if value is None else value

    return {
        **{key: shown(figures[key]) for key in KEY_FIGURES},
        "part_besoin_principal": {r.categorie: shown(None if r.part is None else float(r.part))
                                  for r in data["besoins"].itertuples()},
        "structures_par_region": {r.code: shown(None if r.structures is None else int(r.structures))
                                  for r in regions.itertuples()},
        "structures_par_departement": {r.code: shown(None if r.structures is None else int(r.structures))
                                       for r in data["departements"].itertuples()},
        "vue": vue,
    }
