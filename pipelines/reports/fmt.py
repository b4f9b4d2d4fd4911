"""French number formatting: 1 234,5 (narrow no-break space for thousands)."""

from __future__ import annotations

import math

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


def variation(current: float, previous: float | None) -> str | None:
    """'+12 %' against the previous period, or None when there is nothing to compare."""
    if not previous:
        return None
    change = (current - previous) / previous
    sign = "+" if change >= 0 else "-"  # ASCII minus: st.metric colours deltas by it
    return f"{sign}{nombre(abs(100 * change))}\u00a0% vs période précédente"




def chiffre(value: float | int | None, decimales: int = 0) -> str:
    """A figure of a role under statistical secrecy: the query layer sends None for a masked value."""
    return SECRET if value is None else nombre(value, decimales)
