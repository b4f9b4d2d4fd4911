"""Exports, offline and without Streamlit: CSV for French Excel, XLSX, chart PNG, committee PDF.

* Tables: `to_csv_bytes` (UTF-8 with BOM, `;`, decimal comma) and
  `to_xlsx_bytes` (numbers stay numbers, dates stay dates). Text cells that a
  spreadsheet would read as a formula (starting with `=`, `+`, `-`, `@`, tab
  or carriage return) are prefixed with `'`; numeric cells are left alone.
* Charts: `figure_to_png` / `figure_to_svg` through kaleido and Debian's
  chromium; one browser is started on first use and reused.
* `committee_report_pdf`: the "Rapport du comité", HTML + SVG charts turned
  into PDF by WeasyPrint. It takes plain data; the caller decides what the
  role may see (in the funder view, tables and figures arrive already
  protected by `pipelines.privacy.secret`).
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import math
import os
import re
import threading
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import pandas as pd
import plotly.graph_objects as go

from pipelines.privacy.secret import SECRET
from pipelines.reports.fmt import neutralise, neutralised  # noqa: F401 (neutralise: the exports' defence, with the formats)

CHROMIUM = "/usr/bin/chromium"


# Tables.

def shown_with_secret(frame: pd.DataFrame) -> pd.DataFrame:
    """A table as a role under secrecy receives it (masked cells are None on rows flagged by a `secret`
    column), with those cells reading "secret" and the flag column dropped. Other tables pass as they are."""
    if "secret" not in frame.columns:
        return frame
    flagged = frame["secret"].astype(object).fillna(True).astype(bool)
    out = frame.drop(columns="secret")
    for column in out.columns:
        hidden = flagged & out[column].isna()
        if hidden.any():
            out[column] = out[column].astype(object).where(~hidden, SECRET)
    return out


def _csv_cell(value):
    """Cells of mixed columns (numbers beside "secret") in French notation, as float columns are."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, float) and not math.isnan(value):
        return repr(value).replace(".", ",")
    return value


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """CSV that French Excel opens correctly with a double click."""
    out = neutralised(frame)
    for column in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = out[column].dt.strftime("%d/%m/%Y")
        elif out[column].dtype == object:
            out[column] = out[column].map(_csv_cell)
    text = out.to_csv(sep=";", decimal=",", index=False, lineterminator="\r\n")
    return ("\ufeff" + text).encode("utf-8")


def _sheet_title(name: str) -> str:
    cleaned = re.sub(r"[\[\]:*?/\\]", " ", str(name)).strip() or "Données"
    return cleaned[:31]


def _excel_value(value):
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # numpy scalars
        return value.item()
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value


def to_xlsx_bytes(tables: pd.DataFrame | Mapping[str, pd.DataFrame]) -> bytes:
    """An XLSX workbook, one sheet per table (a single DataFrame goes to sheet "Données")."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    if isinstance(tables, pd.DataFrame):
        tables = {"Données": tables}
    book = Workbook()
    book.remove(book.active)
    for name, frame in tables.items():
        sheet = book.create_sheet(_sheet_title(name))
        out = neutralised(frame)
        sheet.append([str(c) for c in out.columns])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in out.itertuples(index=False):
            sheet.append([_excel_value(v) for v in row])
        for row in sheet.iter_rows(min_row=2):
            for cell in row:
                if isinstance(cell.value, dt.datetime):
                    is_midnight = cell.value.time() == dt.time()
                    cell.number_format = "DD/MM/YYYY" if is_midnight else "DD/MM/YYYY HH:MM"
                elif isinstance(cell.value, dt.date):
                    cell.number_format = "DD/MM/YYYY"
                elif isinstance(cell.value, str) and cell.data_type == "f":  # never a formula
                    cell.data_type = "s"
        for index, column in enumerate(out.columns, start=1):
            width = max([len(str(column))] + [len(str(v)) for v in out[column].head(200)])
            sheet.column_dimensions[get_column_letter(index)].width = min(max(10, width + 2), 60)
        sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# Charts.

_kaleido_lock = threading.Lock()
_kaleido_started = False


def _kaleido():
    """Kaleido with one browser kept for the life of the process."""
    global _kaleido_started
    import kaleido

    if not _kaleido_started:
        if "BROWSER_PATH" not in os.environ and os.path.exists(CHROMIUM):
            os.environ["BROWSER_PATH"] = CHROMIUM
        kaleido.start_sync_server(silence_warnings=True)
        _kaleido_started = True
    return kaleido


EXPORT_TEMPLATE = "plotly_white"


def _render(fig, fmt: str, width: int, height: int, scale: float = 1) -> bytes:
    # Importing streamlit makes its own plotly template the default (margins without automargin): render
    # exports with one explicit template so that the dashboard's PDF matches the CLI's.
    # The headless renderer measures text a little short: keep tick labels clear of horizontal bars.
    fig = go.Figure(fig).update_layout(template=EXPORT_TEMPLATE).update_yaxes(ticklabelstandoff=8)
    with _kaleido_lock:
        kaleido = _kaleido()
        return kaleido.calc_fig_sync(fig, opts=dict(format=fmt, width=width, height=height, scale=scale))


def figure_to_png(fig, width: int = 1200, height: int = 675, scale: float = 1) -> bytes:
    """The chart as a PNG of width×height pixels (times `scale`)."""
    return _render(fig, "png", width, height, scale)


def figure_to_svg(fig, width: int = 1000, height: int = 520) -> str:
    return _render(fig, "svg", width, height).decode("utf-8")


# The committee report.

@dataclass
class Section:
    """One chapter of the report: text, charts (plotly figures or SVG text) and tables."""

    title: str
    intro: str = ""
    figures: Sequence = ()
    tables: Sequence[tuple[str, pd.DataFrame]] = ()
    notes: Sequence[str] = ()


@dataclass
class CommitteeReport:
    """Everything the PDF says, as plain data. Values that must stay secret arrive as None or "secret"."""

    perimetre: str
    filtres: Mapping[str, str]
    chiffres_cles: Sequence[tuple[str, str]]
    besoins: Section
    carte: Section
    resultats: Section
    temoignages: Sequence[Mapping] = ()
    plans: Sequence[Section] = ()  # one chapter per sector plan of the scope
    definitions: Sequence[tuple[str, str]] = ()
    regle_secret: str = ""
    date: dt.date = field(default_factory=dt.date.today)
    titre: str = "Rapport du comité"
    observatoire: str = "Observatoire de l'ESS culturelle"
    vue: str = ""  # e.g. "Vue financeur : secret statistique appliqué"
    demo: bool = False


CSS = """
@page { size: A4; margin: 18mm 16mm 20mm 16mm;
        @bottom-left { content: string(doc-title); font-size: 8pt; color: #555; }
        @bottom-right { content: "Page " counter(page) " / " counter(pages); font-size: 8pt; color: #555; } }
html { font-family: "DejaVu Sans", sans-serif; font-size: 10pt; color: #1f2430; }
h1 { font-size: 26pt; margin: 0 0 4mm 0; string-set: doc-title content(); }
h2 { font-size: 16pt; border-bottom: 2px solid #0072B2; padding-bottom: 2mm; margin-top: 0; }
h3 { font-size: 11pt; margin: 5mm 0 2mm 0; }
section { page-break-before: always; }
.cover { height: 240mm; display: flex; flex-direction: column; justify-content: center; }
.cover .observatoire { color: #0072B2; font-size: 12pt; font-weight: bold; text-transform: uppercase; }
.cover .perimetre { font-size: 15pt; margin: 6mm 0; }
.cover dl { display: grid; grid-template-columns: 45mm auto; row-gap: 1.5mm; }
.cover dt { font-weight: bold; } .cover dd { margin: 0; }
.demo { border: 1px solid #E69F00; background: #fff6e0; padding: 3mm; margin-top: 8mm; }
.vue { border-left: 4px solid #D55E00; padding-left: 3mm; margin-top: 6mm; font-weight: bold; }
.cards { display: flex; flex-wrap: wrap; gap: 4mm; }
.card { border: 1px solid #ccc; border-radius: 2mm; padding: 4mm; width: 78mm; }
.card .label { font-size: 10pt; color: #444; } .card .value { font-size: 24pt; font-weight: bold; }
img.chart { width: 100%; margin: 2mm 0; }
table { border-collapse: collapse; width: 100%; font-size: 9pt; margin-bottom: 4mm; }
th { text-align: left; border-bottom: 1.5px solid #333; padding: 1.2mm 2mm; }
td { border-bottom: 0.5px solid #ccc; padding: 1.2mm 2mm; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.secret { text-align: right; font-style: italic; color: #8a3b00; }
blockquote { margin: 0 0 5mm 0; padding: 2mm 4mm; border-left: 3px solid #009E73; page-break-inside: avoid; }
blockquote .source { color: #555; font-size: 9pt; margin-top: 1.5mm; }
.methode dt { font-weight: bold; margin-top: 2.5mm; } .methode dd { margin: 0.5mm 0 0 0; }
.note { color: #555; font-size: 9pt; }
"""

THOUSANDS = "\u202f"


def _number(value, decimals: int | None = None) -> str:
    if decimals is None:
        decimals = 0 if float(value).is_integer() else 1
    text = f"{value:,.{decimals}f}"
    return text.replace(",", THOUSANDS).replace(".", ",")


def _cell(value) -> tuple[str, str]:
    """(css class, escaped text) of one table cell."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "", "—"
    if isinstance(value, str) and value == SECRET:
        return "secret", SECRET
    if isinstance(value, bool):
        return "", "oui" if value else "non"
    if isinstance(value, (int, float)) or hasattr(value, "dtype"):
        try:
            return "num", _number(float(value))
        except (TypeError, ValueError):
            pass
    if isinstance(value, (dt.date, dt.datetime, pd.Timestamp)):
        return "", f"{value:%d/%m/%Y}"
    return "", html.escape(str(value))


def _table_html(title: str, frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for row in frame.itertuples(index=False):
        cells = [_cell(v) for v in row]
        rows.append("<tr>" + "".join(f'<td class="{k}">{t}</td>' for k, t in cells) + "</tr>")
    caption = f"<h3>{html.escape(title)}</h3>" if title else ""
    return f"{caption}<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _figure_html(figure) -> str:
    """A plotly figure (rendered to SVG), SVG text, or PNG bytes (e.g. a tile-less map)."""
    if isinstance(figure, bytes):
        mime, data = "image/png", figure
    else:
        mime = "image/svg+xml"
        data = (figure if isinstance(figure, str) else figure_to_svg(figure)).encode("utf-8")
    return f'<img class="chart" src="data:{mime};base64,{base64.b64encode(data).decode("ascii")}">'


def _section_html(section: Section) -> str:
    parts = [f"<section><h2>{html.escape(section.title)}</h2>"]
    if section.intro:
        parts.append(f"<p>{html.escape(section.intro)}</p>")
    parts += [_figure_html(f) for f in section.figures]
    parts += [_table_html(t, f) for t, f in section.tables]
    parts += [f'<p class="note">{html.escape(n)}</p>' for n in section.notes]
    if not (section.figures or section.tables or section.intro):
        parts.append("<p>Aucune donnée pour ce périmètre.</p>")
    parts.append("</section>")
    return "".join(parts)


def report_html(report: CommitteeReport) -> str:
    """The report as one self-contained HTML document (what WeasyPrint prints)."""
    e = html.escape
    filters = "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in report.filtres.items())
    cover = [
        '<div class="cover">',
        f'<div class="observatoire">{e(report.observatoire)}</div>',
        f"<h1>{e(report.titre)}</h1>",
        f'<div class="perimetre">Périmètre : {e(report.perimetre)}</div>',
        f"<dl>{filters}<dt>Édité le</dt><dd>{report.date:%d/%m/%Y}</dd></dl>",
    ]
    if report.vue:
        cover.append(f'<div class="vue">{e(report.vue)}</div>')
    if report.demo:
        cover.append('<div class="demo">Données de démonstration synthétiques : elles ne décrivent aucune '
                     "structure ni aucune personne réelles.</div>")
    cover.append("</div>")

    cards = "".join(
        f'<div class="card"><div class="label">{e(label)}</div>'
        f'<div class="value">{e(value) if value not in (None, "") else SECRET}</div></div>'
        for label, value in report.chiffres_cles)
    key_figures = f'<section><h2>Chiffres clés</h2><div class="cards">{cards}</div></section>'

    # Defence in depth: a testimony without consent is never printed, whoever built the list.
    quotes = [t for t in report.temoignages if t.get("consentement_publication", True) is True]
    if quotes:
        body = "".join(
            f"<blockquote>« {e(str(t.get('texte', '')))} »<div class=\"source\">"
            + e(" · ".join(str(t[k]) if not isinstance(t[k], (dt.date, pd.Timestamp)) else f"{t[k]:%d/%m/%Y}"
                           for k in ("auteur_role", "programme", "date") if t.get(k) not in (None, "")))
            + "</div></blockquote>" for t in quotes)
    else:
        body = "<p>Aucun témoignage dont la publication a été autorisée pour ce périmètre.</p>"
    testimonies = f"<section><h2>Témoignages</h2>{body}</section>"

    definitions = "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in report.definitions)
    secrecy = f"<h3>Secret statistique</h3><p>{e(report.regle_secret)}</p>" if report.regle_secret else ""
    method = (f'<section class="methode"><h2>Méthodologie</h2><dl>{definitions}</dl>{secrecy}'
              f'<p class="note">Document produit par {e(report.observatoire)} le {report.date:%d/%m/%Y}, '
              f"à partir des fichiers importés au format d'échange v1.</p></section>")

    body = "".join([*cover, key_figures, _section_html(report.besoins), _section_html(report.carte),
                    _section_html(report.resultats), *(_section_html(p) for p in report.plans), testimonies,
                    method])
    return (f'<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>{e(report.titre)}</title>'
            f"<style>{CSS}</style></head><body>{body}</body></html>")


def file_name(parts: Sequence[str], extension: str) -> str:
    """A download's name from its parts joined by '_': ids with '/' or spaces made safe, nothing else kept
    than letters, digits, '-' and '_' (a browser would otherwise cut or refuse the name)."""
    stem = "_".join(str(p).replace("/", "-").replace(" ", "-") for p in parts)
    return "".join(ch for ch in stem if ch.isalnum() or ch in "-_") + "." + extension


def minutes_html(title: str, plan: str, table: pd.DataFrame, demo: bool = False,
                 observatoire: str = "Observatoire de l'ESS culturelle") -> str:
    """A meeting's relevé de décisions: one page, one table."""
    e = html.escape
    warning = ('<div class="demo">Données de démonstration synthétiques : elles ne décrivent aucune structure ni '
               "aucune personne réelles.</div>") if demo else ""
    body = (f'<div class="observatoire">{e(observatoire)}</div><h1>{e(title)}</h1>'
            f'<div class="perimetre">{e(plan)}</div>{warning}'
            + (_table_html("Décisions", table) if len(table) else "<p>Aucune décision à cette date.</p>")
            + f'<p class="note">Édité le {dt.date.today():%d/%m/%Y} par {e(observatoire)}.</p>')
    return (f'<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>{e(title)}</title>'
            f"<style>{CSS}</style></head><body>{body}</body></html>")


def minutes_pdf(title: str, plan: str, table: pd.DataFrame, demo: bool = False) -> bytes:
    from weasyprint import HTML

    return HTML(string=minutes_html(title, plan, table, demo)).write_pdf()


def committee_report_pdf(report: CommitteeReport) -> bytes:
    """The "Rapport du comité" as PDF bytes (offline: WeasyPrint, charts as SVG)."""
    from weasyprint import HTML

    return HTML(string=report_html(report)).write_pdf()
