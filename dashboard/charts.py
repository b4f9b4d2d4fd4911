"""Charts as pure functions: DataFrame in, plotly Figure out (testable without a server).

Colours: the Okabe–Ito palette, safe for colour-blind readers and legible on
a projector. Numbers: French separators (1 234,5).
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboard.fmt import PLOTLY_SEPARATORS

OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
FONT = dict(family="Source Sans Pro, DejaVu Sans, sans-serif", size=15, color="#1f2430")


def style(fig: go.Figure, title: str, scope: str = "", height: int = 420) -> go.Figure:
    """House style. The title says what is shown; `scope` (the filters in words) goes under it."""
    text = f"{title}<br><span style='font-size:13px;color:#555'>{scope}</span>" if scope else title
    fig.update_layout(
        title=dict(text=text, x=0, xanchor="left", font=dict(size=18)),
        separators=PLOTLY_SEPARATORS,
        colorway=OKABE_ITO,
        font=FONT,
        height=height,
        margin=dict(l=10, r=30, t=80, b=10),
        plot_bgcolor="white",
        paper_bgcolor="white",
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1),
        hoverlabel=dict(font_size=14),
    )
    fig.update_traces(cliponaxis=False, selector=dict(type="bar"))
    fig.update_xaxes(showgrid=False, linecolor="#888")
    fig.update_yaxes(gridcolor="#e5e5e5", zeroline=False)
    return fig


def trend_by_year(frame: pd.DataFrame, title: str, scope: str = "") -> go.Figure:
    fig = go.Figure()
    fig.add_bar(x=frame["annee"].astype(str), y=frame["accompagnements"], name="Accompagnements",
                marker_color=OKABE_ITO[0], hovertemplate="%{x} : %{y:,.0f} accompagnements<extra></extra>")
    fig.add_scatter(x=frame["annee"].astype(str), y=frame["structures"], name="Structures accompagnées",
                    mode="lines+markers", line=dict(color=OKABE_ITO[1], width=3), marker=dict(size=9),
                    hovertemplate="%{x} : %{y:,.0f} structures<extra></extra>")
    fig.update_xaxes(title_text="Année de début", type="category")
    fig.update_yaxes(title_text="Nombre")
    return style(fig, title, scope)


def besoin_shares(frame: pd.DataFrame, title: str, scope: str = "") -> go.Figure:
    """Horizontal bars of main-need categories (columns libelle, part, accompagnements)."""
    frame = frame.sort_values("part")
    fig = go.Figure(go.Bar(
        x=frame["part"], y=frame["libelle"], orientation="h", marker_color=OKABE_ITO[0],
        text=[f"{100 * p:.0f} %".replace(".", ",") for p in frame["part"]], textposition="outside",
        customdata=frame["accompagnements"],
        hovertemplate="%{y} : %{x:.1%} (%{customdata:,.0f} accompagnements)<extra></extra>",
    ))
    fig.update_xaxes(tickformat=".0%", title_text="Part des accompagnements",
                     range=[0, float(frame["part"].max()) * 1.2 if len(frame) else 1.0])
    return style(fig, title, scope, height=max(300, 60 * len(frame) + 140))


def structures_by_territory(frame: pd.DataFrame, title: str, scope: str = "") -> go.Figure:
    """Bars of structures per territory (columns libelle, structures)."""
    frame = frame.sort_values("structures")
    fig = go.Figure(go.Bar(
        x=frame["structures"], y=frame["libelle"], orientation="h", marker_color=OKABE_ITO[2],
        text=frame["structures"], textposition="outside",
        hovertemplate="%{y} : %{x:,.0f} structures<extra></extra>",
    ))
    fig.update_xaxes(title_text="Structures accompagnées", range=[0, float(frame["structures"].max()) * 1.15 if len(frame) else 1])
    return style(fig, title, scope, height=max(300, 28 * len(frame) + 140))
