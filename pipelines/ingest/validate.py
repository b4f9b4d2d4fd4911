"""Set-based validation of a batch of files against the interchange format.

Every problem names the line as the analyst sees it (header = line 1), the
column as written in the file, the value, and says in French what to do.
Checks run on whole columns (pandas) and, for references, as joins against
the warehouse (DuckDB); nothing loops over rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pandas as pd
from stdnum.fr import siret as stdnum_siret

from pipelines.ingest import values as V
from pipelines.ingest.profiles import value_choices
from pipelines.ingest.propose import nearest_code
from pipelines.ingest.read import DistinctCells, RawTable
from pipelines.spec import referentiels as ref
from pipelines.spec.datasets import (
    BOOLEAN,
    COMMUNE,
    DATASETS,
    DATE,
    DECIMAL,
    ENUM,
    ENUM_LIST,
    FORME_JURIDIQUE,
    INTEGER,
    LOAD_ORDER,
    REGION,
    RNA,
    SIRET,
    TEXT,
    TEXT_LIST,
    URL,
    Column,
    Dataset,
)

PROBLEM_COLUMNS = ["jeu", "fichier", "ligne", "colonne", "valeur", "erreur", "gravite"]
ERROR, WARNING = "erreur", "avertissement"
# Distinct refused values of a column that get the nearest code as a hint (a fuzzy search each).
NEAREST_HINTS = 200
# Longest value quoted in a report: a 100 kB cell is shown by its beginning.
SHOWN_CHARS = 120
# A cell a spreadsheet would run as a formula: "=…", or "+", "-", "@" before a call or a reference.
FORMULA = r"(?s)=.*|[+\-@].*[(!].*"  # (?s): a formula continued on a second line of its cell is one too
# What one row of a referenced dataset is called, for "Structure S9 introuvable".
REFERENCE_NOUNS = {
    "structures": "Structure", "programmes": "Programme", "accompagnements": "Accompagnement",
    "ateliers": "Atelier", "resultats": "Résultat", "temoignages": "Témoignage",
    "plans": "Plan", "enjeux": "Enjeu", "actions": "Action", "decisions": "Décision",
}
# Columns our own rejected-lines export adds: ignored silently when it is re-uploaded.
REPORT_COLUMNS = {"fichier", "ligne", "erreur"}

# Boxes (lat min, lat max, lon min, lon max) of France: mainland with Corsica, then overseas.
FRANCE_BOXES = [
    (41.3, 51.2, -5.3, 9.7),  # métropole et Corse
    (15.8, 16.6, -61.9, -60.9),  # Guadeloupe
    (14.3, 14.95, -61.3, -60.75),  # Martinique
    (2.0, 6.0, -54.7, -51.5),  # Guyane
    (-21.5, -20.8, 55.2, 55.9),  # La Réunion
    (-13.1, -12.5, 44.9, 45.35),  # Mayotte
    (46.7, 47.2, -56.5, -56.0),  # Saint-Pierre-et-Miquelon
]


class TypedLines:
    """Each line's typed value, column by column: held as (each line's code, typed distinct values) where the
    column was checked per value, so that a million-line column is built only while a rule reads it.
    Reads like a frame: `t[name]` (a Series over the lines), `t[[names]]`, `name in t`, `t.index`."""

    def __init__(self, index: pd.Index):
        self.index = index
        self._columns: dict[str, "pd.Series | tuple[np.ndarray, pd.Series]"] = {}

    def __setitem__(self, name: str, column: "pd.Series | tuple[np.ndarray, pd.Series]") -> None:
        self._columns[name] = column

    def __contains__(self, name: str) -> bool:
        return name in self._columns

    def __len__(self) -> int:
        return len(self.index)

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.index), len(self._columns)

    def __getitem__(self, key: "str | list[str]") -> "pd.Series | pd.DataFrame":
        if isinstance(key, list):
            return self.frame(key)
        return self.column(key)

    def column(self, name: str, positions: np.ndarray | None = None) -> pd.Series:
        """A column's values on every line, or on the lines at `positions`."""
        column = self._columns[name]
        index = self.index if positions is None else self.index[positions]
        if isinstance(column, tuple):
            codes, distinct = column
            return distinct.take(codes if positions is None else codes[positions]).set_axis(index)
        return column if positions is None else column.iloc[positions]

    def frame(self, names: list[str] | None = None, positions: np.ndarray | None = None) -> pd.DataFrame:
        names = list(self._columns) if names is None else names
        return pd.DataFrame({n: self.column(n, positions) for n in names},
                            index=self.index if positions is None else self.index[positions])

    def head(self, n: int) -> pd.DataFrame:
        return self.frame(positions=np.arange(min(n, len(self.index))))


@dataclass
class FileCheck:
    raw: RawTable
    dataset: Dataset
    columns: dict[str, str]  # canonical name → header as written
    typed: TypedLines  # index = line number, one column per dataset column
    problems: list[pd.DataFrame] = field(default_factory=list)
    file_refused: bool = False

    def add(self, mask: pd.Series, column: str, message: "str | pd.Series | _Message", severity: str = ERROR,
            raw_values: pd.Series | None = None) -> None:
        mask = mask.fillna(False).astype(bool)
        if not mask.any():
            return
        lines = mask.index[mask]
        written = self.columns.get(column, column)
        if raw_values is None:
            before = self._written_cells.get(column)  # before a profile translated them
            raw_values = (before.full() if isinstance(before, DistinctCells) else before) if before is not None \
                else self.raw_column(column)
        value = raw_values.reindex(lines) if raw_values is not None else pd.Series("", index=lines)
        if isinstance(message, _Message):
            message = message.render(lines)
        elif isinstance(message, pd.Series):
            message = message.reindex(lines)
        self.problems.append(pd.DataFrame({
            "jeu": self.dataset.name,
            "fichier": self.raw.file_name,
            "ligne": lines.astype("int64"),
            "colonne": written,
            "valeur": clip(value.fillna("").astype(str)).to_numpy(),
            "erreur": message if isinstance(message, str) else message.to_numpy(),
            "gravite": severity,
        }))

    def add_file_problem(self, column: str, message: str, value: str = "", severity: str = ERROR) -> None:
        self.problems.append(pd.DataFrame([{
            "jeu": self.dataset.name, "fichier": self.raw.file_name, "ligne": self.raw.header_line,
            "colonne": column, "valeur": value, "erreur": message, "gravite": severity,
        }]))
        if severity == ERROR:
            self.file_refused = True

    # Trimmed cells of each recognised column (canonical name → cells as a Series, or as distinct values).
    _raw_cells: dict[str, "pd.Series | DistinctCells"] = field(default_factory=dict, repr=False)
    # The same cells before a profile translated them, where it did: what the report quotes.
    _written_cells: dict[str, "pd.Series | DistinctCells"] = field(default_factory=dict, repr=False)
    # Typed value of each line as (code per line, typed distinct values), for the columns checked per value.
    _typed_codes: dict[str, tuple[np.ndarray, pd.Series]] = field(default_factory=dict, repr=False)
    _cache: dict = field(default_factory=dict, repr=False)

    def raw_column(self, column: str) -> pd.Series | None:
        cells = self._raw_cells.get(column)
        return cells.full() if isinstance(cells, DistinctCells) else cells

    def problem_frame(self) -> pd.DataFrame:
        if not self.problems:
            return pd.DataFrame(columns=PROBLEM_COLUMNS)
        return pd.concat(self.problems, ignore_index=True)

    def _cached(self, what: str, compute):
        """`compute()`, kept until a problem is added or the typed frame changes."""
        state = (len(self.problems), self.file_refused, id(self.typed), self.typed.shape)
        hit = self._cache.get(what)
        if hit is None or hit[0] != state:
            hit = self._cache[what] = (state, compute())
        return hit[1]

    @property
    def rejected_lines(self) -> pd.Index:
        if self.file_refused:
            return self.typed.index
        return self._cached("rejected", self._rejected_lines)

    def _rejected_lines(self) -> pd.Index:
        errors = [p["ligne"].to_numpy()[(p["gravite"] == ERROR).to_numpy()] for p in self.problems]
        errors = [e for e in errors if len(e)]
        if not errors:
            return pd.Index([], dtype="int64")
        return pd.Index(pd.unique(np.concatenate(errors)))

    @property
    def valid(self) -> pd.DataFrame:
        """The typed lines without error, every column (built: for small datasets; see `valid_column`)."""
        return self.typed.frame(positions=self._valid_positions())

    def valid_column(self, name: str) -> pd.Series:
        """One column's typed values on the lines without error."""
        return self.typed.column(name, self._valid_positions())

    def _valid_positions(self) -> np.ndarray | None:
        """Positions of the lines without error; None when no line is rejected."""
        rejected = self.rejected_lines
        return np.flatnonzero(~self.typed.index.isin(rejected)) if len(rejected) else None

    def valid_table(self):
        """`valid`'s dataset columns as an Arrow table (for DuckDB to scan without Python objects), a column
        checked per distinct value as those values and each line's code; the frame itself if a column cannot be."""
        import pyarrow as pa

        keep = self._valid_positions()
        columns = {}
        try:
            for name in self.dataset.column_names:
                if name in self._typed_codes:
                    codes, distinct = self._typed_codes[name]
                    codes = codes if keep is None else codes[keep]
                    # Dictionary-encoded: each line's code and the distinct values, as DuckDB reads them, instead
                    # of every line's value copied out (a million-line file's columns are not built twice).
                    missing = distinct.isna().to_numpy(dtype=bool)[codes]
                    columns[name] = pa.DictionaryArray.from_arrays(
                        pa.array(codes, type=pa.int32(), mask=missing if missing.any() else None),
                        pa.array(distinct, from_pandas=True))
                else:
                    columns[name] = pa.array(self.typed.column(name, keep), from_pandas=True)
            return pa.table(columns)
        except (pa.ArrowException, TypeError, ValueError):
            return self.valid[self.dataset.column_names].reset_index(drop=True)


@dataclass
class BatchCheck:
    files: list[FileCheck]

    def problems(self) -> pd.DataFrame:
        frames = [f.problem_frame() for f in self.files]
        frames = [f for f in frames if len(f)]
        if not frames:
            return pd.DataFrame(columns=PROBLEM_COLUMNS)
        return pd.concat(frames, ignore_index=True).sort_values(["fichier", "ligne"], kind="stable", ignore_index=True)

    @property
    def has_errors(self) -> bool:
        return any(f.file_refused or len(f.rejected_lines) for f in self.files)


class DatasetNotRecognised(ValueError):
    pass


def detect_dataset(headers: list[str], file_name: str = "") -> str:
    """The dataset whose id column is present and which matches the most headers."""
    keys = {V.normalize_key(h) for h in headers}
    scores = {
        name: len(keys & set(ds.column_names))
        for name, ds in DATASETS.items()
        if ds.id_column in keys
    }
    if not scores:
        raise DatasetNotRecognised(
            (f"{file_name} : " if file_name else "") + "jeu de données non reconnu : aucune colonne identifiant ("
            + ", ".join(ds.id_column for ds in DATASETS.values()) + ") ; choisissez le jeu de données."
        )
    return max(scores, key=lambda n: scores[n])


def headers_are_ours(headers: list[str], dataset: str | None = None) -> bool:
    """Whether a file reads without a profile: its dataset recognised (or given) and every required column
    named as the interchange format names it. Otherwise the upload page offers its mapping step."""
    if dataset is None:
        try:
            dataset = detect_dataset(headers)
        except DatasetNotRecognised:
            return False
    keys = {V.normalize_key(h) for h in headers}
    return all(c.name in keys for c in DATASETS[dataset].columns if c.required)


# ---------------------------------------------------------------------------
# One file


def check_file(raw: RawTable, dataset: Dataset, reference: "Reference") -> FileCheck:
    columns, positions = _match_headers(raw, dataset)
    check = FileCheck(raw=raw, dataset=dataset, columns=columns, typed=TypedLines(raw.index))
    for note in raw.notes:
        check.add_file_problem("", note, severity=WARNING)
    _report_headers(check, raw, dataset, positions)

    profile = raw.profile
    for name in columns:
        _keep_cells(check, name, raw.cells[int(positions[name])].stripped())
    for name, value in (profile.constantes.items() if profile is not None else ()):
        if name in columns:
            check.add_file_problem(columns[name], f"Le profil donne une valeur constante à {name}, mais le fichier "
                                                  f"a la colonne « {columns[name]} » : les valeurs du fichier sont "
                                                  "gardées.", severity=WARNING)
            continue
        check.columns[name] = f"{name} (constante du profil)"
        # A constant in the export's words, like its cells.
        _keep_cells(check, name, DistinctCells.of(pd.Series(value, index=raw.index, dtype="str")).stripped())
    for header in (profile.missing_headers(raw.headers) if profile is not None else ()):
        check.add_file_problem(header, f"Le profil associe l'en-tête « {header} » à {profile.colonnes[header]}, mais ce "
                                       "fichier ne l'a pas : l'export a peut-être changé ; vérifiez le profil.",
                               severity=WARNING)
    if not len(raw.index):
        check.add_file_problem("", "Le fichier ne contient aucune ligne de données (seulement l'en-tête) : "
                                   "ajoutez une ligne par enregistrement sous l'en-tête.")
    _report_ragged_lines(check, raw)

    for column in dataset.columns:
        if column.name in check._raw_cells:
            check.typed[column.name] = _check_column(check, column, check._raw_cells[column.name], reference)
        else:
            check.typed[column.name] = pd.Series(None, index=raw.index, dtype=object)
    _check_rows(check, dataset.name)
    _check_unique_ids(check)
    return check


def _keep_cells(check: FileCheck, name: str, cells: DistinctCells) -> None:
    """A column's trimmed cells, translated by the profile's values where it has some; the cells as written
    are kept beside them, for the report to quote the file's own words."""
    profile = check.raw.profile
    if profile is not None and name in profile.valeurs:
        check._written_cells[name] = cells
        column = check.dataset.column(name)
        cells = cells.translated(lambda distinct: profile.translate(column, distinct))
    check._raw_cells[name] = cells


def resolve_headers(raw: RawTable, dataset: Dataset) -> list[str | None]:
    """Our column for each of the file's headers, in order: its profile's choice, else the header itself
    when it is one of ours (v1 matching), else None; '' for a header the profile leaves out."""
    profile = raw.profile
    resolved = []
    for header in raw.headers:
        chosen = profile.column_of(header) if profile is not None and header else None
        if chosen is None:
            key = V.normalize_key(header)
            chosen = key if key in dataset.column_names else None
        resolved.append(chosen)
    return resolved


def _match_headers(raw: RawTable, dataset: Dataset) -> tuple[dict[str, str], dict[str, str]]:
    columns: dict[str, str] = {}
    positions: dict[str, str] = {}
    for position, (header, key) in enumerate(zip(raw.headers, resolve_headers(raw, dataset))):
        if key and key not in columns:
            columns[key] = header
            positions[key] = str(position)
    return columns, positions


def _report_headers(check: FileCheck, raw: RawTable, dataset: Dataset, positions: dict[str, str]) -> None:
    seen: dict[str, str] = {}
    for header, key in zip(raw.headers, resolve_headers(raw, dataset)):
        if key == "":
            continue  # left out by the profile, on purpose
        if not header:
            check.add_file_problem("", "Colonne sans nom ignorée.", severity=WARNING)
        elif key is not None and key in seen:
            check.add_file_problem(
                header,
                f"Colonne en double : « {seen[key]} » et « {header} » désignent la même colonne "
                f"{key} ; supprimez l'une des deux.",
            )
        elif key is None and V.normalize_key(header) not in REPORT_COLUMNS:
            check.add_file_problem(
                header,
                f"Colonne « {header} » inconnue pour le jeu {dataset.name} : ignorée "
                "(vérifiez l'orthographe si elle devait être importée"
                + (", ou associez-la dans le profil)." if raw.profile is not None else ")."),
                severity=WARNING,
            )
        if header and key:
            seen.setdefault(key, header)
    constants = raw.profile.constantes if raw.profile is not None else {}
    for column in dataset.columns:
        if column.required and column.name not in positions and column.name not in constants:
            check.add_file_problem(
                column.name,
                f"Colonne obligatoire « {column.name} » absente : ajoutez-la ({_lower_first(column.description)}, "
                f"p. ex. {column.example})"
                + (", associez-lui un en-tête du fichier ou donnez-lui une valeur constante dans le profil."
                   if raw.profile is not None else "."),
            )


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def clip(values: pd.Series) -> pd.Series:
    """Values as quoted in a report: at most SHOWN_CHARS characters."""
    long = values.str.len() > SHOWN_CHARS
    if not long.any():
        return values
    return values.where(~long, values.str.slice(0, SHOWN_CHARS) + "… (" + values.str.len().astype(str) + " caractères)")


def _report_ragged_lines(check: FileCheck, raw: RawTable) -> None:
    """Lines with fewer fields than the header (a truncated file) or more (an unquoted delimiter)."""
    counts = raw.ragged
    if counts.empty:
        return
    width = len(raw.headers)
    short = counts < width
    sep = {";": "le point-virgule « ; »", ",": "la virgule « , »", "\t": "la tabulation"}.get(raw.delimiter or "", "le séparateur")
    where = counts.clip(upper=width - 1).map(dict(enumerate(raw.headers)))
    message = counts.astype(str).radd("Ligne de ") + f" champ(s) au lieu de {width} : "
    message = message + short.map({
        True: "ligne incomplète, le fichier est peut-être tronqué ou une valeur contient un retour à la ligne "
              "sans guillemets ; complétez la ligne ou entourez la valeur de guillemets.",
        False: f"une valeur contient sans doute {sep} ; entourez-la de guillemets ou retirez le séparateur en trop.",
    })
    check.add(pd.Series(True, index=counts.index), "", message, raw_values=pd.Series("", index=counts.index))
    # The column named is the first one missing (short line) or the last one (long line).
    check.problems[-1]["colonne"] = where.reindex(check.problems[-1]["ligne"]).fillna("").to_numpy()


class _Message:
    """A message template with {v} replaced by each line's value, rendered only for the lines that fail."""

    __slots__ = ("before", "after", "values")

    def __init__(self, template: str, values: pd.Series):
        self.before, _, self.after = template.partition("{v}")
        self.values = values

    def render(self, lines: pd.Index) -> pd.Series:
        """The messages of `lines` (long values clipped)."""
        return self.before + clip(self.values.reindex(lines).fillna("").astype(str)) + self.after


def _msg(template: str, values: pd.Series) -> _Message:
    """Vectorised message: template with {v} replaced by each value (long values clipped), built lazily."""
    return _Message(template, values)


def _check_column(check: FileCheck, column: Column, cells: DistinctCells,
                  reference: "Reference") -> tuple[np.ndarray, pd.Series]:
    """Every rule of one column, run once per distinct cell value, then spread back to the lines.

    Each rule of a column depends on the cell alone, so an export of a million lines that repeats a few
    thousand values (dates, codes, need lists) is checked on those few thousand: the problems found for a
    value are reported on every line holding it; the typed values and each line's code are returned.
    """
    codes, distinct = cells.codes, cells.values
    sub = FileCheck(raw=check.raw, dataset=check.dataset, columns=check.columns,
                    typed=TypedLines(distinct.index))
    sub._raw_cells[column.name] = distinct
    if column.name in check._written_cells:  # aligned with `distinct`: a translation keeps the distinct values' order
        sub._written_cells[column.name] = check._written_cells[column.name].values
    typed = _check_values(sub, column, distinct, reference)
    lines = cells.index.to_numpy()
    for problems in sub.problems:
        check.problems.append(_spread(problems, codes, lines, len(distinct)))
    check._typed_codes[column.name] = (codes, typed)
    return codes, typed


def _spread(problems: pd.DataFrame, codes: np.ndarray, lines: np.ndarray, n_distinct: int) -> pd.DataFrame:
    """Problems found on distinct values (`ligne` = position of the value) → one row per line holding it."""
    row_of_value = np.full(n_distinct, -1, dtype="int64")
    row_of_value[problems["ligne"].to_numpy(dtype="int64")] = np.arange(len(problems))
    which = row_of_value[codes]
    hit = np.flatnonzero(which >= 0)
    spread = problems.iloc[which[hit]].reset_index(drop=True)
    spread["ligne"] = lines[hit].astype("int64")
    return spread


def _check_values(check: FileCheck, column: Column, cells: pd.Series, reference: "Reference") -> pd.Series:
    name = column.name
    formula = cells.str.fullmatch(FORMULA, na=False)
    check.add(formula, name, _msg(
        "Formule « {v} » non acceptée : saisissez la valeur elle-même, pas un calcul "
        "(dans Excel : copier, puis collage spécial > valeurs).", cells))
    cells = cells.mask(formula)

    missing = cells.isna()
    if column.required:
        check.add(missing & ~formula, name, f"Valeur obligatoire manquante : renseignez {name} ({_lower_first(column.description)}).")

    kind = column.kind
    if kind == TEXT:
        too_long = cells.str.len() > column.max_length
        check.add(too_long, name, _msg(
            f"Texte trop long ({{v}} caractères, maximum {column.max_length}) : raccourcissez-le.",
            cells.str.len().astype("Int64").astype(str)))
        # Kept in pandas' Arrow-backed strings (missing: NA): as Python objects a million ids would take 61 MB
        # instead of 15 through the checks and the write.
        return cells.mask(too_long)
    if kind == TEXT_LIST:
        return V.split_list(cells)
    if kind in (INTEGER, DECIMAL):
        parse = V.parse_integer if kind == INTEGER else V.parse_decimal
        parsed, bad = parse(cells)
        what = "un nombre entier" if kind == INTEGER else "un nombre"
        huge = bad & cells.str.replace(r"[\s\u00a0\u202f]", "", regex=True).str.fullmatch(
            r"[+-]?\d{16,}([.,]\d*)?", na=False)  # beyond V.MAX_INTEGER (16 digits and more)
        check.add(huge, name, _msg("Nombre « {v} » trop grand pour " + name + " : vérifiez la saisie.", cells))
        check.add(bad & ~huge, name, _msg(f"« {{v}} » n'est pas {what} : écrivez par exemple {column.example}.", cells))
        return _check_range(check, column, parsed)
    if kind == DATE:
        parsed, bad = V.parse_date(cells)
        far = bad & ~V.date_year(cells).between(V.MIN_YEAR, V.MAX_YEAR).fillna(True) & V.date_shaped(cells)
        check.add(far, name, _msg(f"Date « {{v}} » hors des années possibles ({V.MIN_YEAR} à {V.MAX_YEAR}) : vérifiez "
                                  "l'année.", cells))
        # Written as a date but not one of the calendar (31/02, month 13, a month/day order).
        shaped = bad & V.date_shaped(cells) & ~far
        check.add(shaped, name, _msg("Date « {v} » inexistante : vérifiez le jour et le mois (JJ/MM/AAAA, le jour d'abord, "
                                     "ou AAAA-MM-JJ).", cells))
        check.add(bad & ~shaped & ~far, name, _msg("Date « {v} » illisible : attendu JJ/MM/AAAA ou AAAA-MM-JJ, p. ex. 12/03/2021.", cells))
        serial = V.excel_serial(cells) & ~bad
        if serial.any():
            check.add(serial, name, "Nombre « " + cells + " » lu comme une date Excel : le "
                      + parsed.dt.strftime("%d/%m/%Y") + " ; vérifiez-la, ou donnez à la colonne le format date.",
                      severity=WARNING)
        return parsed
    if kind == BOOLEAN:
        parsed, bad = V.parse_boolean(cells)
        check.add(bad, name, _msg("« {v} » n'est pas reconnu : attendu oui ou non (ou o/n, true/false, 1/0).", cells))
        return parsed
    if kind == ENUM:
        parsed, bad = V.parse_enum(cells, column.choices)
        check.add(bad, name, _nearest_messages(
            column, cells.where(bad), f"« {{v}} » ne fait pas partie de la liste {name} : {_choices_hint(column)}"))
        return parsed.astype(object).where(parsed.notna(), None)
    if kind == ENUM_LIST:
        parsed, bad, unknown = V.parse_enum_list(cells, column.choices)
        check.add(bad, name, _nearest_messages(
            column, unknown, f"Code(s) inconnu(s) « {{v}} » dans {name} : {_choices_hint(column)} ; séparez-les par |"))
        return parsed
    if kind == FORME_JURIDIQUE:
        return _check_forme_juridique(check, column, cells)
    if kind == SIRET:
        digits = cells.str.replace(r"[\s\u00a0.]", "", regex=True)
        valid = digits.dropna().drop_duplicates().map(stdnum_siret.is_valid)
        ok = digits.map(dict(zip(digits.dropna().drop_duplicates(), valid)))
        bad = cells.notna() & (ok != True)  # noqa: E712 — NA-safe comparison
        check.add(bad, name, _msg("SIRET « {v} » invalide : 14 chiffres attendus, dont une clé de contrôle (vérifiez la saisie).", cells))
        return digits.where(~bad).astype(object).where(digits.notna() & ~bad, None)
    if kind == RNA:
        upper = cells.str.upper().str.replace(r"\s", "", regex=True)
        bad = cells.notna() & ~upper.str.fullmatch(r"W\d{9}", na=False)
        check.add(bad, name, _msg("RNA « {v} » invalide : attendu W suivi de 9 chiffres, p. ex. W143001234.", cells))
        return upper.astype(object).where(upper.notna() & ~bad, None)
    if kind == COMMUNE:
        return _check_commune(check, column, cells, reference)
    if kind == REGION:
        codes = cells.where(~cells.str.fullmatch(r"\d", na=False), "0" + cells)
        bad = codes.notna() & ~codes.isin(reference.regions)
        check.add(bad, name, _msg("Code région {v} inconnu : attendu un code INSEE à 2 chiffres, p. ex. 28 (Normandie), 76 (Occitanie), 93 (Provence-Alpes-Côte d'Azur).", cells))
        return codes.astype(object).where(codes.notna() & ~bad, None)
    if kind == URL:
        bad = cells.notna() & ~cells.str.fullmatch(r"https?://[^\s<>\"']+", case=False, na=False)
        check.add(bad, name, _msg("Lien « {v} » invalide : attendu une adresse commençant par http:// ou https://.", cells))
        return cells.astype(object).where(cells.notna() & ~bad, None)
    raise AssertionError(f"unknown column kind {kind}")


def _nearest_messages(column: Column, refused: pd.Series, template: str) -> pd.Series:
    """`template` for each refused value ({v}: the value, or the list's unknown items), followed by the nearest
    code of the list when one is near enough: « terminé » is told that « clos » exists. Runs on distinct values."""
    messages = pd.Series(None, index=refused.index, dtype=object)
    refused = refused.dropna()
    if len(refused) > NEAREST_HINTS:  # a column of 100,000 wrong values: the first ones get a hint, the rest the list
        messages[refused.index[NEAREST_HINTS:]] = [template.replace("{v}", v) + "." for v in
                                                  clip(refused.iloc[NEAREST_HINTS:].astype(str))]
        refused = refused.iloc[:NEAREST_HINTS]
    labels = value_choices(column)
    for line, value in refused.items():
        items = [item.strip() for item in value.split(",")] if column.kind == ENUM_LIST else [value]
        hints = [(f"« {item} » → " if len(items) > 1 else "") + f"« {code} » ({labels[code]})"
                 for item in items if (code := nearest_code(column, item)) is not None]
        near = f" ; le plus proche : {', '.join(hints)}" if hints else ""
        messages[line] = template.replace("{v}", clip(pd.Series([value])).iloc[0]) + near + "."
    return messages


def _choices_hint(column: Column) -> str:
    codes = list(column.choices)
    if len(codes) <= 13:
        return "valeurs possibles : " + ", ".join(codes)
    return f"utilisez un code de la typologie, p. ex. {column.example} (voir le dictionnaire des données)"


def _check_range(check: FileCheck, column: Column, parsed: pd.Series) -> pd.Series:
    maximum = column.maximum
    if column.name in ("annee_creation", "annee"):  # no year to come
        maximum = dt.date.today().year
    low = parsed < column.minimum if column.minimum is not None else pd.Series(False, index=parsed.index)
    high = parsed > maximum if maximum is not None else pd.Series(False, index=parsed.index)
    out = (low | high).fillna(False)
    if column.minimum is not None and maximum is not None:
        expect = f"attendu entre {_num(column.minimum)} et {_num(maximum)}"
    elif column.minimum is not None:
        expect = f"attendu au moins {_num(column.minimum)}"
    else:
        expect = f"attendu au plus {_num(maximum)}"
    check.add(out, column.name, _msg(f"Valeur {{v}} hors limites pour {column.name} : {expect}.", check.raw_column(column.name)))
    return parsed.mask(out)


def _num(value: float) -> str:
    return f"{value:g}".replace(".", ",")


def _check_forme_juridique(check: FileCheck, column: Column, cells: pd.Series) -> pd.Series:
    parsed, bad = V.parse_enum(cells, column.choices)
    insee = cells.where(bad & cells.str.fullmatch(r"\d{4}", na=False))
    mapped = insee.map(ref.FORME_JURIDIQUE_INSEE_EXACT)
    for prefix, code in ref.FORME_JURIDIQUE_INSEE_PREFIX.items():
        mapped = mapped.where(mapped.notna() | ~insee.str.startswith(prefix, na=False), code)
    parsed = parsed.where(parsed.notna(), mapped)
    still_bad = cells.notna() & parsed.isna()
    check.add(still_bad, column.name, _nearest_messages(
        column, cells.where(still_bad),
        "Forme juridique « {v} » non reconnue : valeurs possibles : " + ", ".join(column.choices)
        + " ; ou une catégorie juridique INSEE 92xx (association), 9300 (fondation), 5458/5558/5658 (scop)"))
    return parsed.astype(object).where(parsed.notna(), None)


def _check_commune(check: FileCheck, column: Column, cells: pd.Series, reference: "Reference") -> pd.Series:
    codes = cells.str.upper()
    # Spreadsheets drop the leading zero of codes like 01004: restore it.
    padded = codes.str.fullmatch(r"\d{4}", na=False)
    codes = codes.where(~padded, "0" + codes)
    known = pd.Series(reference.communes.get_indexer(codes) >= 0, index=codes.index)
    check.add(padded & known, column.name, _msg(
        "Code commune {v} complété d'un zéro initial (un tableur efface celui des codes 01 à 09) : vérifiez que "
        "c'est bien la commune voulue.", cells), severity=WARNING)
    parent = codes.map(reference.arrondissements)
    is_arrondissement = parent.notna()
    check.add(is_arrondissement, column.name, _msg(
        "Code d'arrondissement municipal {v} : rattaché à sa commune.", cells), severity=WARNING)
    codes = codes.where(~is_arrondissement, parent)
    # get_indexer, not isin: isin on arrow strings converts the 35 000 codes one by one at each call.
    bad = codes.notna() & pd.Series(reference.communes.get_indexer(codes) < 0, index=codes.index)
    check.add(bad, column.name, _msg(
        "Code commune {v} inconnu : attendu un code INSEE à 5 caractères du Code officiel géographique, p. ex. "
        "14118 (Caen) ou 2A004 (Ajaccio) ; le code INSEE d'une commune n'est pas son code postal.", cells))
    return codes.astype(object).where(codes.notna() & ~bad, None)


def _check_rows(check: FileCheck, dataset: str) -> None:
    t = check.typed
    if "date_fin" in t and "date_debut" in t:
        before = t["date_fin"] < t["date_debut"]
        check.add(before, "date_fin", "Date de fin antérieure à la date de début : corrigez l'une des deux dates.")
    if dataset == "structures":
        lat, lon = t["latitude"], t["longitude"]
        # Given or not as written: a latitude already reported as invalid is not "missing".
        lat_given, lon_given = (_given(check, c) for c in ("latitude", "longitude"))
        lone = lat_given != lon_given
        check.add(lone & ~lat_given, "latitude", "Longitude sans latitude : renseignez les deux coordonnées ou aucune.")
        check.add(lone & ~lon_given, "longitude", "Latitude sans longitude : renseignez les deux coordonnées ou aucune.")
        both = lat.notna() & lon.notna()
        inside = pd.Series(False, index=t.index)
        for lat0, lat1, lon0, lon1 in FRANCE_BOXES:
            inside |= lat.between(lat0, lat1).fillna(False) & lon.between(lon0, lon1).fillna(False)
        check.add(both & ~inside, "latitude", "Coordonnées hors de France : vérifiez latitude et longitude (WGS84, degrés décimaux, p. ex. 49,18 et -0,37).",
                  raw_values=(check.raw_column("latitude").fillna("") + " ; " + check.raw_column("longitude").fillna("")) if "latitude" in check.columns and "longitude" in check.columns else None)
    if dataset == "ateliers":
        over = t["nb_adherents"] > t["nb_participants"]
        check.add(over, "nb_adherents", "Plus d'adhérents que de participants : nb_adherents doit être au plus nb_participants.")


def _given(check: FileCheck, column: str) -> pd.Series:
    raw = check.raw_column(column)
    return raw.notna() if raw is not None else pd.Series(False, index=check.typed.index)


def _duplicated(check: FileCheck, column: str) -> pd.Series:
    """Lines whose (present) typed value is on another line too; counted on codes when the column has them."""
    if column not in check._typed_codes:
        values = check.typed[column]
        return values.notna() & values.duplicated(keep=False)
    codes, distinct = check._typed_codes[column]
    if check.dataset.column(column).kind == TEXT:
        # A text is typed as itself (or missing): distinct cells are distinct typed values.
        numbers, n_values = np.where(distinct.notna().to_numpy(dtype=bool), np.arange(len(distinct)), -1), len(distinct)
    else:
        # Distinct cells may give one typed value: number the typed values, then count lines per number.
        numbers, uniques = pd.factorize(distinct)
        n_values = len(uniques)
    per_line = numbers[codes]
    present = per_line >= 0
    lines_per_value = np.bincount(per_line[present], minlength=n_values)
    return pd.Series(present & (lines_per_value[np.where(present, per_line, 0)] > 1), index=check.typed.index)


def _check_unique_ids(check: FileCheck) -> None:
    id_col = check.dataset.id_column
    dup = _duplicated(check, id_col)
    if dup.any():
        ids = check.typed[id_col]
        lines = pd.Series(ids.index, index=ids.index)[dup].groupby(ids[dup]).agg(
            lambda s: ", ".join(map(str, s.tolist()[:5])) + (f" et {len(s) - 5} autres" if len(s) > 5 else ""))
        message = "Identifiant présent plusieurs fois dans le fichier (lignes " + ids[dup].map(lines) + ") : chaque ligne doit avoir un identifiant unique."
        check.add(dup, id_col, message)
    # « C1 » and « c1 » are two ids (ids are compared exactly), but rarely two organisations: said, not refused.
    # Found by Arrow over the distinct ids sorted by their lower case: two neighbours equal once folded but
    # not as written. A sort of a million strings is several times faster than hashing them.
    import pyarrow as pa
    import pyarrow.compute as pc

    distinct = check._typed_codes[id_col][1] if id_col in check._typed_codes else \
        pd.Series(check.typed[id_col].dropna().unique())
    distinct = pa.array(distinct.dropna().astype("str"), from_pandas=True)
    folded = pc.utf8_lower(distinct)
    order = pc.sort_indices(folded)
    folded, distinct = folded.take(order), distinct.take(order)
    if len(distinct) < 2 or not pc.any(pc.and_(pc.equal(folded[1:], folded[:-1]),
                                              pc.not_equal(distinct[1:], distinct[:-1]))).as_py():
        return
    distinct, folded = pd.Series(distinct.to_pylist()), pd.Series(folded.to_pylist())
    twins = distinct[folded.duplicated(keep=False)]
    if len(twins):
        ids = check.typed[id_col]
        spelled = twins.groupby(twins.str.lower()).agg(lambda s: " », « ".join(sorted(s)))
        on_lines = ids.isin(twins)
        check.add(on_lines, id_col, "Identifiants « " + ids[on_lines].str.lower().map(spelled) + " » qui ne diffèrent "
                  "que par la casse : ce sont deux lignes distinctes ; vérifiez qu'il ne s'agit pas de la même.",
                  severity=WARNING)


# ---------------------------------------------------------------------------
# The batch


@dataclass
class Reference:
    """What validation needs from the warehouse."""
    communes: pd.Index
    arrondissements: dict[str, str]
    regions: pd.Index
    con: duckdb.DuckDBPyConnection

    @classmethod
    def from_connection(cls, con: duckdb.DuckDBPyConnection) -> "Reference":
        communes = con.execute("SELECT code, arrondissement, code_parent FROM geo_communes").df()
        arr = communes[communes["arrondissement"].fillna(False)]
        return cls(
            communes=pd.Index(communes.loc[~communes["arrondissement"].fillna(False), "code"]).unique(),
            arrondissements=dict(zip(arr["code"], arr["code_parent"])),
            regions=pd.Index(con.execute("SELECT code FROM geo_regions").df()["code"]),
            con=con,
        )

    def existing_ids(self, dataset: str, ids: pd.Series) -> pd.Index:
        """Those of `ids` present in the warehouse table of `dataset`."""
        id_col = DATASETS[dataset].id_column
        wanted = pd.DataFrame({"id": ids.dropna().unique()})  # noqa: F841 (read by name in the SQL below)
        found = self.con.execute(
            f"SELECT w.id FROM wanted w SEMI JOIN {dataset} t ON t.{id_col} = w.id"
        ).df()
        return pd.Index(found["id"])


def check_batch(files: list[tuple[str, RawTable]], con: duckdb.DuckDBPyConnection) -> BatchCheck:
    """Validate files (dataset name, raw table) as one batch, in dependency order."""
    reference = Reference.from_connection(con)
    checks = [check_file(raw, DATASETS[name], reference) for name, raw in files]
    order = {name: i for i, name in enumerate(LOAD_ORDER)}
    checks.sort(key=lambda c: order[c.dataset.name])
    _check_ids_across_files(checks)
    valid_ids: dict[str, pd.Index] = {}
    for check in checks:
        for column in check.dataset.columns:
            if column.references:
                _check_reference(check, column, reference, valid_ids)
        if check.dataset.name == "resultats":
            _check_measure_after_start(check, checks, reference)
        if check.dataset.name == "enjeux":
            _check_stake_numbers(check, reference)
        if check.dataset.name == "observations":
            _check_one_observation_a_year(check, reference)
        if check.dataset.name == "actions":
            _check_stakes_of_the_plan(check, checks, reference)
        name = check.dataset.name
        valid_ids[name] = valid_ids.get(name, pd.Index([])).append(pd.Index(check.valid_column(check.dataset.id_column)))
    return BatchCheck(checks)


def _check_ids_across_files(checks: list[FileCheck]) -> None:
    by_dataset: dict[str, list[FileCheck]] = {}
    for c in checks:
        by_dataset.setdefault(c.dataset.name, []).append(c)
    for group in by_dataset.values():
        for i, later in enumerate(group[1:], start=1):
            earlier_ids = pd.Index(pd.concat([g.typed[g.dataset.id_column] for g in group[:i]]).dropna())
            ids = later.typed[later.dataset.id_column]
            dup = V.is_in(ids, earlier_ids)
            later.add(dup, later.dataset.id_column, "Identifiant déjà présent dans un autre fichier de ce lot : gardez une seule ligne par identifiant.")


def _check_reference(check: FileCheck, column: Column, reference: Reference, valid_ids: dict[str, pd.Index]) -> None:
    values = check.typed[column.name]
    if column.kind == TEXT_LIST:  # each item of the list must exist
        items = values.explode()
        items = items[items.notna()]
        known = reference.existing_ids(column.references, items).append(valid_ids.get(column.references, pd.Index([])))
        unknown = items[~items.isin(known)]
        orphan = pd.Series(values.index.isin(unknown.index), index=values.index)
        names = unknown.groupby(level=0).agg(lambda s: ", ".join(map(str, s))).reindex(values.index)
        check.add(orphan, column.name, _msg(
            f"{REFERENCE_NOUNS[column.references]} {{v}} introuvable : ni dans l'entrepôt, ni parmi les lignes valides "
            f"de ce lot ; importez d'abord le fichier {column.references} ou corrigez l'identifiant.", names))
        return
    # Once per distinct value when the column has them (a reference repeats over many lines).
    codes, distinct = check._typed_codes.get(column.name, (None, values))
    present = distinct.notna()
    if not present.any():
        return
    known = reference.existing_ids(column.references, distinct).append(valid_ids.get(column.references, pd.Index([])))
    orphan = present & ~V.is_in(distinct, known)
    if codes is not None:
        orphan = pd.Series(orphan.to_numpy(dtype=bool)[codes], index=values.index)
    check.add(orphan, column.name, _msg(
        f"{REFERENCE_NOUNS[column.references]} {{v}} introuvable : ni dans l'entrepôt, ni parmi les lignes valides "
        f"de ce lot ; importez d'abord le fichier {column.references} ou corrigez l'identifiant.", values))


def _check_measure_after_start(check: FileCheck, checks: list[FileCheck], reference: Reference) -> None:
    t = check.typed
    parts = [c.valid_column("date_debut").set_axis(c.valid_column("id_accompagnement").to_numpy())
             for c in checks if c.dataset.name == "accompagnements"]
    missing = pd.DataFrame({"id": t["id_accompagnement"].dropna().unique()})
    missing = missing[~missing["id"].isin(pd.Index([]).append([p.index for p in parts]))]
    if len(missing):
        stored = reference.con.execute(
            "SELECT m.id, a.date_debut FROM missing m JOIN accompagnements a ON a.id_accompagnement = m.id"
        ).df()
        parts.append(pd.Series(stored["date_debut"].to_numpy(), index=stored["id"].to_numpy()))
    # Always datetimes, even when no accompaniment is known (orphans are reported elsewhere).
    starts = pd.concat([pd.Series(dtype="datetime64[ns]"), *(pd.to_datetime(p).astype("datetime64[ns]") for p in parts)])
    starts = starts[~starts.index.duplicated()]
    start = pd.Series(starts.reindex(t["id_accompagnement"].to_numpy()).to_numpy(), index=t.index, dtype="datetime64[ns]")
    early = t["date_mesure"] < start
    check.add(early, "date_mesure", _msg(
        "Date de mesure antérieure au début de l'accompagnement ({v}) : une mesure de suivi vient après le début.",
        start.dt.strftime("%d/%m/%Y")), raw_values=check.raw_column("date_mesure"))


def _stakes(reference: Reference, checks: list[FileCheck] | None = None) -> pd.DataFrame:
    """Every stake known to the batch (valid lines) or the warehouse: id_enjeu, id_plan, numero."""
    stored = reference.con.execute("SELECT id_enjeu, id_plan, numero FROM enjeux").df()
    batch = [c.valid[["id_enjeu", "id_plan", "numero"]] for c in checks or [] if c.dataset.name == "enjeux"]
    frame = pd.concat([*batch, stored], ignore_index=True)
    return frame.drop_duplicates("id_enjeu", keep="first")  # the batch's line replaces the stored one


def _check_unique_pair(check: FileCheck, stored: pd.DataFrame, group: str, value: str, message: str) -> None:
    """No two rows (of this file, or this file and the warehouse's other rows) share `group` and `value`:
    a plan's stake numbers, a structure's observation years. `stored` has the id, group and value columns."""
    t = check.typed
    id_col = check.dataset.id_column
    others = stored[~stored[id_col].isin(t[id_col].dropna())]  # a row of the file replaces its stored self
    both = pd.concat([t[[id_col, group, value]].assign(ligne=t.index), others.assign(ligne=None)])
    both = both[both[group].notna() & both[value].notna()]
    taken = both.duplicated([group, value], keep=False)
    clash = pd.Series(t.index.isin(both.loc[taken & both["ligne"].notna(), "ligne"]), index=t.index)
    check.add(clash, value, _msg(message, t[value].astype("Int64").astype(str)))


def _check_stake_numbers(check: FileCheck, reference: Reference) -> None:
    """A stake's numero orders it within its plan: two stakes of a plan may not share one."""
    _check_unique_pair(check, _stakes(reference), "id_plan", "numero",
                       "Numéro {v} déjà pris par un autre enjeu du même plan : chaque enjeu d'un plan a son propre "
                       "numéro d'ordre.")


def _check_one_observation_a_year(check: FileCheck, reference: Reference) -> None:
    """A structure describes each year once (the participatory observation's campaign)."""
    stored = reference.con.execute("SELECT id_observation, id_structure, annee FROM observations").df()
    _check_unique_pair(check, stored, "id_structure", "annee",
                       "Année {v} déjà observée pour cette structure (une autre ligne ou une observation déjà "
                       "enregistrée) : une seule observation par structure et par année ; reprenez son identifiant "
                       "pour la corriger.")


def _check_stakes_of_the_plan(check: FileCheck, checks: list[FileCheck], reference: Reference) -> None:
    """An action serves stakes of its own plan."""
    t = check.typed
    plan_of = _stakes(reference, checks).set_index("id_enjeu")["id_plan"]
    items = t["enjeux"].explode()
    items = items[items.notna() & items.isin(plan_of.index)]  # unknown stakes are reported as such
    foreign = items[items.map(plan_of).to_numpy() != t["id_plan"].loc[items.index].to_numpy()]
    names = foreign.groupby(level=0).agg(lambda s: ", ".join(map(str, s))).reindex(t.index)
    check.add(pd.Series(t.index.isin(foreign.index), index=t.index), "enjeux", _msg(
        "Enjeu {v} d'un autre plan : une action ne sert que des enjeux de son propre plan (id_plan).", names))

