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
# The participatory observation's page shows declared figures without the funder view's cube: not for funders.
OBSERVATION_PAGE = "observation"

# The roles an account can have (pipelines.privacy.accounts).
ROLES: dict[str, Role] = {
    "analyste": Role("analyste", "Analyste", DASHBOARD_PAGES | {"importer", "soumissions", OBSERVATION_PAGE},
                     personal_data=True, unconsented_testimonies=True, statistical_secrecy=False),
    "comite": Role("comite", "Comité de pilotage", DASHBOARD_PAGES | {OBSERVATION_PAGE}, personal_data=False,
                   unconsented_testimonies=False, statistical_secrecy=False),
    "financeur": Role("financeur", "Financeur", DASHBOARD_PAGES, personal_data=False,
                      unconsented_testimonies=False, statistical_secrecy=True),
    # A federation's reader of the national warehouse (or of any région's): the comité's pages, without its
    # decisions in meeting mode (dashboard.meeting.DECIDERS) — it reads, it writes nothing anywhere.
    "national": Role("national", "Lecture nationale", DASHBOARD_PAGES | {OBSERVATION_PAGE}, personal_data=False,
                     unconsented_testimonies=False, statistical_secrecy=False),
}
# A supported structure, bound to itself by its personal link (no account): its own space and nothing else.
STRUCTURE = Role("structure", "Structure (espace personnel)", frozenset({"contribuer"}), personal_data=False,
                 unconsented_testimonies=False, statistical_secrecy=True)
ALL_ROLES: dict[str, Role] = {**ROLES, STRUCTURE.code: STRUCTURE}
STRUCTURE_PAGES = frozenset({"contribuer", "rejoindre"})  # for structures and visitors, not in a team's menu

# Pages anyone may open, signed in or not: the sign-in form, the structures' space (its link is the key; the
# page shows nothing without one) and the direct welcome.
PUBLIC_PAGES = frozenset({"connexion", "contribuer", "rejoindre"})


def role(code: str) -> Role:
    try:
        return ALL_ROLES[code]
    except KeyError:
        raise ValueError(f"Rôle inconnu : « {code} ». Rôles possibles : {', '.join(ROLES)}.") from None


def may_open(code: str | None, page: str) -> bool:
    """A structure opens only its space, and not even the public pages of the others' dashboard."""
    if code == STRUCTURE.code:
        return page in STRUCTURE.pages
    return page in PUBLIC_PAGES or (code in ROLES and page in ROLES[code].pages)

