"""A national warehouse rolled up from regional ones (files or lakes), read-only.

Each région writes its own warehouse; ids are only unique within one (two régions may both have a structure
"S1"). The roll-up copies every région's datasets into one warehouse with each id, and each column pointing
at an id, prefixed by the région's code ("28-S1"): the région is part of every row's identity. The national
warehouse is then an ordinary warehouse: its pages, exports and funder view compute on the national rows, and
statistical secrecy is decided on the national cube.

The régions' own funder views stay public next to it (a funder of one région sees both), and a national cell
is the sum of regional cells: published beside région 76's 650 structures, the national 654 gave région 28's
secret 4 back. Masks decided warehouse by warehouse do not compose, so the build stores every cell of each
région's funder view as its own warehouse publishes it (the cube and breakdowns of every year the national
view offers, computed by the same functions on the regional warehouse, programmes prefixed as here) in
`cases_regionales`, and the national view is protected together with them (pipelines.queries.cube): a cell
a région publishes is known, one it masks must stay protected by national cells, never by a cell its région
publishes. A slice the build did not store (a year outside the régions' data) is masked whole. Rebuild after
the régions' imports: the national view is the régions' state at build.

It is rebuilt, never imported into: `ingest` and `undo` refuse it (`refuse_if_national`). Personal links,
submissions and import profiles stay in their régions.
"""

from __future__ import annotations

import datetime as dt
import json
import re

import duckdb

from pipelines.geo import reference as geo
from pipelines.queries import cube, masks
from pipelines.spec.datasets import DATASETS, LOAD_ORDER, TEXT_LIST
from pipelines.store import schema, warehouse
from pipelines.store.consolidation import (MODE, SLICES, UNPROTECTED, NationalReadOnly,  # noqa: F401 (their
                                           is_national, refuse_if_national, regional_cells)  # public names)

_LABEL = re.compile(r"^[0-9A-Z]{2,3}$")


class NationalRefused(warehouse.WarehouseError):
    pass


def _years(periods: list[tuple]) -> list[int | None]:
    """The slices a funder of the national warehouse can choose: every year, then each year of its data's
    period (pipelines.queries.indicators.filter_choices: the régions' periods together)."""
    starts = [start for start, _ in periods if start is not None]
    ends = [end for _, end in periods if end is not None]
    return [None] + (list(range(max(ends).year, min(starts).year - 1, -1)) if starts and ends else [])


def _regional_cells(con: duckdb.DuckDBPyConnection, label: str, years: list[int | None]):
    """The funder view of région `label`'s warehouse in `years`, as it publishes it, its programmes named as here."""
    cells = cube.published_cells(con, masks.database_version(con), years)
    programme = cells["programme"].astype(object)
    cells["programme"] = programme.where(programme == cube.ALL, f"{label}-" + programme.astype(str))
    cells = cells.rename(columns={"level": "niveau", "top": "max_structure"}).assign(region=label)
    text = ["region", "tableau", "niveau", "code", "domaine", "programme", "valeur"]
    numbers = ["structures", "accompagnements", "heures", "max_structure"]
    return cells.astype({**{c: str for c in text}, **{c: float for c in numbers}, "annee": "Int64", "secret": bool})[
        ["region", "annee", *text[1:], *numbers, "secret"]]


def _prefixed(dataset: str, label: str) -> str:
    """The SELECT list copying `dataset` with its id and its references prefixed by the région's code."""
    ds = DATASETS[dataset]
    prefix = f"'{label}-'"
    parts = []
    for column in ds.columns:
        if column.name == ds.id_column or column.references:
            if column.kind == TEXT_LIST:
                parts.append(f"list_transform({column.name}, x -> {prefix} || x) AS {column.name}")
            else:
                parts.append(f"{prefix} || {column.name} AS {column.name}")
        else:
            parts.append(column.name)
    return ", ".join(parts)


def build(sources: dict[str, warehouse.Target], destination: warehouse.Target) -> dict[str, int]:
    """(Re)build `destination` from the régional warehouses `sources` (région code → warehouse), in one write.
    Returns the rows copied per dataset."""
    regions = set(geo.read_regions()["code"])
    for label, target in sources.items():
        if not _LABEL.match(label) or label not in regions:
            raise NationalRefused(f"« {label} » n'est pas un code de région (par exemple 28 pour la Normandie) : "
                                  f"--source CODE=ENTREPOT.")
        if target == destination:
            raise NationalRefused(f"L'entrepôt de la région {label} ne peut pas être aussi la vue nationale.")
    if not sources:
        raise NationalRefused("Aucune région : indiquez au moins un --source CODE=ENTREPOT.")
    copied: dict[str, int] = {name: 0 for name in LOAD_ORDER}
    periods = []
    for label, target in sources.items():
        with warehouse.read_connection(target) as src:
            found = schema.current_version(src)
            if found != schema.SCHEMA_VERSION:
                raise NationalRefused(f"L'entrepôt de la région {label} ({target}) est au schéma {found} : mettez-le "
                                      f"à jour avec « python -m pipelines init --db … ».")
            periods.append(src.execute("SELECT min(date_debut), max(coalesce(date_fin, date_debut)) "
                                       "FROM accompagnements").fetchall()[0])
    years = _years(periods)
    read: list[tuple[str, warehouse.Target, dict]] = []
    for label, target in sources.items():
        with warehouse.read_connection(target) as src:
            tables = {name: src.execute(f"SELECT {_prefixed(name, label)} FROM {name}").to_arrow_table()
                      for name in LOAD_ORDER}
            tables["population_reference"] = src.execute("SELECT * FROM population_reference").to_arrow_table()
            # The région's funder view as its own warehouse publishes it: the national one must not undo it.
            tables["cases_regionales"] = _regional_cells(src, label, years)
        read.append((label, target, tables))
    with warehouse.write_transaction(destination, create=True) as con:
        others = con.execute("SELECT count(*) FROM imports WHERE mode <> ?", [MODE]).fetchall()[0][0]
        if others:
            raise NationalRefused(f"{destination} contient des imports de fichiers : la vue nationale se construit "
                                  "dans un entrepôt à elle (par exemple --vers data/national.duckdb).")
        for name in LOAD_ORDER:
            for table in (name, f"historique_{name}", f"journal_{name}"):
                con.execute(f"DELETE FROM {table}")
        for table in ("imports", "import_fichiers", "lignes_rejetees", "population_reference", "cases_regionales"):
            con.execute(f"DELETE FROM {table}")
        now = dt.datetime.now().replace(microsecond=0)
        for import_id, (label, target, tables) in enumerate(read, start=1):
            counts = {}
            for name in LOAD_ORDER:
                con.register("regional_rows", tables[name])
                cols = ", ".join(DATASETS[name].column_names)
                con.execute(f"INSERT INTO {name} ({cols}, import_id) SELECT {cols}, ? FROM regional_rows", [import_id])
                con.unregister("regional_rows")
                counts[name] = tables[name].num_rows
                copied[name] += counts[name]
            # One reference population per territory: the first région that supplies it.
            con.register("regional_population", tables["population_reference"])
            con.execute("""INSERT INTO population_reference SELECT * FROM regional_population p
                           WHERE NOT EXISTS (SELECT 1 FROM population_reference q
                                             WHERE q.niveau = p.niveau AND q.code_territoire = p.code_territoire)""")
            con.unregister("regional_population")
            con.register("regional_cells", tables["cases_regionales"])
            con.execute("INSERT INTO cases_regionales SELECT * FROM regional_cells")
            con.unregister("regional_cells")
            total = sum(counts.values())
            con.execute("INSERT INTO imports VALUES (?, ?, 'national', ?, 'importe', NULL, ?, ?, 0, ?, 0, 0, ?)",
                        [import_id, now, MODE, total, total, total,
                         json.dumps({"region": label, "entrepot": str(target), SLICES: years}, ensure_ascii=False)])
            con.executemany("INSERT INTO import_fichiers VALUES (?, ?, ?, '', 'entrepot', NULL, NULL, ?, ?, 0, ?, 0, 0, NULL)",
                            [[import_id, name, f"région {label} : {target}", n, n, n]
                             for name, n in counts.items() if n])
    return copied
