"""Upload templates and the data dictionary, generated from pipelines.spec.datasets.

The validator reads the same definitions, so a template's example line always
passes validation and the dictionary always says what the validator enforces.
No Streamlit here: the upload page and `python -m pipelines modeles` call it.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from pipelines.spec import referentiels as ref
from pipelines.spec.datasets import DATASETS, KIND_LABELS, LOAD_ORDER, Column, Dataset

DICTIONARY_COLUMNS = ["jeu", "colonne", "obligatoire", "type", "regle", "exemple", "description"]


def _dataset(name: str) -> Dataset:
    try:
        return DATASETS[name]
    except KeyError:
        raise ValueError(f"Jeu de données « {name} » inconnu : choisissez parmi {', '.join(DATASETS)}.") from None


def example_row(name: str) -> list[str]:
    return [c.example for c in _dataset(name).columns]


def template_csv(name: str) -> bytes:
    """Headers plus one example line; UTF-8 with BOM and `;`, as French Excel opens it."""
    ds = _dataset(name)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(ds.column_names)
    writer.writerow(example_row(name))
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def template_xlsx(name: str) -> bytes:
    """A workbook whose first sheet, named after the dataset, holds headers plus one example line
    (as text, so that codes keep their leading zeros); a second sheet documents the columns."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    ds = _dataset(name)
    book = Workbook()
    sheet = book.active
    sheet.title = ds.name
    sheet.append(ds.column_names)
    sheet.append(example_row(name))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDE7F0")
    for cell in sheet[2]:
        cell.number_format = "@"  # text: 01004 stays 01004, 12/03/2023 stays a French date
    for column_cells in sheet.columns:
        width = max(len(str(c.value or "")) for c in column_cells)
        sheet.column_dimensions[column_cells[0].column_letter].width = min(max(width + 2, 12), 60)
    sheet.freeze_panes = "A2"

    notes = book.create_sheet("dictionnaire")
    frame = dictionary_frame(name)
    notes.append([label for label in ("Colonne", "Obligatoire", "Type", "Règle", "Exemple", "Description")])
    for cell in notes[1]:
        cell.font = Font(bold=True)
    for row in frame[DICTIONARY_COLUMNS[1:]].itertuples(index=False):
        notes.append(list(row))
    for letter, width in zip("ABCDEF", (24, 12, 30, 70, 24, 50)):
        notes.column_dimensions[letter].width = width
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _choices_text(column: Column) -> str:
    if column.choices is ref.BESOINS_ACCEPTES:
        return "un code de la typologie des besoins (voir la liste en fin de dictionnaire) ou une catégorie seule (ECO, ORG…)"
    return "code ou libellé parmi : " + ", ".join(f"{code} ({label})" for code, label in column.choices.items())


def _number(value: float) -> str:
    return f"{value:g}".replace(".", ",")


def rule(ds: Dataset, column: Column) -> str:
    """What the validator checks on this column, in French."""
    parts = []
    if column.kind in ("enum", "enum_list"):
        parts.append(_choices_text(column))
        if column.kind == "enum_list":
            parts.append("plusieurs valeurs séparées par |")
    elif column.kind == "forme_juridique":
        parts.append(_choices_text(column) + " ; ou une catégorie juridique INSEE à 4 chiffres : 92xx (association), "
                     "9300 (fondation), 5458/5558/5658 (scop)")
    elif column.kind == "siret":
        parts.append("14 chiffres avec clé de contrôle valide (espaces acceptés)")
    elif column.kind == "rna":
        parts.append("W suivi de 9 chiffres")
    elif column.kind == "commune":
        parts.append("code INSEE à 5 caractères présent dans le référentiel géographique (p. ex. 14118, 2A004)")
    elif column.kind == "region":
        parts.append("code région INSEE à 2 chiffres (p. ex. 28 Normandie, 76 Occitanie, 93 Provence-Alpes-Côte d'Azur)")
    elif column.kind == "date":
        parts.append("JJ/MM/AAAA ou AAAA-MM-JJ")
    elif column.kind == "boolean":
        parts.append("oui/non, o/n, true/false ou 1/0")
    elif column.kind == "url":
        parts.append("adresse commençant par http:// ou https://")
    elif column.kind == "text_list":
        parts.append("plusieurs valeurs séparées par |")
    elif column.kind in ("integer", "decimal"):
        if column.kind == "decimal":
            parts.append("virgule ou point décimal, espace des milliers accepté")
        maximum = "l'année en cours" if column.name == "annee_creation" else (
            _number(column.maximum) if column.maximum is not None else None)
        if column.minimum is not None and maximum is not None:
            parts.append(f"entre {_number(column.minimum)} et {maximum}")
        elif column.minimum is not None:
            parts.append(f"au moins {_number(column.minimum)}")
    if column.kind == "text":
        parts.append(f"{column.max_length} caractères au plus")
    if column.name == ds.id_column:
        parts.append("unique ; une ligne dont l'identifiant existe déjà met à jour l'enregistrement")
    if column.references:
        parts.append(f"doit exister dans le jeu {column.references} (déjà importé ou dans le même dépôt)")
    if column.name == "date_fin":
        parts.append("postérieure ou égale à date_debut")
    if column.name in ("latitude", "longitude"):
        parts.append("latitude et longitude ensemble ou aucune, en France (outre-mer compris)")
    if column.name == "nb_adherents":
        parts.append("au plus nb_participants")
    if column.name == "date_mesure":
        parts.append("postérieure ou égale au début de l'accompagnement")
    if column.personal:
        parts.append("donnée personnelle : jamais montrée aux financeurs")
    return " ; ".join(parts)


def dictionary_frame(name: str | None = None) -> pd.DataFrame:
    """One line per column of every dataset (or of one): the data dictionary as a table."""
    rows = []
    for ds in (DATASETS[n] for n in ([name] if name else LOAD_ORDER)):
        for column in ds.columns:
            rows.append({
                "jeu": ds.name,
                "colonne": column.name,
                "obligatoire": "oui" if column.required else "non",
                "type": KIND_LABELS[column.kind],
                "regle": rule(ds, column),
                "exemple": column.example,
                "description": column.description,
            })
    return pd.DataFrame(rows, columns=DICTIONARY_COLUMNS)


def dictionary_csv() -> bytes:
    buffer = io.StringIO()
    dictionary_frame().to_csv(buffer, sep=";", index=False)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _md(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def dictionary_markdown() -> str:
    lines = [
        "# Dictionnaire des données — format d'échange v1",
        "",
        "Fichiers CSV (UTF-8 ou Windows-1252 ; séparateur `;`, `,` ou tabulation) ou XLSX (première feuille, ou "
        "feuille nommée comme le jeu de données). Les noms de colonnes s'écrivent sans tenir compte des majuscules, "
        "des accents, des espaces, tirets ou soulignés. Une cellule vide est une valeur manquante. Les listes "
        "sont séparées par `|`. Une ligne dont l'identifiant existe déjà met à jour l'enregistrement.",
        "",
        "Ordre d'import d'un dépôt de plusieurs fichiers : " + " → ".join(LOAD_ORDER) + ".",
        "",
    ]
    frame = dictionary_frame()
    for name in LOAD_ORDER:
        ds = DATASETS[name]
        lines += [f"## {ds.name} — {ds.label}", "", ds.description, "",
                  "| Colonne | Obligatoire | Type | Règle | Exemple | Description |",
                  "|---|---|---|---|---|---|"]
        for row in frame[frame["jeu"] == name].itertuples():
            lines.append(f"| {row.colonne} | {row.obligatoire} | {_md(row.type)} | {_md(row.regle)} | "
                         f"{_md(row.exemple)} | {_md(row.description)} |")
        lines.append("")
    lines += ["## Typologie des besoins", "", "| Code | Libellé |", "|---|---|"]
    for category, label in ref.BESOIN_CATEGORIES.items():
        lines.append(f"| {category} | {_md(label)} (catégorie) |")
        lines += [f"| {code} | {_md(text)} |" for code, text in ref.BESOINS.items() if ref.besoin_categorie(code) == category]
    lines.append("")
    return "\n".join(lines)


def write_all(out_dir: str | Path) -> list[Path]:
    """Every template (CSV and XLSX) and the dictionary (Markdown and CSV) into `out_dir`."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in LOAD_ORDER:
        for suffix, make in ((".csv", template_csv), (".xlsx", template_xlsx)):
            path = out / f"modele_{name}{suffix}"
            path.write_bytes(make(name))
            written.append(path)
    for path, content in ((out / "dictionnaire_donnees.md", dictionary_markdown().encode("utf-8")),
                          (out / "dictionnaire_donnees.csv", dictionary_csv())):
        path.write_bytes(content)
        written.append(path)
    return written
