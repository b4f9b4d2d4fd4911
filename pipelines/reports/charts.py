"""Charts as pure functions: DataFrame in, plotly Figure out (testable without a server).

Colours: the Okabe–Ito palette, safe for colour-blind readers and legible on
a projector. Numbers: French separators (1 234,5).
"""

from __future__ import annotations

import html
import re

import pandas as pd
import plotly.graph_objects as go

from pipelines.reports import fmt
from pipelines.reports.fmt import PLOTLY_SEPARATORS

OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
FONT = dict(family="Source Sans Pro, DejaVu Sans, sans-serif", size=15, color="#1f2430")


def style(fig: go.Figure, title: str, scope: str = "", height: int = 420) -> go.Figure:
    """House style. The title says what is shown; `scope` (the filters in words) goes under it.

    Both may hold names from the data (a programme in the scope): escaped, since plotly reads tags in titles."""
    title, scope = html.escape(title, quote=False), html.escape(scope, quote=False)
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
    for trace in fig.data:
        _french_percent_hover(trace)
    return fig


_PERCENT_FIELD = re.compile(r"%\{([xyz]):\.(\d)%\}")


def _french_percent_hover(trace) -> None:
    """d3 writes a share as "61,3%"; the dashboard writes "61,3 %" everywhere. A hover's share field is
    replaced by the trace's `hovertext`, filled with the French texts of that field's values."""
    template = getattr(trace, "hovertemplate", None)
    found = _PERCENT_FIELD.search(template) if isinstance(template, str) else None
    if found is None or getattr(trace, found.group(1), None) is None:
        return
    values, decimals = getattr(trace, found.group(1)), int(found.group(2))

    def text(v):
        return "" if v is None or v != v else _pct(float(v), decimals)
    trace.hovertext = [[text(v) for v in row] for row in values] if trace.type == "heatmap" else [text(v) for v in values]
    trace.hovertemplate = template.replace(found.group(0), "%{hovertext}")


SECRET_COLOR = "#bdbdbd"


def _split_secret(frame: pd.DataFrame, value: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows with a value to draw, and those the secrecy masked (flagged `secret`, value missing)."""
    if "secret" not in frame.columns:
        return frame, frame.iloc[:0]
    masked = frame["secret"].astype(object).fillna(True).astype(bool) & frame[value].isna()
    return frame[~masked], frame[masked]


def _mark_secret(fig: go.Figure, labels: pd.Series, shown_order: list) -> go.Figure:
    """Masked categories stay on a horizontal bar chart, below the others, read "secret" in grey: a bar
    that vanished would say nothing, or that the category does not exist."""
    if len(labels):
        fig.add_bar(x=[0] * len(labels), y=list(labels), orientation="h", marker_color=SECRET_COLOR,
                    text=["secret"] * len(labels), textposition="outside", textfont=dict(color="#6b6b6b"),
                    cliponaxis=False, showlegend=False, hovertemplate="%{y} : secret statistique<extra></extra>")
        fig.update_layout(barmode="overlay", showlegend=False)
        fig.update_yaxes(categoryorder="array", categoryarray=[*labels, *shown_order])
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


def _ranked_bars(frame: pd.DataFrame, value: str, title: str, scope: str, *, color: str, label, hovertemplate: str,
                 x_axis: dict, headroom: float, row_height: int, customdata: str | None = None) -> go.Figure:
    """Horizontal bars of `libelle` by `value`, largest at the top, masked ones below them reading "secret"."""
    frame, masked = _split_secret(frame, value)
    frame = frame.assign(**{value: frame[value].astype(float)}).sort_values(value)
    fig = go.Figure(go.Bar(
        x=frame[value], y=frame["libelle"], orientation="h", marker_color=color,
        text=[label(v) for v in frame[value]], textposition="outside",
        customdata=frame[customdata] if customdata else None, hovertemplate=hovertemplate,
    ))
    fig.update_xaxes(**x_axis, range=[0, float(frame[value].max()) * headroom if len(frame) else 1.0])
    _mark_secret(fig, masked["libelle"], list(frame["libelle"]))
    return style(fig, title, scope, height=max(300, row_height * (len(frame) + len(masked)) + 140))


def besoin_shares(frame: pd.DataFrame, title: str, scope: str = "") -> go.Figure:
    """Horizontal bars of main-need categories (columns libelle, part, accompagnements); masked ones read "secret"."""
    return _ranked_bars(frame, "part", title, scope, color=OKABE_ITO[0],
                        label=lambda p: f"{100 * p:.0f} %".replace(".", ","), customdata="accompagnements",
                        hovertemplate="%{y} : %{x:.1%} (%{customdata:,.0f} accompagnements)<extra></extra>",
                        x_axis=dict(**percent_ticks(frame["part"].astype(float).max() * 1.2),
                                    title_text="Part des accompagnements"), headroom=1.2, row_height=60)


def structures_by_territory(frame: pd.DataFrame, title: str, scope: str = "") -> go.Figure:
    """Bars of structures per territory (columns libelle, structures); masked ones read "secret"."""
    return _ranked_bars(frame, "structures", title, scope, color=OKABE_ITO[2],
                        label=lambda v: f"{v:,.0f}".replace(",", "\u202f"),
                        hovertemplate="%{y} : %{x:,.0f} structures<extra></extra>",
                        x_axis=dict(title_text="Structures accompagnées"), headroom=1.15, row_height=28)


# Charts of the detailed pages. Each takes the DataFrame a query-layer function returns.

SEQUENTIAL = [[0.0, "#eef4fa"], [0.35, "#9ecae1"], [0.7, "#3182bd"], [1.0, "#08306b"]]  # light → dark blue
NO_DATA = "#d9d9d9"
NO_DATA_TEXT = "en gris : pas de valeur publiable (secret statistique) ou non disponible"


def _pct(value: float, decimals: int = 0) -> str:
    return f"{100 * value:.{decimals}f}\u00a0%".replace(".", ",")


def percent_ticks(top: float) -> dict:
    """Ticks of a 0 … `top` share axis written the French way, "60 %" (d3's ".0%" writes "60%", beside our
    "60 %" labels): explicit values and texts, about five of them."""
    top = float(top) if top and top == top and top > 0 else 1.0
    step = next((s for s in (0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5) if s >= top / 5), 1.0)
    values = [round(i * step, 4) for i in range(int(top / step + 1e-9) + 1)]
    return dict(tickvals=values, ticktext=[_pct(v, 0 if step >= 0.01 else 1) for v in values])


def bars(frame: pd.DataFrame, label: str, value: str, title: str, scope: str = "", *, axis_title: str = "",
         percent: bool = False, color: str = OKABE_ITO[0], hover_unit: str = "") -> go.Figure:
    """Horizontal bars, largest at the top, value printed at the end of each bar; masked rows read "secret"."""
    frame, masked = _split_secret(frame, value)
    frame = frame.iloc[::-1]
    values = frame[value].astype(float)
    text = [_pct(v) for v in values] if percent else [f"{v:,.0f}".replace(",", "\u202f") for v in values]
    fig = go.Figure(go.Bar(
        x=values, y=frame[label], orientation="h", marker_color=color, text=text, textposition="outside",
        hovertemplate="%{y} : " + ("%{x:.1%}" if percent else "%{x:,.0f}") + f" {hover_unit}<extra></extra>",
    ))
    top = float(values.max()) * 1.2 if len(values) and values.max() > 0 else 1
    fig.update_xaxes(title_text=axis_title, range=[0, top], **(percent_ticks(top) if percent else {"tickformat": ",.0f"}))
    if not percent and (not len(values) or values.max() <= 5):
        fig.update_xaxes(dtick=1)  # small counts: whole ticks, not "0, 0, 0, 1, 1" rounded from 0.2 steps
    fig.update_yaxes(automargin=True)
    _mark_secret(fig, masked[label], list(frame[label]))
    return style(fig, title, scope, height=max(260, 34 * (len(frame) + len(masked)) + 150))


def needs_treemap(frame: pd.DataFrame, title: str, scope: str = "") -> go.Figure:
    """Two-level typology (columns categorie, categorie_libelle, code, libelle, accompagnements)."""
    cats = frame.groupby(["categorie", "categorie_libelle"], as_index=False)["accompagnements"].sum()
    colors = {c: OKABE_ITO[i % len(OKABE_ITO)] for i, c in enumerate(sorted(cats["categorie"]))}
    ids = list(cats["categorie"]) + list(frame["code"] + "#")
    labels = list(cats["categorie_libelle"]) + list(frame["libelle"])
    parents = [""] * len(cats) + list(frame["categorie"])
    values = list(cats["accompagnements"]) + list(frame["accompagnements"])
    marker = [colors[c] for c in cats["categorie"]] + [colors[c] for c in frame["categorie"]]
    total = float(cats["accompagnements"].sum())
    fig = go.Figure(go.Treemap(
        ids=ids, labels=labels, parents=parents, values=values, branchvalues="total",
        marker=dict(colors=marker, line=dict(color="white", width=2)),
        text=[_pct(v / total if total else 0) for v in values],
        hovertext=[_pct(v / total if total else 0, 1) for v in values],
        texttemplate="<b>%{label}</b><br>%{value:,.0f} · %{text}",
        hovertemplate="%{label}<br>%{value:,.0f} accompagnements (%{hovertext})<extra></extra>",
        textfont=dict(size=15, color="white"), insidetextfont=dict(color="white"), pathbar=dict(visible=False),
        tiling=dict(pad=2),
    ))
    fig = style(fig, title, scope, height=560)
    # A tile too small for a 12 px label shows none (its figures stay in the hover) rather than a speck of text.
    fig.update_layout(margin=dict(l=5, r=5, t=80, b=5), uniformtext=dict(minsize=12, mode="hide"))
    return fig


def wrap(label: str, width: int = 16) -> str:
    """Break a long axis label over lines (plotly <br>) so neighbouring labels never overlap."""
    words, lines, line = str(label).split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    return "<br>".join(lines)


def heatmap(frame: pd.DataFrame, x: str, y: str, z: str, title: str, scope: str = "", *,
            x_title: str = "", y_title: str = "", percent: bool = True, text_col: str | None = None) -> go.Figure:
    """A matrix (long format → pivot), values printed in the cells."""
    pivot = frame.pivot_table(index=y, columns=x, values=z, aggfunc="sum")
    if text_col:
        counts = frame.pivot_table(index=y, columns=x, values=text_col, aggfunc="sum").reindex_like(pivot)
    cells = ([["" if v != v else _pct(v) for v in row] for row in pivot.values] if percent else None)
    fig = go.Figure(go.Heatmap(
        z=pivot.values, x=[wrap(c) for c in pivot.columns], y=list(pivot.index), colorscale=SEQUENTIAL,
        text=cells, texttemplate="%{text}" if percent else "%{z:,.0f}", textfont=dict(size=13),
        hovertemplate="%{y}<br>%{x} : " + ("%{z:.1%}" if percent else "%{z:,.0f}") + "<extra></extra>",
        colorbar=dict(thickness=14, **(percent_ticks(pd.DataFrame(pivot).max().max()) if percent
                                        else {"tickformat": ",.0f"})), xgap=2, ygap=2,
        **({"customdata": counts.values} if text_col else {}),
    ))
    fig.update_xaxes(title_text=x_title, side="top", tickangle=0, automargin=True)
    fig.update_yaxes(title_text=y_title, autorange="reversed", automargin=True, gridcolor="white")
    fig = style(fig, title, scope, height=max(360, 30 * len(pivot.index) + 220))
    fig.update_layout(margin=dict(l=10, r=30, t=170, b=10))
    return fig


def lines_by(frame: pd.DataFrame, x: str, y: str, series: str, title: str, scope: str = "", *,
             x_title: str = "", y_title: str = "", percent: bool = False) -> go.Figure:
    fig = go.Figure()
    for i, (name, part) in enumerate(frame.groupby(series, sort=False)):
        fig.add_scatter(x=part[x].astype(str), y=part[y], name=str(name), mode="lines+markers",
                        line=dict(color=OKABE_ITO[i % len(OKABE_ITO)], width=3), marker=dict(size=8),
                        hovertemplate=f"{name}<br>%{{x}} : " + ("%{y:.1%}" if percent else "%{y:,.0f}") + "<extra></extra>")
    fig.update_xaxes(title_text=x_title, type="category")
    fig.update_yaxes(title_text=y_title, rangemode="tozero",
                     **(percent_ticks(frame[y].astype(float).max()) if percent else {"tickformat": ",.0f"}))
    fig = style(fig, title, scope, height=460)
    fig.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.15, xanchor="left", x=0))
    return fig


def grouped_bars(frame: pd.DataFrame, x: str, series: dict[str, str], title: str, scope: str = "", *,
                 y_title: str = "", horizontal: bool = False, height: int = 420) -> go.Figure:
    """One bar per column of `series` (column → French legend label) for each `x` category."""
    fig = go.Figure()
    for i, (column, name) in enumerate(series.items()):
        values = frame[column]
        if horizontal:
            fig.add_bar(y=frame[x], x=values, name=name, orientation="h", marker_color=OKABE_ITO[i % len(OKABE_ITO)],
                        hovertemplate=f"{name}<br>%{{y}} : %{{x:,.0f}}<extra></extra>")
        else:
            fig.add_bar(x=frame[x].astype(str), y=values, name=name, marker_color=OKABE_ITO[i % len(OKABE_ITO)],
                        hovertemplate=f"{name}<br>%{{x}} : %{{y:,.0f}}<extra></extra>")
    fig.update_layout(barmode="group")
    if horizontal:
        fig.update_xaxes(title_text=y_title, tickformat=",.0f")
        fig.update_yaxes(automargin=True, autorange="reversed")
    else:
        fig.update_yaxes(title_text=y_title, tickformat=",.0f")
        fig.update_xaxes(type="category")
    return legend_below(style(fig, title, scope, height=height))


def share_comparison(frame: pd.DataFrame, series: dict[str, str], title: str, scope: str = "", *,
                     bounds: dict[str, list] | None = None) -> go.Figure:
    """Shares (0 … 1) of several areas side by side: one group of horizontal bars per row (`indicateur`),
    one bar per column of `series` (column → legend label). `bounds` (column → per row (low, high) or None)
    draws a row that is an interval — a coverage rate over a range of reference populations — as its middle
    with the interval as an error bar, and says both ends in the hover."""
    fig = go.Figure()
    top = 0.0
    for i, (column, name) in enumerate(series.items()):
        values = pd.to_numeric(frame[column], errors="coerce")
        ends = (bounds or {}).get(column) or [None] * len(frame)
        texts = [fmt.couverture(*end) if end else ("" if v != v else _pct(v, 1)) for v, end in zip(values, ends)]
        errors = None
        if any(end and end[0] != end[1] for end in ends):
            # No caps (width 0): a row without an interval would still draw its caps at the bar's end.
            errors = dict(type="data", symmetric=False, color="#333", thickness=2, width=0,
                          array=[(end[1] - v) if end else 0 for v, end in zip(values, ends)],
                          arrayminus=[(v - end[0]) if end else 0 for v, end in zip(values, ends)])
        top = max(top, float(values.max() if values.notna().any() else 0),
                  *[end[1] for end in ends if end])
        fig.add_bar(y=frame["indicateur"].map(wrap), x=values, name=name, orientation="h", error_x=errors,
                    marker_color=OKABE_ITO[i % len(OKABE_ITO)], hovertext=texts,
                    hovertemplate=f"{html.escape(name, quote=False)}<br>%{{y}} : %{{hovertext}}<extra></extra>")
    fig.update_layout(barmode="group", bargap=0.25)
    fig.update_xaxes(range=[0, top * 1.1 or 1], **percent_ticks(top * 1.1))
    fig.update_yaxes(automargin=True, autorange="reversed")
    height = 140 + len(frame) * max(60, 22 * len(series)) + 30 * ((len(series) + 2) // 3)
    fig = style(fig, title, scope, height=height)
    # The legend under the bars, clear of the ticks (no axis title: the ticks say "%").
    return fig.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.06, xanchor="left", x=0))


def legend_below(fig: go.Figure) -> go.Figure:
    """Legend under the plot, where it cannot cover a long title or subtitle."""
    fig.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.12, xanchor="left", x=0))
    return fig


def funnel(frame: pd.DataFrame, title: str, scope: str = "") -> go.Figure:
    """Steps reached per programme type, as a share of the accompaniments welcomed (comparable across types).

    Columns programme, etape_libelle, ordre, accompagnements, part.
    """
    fig = go.Figure()
    frame = frame.sort_values("ordre")
    for i, (name, part) in enumerate(frame.groupby("programme", sort=True)):
        shares = part["part"].astype(float)  # a masked step stays, at 0, and reads "secret"
        fig.add_bar(
            y=part["etape_libelle"], x=shares.fillna(0), name=name, orientation="h",
            marker_color=OKABE_ITO[i % len(OKABE_ITO)], customdata=part["accompagnements"],
            text=["secret" if pd.isna(v) else f"{100 * v:.0f}\u00a0%" for v in shares], textposition="outside",
            hovertemplate=f"{name}<br>%{{y}} : %{{x:.0%}} (%{{customdata:,.0f}} accompagnements)<extra></extra>",
        )
    fig.update_layout(barmode="group", bargroupgap=0.05)
    fig.update_xaxes(**percent_ticks(1.0), range=[0, 1.12], title_text="Part des accompagnements accueillis")
    fig.update_yaxes(autorange="reversed", automargin=True)
    return legend_below(style(fig, title, scope, height=max(420, 22 * len(frame) + 200)))


def timeline(frame: pd.DataFrame, today, title: str, scope: str = "") -> go.Figure:
    """A structure's journey: one bar per accompaniment from start to end (or today), coloured by step reached."""
    fig = go.Figure()
    step_colors = dict(zip(["accueil", "diagnostic", "accompagnement", "suivi", "clos"],
                           [OKABE_ITO[1], OKABE_ITO[4], OKABE_ITO[0], OKABE_ITO[2], "#555555"]))
    rows = frame.reset_index(drop=True)
    labels = [f"{r.programme} ({r.date_debut:%m/%Y})" for r in rows.itertuples()]
    for etape, color in step_colors.items():
        part = rows[rows["etape"] == etape]
        if part.empty:
            continue
        ends = part["date_fin"].fillna(pd.Timestamp(today))
        starts = pd.to_datetime(part["date_debut"])
        duration_ms = (pd.to_datetime(ends) - starts).dt.total_seconds() * 1000 + 86_400_000 * 7
        fig.add_bar(
            y=[labels[i] for i in part.index], x=duration_ms, base=starts, orientation="h", name=part["etape_libelle"].iloc[0],
            marker_color=color, customdata=part[["etape_libelle", "heures"]].fillna(0).values,
            hovertemplate="%{y}<br>Étape atteinte : %{customdata[0]}<br>%{customdata[1]:,.1f} h<extra></extra>",
        )
    fig.update_xaxes(type="date", title_text="", **_month_ticks(rows["date_debut"], rows["date_fin"].fillna(pd.Timestamp(today))))
    fig.update_yaxes(autorange="reversed", automargin=True, type="category", categoryorder="array", categoryarray=labels)
    # The colours need their key even when every bar has one step (plotly hides a one-trace legend).
    fig.update_traces(showlegend=True)
    height = max(300, 48 * len(rows) + 230)
    fig = style(fig, title, scope, height=height)
    # The legend under the date ticks, whatever the chart's height: its offset is in pixels, not in plot heights.
    plot_height = height - 80 - 70
    return fig.update_layout(showlegend=True, margin=dict(b=70), legend=dict(
        title_text="Étape atteinte : ", orientation="h", yanchor="top", y=-34 / plot_height, xanchor="left", x=0))


def _month_ticks(starts: pd.Series, ends: pd.Series) -> dict:
    """Whole months (or years) on a date axis: left to itself, plotly ticks a short journey every few days,
    each labelled with its month, so one month reads three times."""
    if not len(starts):
        return {}
    first = pd.to_datetime(starts).min().to_period("M").to_timestamp()
    last = (pd.to_datetime(ends).max() + pd.Timedelta(days=7)).to_period("M").to_timestamp() + pd.offsets.MonthBegin(1)
    span = (last - first).days
    # The axis runs from the first month's start to the last one's end: a journey of weeks gets two ticks.
    view = dict(range=[first, last], tick0=first)
    for months, step in ((10, "M1"), (30, "M3"), (60, "M6")):
        if span <= months * 31:
            return dict(view, dtick=step, tickformat="%m/%Y")
    return dict(view, dtick="M12", tickformat="%Y", tick0=first.to_period("Y").to_timestamp())


def choropleth(frame: pd.DataFrame, geojson: dict, value: str, title: str, scope: str = "", *,
               value_label: str = "", percent: bool = False, decimals: int = 0,
               codes: list[str] | None = None, value_text: str | None = None) -> go.Figure:
    """A MapLibre choropleth with no tiles (works offline); territories without a value are grey.

    `value_text` names a column of `frame` read in the hover instead of the value (an interval, say).

    `geojson` features carry properties.code; `codes` limits the drawn territories
    (e.g. the départements of a région) and the view fits them.
    """
    features = geojson["features"]
    if codes is not None:
        wanted = set(codes)
        features = [f for f in features if f["properties"]["code"] in wanted]
    shapes = {"type": "FeatureCollection", "features": features}
    names = {f["properties"]["code"]: f["properties"]["nom"] for f in features}
    data = frame[frame["code"].isin(names)]
    known = data[data[value].notna()]
    fig = go.Figure()
    fig.add_trace(go.Choroplethmap(
        geojson=shapes, locations=list(names), z=[0] * len(names), featureidkey="properties.code",
        colorscale=[[0, NO_DATA], [1, NO_DATA]], showscale=False, marker_line_color="white", marker_line_width=0.8,
        text=list(names.values()), hovertemplate="%{text} : non disponible<extra></extra>",
    ))
    number = ".1%" if percent else f",.{decimals}f"
    if len(known):
        fig.add_trace(go.Choroplethmap(
            geojson=shapes, locations=known["code"], z=known[value].astype(float), featureidkey="properties.code",
            # The scale starts at 0 so that shades compare magnitudes (a rate of 4 is not "empty" next to 5);
            # ticks keep the value's decimals ("~" trims trailing zeros), else 3.6 and 4.4 both read "4".
            colorscale=SEQUENTIAL, zmin=0, zmax=float(known[value].max()) or 1.0,
            marker_line_color="white", marker_line_width=0.8,
            text=known["nom"], hovertext=known[value_text] if value_text else None,
            hovertemplate="%{text} : " + ("%{hovertext}" if value_text else "%{z:" + number + "}") + "<extra></extra>",
            colorbar=dict(title=dict(text=value_label, side="right"),
                          thickness=14, len=0.8, **(percent_ticks(float(known[value].max())) if percent
                                                    else {"tickformat": f",.{decimals}~f"})),
        ))
    lon, lat, zoom = _view(features)
    fig.update_layout(map=dict(style="white-bg", center=dict(lon=lon, lat=lat), zoom=zoom))
    fig = style(fig, title, scope, height=620)
    fig.update_layout(margin=dict(l=0, r=0, t=80, b=0))
    # The grey's legend, as an annotation: a legend entry on a map trace stops MapLibre from painting.
    fig.add_annotation(text=f"<span style='color:{NO_DATA}'>■</span> {NO_DATA_TEXT}", xref="paper", yref="paper",
                       x=0, y=0, xanchor="left", yanchor="bottom", showarrow=False, font=dict(size=13, color="#555"),
                       bgcolor="rgba(255,255,255,0.85)")
    return fig


MAP_FIT_HEIGHT = 520  # px: the map height the zoom of a choropleth is fitted to


def _view(features: list[dict]) -> tuple[float, float, float]:
    """Centre and zoom that fit the features (web-mercator approximation)."""
    import math

    xs, ys = [], []

    def walk(coords):
        if isinstance(coords[0], (int, float)):
            xs.append(coords[0])
            ys.append(coords[1])
        else:
            for c in coords:
                walk(c)

    for f in features:
        walk(f["geometry"]["coordinates"])
    if not xs:
        return 2.5, 46.5, 4.3
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)

    def merc(lat):
        return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))

    span_x = max(x1 - x0, 0.01) / 360
    span_y = max(merc(y1) - merc(y0), 0.0001) / (2 * math.pi)
    # The map area is about 900 × 520 px wide; 512 px = one world at zoom 0 in MapLibre.
    zoom = min(math.log2(900 / 512 / span_x), math.log2(MAP_FIT_HEIGHT / 512 / span_y)) - 0.15
    lat_c = math.degrees(2 * math.atan(math.exp((merc(y0) + merc(y1)) / 2)) - math.pi / 2)
    return (x0 + x1) / 2, lat_c, zoom
