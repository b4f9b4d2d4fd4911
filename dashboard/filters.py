"""The global filters: sidebar widgets ⇄ URL query parameters ⇄ Scope.

Copying the address reproduces the exact view: every filter lives in the URL.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from dashboard import auth, data
from pipelines.queries import indicators
from pipelines.queries.indicators import Scope

# Scope field → (URL parameter, widget key)
URL_KEYS = {
    "region": "region",
    "departement": "departement",
    "programme": "programme",
    "domaine": "domaine",
    "depuis": "du",
    "jusqu_au": "au",
}
ALL = "__tous__"


def _from_url(field: str) -> str | None:
    value = st.query_params.get(URL_KEYS[field])
    return value or None


def _parse_date(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _select(label: str, field: str, options: pd.DataFrame, all_label: str) -> str | None:
    codes = [ALL] + options["code"].tolist()
    names = dict(zip(options["code"], options["nom"]))
    key = f"filtre_{field}"
    if key not in st.session_state:
        wanted = _from_url(field)
        st.session_state[key] = wanted if wanted in codes else ALL
    elif st.session_state[key] not in codes:
        st.session_state[key] = ALL
    choice = st.sidebar.selectbox(label, codes, key=key, format_func=lambda c: all_label if c == ALL else names.get(c, c))
    return None if choice == ALL else choice


def sidebar_scope() -> Scope:
    """Draw the filters in the sidebar and return the scope they select."""
    choices = data.fetch(indicators.filter_choices)
    st.sidebar.header("Filtres")
    region = _select("Région", "region", choices["regions"], "Toutes les régions")
    deps = choices["departements"]
    if region:
        deps = deps[deps["code_region"] == region]
    deps = deps.assign(nom=deps["code"] + " – " + deps["nom"])
    departement = _select("Département", "departement", deps, "Tous les départements")
    progs = choices["programmes"]
    if region:
        progs = progs[progs["code_region"] == region]
    programme = _select("Programme", "programme", progs, "Tous les programmes")
    domaine = _select("Domaine culturel", "domaine", choices["domaines"], "Tous les domaines")

    bounds = choices["periode"].iloc[0]
    lo = pd.Timestamp(bounds["debut"]).date() if pd.notna(bounds["debut"]) else dt.date(2000, 1, 1)
    hi = pd.Timestamp(bounds["fin"]).date() if pd.notna(bounds["fin"]) else dt.date.today()
    if auth.rules().statistical_secrecy:
        depuis, jusqu_au = _year_period(lo, hi)
    else:
        depuis, jusqu_au = _day_period()
    st.sidebar.caption(f"Données du {lo:%d/%m/%Y} au {hi:%d/%m/%Y}.")

    scope = Scope(region, departement, programme, domaine, depuis, jusqu_au)
    _write_url(scope)
    return scope


def _day_period() -> tuple[dt.date | None, dt.date | None]:
    for field in ("depuis", "jusqu_au"):
        key = f"filtre_{field}"
        if key not in st.session_state:
            st.session_state[key] = _parse_date(_from_url(field))
    st.sidebar.caption("Période d'activité des accompagnements (jour/mois/année)")
    # One under the other: side by side in the sidebar, a date field cuts its own text.
    bounds = dict(min_value=dt.date(1990, 1, 1), max_value=dt.date(2100, 1, 1), format="DD/MM/YYYY")
    depuis = st.sidebar.date_input("Du", key="filtre_depuis", **bounds)
    jusqu_au = st.sidebar.date_input("Au", key="filtre_jusqu_au", **bounds)
    return depuis, jusqu_au


def _year_period(lo: dt.date, hi: dt.date) -> tuple[dt.date | None, dt.date | None]:
    """The funder's period: one whole calendar year or all of them (pipelines.privacy.secret.PERIOD_RULE).
    A shared link with other dates opens on every year, and says so."""
    years = list(range(lo.year, hi.year + 1))
    key = "filtre_annee"
    if key not in st.session_state:
        linked = Scope(depuis=_parse_date(_from_url("depuis")), jusqu_au=_parse_date(_from_url("jusqu_au")))
        st.session_state[key] = linked.whole_year if linked.whole_year in years else ALL
        if (linked.depuis or linked.jusqu_au) and st.session_state[key] == ALL:
            st.session_state["periode_ramenee"] = True
    year = st.sidebar.selectbox("Année d'activité des accompagnements", [ALL, *years], key=key,
                                format_func=lambda y: "Toutes les années" if y == ALL else str(y))
    if st.session_state.get("periode_ramenee") and year == ALL:  # until the funder picks a year
        st.sidebar.caption("Le lien demandait une autre période : la vue financeur montre des années civiles "
                           "entières, ou toutes les années.")
    return Scope.year_period(None if year == ALL else year)


def _write_url(scope: Scope) -> None:
    for field, param in URL_KEYS.items():
        value = getattr(scope, field)
        text = value.isoformat() if isinstance(value, dt.date) else value
        if text:
            if st.query_params.get(param) != text:
                st.query_params[param] = text
        elif param in st.query_params:
            del st.query_params[param]


def describe(scope: Scope) -> str:
    """The scope in words, for chart titles and report covers."""
    return indicators.scope_words(data.fetch(indicators.filter_choices), scope)


def current() -> Scope:
    """The scope set by the sidebar on this run (drawn by app.py before the page)."""
    return st.session_state.get("scope", Scope())


# Page-level choices (map indicator, level, chosen structure…) live in the URL too,
# so a copied address reproduces the exact view.

def _url_default(param: str, options: list[str], default: str) -> str:
    key = f"page_{param}"
    if key not in st.session_state or st.session_state[key] not in options:
        wanted = st.query_params.get(param)
        st.session_state[key] = wanted if wanted in options else default
    return key


def _set_url(param: str, value: str | None, default: str | None = None) -> None:
    if value and value != default:
        if st.query_params.get(param) != value:
            st.query_params[param] = value
    elif param in st.query_params:
        del st.query_params[param]


def url_choice(label: str, options: dict[str, str], param: str, default: str | None = None, *,
               widget: str = "radio", container=None) -> str:
    """A radio or select box bound to the URL parameter `param` (options: code → French label)."""
    codes = list(options)
    default = default if default in codes else codes[0]
    key = _url_default(param, codes, default)
    where = container or st
    draw = where.radio if widget == "radio" else where.selectbox
    extra = {"horizontal": True} if widget == "radio" else {}
    choice = draw(label, codes, key=key, format_func=lambda c: options.get(c, c), **extra)
    _set_url(param, choice, default)
    return choice


def url_choices(label: str, options: dict[str, str], param: str, default: list[str], *, max_selections: int,
                placeholder: str = "", container=None) -> list[str]:
    """A multiselect bound to the URL parameter `param` (codes joined by commas); codes no longer offered
    are dropped, and an empty choice falls back to `default`."""
    key = f"page_{param}"
    if key not in st.session_state or any(c not in options for c in st.session_state[key]):
        wanted = [c for c in (st.query_params.get(param) or "").split(",") if c in options][:max_selections]
        st.session_state[key] = wanted or [c for c in default if c in options]
    chosen = (container or st).multiselect(label, list(options), key=key, format_func=lambda c: options.get(c, c),
                                           max_selections=max_selections, placeholder=placeholder)
    _set_url(param, ",".join(chosen), ",".join(default))
    return chosen or [c for c in default if c in options]


def url_text(label: str, param: str, *, placeholder: str = "", container=None) -> str | None:
    """A text input bound to the URL parameter `param`."""
    key = f"page_{param}"
    if key not in st.session_state:
        st.session_state[key] = st.query_params.get(param, "")
    value = (container or st).text_input(label, key=key, placeholder=placeholder).strip()
    _set_url(param, value)
    return value or None
