"""Write validated rows to the warehouse, keep history, undo an import.

Runs inside `warehouse.write_transaction`: all of a batch is committed, or
none of it. A row whose id exists is updated only if a value changed; its
previous state goes to `historique_<dataset>` so the import can be undone.
`journal_<dataset>` records, by id, what each import added, changed or
delivered again unchanged.
"""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import pandas as pd
import pyarrow as pa

from pipelines.spec.datasets import DATASETS, LOAD_ORDER, TEXT_LIST


# History actions that wrote a row ('confirmation': delivered again unchanged, written by an earlier import).
WROTE = "('ajout', 'modification')"


class UndoRefused(ValueError):
    """An import cannot be undone as asked (message in French)."""


def _typed_select(dataset: str, source: str) -> str:
    ds = DATASETS[dataset]
    return ", ".join(f"CAST({source}.{c.name} AS {c.sql_type}) AS {c.name}" for c in ds.columns)


def as_arrow(frame: pd.DataFrame) -> "pa.Table | pd.DataFrame":
    """The frame as an Arrow table for DuckDB to scan without touching Python objects (the frame itself if
    a column cannot be converted, e.g. mixed types: DuckDB's own conversion then decides, as before)."""
    import pyarrow as pa

    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowException, TypeError, ValueError):
        return frame


# Rows per Arrow batch handed to DuckDB: one of its row groups. DuckDB scans an Arrow table a batch per
# thread; a million rows in one batch are inserted by one thread (1.7 s instead of 1.05 s on two cores, bench/).
SCAN_BATCH_ROWS = 122_880


def in_batches(rows: "pa.Table | pd.DataFrame") -> "pa.Table | pd.DataFrame":
    """An Arrow table cut into batches DuckDB scans in parallel (zero-copy slices); a frame as it is."""
    if not isinstance(rows, pa.Table) or rows.num_rows <= SCAN_BATCH_ROWS:
        return rows
    return pa.Table.from_batches(rows.to_batches(max_chunksize=SCAN_BATCH_ROWS), schema=rows.schema)


def classify_and_write(con: duckdb.DuckDBPyConnection, dataset: str, rows: "pd.DataFrame | pa.Table",
                       import_id: int) -> dict[str, int]:
    """Upsert `rows` (typed, dataset columns; a frame or an Arrow table) and return counts new/updated/unchanged."""
    ds = DATASETS[dataset]
    key = ds.id_column
    cols = ", ".join(ds.column_names)
    if isinstance(rows, pd.DataFrame):
        rows = as_arrow(rows[ds.column_names].reset_index(drop=True))
    con.register("incoming_frame", in_batches(rows))
    try:
        existing = con.execute(
            f"""SELECT count(*) FROM incoming_frame i SEMI JOIN {dataset} t
                ON t.{key} = CAST(i.{key} AS {ds.column(key).sql_type})"""
        ).fetchall()[0][0]
        if not existing:
            # Only new rows (e.g. a first import): no classification join, no previous state to keep;
            # straight from the Arrow table into the tables.
            con.execute(
                f"INSERT INTO {dataset} ({cols}, import_id) SELECT {_typed_select(dataset, 'incoming_frame')}, ? FROM incoming_frame",
                [import_id],
            )
            # From the table just written, not the Arrow table: DuckDB scans its own column faster than it
            # converts a million Arrow strings a second time.
            con.execute(
                f"""INSERT INTO journal_{dataset} SELECT {key}, ?, 'ajout' FROM {dataset} WHERE import_id = ?""",
                [import_id, import_id],
            )
            return {"nouveau": len(rows), "modifie": 0, "inchange": 0}
        con.execute(f"CREATE OR REPLACE TEMP TABLE incoming AS SELECT {_typed_select(dataset, 'incoming_frame')} FROM incoming_frame")
    finally:
        con.unregister("incoming_frame")
    same = " AND ".join(f"i.{c} IS NOT DISTINCT FROM t.{c}" for c in ds.column_names)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE classified AS
        SELECT i.{key} AS id,
               CASE WHEN t.{key} IS NULL THEN 'nouveau' WHEN {same} THEN 'inchange' ELSE 'modifie' END AS statut
        FROM incoming i LEFT JOIN {dataset} t ON t.{key} = i.{key}
        """
    )
    counts = dict(con.execute("SELECT statut, count(*) FROM classified GROUP BY statut").fetchall())
    con.execute(
        f"""INSERT INTO historique_{dataset} ({cols}, import_id, action)
            SELECT {', '.join('t.' + c for c in ds.column_names)}, ?, 'modification'
            FROM {dataset} t JOIN classified c ON c.id = t.{key} AND c.statut = 'modifie'""",
        [import_id],
    )
    # A row delivered again unchanged is this import's too ('confirmation'): undoing an earlier import that
    # added it must not delete it behind this one's back (undo refuses while a later import touched a row).
    con.execute(
        f"""INSERT INTO journal_{dataset}
            SELECT id, ?, CASE statut WHEN 'nouveau' THEN 'ajout' WHEN 'modifie' THEN 'modification'
                                      ELSE 'confirmation' END FROM classified""",
        [import_id],
    )
    con.execute(f"DELETE FROM {dataset} WHERE {key} IN (SELECT id FROM classified WHERE statut = 'modifie')")
    con.execute(
        f"""INSERT INTO {dataset} ({cols}, import_id)
            SELECT {', '.join('i.' + c for c in ds.column_names)}, ? FROM incoming i
            JOIN classified c ON c.id = i.{key} AND c.statut IN ('nouveau', 'modifie')""",
        [import_id],
    )
    con.execute("DROP TABLE incoming")
    con.execute("DROP TABLE classified")
    return {k: int(counts.get(k, 0)) for k in ("nouveau", "modifie", "inchange")}


def next_import_id(con: duckdb.DuckDBPyConnection) -> int:
    return int(con.execute("SELECT coalesce(max(import_id), 0) + 1 FROM imports").fetchall()[0][0])


def record_import(con, import_id: int, *, role: str, mode: str, totals: dict, files: list[dict],
                  problems: pd.DataFrame) -> None:
    con.execute(
        """INSERT INTO imports VALUES (?, ?, ?, ?, 'importe', NULL, ?, ?, ?, ?, ?, ?, ?)""",
        [import_id, dt.datetime.now().replace(microsecond=0), role, mode,
         totals["lus"], totals["valides"], totals["rejetes"],
         totals["nouveau"], totals["modifie"], totals["inchange"],
         json.dumps(problems.head(1000).to_dict(orient="records"), ensure_ascii=False, default=str)],
    )
    con.executemany(
        "INSERT INTO import_fichiers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [[import_id, f["jeu"], f["fichier"], f["sha256"], f["format"], f["encodage"], f["separateur"],
          f["lus"], f["valides"], f["rejetes"], f["nouveau"], f["modifie"], f["inchange"], f.get("profil")]
         for f in files],
    )
    rejected = problems[problems["gravite"] == "erreur"]
    if len(rejected):
        con.register("rejected_frame", rejected.assign(import_id=import_id))
        con.execute(
            "INSERT INTO lignes_rejetees SELECT import_id, jeu, fichier, ligne, colonne, valeur, erreur FROM rejected_frame"
        )
        con.unregister("rejected_frame")


def undo_import(con: duckdb.DuckDBPyConnection, import_id: int) -> dict[str, int]:
    """Restore every row an import added or changed to its state before it."""
    rows = con.execute("SELECT statut FROM imports WHERE import_id = ?", [import_id]).fetchall()
    row = rows[0] if rows else None
    if row is None:
        raise UndoRefused(f"Import n° {import_id} introuvable : voyez la liste avec « python -m pipelines historique ».")
    if row[0] == "annule":
        raise UndoRefused(f"L'import n° {import_id} est déjà annulé.")
    # Undo must be exact: refuse if a later import touched the same rows.
    for dataset in LOAD_ORDER:
        key = DATASETS[dataset].id_column
        later = con.execute(
            f"""SELECT DISTINCT h2.import_id FROM journal_{dataset} h1
                JOIN journal_{dataset} h2 ON h2.{key} = h1.{key} AND h2.import_id > h1.import_id
                JOIN imports i ON i.import_id = h2.import_id AND i.statut = 'importe'
                WHERE h1.import_id = ? AND h1.action IN {WROTE} ORDER BY 1""",
            [import_id],
        ).fetchall()
        if later:
            ids = ", ".join(str(r[0]) for r in later)
            raise UndoRefused(
                f"Impossible d'annuler l'import n° {import_id} : des lignes de {dataset} ont été modifiées ou "
                f"renvoyées depuis par l'import n° {ids}. Annulez d'abord celui-ci."
            )
    _refuse_orphans(con, import_id)
    restored = {}
    for dataset in reversed(LOAD_ORDER):
        ds = DATASETS[dataset]
        key, cols = ds.id_column, ", ".join(ds.column_names)
        con.execute(
            f"""DELETE FROM {dataset} WHERE {key} IN (SELECT {key} FROM journal_{dataset}
                WHERE import_id = ? AND action IN {WROTE})""",
            [import_id],
        )
        # The previous value's own import_id is the latest earlier import, still in force, that wrote it (an
        # import undone since wrote nothing that stands).
        con.execute(
            f"""INSERT INTO {dataset} ({cols}, import_id)
                SELECT {', '.join('h.' + c for c in ds.column_names)},
                       (SELECT max(h2.import_id) FROM journal_{dataset} h2
                        JOIN imports i ON i.import_id = h2.import_id AND i.statut = 'importe'
                        WHERE h2.{key} = h.{key} AND h2.import_id < h.import_id
                          AND h2.action IN {WROTE})
                FROM historique_{dataset} h WHERE h.import_id = ? AND h.action = 'modification'""",
            [import_id],
        )
        restored[dataset] = int(con.execute(
            f"""SELECT count(*) FROM journal_{dataset} WHERE import_id = ?
                AND action IN {WROTE}""", [import_id]).fetchall()[0][0])
    con.execute(
        "UPDATE imports SET statut = 'annule', annule_le = ? WHERE import_id = ?",
        [dt.datetime.now().replace(microsecond=0), import_id],
    )
    return restored


def _refuse_orphans(con: duckdb.DuckDBPyConnection, import_id: int) -> None:
    """Removing added rows must not leave rows of other imports pointing at nothing."""
    for dataset in LOAD_ORDER:
        ds = DATASETS[dataset]
        for column in ds.columns:
            if not column.references:
                continue
            target = DATASETS[column.references]
            points = (f"list_contains(d.{column.name}, h.{target.id_column})" if column.kind == TEXT_LIST
                      else f"h.{target.id_column} = d.{column.name}")
            n = con.execute(
                f"""SELECT count(*) FROM {dataset} d
                    JOIN journal_{target.name} h ON {points}
                         AND h.import_id = ? AND h.action = 'ajout'
                    WHERE d.import_id IS DISTINCT FROM ?""",
                [import_id, import_id],
            ).fetchall()[0][0]
            if n:
                raise UndoRefused(
                    f"Impossible d'annuler l'import n° {import_id} : {n} ligne(s) de {dataset} importées "
                    f"ensuite font référence à des {target.name} qu'il a ajoutés. Annulez d'abord ces imports."
                )
