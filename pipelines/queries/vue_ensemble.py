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
from pipelines.queries import indicators, territoires
from pipelines.queries.indicators import Scope
from pipelines.queries.masks import breakdown_mask, hours_top, scope_hidden, territory_masks

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
    """The overview as a funder may see it: the key figures are the published cube's cell, the years of
    start and the needs its published breakdown (pipelines.queries.cube.BREAKDOWNS), the départements the
    cube's cells: each as every other view that shows it."""
    chiffres = protect_key_figures(con, scope, data["chiffres"])
    hidden = chiffres["structures"] is None  # a hidden scope: nothing of it but "secret"

    def masked(frame: pd.DataFrame, family: tuple[int, ...], keys: list[str]) -> pd.Series:
        return pd.Series(True, index=frame.index) if hidden else breakdown_mask(con, scope, "besoins", family, frame[keys])
    annees = secret.apply_mask(data["annees"], masked(data["annees"], (0, 1), ["annee"]),
                               ["structures", "accompagnements", "heures"])
    besoins = secret.apply_mask(data["besoins"], masked(data["besoins"], (1, 0), ["categorie"]), ["accompagnements", "part"])
    territory = territory_masks(con, scope)["code_departement"]["structures"]
    departements = data["departements"]
    departements = secret.apply_mask(departements, hidden | departements["code"].map(territory).astype(object)
                                     .fillna(True).astype(bool), ["structures", "accompagnements"])
    return {**data, "chiffres": chiffres, "annees": annees, "besoins": besoins, "departements": departements}


def kpis(con: duckdb.DuckDBPyConnection, scope: Scope, vue: str = "analyste") -> dict:
    """What `python -m pipelines kpis [--vue ROLE]` prints; masked values read "secret"."""
    if not roles.role(vue).statistical_secrecy:
        figures = indicators.kpis(con, scope)
        return {**figures, "taux_couverture": territoires.scope_coverage(con, scope, figures["structures"])}
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
        # Structures (published, protected) over a public reference population: secret only with the count.
        "taux_couverture": shown(figures["structures"]) if figures["structures"] is None
        else territoires.scope_coverage(con, scope, figures["structures"]),
        # Not in the published cube: a funder gets neither (fail closed) until they are protected with it.
        "heures_benevoles": secret.SECRET,
        "part_orientation": secret.SECRET,
        "part_besoin_principal": {r.categorie: shown(None if r.part is None else float(r.part))
                                  for r in data["besoins"].itertuples()},
        "structures_par_region": {r.code: shown(None if r.structures is None else int(r.structures))
                                  for r in regions.itertuples()},
        "structures_par_departement": {r.code: shown(None if r.structures is None else int(r.structures))
                                       for r in data["departements"].itertuples()},
        "vue": vue,
    }


def incomplete_year_note(con: duckdb.DuckDBPyConnection, years: pd.DataFrame) -> str | None:
    """'2026 est une année incomplète…' when the year chart's last year is the data's last and it does not
    reach 31 December: its bar is short because the year is, not because activity fell."""
    last_day = indicators.filter_choices(con)["periode"].iloc[0]["fin"]
    if last_day is None or pd.isna(last_day) or years.empty:
        return None
    last_day = pd.Timestamp(last_day).date()
    if (last_day.month, last_day.day) != (12, 31) and int(years["annee"].max()) == last_day.year:
        return f"{last_day.year} est une année incomplète : données jusqu'au {last_day:%d/%m/%Y}."
    return None
