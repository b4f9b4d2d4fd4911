"""Chart functions as a reader sees them: ticks, legends and French numbers (issue 16's rough edges)."""

import datetime as dt

import pandas as pd

from pipelines.reports import charts


def journey(start: str, end: str | None, etape: str = "accompagnement") -> dict:
    return {"programme": "DLA Test", "date_debut": pd.Timestamp(start), "date_fin": pd.Timestamp(end) if end else pd.NaT,
            "etape": etape, "etape_libelle": etape.capitalize(), "heures": 10.0}


def test_a_short_journey_ticks_each_month_once_and_keeps_its_colour_key():
    frame = pd.DataFrame([journey("2025-03-03", "2025-05-20")])
    fig = charts.timeline(frame, dt.date(2026, 1, 1), "Parcours")
    assert fig.layout.xaxis.dtick == "M1" and fig.layout.xaxis.tickformat == "%m/%Y"  # one tick per month
    assert fig.layout.showlegend and fig.data[0].showlegend  # one step only: its colour still explained
    assert fig.data[0].name == "Accompagnement"


def test_a_long_journey_ticks_years():
    frame = pd.DataFrame([journey("2019-01-10", "2025-06-01", "clos"), journey("2024-01-10", None, "suivi")])
    fig = charts.timeline(frame, dt.date(2026, 1, 1), "Parcours")
    assert (fig.layout.xaxis.dtick, fig.layout.xaxis.tickformat) == ("M12", "%Y")


def test_share_ticks_read_the_french_way():
    ticks = charts.percent_ticks(0.61)
    assert ticks["ticktext"][-1] == "60\u00a0%" and all(t.endswith("\u00a0%") for t in ticks["ticktext"])
    fig = charts.bars(pd.DataFrame({"libelle": ["A", "B"], "part": [0.613, 0.2]}), "libelle", "part", "Parts",
                      percent=True)
    assert fig.data[0].hovertemplate.count("%{hovertext}") == 1
    assert list(fig.data[0].hovertext) == ["20,0\u00a0%", "61,3\u00a0%"]  # the largest at the top: drawn last
