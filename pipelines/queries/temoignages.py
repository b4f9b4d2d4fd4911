"""Témoignages: qualitative valorisation, published only with consent."""

from __future__ import annotations

import duckdb

from pipelines.privacy import roles
from pipelines.queries.indicators import Scope, query

# A testimony's territory is its structure's commune, else its programme's région.
_SQL = """
, t AS (
    SELECT t.id_temoignage, t.date, t.auteur_role, t.texte, t.lien_media, t.consentement_publication,
           t.id_programme, p.nom AS programme, t.id_structure, s.nom AS structure, s.domaine,
           c.nom AS commune, c.code_departement, d.nom AS departement,
           coalesce(c.code_region, p.code_region) AS code_region, r.nom AS region
    FROM temoignages t JOIN programmes p USING (id_programme)
    LEFT JOIN structures s ON s.id_structure = t.id_structure
    LEFT JOIN geo_communes c ON c.code = s.code_commune
    LEFT JOIN geo_departements d ON d.code = c.code_departement
    LEFT JOIN geo_regions r ON r.code = coalesce(c.code_region, p.code_region)
    WHERE ($region IS NULL OR coalesce(c.code_region, p.code_region) = $region)
      AND ($departement IS NULL OR c.code_departement = $departement)
      AND ($programme IS NULL OR t.id_programme = $programme)
      AND ($domaine IS NULL OR s.domaine = $domaine)
      AND ($depuis IS NULL OR t.date >= $depuis)
      AND ($jusqu_au IS NULL OR t.date <= $jusqu_au)
      AND ($id_structure IS NULL OR t.id_structure = $id_structure))
"""


def temoignages(con: duckdb.DuckDBPyConnection, scope: Scope, include_unconsented: bool = False,
                id_structure: str | None = None, limite: int = 200, vue: str | None = None,
                recherche: str | None = None, auteur_role: str | None = None, consentement: bool | None = None,
                debut: int = 0) -> dict:
    """Testimonies in scope, newest first.

    Only those with publication consent unless `include_unconsented` (the analyst
    view). `recherche` (words of the text, the author's role, and the structure's name
    where the role may see names; without regard to case and accents), `auteur_role`
    and `consentement` narrow the cards; `debut` and `limite` page through them
    (`trouves` counts them all). Dated in the period; placed by their structure's commune, or their
    programme's région when no structure is given (they then drop out under a
    département or domaine filter). Returns the cards, how many match, and how
    many were withheld for lack of consent.

    With `vue` (a role), the role's rules decide instead: unconsented testimonies
    for the analyst only, and under statistical secrecy no structure name nor
    commune (in a small territory they would point at one structure).
    """
    if vue is not None:
        include_unconsented = roles.role(vue).unconsented_testimonies
    counts = query(con, _wrap("""
        SELECT count(*) FILTER (WHERE consentement_publication) AS publiables,
               count(*) FILTER (WHERE NOT consentement_publication) AS sans_consentement
        FROM t"""),
        scope, id_structure=id_structure)
    secrecy = vue is not None and roles.role(vue).statistical_secrecy
    narrowed = _wrap("""
        , shown AS (SELECT * FROM t WHERE ($tous OR consentement_publication)
            AND ($auteur_role IS NULL OR auteur_role = $auteur_role)
            AND ($consentement IS NULL OR consentement_publication = $consentement)
            -- a structure's name is searched only where the role sees names (a funder's search must not place one)
            AND ($recherche IS NULL OR contains(strip_accents(lower(concat_ws(' ', texte, auteur_role,
                     CASE WHEN $nominatif THEN structure END))), strip_accents(lower($recherche)))))
        """)
    filters = dict(id_structure=id_structure, tous=include_unconsented, auteur_role=auteur_role or None,
                   consentement=consentement, recherche=(recherche or "").strip() or None, nominatif=not secrecy)
    cards = query(con, narrowed + """
        SELECT id_temoignage, date, programme, structure, commune, departement, region, auteur_role, texte,
               lien_media, consentement_publication
        FROM shown ORDER BY date DESC, id_temoignage LIMIT $limite OFFSET $debut""",
        scope, limite=limite, debut=max(0, debut), **filters)
    found = int(query(con, narrowed + "SELECT count(*) AS n FROM shown", scope, **filters).iloc[0]["n"])
    row = counts.iloc[0]
    publiables, caches = int(row["publiables"] or 0), int(row["sans_consentement"] or 0)
    if secrecy:
        cards = cards.assign(structure=None, commune=None)
    return {
        "temoignages": cards,
        "total": publiables + caches if include_unconsented else publiables,
        "sans_consentement": caches,
        "trouves": found,
    }


def author_roles(con: duckdb.DuckDBPyConnection, scope: Scope, vue: str) -> list[str]:
    """The authors' roles of the testimonies in scope that the role may read, for the page's filter."""
    frame = query(con, _wrap("""SELECT DISTINCT auteur_role FROM t WHERE auteur_role IS NOT NULL
                                AND ($tous OR consentement_publication) ORDER BY 1"""),
                  scope, id_structure=None, tous=roles.role(vue).unconsented_testimonies)
    return frame["auteur_role"].tolist()


def _wrap(select: str) -> str:
    """The `t` CTE after `acc` (query() opens the WITH clause), then `select`."""
    return _SQL + select
