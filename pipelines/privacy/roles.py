"""What each role may open and see, as data (no Streamlit).

Pages are named by their `url_path` in app.py. The query layer, the pages and
the exports ask these rules; nothing a role may not see is ever sent to it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Role:
    code: str
    label: str
    pages: frozenset[str]
    personal_data: bool  # intervenant names and other `Column.personal` fields
    unconsented_testimonies: bool
    statistical_secrecy: bool  # pipelines.privacy.secret applied to every figure, table, map and export


DASHBOARD_PAGES = frozenset({"vue-ensemble", "structures", "besoins", "territoires", "resultats", "temoignages",
                             "plan", "reunion"})

ROLES: dict[str, Role] = {
    "analyste": Role("analyste", "Analyste", DASHBOARD_PAGES | {"importer"}, personal_data=True,
                     unconsented_testimonies=True, statistical_secrecy=False),
    "comite": Role("comite", "Comité de pilotage", DASHBOARD_PAGES, personal_data=False,
                   unconsented_testimonies=False, statistical_secrecy=False),
    "financeur": Role("financeur", "Financeur", DASHBOARD_PAGES, personal_data=False,
                      unconsented_testimonies=False, statistical_secrecy=True),
}

# Pages anyone may open, signed in or not.
PUBLIC_PAGES = frozenset({"connexion"})


def role(code: str) -> Role:
    try:
        return ROLES[code]
    except KeyError:
        raise ValueError(f"Rôle inconnu : « {code} ». Rôles possibles : {', '.join(ROLES)}.") from None


def may_open(code: str | None, page: str) -> bool:
    return page in PUBLIC_PAGES or (code in ROLES and page in ROLES[code].pages)

