"""Indicators of the interchange format, each defined once.

Every page, export and the `kpis` CLI call these functions; they take an open
DuckDB connection and a `Scope` (the global filters) and return plain Python
or pandas values. Definitions follow ../shared/spec/format-echange-v1.md:

* an accompaniment is *in scope* when its structure lies in the chosen
  territory and domain, its programme is the chosen one, and it was active
  during the chosen period (started on or before its end, and not ended before
  its start; an accompaniment with no end date is still running);
* structures accompagnées = distinct structures with an accompaniment in scope;
* part d'un besoin principal = accompaniments whose besoin_principal falls in
  the category ÷ accompaniments in scope.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, replace

import duckdb
import pandas as pd

from pipelines.spec import referentiels as ref

# What each indicator means, in French, for methodology pages and report annexes.
DEFINITIONS = [
    ("Accompagnement dans le périmètre", "Accompagnement dont la structure est dans le territoire et le domaine "
     "choisis, du programme choisi, actif pendant la période (commencé avant sa fin, pas terminé avant son début)."),
    ("Structures accompagnées", "Nombre de structures distinctes ayant au moins un accompagnement dans le périmètre."),
    ("Heures d'accompagnement", "Somme des heures déclarées des accompagnements du périmètre."),
    ("Part d'un besoin principal", "Accompagnements dont le besoin principal relève de la catégorie, divisés par "
     "les accompagnements du périmètre (typologie à deux niveaux du format d'échange)."),
    ("Structures pour 100 000 habitants", "Structures accompagnées du territoire (lieu du siège) rapportées à sa "
     "population municipale (Code officiel géographique 2026)."),
    ("Taux de couverture", "Structures accompagnées divisées par la population de référence de structures "
     "culturelles de l'ESS fournie par l'observatoire, là où elle existe."),
    ("Heures par structure", "Heures d'accompagnement divisées par le nombre de structures accompagnées."),
    ("Objectifs atteints", "Moyenne, en %, des objectifs atteints déclarés lors des mesures de suivi (fin, 6 et "
     "12 mois)."),
    ("Emplois et budget avant / après", "Mesurés sur les mêmes structures (appariées), une valeur par structure."),
    ("Structures toujours actives à 12 mois", "Part des structures suivies à 12 mois dont la dernière mesure "
     "indique qu'elles sont toujours en activité."),
]


@dataclass(frozen=True)
class Scope:
    region: str | None = None
    departement: str | None = None
    programme: str | None = None
    domaine: str | None = None
    depuis: dt.date | None = None
    jusqu_au: dt.date | None = None

    def params(self) -> dict:
        return asdict(self)

    @classmethod
    def year_period(cls, year: int | None) -> tuple[dt.date | None, dt.date | None]:
        """`depuis`, `jusqu_au` of one calendar year (both None for every year)."""
        return (None, None) if year is None else (dt.date(year, 1, 1), dt.date(year, 12, 31))

    @property
    def whole_year(self) -> int | None:
        """The calendar year this scope's period is exactly, if it is one."""
        if self.depuis and self.jusqu_au and (self.depuis, self.jusqu_au) == self.year_period(self.depuis.year):
            return self.depuis.year
        return None

    def previous_period(self) -> "Scope | None":
        """The period of equal length just before this one (None without a full period); the year before
        a calendar year."""
        if self.depuis is None or self.jusqu_au is None:
            return None
        if self.whole_year:
            return replace(self, **dict(zip(("depuis", "jusqu_au"), self.year_period(self.whole_year - 1))))
        length = self.jusqu_au - self.depuis
        end = self.depuis - dt.timedelta(days=1)
        return replace(self, depuis=end - length, jusqu_au=end)


# Accompaniments in scope, with what their structure and programme say of them.
SCOPED_ACCOMPAGNEMENTS = """
SELECT a.*, s.nom AS nom_structure, s.domaine, s.forme_juridique, s.code_commune, s.effectif_etp, s.employeur,
       s.annee_creation,
       c.code_departement, c.code_region, p.nom AS nom_programme, p.type AS type_programme,
       split_part(a.besoin_principal, '.', 1) AS categorie_principale
FROM accompagnements a
JOIN structures s USING (id_structure)
JOIN programmes p USING (id_programme)
LEFT JOIN geo_communes c ON c.code = s.code_commune
WHERE ($region IS NULL OR c.code_region = $region)
  AND ($departement IS NULL OR c.code_departement = $departement)
  AND ($programme IS NULL OR a.id_programme = $programme)
  AND ($domaine IS NULL OR s.domaine = $domaine)
  AND ($jusqu_au IS NULL OR a.date_debut <= $jusqu_au)
  AND ($depuis IS NULL OR coalesce(a.date_fin, DATE '9999-12-31') >= $depuis)
"""


# A structure's size, employer status and age as classes: SQL over a row with the structure's columns.
TAILLE_SQL = """CASE WHEN effectif_etp IS NULL THEN 'nr' WHEN effectif_etp = 0 THEN '0'
                     WHEN effectif_etp < 1 THEN 'lt1' WHEN effectif_etp < 3 THEN '1-3'
                     WHEN effectif_etp < 10 THEN '3-10' ELSE '10+' END"""
EMPLOYEUR_SQL = "CASE WHEN employeur THEN 'oui' WHEN NOT employeur THEN 'non' ELSE 'nr' END"
CREATION_SQL = """CASE WHEN annee_creation IS NULL THEN 'nr' WHEN annee_creation < 1980 THEN 'a'
                       WHEN annee_creation < 2000 THEN 'b' WHEN annee_creation < 2010 THEN 'c'
                       WHEN annee_creation < 2020 THEN 'd' ELSE 'e' END"""
# How many distinct needs an accompaniment names (3: three or more).
NB_BESOINS_SQL = "least(length(list_distinct(list_append(coalesce(besoins, []), besoin_principal))), 3)"


def _scoped(sql: str) -> str:
    return f"WITH acc AS ({SCOPED_ACCOMPAGNEMENTS})\n{sql}"


def query(con: duckdb.DuckDBPyConnection, sql: str, scope: Scope, **extra) -> pd.DataFrame:
    """Run `sql` (which reads the CTE `acc`) for a scope."""
    return con.execute(_scoped(sql), {**scope.params(), **extra}).df()


def key_figures(con: duckdb.DuckDBPyConnection, scope: Scope, besoin: str | None = None) -> dict:
    """Structures accompanied, accompaniments, hours and programmes of the scope; with `besoin` (a need
    category or code), of the accompaniments whose main need falls in it."""
    row = query(con, """
        SELECT count(DISTINCT id_structure) AS structures,
               count(*) AS accompagnements,
               coalesce(sum(heures), 0) AS heures,
               count(DISTINCT id_programme) AS programmes
        FROM acc WHERE $besoin IS NULL OR besoin_principal = $besoin OR categorie_principale = $besoin""",
        scope, besoin=besoin).iloc[0]
    # Hours are declared to the tenth: round off the float sum's noise (19752.099999999995).
    return {k: (round(float(v), 2) if k == "heures" else int(v)) for k, v in row.items()}


def part_besoin_principal(con: duckdb.DuckDBPyConnection, scope: Scope) -> dict[str, float]:
    """Category code → share of accompaniments in scope whose main need is in it."""
    frame = query(con, """
        SELECT categorie_principale AS categorie, count(*) / sum(count(*)) OVER () AS part
        FROM acc GROUP BY 1 ORDER BY 2 DESC, 1""", scope)
    return {r.categorie: float(r.part) for r in frame.itertuples()}


def departements_couverts(con: duckdb.DuckDBPyConnection, scope: Scope) -> pd.DataFrame:
    """Per département with accompaniments in scope: structures accompagnées and accompaniments."""
    return query(con, """
        SELECT acc.code_departement AS code, d.nom, d.code_region,
               count(DISTINCT id_structure) AS structures, count(*) AS accompagnements
        FROM acc JOIN geo_departements d ON d.code = acc.code_departement
        GROUP BY ALL ORDER BY code""", scope)


def structures_par_departement(con: duckdb.DuckDBPyConnection, scope: Scope) -> dict[str, int]:
    frame = departements_couverts(con, scope)
    return {r.code: int(r.structures) for r in frame.itertuples()}


def structures_par_region(con: duckdb.DuckDBPyConnection, scope: Scope) -> dict[str, int]:
    frame = query(con, """
        SELECT code_region, count(DISTINCT id_structure) AS structures
        FROM acc WHERE code_region IS NOT NULL GROUP BY 1 ORDER BY 1""", scope)
    return {r.code_region: int(r.structures) for r in frame.itertuples()}


def trend_by_year(con: duckdb.DuckDBPyConnection, scope: Scope) -> pd.DataFrame:
    """Per year the accompaniment started: accompaniments, structures, hours. Only the years of the period:
    an accompaniment started before it and still active counts in the key figures, but a 2023 bar in a
    2024–2025 view would read as activity of 2023 (STARTED_IN_PERIOD)."""
    return query(con, f"""
        SELECT year(date_debut) AS annee, count(*) AS accompagnements,
               count(DISTINCT id_structure) AS structures, coalesce(sum(heures), 0) AS heures
        FROM acc WHERE {STARTED_IN_PERIOD} GROUP BY 1 ORDER BY 1""", scope)


# Charts by year of start keep the years of the period (an SQL condition over `acc`).
STARTED_IN_PERIOD = "($depuis IS NULL OR year(date_debut) >= year($depuis::DATE))"


def started_before_note(scope: Scope) -> str | None:
    """What a chart by year of start leaves out, in words, when the period has a start."""
    if scope.depuis is None:
        return None
    return (f"Par année de début : les accompagnements commencés avant {scope.depuis.year} et encore actifs dans la "
            "période comptent dans les chiffres clés, pas dans ce graphique.")


def besoin_categories(con: duckdb.DuckDBPyConnection, scope: Scope) -> pd.DataFrame:
    """Main-need categories with count, share and French label, largest first."""
    shares = part_besoin_principal(con, scope)
    counts = query(con, "SELECT categorie_principale AS categorie, count(*) AS accompagnements FROM acc GROUP BY 1", scope)
    frame = counts.assign(part=counts["categorie"].map(shares),
                          libelle=counts["categorie"].map(ref.BESOIN_CATEGORIES))
    return frame.sort_values(["accompagnements", "categorie"], ascending=[False, True], ignore_index=True)


ORIENTATION_NOT_GIVEN = "nr"


def part_orientation(con: duckdb.DuckDBPyConnection, scope: Scope) -> dict[str, float]:
    """How accompaniments in scope came: orientation code (direct, prescripteur, reseau; 'nr' when not given)
    → share of the accompaniments (the direct welcome beside prescription, MES sheet 1.5)."""
    frame = query(con, f"""
        SELECT coalesce(orientation, '{ORIENTATION_NOT_GIVEN}') AS orientation, count(*) / sum(count(*)) OVER () AS part
        FROM acc GROUP BY 1 ORDER BY 1""", scope)
    return {r.orientation: round(float(r.part), 4) for r in frame.itertuples()}


def heures_benevoles(con: duckdb.DuckDBPyConnection, scope: Scope) -> float:
    """Volunteer and peer hours of the accompaniments in scope: non-monetary resources beside paid hours."""
    value = query(con, "SELECT coalesce(sum(heures_benevoles), 0) AS h FROM acc", scope)["h"].iloc[0]
    return round(float(value), 2)


def kpis(con: duckdb.DuckDBPyConnection, scope: Scope) -> dict:
    """Everything `python -m pipelines kpis` prints."""
    return {
        **key_figures(con, scope),
        "heures_benevoles": heures_benevoles(con, scope),
        "part_orientation": part_orientation(con, scope),
        "part_besoin_principal": part_besoin_principal(con, scope),
        "structures_par_region": structures_par_region(con, scope),
        "structures_par_departement": structures_par_departement(con, scope),
    }


# Choices offered by the global filters.

def filter_choices(con: duckdb.DuckDBPyConnection) -> dict[str, pd.DataFrame]:
    return {
        "regions": con.execute("""
            SELECT DISTINCT r.code, r.nom FROM structures s
            JOIN geo_communes c ON c.code = s.code_commune JOIN geo_regions r ON r.code = c.code_region
            ORDER BY r.nom""").df(),
        "departements": con.execute("""
            SELECT DISTINCT d.code, d.nom, d.code_region FROM structures s
            JOIN geo_communes c ON c.code = s.code_commune JOIN geo_departements d ON d.code = c.code_departement
            ORDER BY d.code""").df(),
        "programmes": con.execute("SELECT id_programme AS code, nom, code_region FROM programmes ORDER BY nom").df(),
        "domaines": con.execute("""
            SELECT r.code, r.libelle AS nom FROM ref_domaines r
            WHERE r.code IN (SELECT domaine FROM structures) ORDER BY r.libelle""").df(),
        "periode": con.execute("""
            SELECT min(date_debut) AS debut, max(coalesce(date_fin, date_debut)) AS fin FROM accompagnements""").df(),
    }


FILTER_LABELS = {"region": ("Région", "Toutes les régions"), "departement": ("Département", "Tous les départements"),
                 "programme": ("Programme", "Tous les programmes"), "domaine": ("Domaine culturel", "Tous les domaines")}


def _names(choices: dict[str, pd.DataFrame]) -> dict[str, dict[str, str]]:
    return {field: dict(zip(choices[table]["code"], choices[table]["nom"]))
            for field, table in (("region", "regions"), ("departement", "departements"),
                                 ("programme", "programmes"), ("domaine", "domaines"))}


def _period_words(scope: Scope) -> str | None:
    if scope.depuis and scope.jusqu_au:
        return f"du {scope.depuis:%d/%m/%Y} au {scope.jusqu_au:%d/%m/%Y}"
    if scope.depuis:
        return f"depuis le {scope.depuis:%d/%m/%Y}"
    if scope.jusqu_au:
        return f"jusqu'au {scope.jusqu_au:%d/%m/%Y}"
    return None


def scope_words(choices: dict[str, pd.DataFrame], scope: Scope) -> str:
    """The scope in words ("Occitanie · Musique · du 01/01/2024 au 31/12/2024"), for titles and covers."""
    names = _names(choices)
    parts = [names[field].get(getattr(scope, field), getattr(scope, field))
             for field in FILTER_LABELS if getattr(scope, field)]
    period = _period_words(scope)
    return " · ".join(parts + ([period] if period else [])) or "ensemble des données"


def scope_filters(choices: dict[str, pd.DataFrame], scope: Scope) -> dict[str, str]:
    """Each filter and its value in French, for a report cover."""
    names = _names(choices)
    out = {label: names[field].get(getattr(scope, field), getattr(scope, field)) if getattr(scope, field) else every
           for field, (label, every) in FILTER_LABELS.items()}
    out["Période"] = _period_words(scope) or "toute la période"
    return out
