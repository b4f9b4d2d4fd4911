"""Reference population of cultural ESS structures (optional, analyst-supplied).

The interchange format v1 has no dataset for it; the coverage rate
(structures accompagnées ÷ reference population) needs one. The analyst
supplies a CSV with the columns

    code_territoire ; niveau (region | departement) ; nb_structures_reference ; source ; annee
    [; nb_structures_reference_max]

and `load_reference_population` replaces the whole table in one committed
write (schema v2, table `population_reference`). With `nb_structures_reference_max`
(spec v1.1, schema v8) the reference is a range — 350 by Sirène, 850 by a survey —
and the coverage rate an interval (structures ÷ max … structures ÷ min).
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from pipelines.store import warehouse

COLUMNS = ("code_territoire", "niveau", "nb_structures_reference", "source", "annee", "nb_structures_reference_max")
REQUIRED = ("code_territoire", "niveau", "nb_structures_reference")
NIVEAUX = {"region": "geo_regions", "departement": "geo_departements"}


class ReferencePopulationError(ValueError):
    """A problem in the file the analyst can fix (message in French, names line and column)."""


def _normalise(name: str) -> str:
    import unicodedata

    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode().strip().lower()
    return text.replace(" ", "_").replace("-", "_")


def _count(cell, line: int, column: str, optional: bool = False) -> int | None:
    text = str(cell).replace("\u202f", "").replace("\u00a0", "").replace(" ", "")
    if optional and not text:
        return None
    if not text.isdigit():
        raise ReferencePopulationError(
            f"Ligne {line}, colonne {column} : « {cell} » n'est pas un nombre entier positif ou nul.")
    return int(text)


def read_reference_population(path: str | Path) -> pd.DataFrame:
    """Read and check the CSV (`;`, `,` or tab; UTF-8 or Windows-1252)."""
    raw = Path(path).read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252")
    first = text.splitlines()[0] if text else ""
    sep = max((";", ",", "\t"), key=first.count)
    frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False)
    frame.columns = [_normalise(c) for c in frame.columns]
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise ReferencePopulationError(
            f"Colonne(s) manquante(s) : {', '.join(missing)}. Colonnes attendues : {' ; '.join(COLUMNS)}.")
    for optional in ("source", "annee", "nb_structures_reference_max"):
        if optional not in frame.columns:
            frame[optional] = ""
    rows = []
    for line, row in enumerate(frame.itertuples(index=False), start=2):
        niveau = _normalise(row.niveau)
        if niveau not in NIVEAUX:
            raise ReferencePopulationError(
                f"Ligne {line}, colonne niveau : « {row.niveau} » n'est pas un niveau connu ; écrivez region ou departement.")
        count = _count(row.nb_structures_reference, line, "nb_structures_reference")
        count_max = _count(row.nb_structures_reference_max, line, "nb_structures_reference_max", optional=True)
        if count_max is not None and count_max < count:
            raise ReferencePopulationError(
                f"Ligne {line}, colonne nb_structures_reference_max : {count_max} est inférieur au minimum "
                f"nb_structures_reference ({count}) ; la fourchette va du plus petit au plus grand.")
        if count_max == count:
            count_max = None  # a range of one value is a number
        year_text = str(row.annee).strip()
        if year_text and not year_text.isdigit():
            raise ReferencePopulationError(f"Ligne {line}, colonne annee : « {row.annee} » n'est pas une année.")
        code = str(row.code_territoire).strip()
        if niveau == "departement" and len(code) == 1:
            code = "0" + code
        rows.append((code, niveau, count, str(row.source).strip() or None,
                     int(year_text) if year_text else None, count_max, line))
    result = pd.DataFrame(rows, columns=[*COLUMNS, "ligne"])
    duplicated = result[result.duplicated(["niveau", "code_territoire"], keep=False)]
    if len(duplicated):
        first = duplicated.iloc[0]
        raise ReferencePopulationError(
            f"Ligne {first.ligne} : le territoire {first.code_territoire} ({first.niveau}) apparaît "
            f"{len(duplicated[duplicated.code_territoire == first.code_territoire])} fois ; gardez une seule ligne.")
    return result


def load_reference_population(db: str | Path, path: str | Path) -> int:
    """Replace the reference population with the file's rows; return how many were loaded."""
    frame = read_reference_population(path)
    with warehouse.write_transaction(warehouse.db_path(db)) as con:
        for niveau, table in NIVEAUX.items():
            codes = frame.loc[frame["niveau"] == niveau, ["code_territoire", "ligne"]]
            known = {r[0] for r in con.execute(f"SELECT code FROM {table}").fetchall()}
            unknown = codes[~codes["code_territoire"].isin(known)]
            if len(unknown):
                first = unknown.iloc[0]
                raise ReferencePopulationError(
                    f"Ligne {first.ligne}, colonne code_territoire : « {first.code_territoire} » n'est pas un code "
                    f"{'de région' if niveau == 'region' else 'de département'} du référentiel géographique.")
        con.execute("DELETE FROM population_reference")
        rows = frame[list(COLUMNS)]  # noqa: F841 — read by name below
        con.execute(f"INSERT INTO population_reference ({', '.join(COLUMNS)}) SELECT * FROM rows")
    return len(frame)
