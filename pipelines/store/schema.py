"""Warehouse schema, created and migrated by code.

`schema_meta.version` records the schema a file was built with; `migrate`
applies the missing steps in order, so a file built by an older release is
upgraded in place (on the writer's private copy, see pipelines.store.warehouse).
"""

from __future__ import annotations

from typing import Callable

import duckdb

from pipelines.geo import reference as geo
from pipelines.store import engine
from pipelines.spec import referentiels as ref
from pipelines.spec.datasets import DATASETS, V1_1_OBSERVATION_DATASETS, V1_1_PLAN_DATASETS, V1_DATASETS


def dataset_table_ddl(dataset_name: str, table: str | None = None, extra: str = "") -> str:
    ds = DATASETS[dataset_name]
    cols = ",\n  ".join(f"{c.name} {c.sql_type}" for c in ds.columns)
    return f"CREATE TABLE {table or ds.name} (\n  {cols}{extra}\n)"


def _create_dataset_tables(con: duckdb.DuckDBPyConnection, names: tuple[str, ...], with_journal: bool = False) -> None:
    for name in names:
        # The id column is unique by construction of the loader; the import that
        # last wrote a row is kept for history and undo.
        engine.ddl(con, dataset_table_ddl(name, extra=",\n  import_id BIGINT"))
        # Previous state of rows an import changed, to undo it exactly.
        engine.ddl(con,
            dataset_table_ddl(
                name,
                table=f"historique_{name}",
                extra=",\n  import_id BIGINT NOT NULL,\n  action VARCHAR NOT NULL",
            )
        )
        if with_journal:
            _create_journal(con, name)


def _create_journal(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Which import added, changed or delivered again unchanged which row: ids only, so that an import of a
    million new rows writes a narrow table instead of a million mostly empty copies of the wide one."""
    key = DATASETS[name].column(DATASETS[name].id_column)
    engine.ddl(con, f"CREATE TABLE journal_{name} ({key.name} {key.sql_type} NOT NULL, import_id BIGINT NOT NULL, "
                "action VARCHAR NOT NULL)")


def _v1(con: duckdb.DuckDBPyConnection) -> None:
    _create_dataset_tables(con, V1_DATASETS)
    engine.ddl(con,
        """
        CREATE TABLE imports (
          import_id BIGINT PRIMARY KEY,
          cree_le TIMESTAMP NOT NULL,
          role VARCHAR NOT NULL,
          mode VARCHAR NOT NULL,          -- 'tout_ou_rien' | 'valides_seulement'
          statut VARCHAR NOT NULL,        -- 'importe' | 'annule'
          annule_le TIMESTAMP,
          nb_lus BIGINT, nb_valides BIGINT, nb_rejetes BIGINT,
          nb_nouveaux BIGINT, nb_modifies BIGINT, nb_inchanges BIGINT,
          rapport JSON                    -- problems found, as reported to the user
        )
        """
    )
    engine.ddl(con,
        """
        CREATE TABLE import_fichiers (
          import_id BIGINT NOT NULL,
          jeu VARCHAR NOT NULL,
          fichier VARCHAR NOT NULL,
          sha256 VARCHAR NOT NULL,
          format VARCHAR, encodage VARCHAR, separateur VARCHAR,
          nb_lus BIGINT, nb_valides BIGINT, nb_rejetes BIGINT,
          nb_nouveaux BIGINT, nb_modifies BIGINT, nb_inchanges BIGINT
        )
        """
    )
    engine.ddl(con, "CREATE TABLE lignes_rejetees (import_id BIGINT, jeu VARCHAR, fichier VARCHAR, ligne BIGINT, colonne VARCHAR, valeur VARCHAR, erreur VARCHAR)")
    engine.ddl(con, "CREATE TABLE ref_domaines (code VARCHAR PRIMARY KEY, libelle VARCHAR NOT NULL)")
    engine.ddl(con, "CREATE TABLE ref_besoin_categories (code VARCHAR PRIMARY KEY, libelle VARCHAR NOT NULL)")
    engine.ddl(con,
        "CREATE TABLE ref_besoins (code VARCHAR PRIMARY KEY, libelle VARCHAR NOT NULL, categorie VARCHAR NOT NULL)"
    )
    engine.ddl(con, "CREATE TABLE geo_regions (code VARCHAR PRIMARY KEY, nom VARCHAR NOT NULL)")
    engine.ddl(con,
        "CREATE TABLE geo_departements (code VARCHAR PRIMARY KEY, nom VARCHAR NOT NULL, code_region VARCHAR NOT NULL)"
    )
    engine.ddl(con,
        """
        CREATE TABLE geo_communes (
          code VARCHAR PRIMARY KEY, nom VARCHAR NOT NULL,
          code_departement VARCHAR NOT NULL, code_region VARCHAR NOT NULL,
          code_epci VARCHAR, nom_epci VARCHAR, population BIGINT,
          latitude DOUBLE, longitude DOUBLE,
          arrondissement BOOLEAN NOT NULL DEFAULT false, code_parent VARCHAR
        )
        """
    )
    load_reference_data(con)


def _v2(con: duckdb.DuckDBPyConnection) -> None:
    """Optional reference population of cultural ESS structures, supplied by the analyst.

    Not a dataset of the interchange format v1: it feeds the *taux de couverture*
    (structures accompagnées ÷ reference population). See pipelines.ingest.population.
    """
    engine.ddl(con,
        """
        CREATE TABLE population_reference (
          code_territoire VARCHAR NOT NULL,
          niveau VARCHAR NOT NULL,        -- 'region' | 'departement'
          nb_structures_reference BIGINT NOT NULL,
          source VARCHAR,
          annee INTEGER,
          PRIMARY KEY (niveau, code_territoire)
        )
        """
    )


def _v3(con: duckdb.DuckDBPyConnection) -> None:
    """The sector plan of the interchange format v1.1: plans, stakes, actions, committee decisions."""
    _create_dataset_tables(con, V1_1_PLAN_DATASETS)


def _v4(con: duckdb.DuckDBPyConnection) -> None:
    """Import profiles (spec v1.1): every saved version kept, the latest in use; which profile read a file."""
    engine.ddl(con,
        """
        CREATE TABLE profils_import (
          nom VARCHAR NOT NULL,
          version INTEGER NOT NULL,
          jeu VARCHAR NOT NULL,
          contenu VARCHAR NOT NULL,       -- the profile as TOML, exactly as exported
          entetes VARCHAR[],              -- normalised headers of the file it was made from
          cree_le TIMESTAMP NOT NULL,
          role VARCHAR NOT NULL,
          PRIMARY KEY (nom, version)
        )
        """
    )
    engine.ddl(con, "ALTER TABLE import_fichiers ADD COLUMN profil VARCHAR")


def _v5(con: duckdb.DuckDBPyConnection) -> None:
    """Participatory observation (spec v1.1): the observations dataset, the structures' invitation tokens and
    what structures submit, held for an analyst's review."""
    _create_dataset_tables(con, V1_1_OBSERVATION_DATASETS)
    engine.ddl(con,
        """
        CREATE TABLE opp_jetons (
          selecteur VARCHAR PRIMARY KEY,  -- the token's public half: finds the row
          verificateur_sha256 VARCHAR NOT NULL,  -- SHA-256 of its secret half, compared in constant time
          id_structure VARCHAR NOT NULL,
          annee INTEGER NOT NULL,         -- the campaign
          cree_le TIMESTAMP NOT NULL,
          expire_le DATE NOT NULL,
          revoque_le TIMESTAMP
        )
        """
    )
    engine.ddl(con,
        """
        CREATE TABLE opp_soumissions (
          id_soumission INTEGER PRIMARY KEY,
          nature VARCHAR NOT NULL,        -- 'observation' (a structure's yearly answers) | 'adhesion' (direct welcome)
          id_structure VARCHAR,           -- the structure concerned (none yet for a direct welcome)
          annee INTEGER,
          contenu VARCHAR NOT NULL,       -- JSON: dataset → row, as the form's fields, in the interchange format
          statut VARCHAR NOT NULL,        -- 'en_attente' | 'acceptee' | 'refusee'
          cree_le TIMESTAMP NOT NULL,
          decide_le TIMESTAMP,
          motif VARCHAR,
          import_id BIGINT                -- the import that wrote it, once accepted
        )
        """
    )
    # What structures get back of their territory is frozen once per campaign: figures that moved with each
    # acceptance would tell a structure, by difference, what the one just accepted declared.
    engine.ddl(con, "CREATE TABLE opp_publications (annee INTEGER PRIMARY KEY, publie_le TIMESTAMP NOT NULL, "
                "role VARCHAR NOT NULL)")
    engine.ddl(con, "CREATE TABLE opp_valeurs_publiees (annee INTEGER NOT NULL, id_structure VARCHAR NOT NULL, "
                "code_departement VARCHAR, domaine VARCHAR, mesure VARCHAR NOT NULL, valeur DOUBLE NOT NULL)")


def _v6(con: duckdb.DuckDBPyConnection) -> None:
    """History split in two: `journal_<dataset>` says which import wrote or confirmed which id (all actions);
    `historique_<dataset>` keeps only the previous states of changed rows ('modification')."""
    for name in DATASETS:
        key = DATASETS[name].id_column
        _create_journal(con, name)
        con.execute(f"INSERT INTO journal_{name} SELECT {key}, import_id, action FROM historique_{name}")
        con.execute(f"DELETE FROM historique_{name} WHERE action <> 'modification'")


def _v7(con: duckdb.DuckDBPyConnection) -> None:
    """One row every write updates: on a lake, two writes that overlapped conflict at commit (engine)."""
    engine.ddl(con, "CREATE TABLE ecritures (n BIGINT NOT NULL)")
    con.execute("INSERT INTO ecritures VALUES (0)")


def _v8(con: duckdb.DuckDBPyConnection) -> None:
    """Reference population as a range (spec v1.1): the coverage rate is then an interval."""
    engine.ddl(con, "ALTER TABLE population_reference ADD COLUMN nb_structures_reference_max BIGINT")


def _v9(con: duckdb.DuckDBPyConnection) -> None:
    """In a national warehouse, every cell of each région's own funder view, with its figures and whether that
    view masks it (pipelines.store.national): the national view is protected with them. Empty elsewhere."""
    engine.ddl(con, "CREATE TABLE cases_regionales (region VARCHAR NOT NULL, annee INTEGER, tableau VARCHAR NOT NULL, "
                "niveau VARCHAR NOT NULL, code VARCHAR NOT NULL, domaine VARCHAR NOT NULL, programme VARCHAR NOT NULL, "
                "valeur VARCHAR NOT NULL, structures DOUBLE, accompagnements DOUBLE, heures DOUBLE, "
                "max_structure DOUBLE, secret BOOLEAN NOT NULL)")


# MIGRATIONS[i] brings a file from version i to version i + 1. Datasets added by a later step create their
# journal with their tables (`with_journal=True`).
MIGRATIONS: list[Callable[[duckdb.DuckDBPyConnection], None]] = [_v1, _v2, _v3, _v4, _v5, _v6, _v7, _v8, _v9]
SCHEMA_VERSION = len(MIGRATIONS)


def current_version(con: duckdb.DuckDBPyConnection) -> int:
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_catalog = current_database() "
        "AND table_name = 'schema_meta'"
    ).fetchall()[0][0]
    if not exists:
        return 0
    row = con.execute("SELECT max(version) FROM schema_meta").fetchall()[0]
    return int(row[0] or 0)


def migrate(con: duckdb.DuckDBPyConnection, *, in_transaction: bool = False) -> int:
    """Bring the schema up to SCHEMA_VERSION; return the version found before. `in_transaction`: the caller
    holds the transaction, and the migration commits with it (a lake's writer)."""
    found = current_version(con)
    if found > SCHEMA_VERSION:
        raise RuntimeError(
            f"Cet entrepôt a été créé par une version plus récente d'Observatoire "
            f"(schéma {found} > {SCHEMA_VERSION}) : mettez l'application à jour."
        )
    if found == SCHEMA_VERSION:
        return found
    if not in_transaction:
        con.execute("BEGIN TRANSACTION")
    if found == 0:
        con.execute("CREATE TABLE schema_meta (version INTEGER NOT NULL, applique_le TIMESTAMP DEFAULT current_timestamp)")
    for step in range(found, SCHEMA_VERSION):
        MIGRATIONS[step](con)
        con.execute("INSERT INTO schema_meta (version) VALUES (?)", [step + 1])
    if not in_transaction:
        con.execute("COMMIT")
    return found


def load_reference_data(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)load the reference lists and the geographic reference shipped in data/geo."""
    for table in ("ref_domaines", "ref_besoin_categories", "ref_besoins", "geo_communes", "geo_departements", "geo_regions"):
        con.execute(f"DELETE FROM {table}")
    con.executemany("INSERT INTO ref_domaines VALUES (?, ?)", list(ref.DOMAINES.items()))
    con.executemany("INSERT INTO ref_besoin_categories VALUES (?, ?)", list(ref.BESOIN_CATEGORIES.items()))
    con.executemany(
        "INSERT INTO ref_besoins VALUES (?, ?, ?)",
        [(code, label, ref.besoin_categorie(code)) for code, label in ref.BESOINS.items()],
    )
    regions = geo.read_regions()  # noqa: F841 — referenced by name in SQL below
    departements = geo.read_departements()  # noqa: F841
    communes = geo.read_communes()
    for optional in ("latitude", "longitude", "code_epci", "nom_epci", "code_parent"):
        if optional not in communes.columns:
            communes[optional] = None
    if "arrondissement" not in communes.columns:
        communes["arrondissement"] = False
    con.execute("INSERT INTO geo_regions SELECT code, nom FROM regions")
    con.execute("INSERT INTO geo_departements SELECT code, nom, code_region FROM departements")
    con.execute(
        """
        INSERT INTO geo_communes
        SELECT code, nom, code_departement, code_region, code_epci, nom_epci,
               population, latitude, longitude, coalesce(arrondissement, false), code_parent
        FROM communes
        """
    )
