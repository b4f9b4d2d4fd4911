"""Participatory observation: what structures declare about themselves, for the dashboard page, and each
structure's results given back (its own figures beside its territory's).

A figure of a territory given back to a structure is a mean over the structures of that territory that
declared it that year. The reader is one of them and knows its own value, so the funder view's primary
rule is applied to the *others*: at least `secret.threshold()` other structures, and none of them making
`secret.DOMINANCE` or more of their sum. Otherwise the figure reads "secret". No other structure's value,
name or row is ever returned to a structure.
"""

from __future__ import annotations

import csv
import io

import duckdb
import pandas as pd

from pipelines.privacy import secret
from pipelines.queries.indicators import Scope, query
from pipelines.reports.fmt import neutralise  # the exports' defence against formulas, defined once
from pipelines.spec import referentiels as ref

# The declared figures, in the order the questionnaire asks them.
MEASURES: dict[str, str] = {
    "effectif_etp": "Effectif salarié (ETP)",
    "nb_salaries": "Salariés",
    "nb_benevoles": "Bénévoles",
    "heures_benevolat": "Heures de bénévolat dans l'année",
    "budget_annuel": "Budget annuel (€)",
    "part_recettes_propres": "Part des recettes propres (%)",
    "nb_evenements": "Événements donnés",
    "public_touche": "Personnes touchées",
}

DECIMAL_MEASURES = ("effectif_etp", "heures_benevolat")  # the others are whole numbers

SCOPED_OBSERVATIONS = """
SELECT o.*, s.nom AS nom_structure, s.domaine, c.code_departement, c.code_region
FROM observations o JOIN structures s USING (id_structure)
LEFT JOIN geo_communes c ON c.code = s.code_commune
WHERE ($region IS NULL OR c.code_region = $region)
  AND ($departement IS NULL OR c.code_departement = $departement)
  AND ($domaine IS NULL OR s.domaine = $domaine)
  AND ($depuis IS NULL OR o.annee >= year($depuis::DATE))
  AND ($jusqu_au IS NULL OR o.annee <= year($jusqu_au::DATE))
"""


def _params(scope: Scope) -> dict:
    return {k: v for k, v in scope.params().items() if k != "programme"}


# ---------------------------------------------------------------------- the dashboard page


def response_rates(con: duckdb.DuckDBPyConnection, scope: Scope) -> pd.DataFrame:
    """Per campaign (year) and territory (the départements of a région, else the régions): structures invited,
    structures that answered through their link, and the response rate."""
    level = "code_departement" if scope.region or scope.departement else "code_region"
    names = "geo_departements" if level == "code_departement" else "geo_regions"
    return con.execute(f"""
        WITH invited AS (
            SELECT DISTINCT j.annee, j.id_structure, c.{level} AS territoire
            FROM opp_jetons j JOIN structures s USING (id_structure) LEFT JOIN geo_communes c ON c.code = s.code_commune
            WHERE ($region IS NULL OR c.code_region = $region) AND ($departement IS NULL OR c.code_departement = $departement)
              AND ($domaine IS NULL OR s.domaine = $domaine)
              AND ($depuis IS NULL OR j.annee >= year($depuis::DATE)) AND ($jusqu_au IS NULL OR j.annee <= year($jusqu_au::DATE)))
        SELECT i.annee, i.territoire, g.nom AS nom_territoire, count(*) AS invitees,
               count(o.id_structure) AS repondantes, count(o.id_structure) / count(*) AS taux
        FROM invited i
        LEFT JOIN observations o ON o.id_structure = i.id_structure AND o.annee = i.annee AND o.source = 'questionnaire'
        LEFT JOIN {names} g ON g.code = i.territoire
        GROUP BY ALL ORDER BY i.annee, i.territoire""", _params(scope)).df()


def declared_by_year(con: duckdb.DuckDBPyConnection, scope: Scope) -> pd.DataFrame:
    """Per year: structures that declared, and the sums of what they declared (volunteer hours are the
    non-monetary resource), the mean own-revenue share."""
    return con.execute(f"""
        WITH obs AS ({SCOPED_OBSERVATIONS})
        SELECT annee, count(DISTINCT id_structure) AS structures,
               sum(effectif_etp) AS effectif_etp, sum(nb_salaries) AS nb_salaries,
               sum(nb_benevoles) AS nb_benevoles, sum(heures_benevolat) AS heures_benevolat,
               sum(budget_annuel) AS budget_annuel, avg(part_recettes_propres) AS part_recettes_propres,
               sum(nb_evenements) AS nb_evenements, sum(public_touche) AS public_touche
        FROM obs GROUP BY annee ORDER BY annee""", _params(scope)).df()


def evolution_index(declared: pd.DataFrame, measures: tuple[str, ...] = ("heures_benevolat", "effectif_etp",
                                                                          "nb_benevoles", "budget_annuel")) -> pd.DataFrame:
    """The declared totals as an index, 100 the first year, one row per year and measure: volunteer hours
    (hundreds of thousands) and jobs (hundreds) on one chart."""
    first = declared.iloc[0]
    rows = [{"annee": int(row["annee"]), "mesure": MEASURES[m], "indice": 100 * row[m] / first[m]}
            for _, row in declared.iterrows() for m in measures if first[m]]
    return pd.DataFrame(rows, columns=["annee", "mesure", "indice"])


def needs_compared(con: duckdb.DuckDBPyConnection, scope: Scope) -> pd.DataFrame:
    """Per need category: share of the structures that declared needs naming it, against the share of the
    programmes' accompaniments whose main need is in it (the same scope; the programme filter is the
    programmes' side only)."""
    declared = con.execute(f"""
        WITH obs AS ({SCOPED_OBSERVATIONS}),
        needs AS (SELECT id_structure, split_part(unnest(besoins), '.', 1) AS categorie FROM obs WHERE besoins IS NOT NULL)
        SELECT categorie, count(DISTINCT id_structure) / (SELECT count(DISTINCT id_structure) FROM needs) AS part_declaree
        FROM needs GROUP BY categorie""", _params(scope)).df()
    recorded = query(con, """SELECT categorie_principale AS categorie, count(*) / sum(count(*)) OVER () AS part_programmes
                             FROM acc GROUP BY 1""", scope)
    frame = pd.DataFrame({"categorie": list(ref.BESOIN_CATEGORIES)})
    frame["libelle"] = frame["categorie"].map(ref.BESOIN_CATEGORIES)
    frame = frame.merge(declared, how="left").merge(recorded, how="left")
    return frame.fillna({"part_declaree": 0.0, "part_programmes": 0.0})


# ---------------------------------------------------------------------- a structure's results given back


def structure_card(con: duckdb.DuckDBPyConnection, id_structure: str) -> dict:
    """Name, commune, département and domaine of one structure (what its own space shows of it)."""
    row = con.execute("""
        SELECT s.nom, s.domaine, c.nom AS commune, c.code_departement, d.nom AS departement
        FROM structures s LEFT JOIN geo_communes c ON c.code = s.code_commune
        LEFT JOIN geo_departements d ON d.code = c.code_departement WHERE s.id_structure = ?""", [id_structure]).df()
    if row.empty:
        return {}
    card = row.iloc[0].to_dict()
    card["libelle_domaine"] = ref.DOMAINES.get(card["domaine"], card["domaine"])
    return card


def own_figures(con: duckdb.DuckDBPyConnection, id_structure: str) -> pd.DataFrame:
    """The structure's accepted observations, one row per year."""
    return con.execute(f"SELECT annee, {', '.join(MEASURES)}, besoins, commentaire, source FROM observations "
                       "WHERE id_structure = ? ORDER BY annee", [id_structure]).df()


def publish(con: duckdb.DuckDBPyConnection, annee: int, role: str) -> int:
    """Freeze the campaign `annee`'s declared values as structures will get them back (once: a second
    publication would let a structure difference the two); how many structures it holds."""
    done = con.execute("SELECT publie_le FROM opp_publications WHERE annee = ?", [annee]).fetchall()
    if done:
        raise ValueError(f"Les résultats de la campagne {annee} ont déjà été publiés le {done[0][0]:%d/%m/%Y} : ils "
                         "ne changent plus (des chiffres qui bougent laisseraient déduire la réponse d'une structure).")
    con.execute(f"""
        INSERT INTO opp_valeurs_publiees
        SELECT o.annee, o.id_structure, c.code_departement, s.domaine, u.mesure, u.valeur
        FROM (UNPIVOT (SELECT id_observation, {', '.join(f'CAST({m} AS DOUBLE) AS {m}' for m in MEASURES)}
                       FROM observations WHERE annee = $annee)
              ON {', '.join(MEASURES)} INTO NAME mesure VALUE valeur) u
        JOIN observations o USING (id_observation) JOIN structures s USING (id_structure)
        LEFT JOIN geo_communes c ON c.code = s.code_commune""", {"annee": annee})
    con.execute("INSERT INTO opp_publications VALUES (?, now()::TIMESTAMP, ?)", [annee, role])
    return int(con.execute("SELECT count(DISTINCT id_structure) FROM opp_valeurs_publiees WHERE annee = ?",
                           [annee]).fetchone()[0])


def campaign_years(con: duckdb.DuckDBPyConnection) -> list[int]:
    """The campaigns structures were invited to."""
    return [r[0] for r in con.execute("SELECT DISTINCT annee FROM opp_jetons ORDER BY 1").fetchall()]


def published_years(con: duckdb.DuckDBPyConnection) -> dict[int, object]:
    """Campaign → when its results were published to the structures."""
    return dict(con.execute("SELECT annee, publie_le FROM opp_publications ORDER BY annee").fetchall())


def territory_figures(con: duckdb.DuckDBPyConnection, id_structure: str, annee: int,
                      seuil: int | None = None) -> pd.DataFrame:
    """Per measure: the structure's value for `annee`, and the means of its département and of its domaine in
    that campaign's publication (None with `secret_*` True when the others are too few, all zero, or one of
    them dominates; everything None before the campaign is published)."""
    frame = con.execute(f"""
        WITH me AS (SELECT s.domaine, c.code_departement FROM structures s
                    LEFT JOIN geo_communes c ON c.code = s.code_commune WHERE s.id_structure = $id),
        mine AS (UNPIVOT (SELECT {', '.join(f'CAST({m} AS DOUBLE) AS {m}' for m in MEASURES)} FROM observations
                          WHERE id_structure = $id AND annee = $annee) ON {', '.join(MEASURES)}
                 INTO NAME mesure VALUE valeur),
        long AS (SELECT * FROM opp_valeurs_publiees WHERE annee = $annee),
        agg AS (
            SELECT l.mesure,
               -- over every structure of the territory (the figure shown), and over the others (the rule)
               avg(l.valeur) FILTER (WHERE l.code_departement = me.code_departement) AS departement,
               count(l.valeur) FILTER (WHERE l.code_departement = me.code_departement) AS n_departement,
               count(l.valeur) FILTER (WHERE l.code_departement = me.code_departement AND l.id_structure <> $id) AS autres_departement,
               sum(abs(l.valeur)) FILTER (WHERE l.code_departement = me.code_departement AND l.id_structure <> $id) AS somme_departement,
               max(abs(l.valeur)) FILTER (WHERE l.code_departement = me.code_departement AND l.id_structure <> $id) AS max_departement,
               avg(l.valeur) FILTER (WHERE l.domaine = me.domaine) AS domaine,
               count(l.valeur) FILTER (WHERE l.domaine = me.domaine) AS n_domaine,
               count(l.valeur) FILTER (WHERE l.domaine = me.domaine AND l.id_structure <> $id) AS autres_domaine,
               sum(abs(l.valeur)) FILTER (WHERE l.domaine = me.domaine AND l.id_structure <> $id) AS somme_domaine,
               max(abs(l.valeur)) FILTER (WHERE l.domaine = me.domaine AND l.id_structure <> $id) AS max_domaine,
               -- the two areas overlap: their sums' difference is the sum of the structures in one only
               count(l.valeur) FILTER (WHERE l.domaine = me.domaine
                                         AND l.code_departement IS DISTINCT FROM me.code_departement) AS domaine_seul,
               count(l.valeur) FILTER (WHERE l.code_departement = me.code_departement
                                         AND l.domaine IS DISTINCT FROM me.domaine) AS departement_seul
            FROM long l, me GROUP BY l.mesure)
        SELECT coalesce(a.mesure, m.mesure) AS mesure, m.valeur AS sa_valeur, a.* EXCLUDE (mesure)
        FROM agg a FULL JOIN mine m USING (mesure)""", {"id": id_structure, "annee": annee}).df()
    frame = pd.DataFrame({"mesure": list(MEASURES)}).merge(frame, how="left")
    frame["libelle"] = frame["mesure"].map(MEASURES)
    # Both areas shown, they would give by difference the structures that are in one only: if those are
    # fewer than the threshold (but some), neither area is shown.
    threshold = secret.threshold(seuil)
    overlap = [0 < a < threshold or 0 < b < threshold
               for a, b in zip(frame["domaine_seul"].fillna(0), frame["departement_seul"].fillna(0))]
    for area in ("departement", "domaine"):
        # Secret unless enough others, none dominating, and not all zero (values are never negative: a zero
        # total would give each of them away).
        hidden = [secret.is_primary_secret(n, top, total, seuil=seuil) or not n or not total or close
                  for n, top, total, close in zip(frame[f"autres_{area}"].fillna(0), frame[f"max_{area}"],
                                                  frame[f"somme_{area}"], overlap)]
        frame[f"secret_{area}"] = hidden
        frame[area] = frame[area].where(~frame[f"secret_{area}"])
        frame[f"n_{area}"] = frame[f"n_{area}"].where(~frame[f"secret_{area}"])
    return frame[["mesure", "libelle", "sa_valeur", "departement", "n_departement", "secret_departement",
                  "domaine", "n_domaine", "secret_domaine"]]


def own_data_csv(con: duckdb.DuckDBPyConnection, id_structure: str) -> bytes:
    """Everything the warehouse holds about one structure, as `jeu;identifiant;colonne;valeur` (UTF-8 with BOM,
    `;`): its description, its observations, its accompaniments (without the names of the programmes'
    staff) and their follow-up. Nothing of any other structure."""
    parts = [
        ("structures", "id_structure", con.execute("SELECT * EXCLUDE (import_id) FROM structures WHERE id_structure = ?", [id_structure]).df()),
        ("observations", "id_observation", con.execute("SELECT * EXCLUDE (import_id) FROM observations WHERE id_structure = ?", [id_structure]).df()),
        ("accompagnements", "id_accompagnement", con.execute(
            "SELECT * EXCLUDE (import_id, intervenant) FROM accompagnements WHERE id_structure = ?", [id_structure]).df()),
        ("resultats", "id_resultat", con.execute(
            """SELECT r.* EXCLUDE (import_id) FROM resultats r JOIN accompagnements a USING (id_accompagnement)
               WHERE a.id_structure = ?""", [id_structure]).df()),
    ]
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(["jeu", "identifiant", "colonne", "valeur"])
    for dataset, key, frame in parts:
        for row in frame.to_dict(orient="records"):
            for column, value in row.items():
                if column != key:
                    writer.writerow([dataset, row[key], column, _plain(value)])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _plain(value) -> str:
    if isinstance(value, (list, tuple)) or hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = "|".join(map(str, list(value)))
    elif value is None or pd.isna(value):
        value = ""
    return neutralise(str(value))
