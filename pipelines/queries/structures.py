"""Structures accompagnées: list, breakdowns and the profile of one structure."""

from __future__ import annotations

import duckdb
import pandas as pd

from pipelines.privacy import roles, secret
from pipelines.queries import temoignages
from pipelines.queries.indicators import CREATION_SQL, EMPLOYEUR_SQL, TAILLE_SQL, Scope, query
from pipelines.queries.masks import breakdown_mask, children_secret, scope_hidden
from pipelines.spec import referentiels as ref

TAILLES = {
    "0": "Sans salarié (0 ETP)", "lt1": "Moins de 1 ETP", "1-3": "1 à moins de 3 ETP",
    "3-10": "3 à moins de 10 ETP", "10+": "10 ETP et plus", "nr": "Non renseigné",
}
EMPLOYEUR = {"oui": "Employeuse", "non": "Non employeuse", "nr": "Non renseigné"}
CREATION = {
    "a": "Avant 1980", "b": "1980 – 1999", "c": "2000 – 2009", "d": "2010 – 2019", "e": "2020 et après",
    "nr": "Non renseignée",
}
AXES = {
    "domaine": ("Domaine culturel", ref.DOMAINES),
    "forme_juridique": ("Forme juridique", ref.FORMES_JURIDIQUES),
    "taille": ("Taille (effectif salarié)", TAILLES),
    "employeur": ("Employeuse ou non", EMPLOYEUR),
    "creation": ("Année de création", CREATION),
}


def structures_table(con: duckdb.DuckDBPyConnection, scope: Scope, recherche: str | None = None,
                     limite: int = 500) -> pd.DataFrame:
    """Structures with an accompaniment in scope, alphabetical, optionally searched by name or commune.

    Column `total` is the number of matches before `limite` is applied.
    """
    frame = query(con, """
        , s AS (
            SELECT id_structure, string_agg(DISTINCT nom_programme, ' | ' ORDER BY nom_programme) AS programmes,
                   count(*) AS accompagnements, coalesce(sum(heures), 0) AS heures
            FROM acc GROUP BY id_structure)
        SELECT st.id_structure, st.nom, c.nom AS commune, d.code || ' – ' || d.nom AS departement,
               st.domaine, st.forme_juridique, s.programmes, s.accompagnements, s.heures,
               count(*) OVER () AS total
        FROM s JOIN structures st USING (id_structure)
        LEFT JOIN geo_communes c ON c.code = st.code_commune
        LEFT JOIN geo_departements d ON d.code = c.code_departement
        WHERE $recherche IS NULL
           OR strip_accents(lower(st.nom || ' ' || coalesce(c.nom, '') || ' ' || st.id_structure))
              LIKE '%' || strip_accents(lower($recherche)) || '%'
        ORDER BY st.nom, st.id_structure
        LIMIT $limite""", scope, recherche=(recherche or "").strip() or None, limite=limite)
    return frame.assign(domaine=frame["domaine"].map(ref.DOMAINES).fillna(frame["domaine"]),
                        forme_juridique=frame["forme_juridique"].map(ref.FORMES_JURIDIQUES).fillna(frame["forme_juridique"]))


def structures_breakdowns(con: duckdb.DuckDBPyConnection, scope: Scope) -> dict[str, pd.DataFrame]:
    """Axis → (modalite, libelle, structures, part) over the distinct structures accompanied in scope."""
    frame = _breakdown_frame(con, scope)
    result = {}
    for axe, (_, labels) in AXES.items():
        part = frame[frame["axe"] == axe].copy()
        order = {code: i for i, code in enumerate(labels)}
        part["libelle"] = part["modalite"].map(labels).fillna(part["modalite"])
        part["ordre"] = part["modalite"].map(order).fillna(len(order))
        total = part["structures"].sum()
        part["part"] = part["structures"] / total if total else 0.0
        if axe in ("domaine", "forme_juridique"):
            part = part.sort_values(["structures", "libelle"], ascending=[False, True])
        else:
            part = part.sort_values("ordre")
        result[axe] = part[["modalite", "libelle", "structures", "part"]].reset_index(drop=True)
    return result


def _breakdown_frame(con: duckdb.DuckDBPyConnection, scope: Scope) -> pd.DataFrame:
    return query(con, f"""
        SELECT axe, modalite, count(*) AS structures
        FROM (SELECT st.* FROM structures st WHERE id_structure IN (SELECT id_structure FROM acc)) d,
        LATERAL (VALUES
            ('domaine', d.domaine),
            ('forme_juridique', d.forme_juridique),
            ('taille', {TAILLE_SQL}),
            ('employeur', {EMPLOYEUR_SQL}),
            ('creation', {CREATION_SQL})
        ) AS v(axe, modalite)
        GROUP BY ALL""", scope)


def structure_profile(con: duckdb.DuckDBPyConnection, scope: Scope, id_structure: str,
                      include_unconsented: bool = False) -> dict[str, pd.DataFrame] | None:
    """One structure's card, journey across programmes, needs, results and testimonies.

    None unless the structure has an accompaniment in scope (the list it is chosen
    from); once chosen, its whole journey is shown, whatever the period.
    """
    found = query(con, "SELECT count(*) AS n FROM acc WHERE id_structure = $id", scope, id=id_structure)
    if not int(found["n"].iloc[0]):
        return None
    params = {"id": id_structure}
    fiche = con.execute("""
        SELECT s.id_structure, s.nom, s.forme_juridique, s.domaine, s.annee_creation, s.effectif_etp,
               s.nb_benevoles, s.budget_annuel, s.employeur, c.nom AS commune, d.code AS code_departement,
               d.nom AS departement, r.nom AS region, c.nom_epci AS epci
        FROM structures s LEFT JOIN geo_communes c ON c.code = s.code_commune
        LEFT JOIN geo_departements d ON d.code = c.code_departement LEFT JOIN geo_regions r ON r.code = c.code_region
        WHERE s.id_structure = $id""", params).df()
    fiche = fiche.assign(domaine=fiche["domaine"].map(ref.DOMAINES),
                         forme_juridique=fiche["forme_juridique"].map(ref.FORMES_JURIDIQUES))
    parcours = con.execute("""
        SELECT a.id_accompagnement, p.nom AS programme, p.type AS type_programme, a.date_debut, a.date_fin,
               a.etape, a.modalite, a.format, a.heures, a.besoin_principal, a.besoins
        FROM accompagnements a JOIN programmes p USING (id_programme)
        WHERE a.id_structure = $id ORDER BY a.date_debut, a.id_accompagnement""", params).df()
    parcours["etape_libelle"] = parcours["etape"].map(ref.ETAPES)
    parcours["type_libelle"] = parcours["type_programme"].map(ref.TYPES_PROGRAMME)
    parcours["format_libelle"] = parcours["format"].map(ref.FORMATS)
    parcours["besoin_libelle"] = parcours["besoin_principal"].map(ref.BESOINS_ACCEPTES)
    besoins = con.execute("""
        WITH b AS (
            SELECT id_accompagnement, besoin_principal AS code, true AS principal
            FROM accompagnements WHERE id_structure = $id
            UNION
            SELECT id_accompagnement, unnest(besoins) AS code, false FROM accompagnements WHERE id_structure = $id)
        SELECT code, bool_or(principal) AS principal, count(DISTINCT id_accompagnement) AS accompagnements
        FROM b GROUP BY code ORDER BY principal DESC, accompagnements DESC, code""", params).df()
    besoins["libelle"] = besoins["code"].map(ref.BESOINS_ACCEPTES)
    besoins["categorie"] = besoins["code"].map(lambda c: ref.BESOIN_CATEGORIES.get(ref.besoin_categorie(c)))
    resultats = con.execute("""
        SELECT r.id_accompagnement, p.nom AS programme, r.echeance, r.date_mesure, r.objectifs_atteints,
               r.etp_avant, r.etp_apres, r.budget_avant, r.budget_apres, r.structure_active, r.satisfaction
        FROM resultats r JOIN accompagnements a USING (id_accompagnement) JOIN programmes p USING (id_programme)
        WHERE a.id_structure = $id
        ORDER BY a.date_debut, r.id_accompagnement,
                 CASE r.echeance WHEN 'fin' THEN 0 WHEN '6_mois' THEN 1 ELSE 2 END""", params).df()
    resultats["echeance_libelle"] = resultats["echeance"].map(ref.ECHEANCES)
    cards = temoignages.temoignages(con, Scope(), include_unconsented=include_unconsented,
                                    id_structure=id_structure)["temoignages"]
    return {"fiche": fiche, "parcours": parcours, "besoins": besoins, "resultats": resultats, "temoignages": cards}


def page_data(con: duckdb.DuckDBPyConnection, scope: Scope, recherche: str | None = None,
              vue: str = "analyste") -> dict:
    """Everything the Structures page draws, in one connection.

    Under statistical secrecy (financeur) the nominative list is not sent (`table` is None) and each
    breakdown is masked with the number of structures accompanied as its margin.
    """
    breakdowns = structures_breakdowns(con, scope)
    if not roles.role(vue).statistical_secrecy:
        return {"table": structures_table(con, scope, recherche), "repartitions": breakdowns}

    total = int(query(con, "SELECT count(DISTINCT id_structure) AS n FROM acc", scope)["n"].iloc[0])
    hidden = total > 0 and scope_hidden(con, scope)
    protected = {}
    for axe, frame in breakdowns.items():
        if hidden:
            mask = pd.Series(True, index=frame.index)
        elif axe == "domaine":  # the published cube's cells: what a domaine's own view hides, this hides too
            mask = frame["modalite"].map(children_secret(con, scope, "domaine")).astype(object).fillna(True).astype(bool)
        else:  # the published breakdowns below the cube's cells (pipelines.queries.cube.BREAKDOWNS)
            mask = breakdown_mask(con, scope, axe, (1,), frame[["modalite"]])
        protected[axe] = secret.apply_mask(frame, mask, ["structures", "part"])
    return {"table": None, "repartitions": protected, "total": None if hidden else total}
