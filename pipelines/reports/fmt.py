"""French number formatting: 1 234,5 (narrow no-break space for thousands)."""

from __future__ import annotations

import math
import re

from pipelines.privacy.secret import SECRET  # the word masked values read, on screen and in exports

THOUSANDS = "\u202f"
# Plotly's layout.separators: decimal mark then thousands separator.
PLOTLY_SEPARATORS = "," + THOUSANDS


def nombre(value: float | int | None, decimales: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    text = f"{value:,.{decimales}f}"
    return text.replace(",", THOUSANDS).replace(".", ",")


def pourcentage(part: float | None, decimales: int = 0) -> str:
    if part is None or (isinstance(part, float) and math.isnan(part)):
        return "—"
    return f"{nombre(100 * part, decimales)}\u00a0%"


def couverture(low: float | None, high: float | None, decimales: int = 1) -> str:
    """A coverage rate: "25,0 %", or its interval "13,9 – 33,7 %" over a range of reference populations."""
    if low is None or high is None or math.isnan(low) or math.isnan(high):
        return "—"
    if round(low, 6) == round(high, 6):
        return pourcentage(high, decimales)
    return f"{nombre(100 * low, decimales)} – {pourcentage(high, decimales)}"


def variation(current: float, previous: float | None) -> str | None:
    """'+12 %' against the previous period, or None when there is nothing to compare."""
    if not previous:
        return None
    change = (current - previous) / previous
    if round(100 * change) == 0:  # "+0 %" with a green arrow would announce a rise
        return STABLE
    sign = "+" if change >= 0 else "-"  # ASCII minus: st.metric colours deltas by it
    return f"{sign}{nombre(abs(100 * change))}\u00a0% vs période précédente"


STABLE = "stable vs période précédente"


def taille(n_bytes: int) -> str:
    """A file's size in French units, as the uploader showed it in English: '67,0 Ko', '1,2 Mo', '512 octets'."""
    for unit, factor in (("Go", 1e9), ("Mo", 1e6), ("Ko", 1e3)):
        if n_bytes >= factor:
            return f"{nombre(n_bytes / factor, 1)}\u00a0{unit}"
    return f"{n_bytes}\u00a0octet" + ("s" if n_bytes > 1 else "")


def chiffre(value: float | int | None, decimales: int = 0) -> str:
    """A figure of a role under statistical secrecy: the query layer sends None for a masked value."""
    return SECRET if value is None else nombre(value, decimales)


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^-?\d+([.,]\d+)?$")


def neutralise(value):
    """A text cell a spreadsheet would run as a formula gets a leading apostrophe (every CSV and XLSX the
    project writes: exports, import reports, rejected lines)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.match(value):
        return "'" + value
    return value


def neutralised(frame):
    """A copy of a table whose text cells and headers are all neutralised (numbers and dates untouched)."""
    import pandas as pd

    out = frame.copy()
    out.columns = [neutralise(str(c)) for c in out.columns]
    for column in out.columns:
        series = out[column]
        if not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_datetime64_any_dtype(series)):
            out[column] = series.astype(object).map(neutralise)
    return out
