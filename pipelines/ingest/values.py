"""Vectorised parsers for the value rules of the interchange format.

Each parser takes a Series of stripped strings (missing = NA) and returns the
typed Series plus a boolean mask of the cells it could not read. No loop over
rows: these run on whole columns.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Mapping

import numpy as np
import pandas as pd

_SEPARATORS = re.compile(r"[\s_\-]+")
_SPACES = re.compile(r"[\s\u00a0\u202f]")


def normalize_key(text: str) -> str:
    """Case-, accent- and separator-insensitive key: 'Code-Commune ' → 'code_commune'."""
    decomposed = unicodedata.normalize("NFKD", str(text))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SEPARATORS.sub("_", bare.strip().lower()).strip("_")


def normalize_keys(values: pd.Series) -> pd.Series:
    """normalize_key over a column, computed once per distinct value."""
    uniques = values.dropna().unique()
    mapping = {u: normalize_key(u) for u in uniques}
    return values.map(mapping)


def _enum_lookup(choices: Mapping[str, str]) -> dict[str, str]:
    """Normalised code or label → code."""
    lookup = {}
    for code, label in choices.items():
        lookup[normalize_key(code)] = code
        lookup[normalize_key(label)] = code
    return lookup


def parse_enum(values: pd.Series, choices: Mapping[str, str]) -> tuple[pd.Series, pd.Series]:
    lookup = _enum_lookup(choices)
    parsed = normalize_keys(values).map(lookup)
    return parsed, values.notna() & parsed.isna()


# Beyond 2**53 a double no longer holds every integer, and BIGINT ends at 2**63: such a number is a typo (a
# budget of 9 million billion euros); larger ones would overflow the sums of a page.
MAX_INTEGER = 2 ** 53

# Thousands separated by an ordinary, non-breaking or narrow non-breaking space: "1 200", "85 000,50".
_GROUPED = re.compile(r"[+-]?\d{1,3}([ \u00a0\u202f]\d{3})+([.,]\d*)?")


def parse_decimal(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    spaced = values.str.contains(_SPACES, na=False)
    # A space is only a thousands separator: "12 5" is not 125.
    grouped = ~spaced | values.str.fullmatch(_GROUPED, na=False)
    cleaned = values.str.replace(_SPACES, "", regex=True).str.replace(",", ".", regex=False)
    # Only plain decimal notation: no exponent, no thousands comma left over.
    well_formed = grouped & cleaned.str.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)", na=False)
    parsed = pd.to_numeric(cleaned.where(well_formed), errors="coerce").astype("Float64")
    # Hundreds of digits overflow to infinity, and anything near it overflows a sum: not a usable amount.
    with np.errstate(invalid="ignore"):
        parsed = parsed.mask(parsed.isin([np.inf, -np.inf]) | (parsed.abs() > MAX_INTEGER))
    return parsed, values.notna() & parsed.isna()


def parse_integer(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    parsed, bad = parse_decimal(values)
    fractional = parsed.notna() & (parsed != parsed.round())
    huge = parsed.notna() & (parsed.abs() > MAX_INTEGER)
    unusable = (fractional | huge).fillna(False)
    parsed = parsed.where(~unusable).round().astype("Int64")
    return parsed, bad | unusable


EXCEL_EPOCH = pd.Timestamp("1899-12-30")


def excel_serial(values: pd.Series) -> pd.Series:
    """Cells that are Excel day counts (a date whose cell format was lost); five digits = 1927–2173."""
    return values.str.fullmatch(r"\d{5}", na=False)


_FRENCH_DATE = r"\d{1,2}/\d{1,2}/\d{4}"
_ISO_DATE = r"\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?"


def date_shaped(values: pd.Series) -> pd.Series:
    """Cells written like a date (JJ/MM/AAAA or AAAA-MM-JJ), whether or not the calendar has that day."""
    return values.str.fullmatch(_FRENCH_DATE, na=False) | values.str.fullmatch(_ISO_DATE, na=False)


# Years a date of the interchange format may have: wider than any support programme, narrower than what
# would overflow the dates' arithmetic (year 1 or 9999 is a typo, not a date).
MIN_YEAR, MAX_YEAR = 1900, 2100


def date_year(values: pd.Series) -> pd.Series:
    """The year written in a date-shaped cell (JJ/MM/AAAA or AAAA-MM-JJ), else missing."""
    year = values.str.extract(r"^(?:\d{1,2}/\d{1,2}/(\d{4})|(\d{4})-\d{2}-\d{2})", expand=True)
    return pd.to_numeric(year[0].fillna(year[1]), errors="coerce")


def parse_date(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    plausible = date_year(values).between(MIN_YEAR, MAX_YEAR).to_numpy(dtype=bool)
    french = values.str.fullmatch(_FRENCH_DATE, na=False) & plausible
    # ISO date, possibly with a time of day (spreadsheets' datetimes): the day is kept.
    iso = values.str.fullmatch(_ISO_DATE, na=False) & plausible
    serial = excel_serial(values)
    parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    if french.any():
        parsed[french] = pd.to_datetime(values[french], format="%d/%m/%Y", errors="coerce")
    if iso.any():
        parsed[iso] = pd.to_datetime(values[iso].str.slice(0, 10), format="%Y-%m-%d", errors="coerce")
    if serial.any():
        parsed[serial] = EXCEL_EPOCH + pd.to_timedelta(values[serial].astype("int64"), unit="D")
    return parsed, values.notna() & parsed.isna()


_TRUE = {"oui", "o", "true", "1"}
_FALSE = {"non", "n", "false", "0"}


def parse_boolean(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    keys = values.str.lower()
    parsed = pd.Series(pd.NA, index=values.index, dtype="boolean")
    parsed[keys.isin(_TRUE)] = True
    parsed[keys.isin(_FALSE)] = False
    return parsed, values.notna() & parsed.isna()


def _split(cell: str) -> list[str] | None:
    items = [part.strip() for part in str(cell).split("|")]
    return [item for item in items if item] or None


def _distinct(values: pd.Series) -> tuple[np.ndarray, list]:
    """(code of each cell, distinct non-missing values); code -1 = missing."""
    codes, uniques = pd.factorize(values)
    return codes, list(uniques)


def _spread(per_value: list, codes: np.ndarray, index: pd.Index, missing: object = None) -> pd.Series:
    """Object Series giving each cell the entry of its distinct value (`missing` where the cell is)."""
    table = np.empty(len(per_value) + 1, dtype=object)
    table[:len(per_value)] = per_value
    table[-1] = missing
    return pd.Series(table[codes], index=index, dtype=object)


def is_in(values: pd.Series, known) -> pd.Series:
    """`values.isin(known)` by a hash lookup in C whatever the dtype: pandas' Arrow-backed strings look each
    of `known` up in Python (0.3 s for 100,000 known structures)."""
    if isinstance(values.dtype, pd.StringDtype):
        values = values.astype(object)
    return values.isin(known)


def split_list(values: pd.Series) -> pd.Series:
    """'a | b||c' → ['a', 'b', 'c']; missing stays missing. Split once per distinct cell."""
    codes, uniques = _distinct(values)
    return _spread([_split(cell) for cell in uniques], codes, values.index)


def parse_enum_list(values: pd.Series, choices: Mapping[str, str]) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Returns (parsed lists, bad mask, the unknown items joined, for the message).

    Computed once per distinct cell: a need list repeats a few thousand combinations over a million lines.
    """
    lookup = _enum_lookup(choices)
    keys: dict[str, str] = {}
    codes, uniques = _distinct(values)
    parsed, unknown = [], []
    for cell in uniques:
        found, missed = [], []
        for item in _split(cell) or ():
            key = keys.get(item)
            if key is None:
                key = keys[item] = normalize_key(item)
            code = lookup.get(key)
            if code is None:
                missed.append(item)
            else:
                found.append(code)
        parsed.append(found or np.nan)  # missing as NaN, like the lists regrouped by pandas always were
        unknown.append(", ".join(missed) if missed else None)
    unknown_items = _spread(unknown, codes, values.index)
    bad = pd.Series(unknown_items.notna().to_numpy(), index=values.index)
    return _spread(parsed, codes, values.index, np.nan), bad, unknown_items.where(bad)


# Characters that change no glyph but make two ids differ: zero-width spaces and joiners, word joiner,
# byte-order mark, directional marks and overrides.
INVISIBLE = re.compile("[\u200b-\u200f\u2060-\u2064\ufeff\u202a-\u202e\u2066-\u2069]")


def strip_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """Trim every cell, in Unicode's composed form (NFC: « é » typed as e + accent is « é »), without invisible
    characters; an empty cell becomes missing."""
    def clean(col: pd.Series) -> pd.Series:
        wide = ~col.str.isascii().fillna(True).astype(bool)  # ids, codes, dates, numbers: nothing to compose
        if wide.any():
            text = col[wide].str.normalize("NFC")
            col = col.mask(wide, text.str.replace(INVISIBLE, "", regex=True))
        return col.str.strip()

    stripped = frame.apply(clean)
    return stripped.mask(stripped == "")
