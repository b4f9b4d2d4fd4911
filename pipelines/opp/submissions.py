"""What structures submit, held for an analyst's review, then written through the ingestion path.

Two kinds: a structure's yearly answers (`observation`, from its personal link) and a structure that comes
by itself (`adhesion`, the direct welcome). Nothing submitted reaches the dashboard before an analyst
accepts it; accepting builds the rows in the interchange format and ingests them (the same checks, history
and undo as a file), and marks the submission in the same transaction. Refusing changes no data.
"""

from __future__ import annotations

import datetime as dt
import json
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from pipelines import ingest
from pipelines.opp.tokens import Opened, still_open
from pipelines.spec import referentiels as ref
from pipelines.spec.datasets import DATASETS
from pipelines.store import warehouse

OBSERVATION, ADHESION = "observation", "adhesion"
PENDING, ACCEPTED, REFUSED, REPLACED = "en_attente", "acceptee", "refusee", "remplacee"
STATUS_LABELS = {PENDING: "en attente", ACCEPTED: "acceptée", REFUSED: "refusée",
                 REPLACED: "remplacée par un envoi plus récent"}
ANSWER_COLUMNS = [c.name for c in DATASETS["observations"].columns
                  if c.name not in ("id_observation", "id_structure", "annee", "source")]
WELCOME_COLUMNS = [c.name for c in DATASETS["structures"].columns if c.name != "id_structure"]
NEW_ID = "NOUVELLE"
# Needs a structure may name in a form: the typology's codes (categories are for programmes' records).
NEED_LABELS = {code: f"{code} — {label}" for code, label in ref.BESOINS_ACCEPTES.items() if "." in code}  # stands for the id a direct welcome gets when it is accepted


class SubmissionError(ValueError):
    """A submission that cannot be taken or decided (French message)."""


@dataclass
class Checked:
    """A form's answers checked by the upload rules: the rows, and the problems (none: it may be submitted)."""
    rows: dict[str, dict[str, str]]
    problems: pd.DataFrame

    @property
    def ok(self) -> bool:
        return not (self.problems["gravite"] == "erreur").any() if len(self.problems) else True


def _uploads(rows: dict[str, dict[str, str]], label: str) -> list[ingest.Upload]:
    return [ingest.rows_upload(f"{label}-{name}.csv", name, [row]) for name, row in rows.items()]


# Control characters (an ESC sequence, a NUL, Word's line breaks) and invisible format characters (zero-width
# spaces, right-to-left overrides) have no place in a form's answer: removed, the text kept.
_INVISIBLE = {i: None for i in range(0x20) if chr(i) not in "\t\n\r"} | {0x7f: None}


def clean(text: object) -> str:
    """A form's answer as kept: controls and invisible format characters removed (line breaks kept), trimmed."""
    cleaned = str(text or "").replace("\x0b", "\n").replace("\x0c", "\n").translate(_INVISIBLE)
    return "".join(ch for ch in cleaned if unicodedata.category(ch) != "Cf").strip()


def _check(db: Path, rows: dict[str, dict[str, str]], label: str) -> Checked:
    """The upload page's verdict on these rows, without writing anything."""
    try:
        result = ingest.preview(db, _uploads(rows, label))
    except ingest.UnreadableFile as exc:  # the rows are built by us: only a very odd answer gets here
        problem = pd.DataFrame([{"colonne": "", "valeur": "", "gravite": "erreur",
                                 "erreur": f"Réponse illisible ({exc}) ; retirez les caractères spéciaux."}])
        return Checked(rows, problem)
    problems = result.problems
    # The form has no "line 2": say which field, as the form names it.
    return Checked(rows, problems[["colonne", "valeur", "erreur", "gravite"]].reset_index(drop=True))


def observation_row(opened: Opened, answers: dict[str, str], existing_id: str | None = None) -> dict[str, str]:
    """The structure's answers as an observations row. `existing_id`: the id its observation of that year
    already has (a network's survey imported it under its own id): the answers update that row."""
    row = {name: clean(answers.get(name)) for name in ANSWER_COLUMNS}
    return {"id_observation": existing_id or f"OB-{opened.id_structure}-{opened.annee}",
            "id_structure": opened.id_structure, "annee": str(opened.annee), **row, "source": "questionnaire"}


def _existing_id(con: duckdb.DuckDBPyConnection, id_structure: str, annee: int) -> str | None:
    """The id a structure's observation of that year already has (a network's survey may have its own)."""
    found = con.execute("SELECT id_observation FROM observations WHERE id_structure = ? AND annee = ?",
                        [id_structure, annee]).fetchall()
    return found[0][0] if found else None


def check_observation(db: Path, opened: Opened, answers: dict[str, str]) -> Checked:
    with warehouse.read_connection(db) as con:
        existing = _existing_id(con, opened.id_structure, opened.annee)
    return _check(db, {"observations": observation_row(opened, answers, existing)}, "questionnaire")


def submit_observation(db: Path, opened: Opened, answers: dict[str, str]) -> int:
    """Queue a structure's answers for the campaign; its earlier pending answers are marked replaced (never
    deleted: a number the analyst has seen always means the same answers). Refused if the link was revoked or
    has expired meanwhile."""
    checked = check_observation(db, opened, answers)
    if not checked.ok:
        raise SubmissionError("Certaines réponses sont à corriger : " + _summary(checked.problems))
    content = json.dumps(checked.rows, ensure_ascii=False)
    with warehouse.write_transaction(db) as con:
        if not still_open(con, opened.selecteur):
            raise SubmissionError("Votre lien a été révoqué ou a expiré : rien n'a été envoyé. Demandez un nouveau "
                                  "lien à l'observatoire.")
        con.execute("UPDATE opp_soumissions SET statut = ?, decide_le = ? WHERE nature = ? AND id_structure = ? "
                    "AND annee = ? AND statut = ?", [REPLACED, dt.datetime.now().replace(microsecond=0), OBSERVATION,
                                                     opened.id_structure, opened.annee, PENDING])
        return _insert(con, OBSERVATION, opened.id_structure, opened.annee, content)


def welcome_rows(fields: dict[str, str], besoins: list[str], commentaire: str, today: dt.date) -> dict[str, dict]:
    structure = {"id_structure": NEW_ID, **{name: clean(fields.get(name)) for name in WELCOME_COLUMNS}}
    observation = {"id_observation": f"OB-{NEW_ID}-{today.year}", "id_structure": NEW_ID, "annee": str(today.year),
                   "besoins": "|".join(besoins), "commentaire": clean(commentaire), "source": "questionnaire"}
    return {"structures": structure, "observations": observation}


def check_welcome(db: Path, fields: dict[str, str], besoins: list[str], commentaire: str = "",
                  today: dt.date | None = None) -> Checked:
    checked = _check(db, welcome_rows(fields, besoins, commentaire, today or dt.date.today()), "rejoindre")
    # The placeholder id is not the structure's business: no message about it.
    checked.problems = checked.problems[checked.problems["valeur"] != NEW_ID].reset_index(drop=True)
    return checked


def submit_welcome(db: Path, fields: dict[str, str], besoins: list[str], commentaire: str = "",
                   today: dt.date | None = None) -> int:
    """Queue a structure that comes by itself (orientation: direct); the queue's number."""
    today = today or dt.date.today()
    checked = check_welcome(db, fields, besoins, commentaire, today)
    if not checked.ok:
        raise SubmissionError("Certaines réponses sont à corriger : " + _summary(checked.problems))
    content = json.dumps({**checked.rows, "orientation": "direct"}, ensure_ascii=False)
    with warehouse.write_transaction(db) as con:
        return _insert(con, ADHESION, None, today.year, content)


def _insert(con: duckdb.DuckDBPyConnection, nature: str, id_structure: str | None, annee: int, content: str) -> int:
    number = int(con.execute("SELECT coalesce(max(id_soumission), 0) + 1 FROM opp_soumissions").fetchone()[0])
    con.execute("INSERT INTO opp_soumissions VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL)",
                [number, nature, id_structure, annee, content, PENDING, dt.datetime.now().replace(microsecond=0)])
    return number


def _summary(problems: pd.DataFrame) -> str:
    errors = problems[problems["gravite"] == "erreur"]
    return " ; ".join(f"{r.colonne} : {r.erreur}" for r in errors.head(5).itertuples())


# ---------------------------------------------------------------------- the review queue


def listing(con: duckdb.DuckDBPyConnection, status: str | None = None) -> pd.DataFrame:
    """The queue, newest first: number, kind, structure, year, status, dates, reason, import (and whether it
    was undone since)."""
    return con.execute(
        """SELECT s.id_soumission, s.nature, coalesce(s.id_structure, json_extract_string(s.contenu, '$.structures.nom'))
                  AS structure, s.annee, s.statut, s.cree_le, s.decide_le, s.motif, s.import_id,
                  i.statut = 'annule' AS annulee
           FROM opp_soumissions s LEFT JOIN imports i USING (import_id)
           WHERE $statut IS NULL OR s.statut = $statut ORDER BY s.id_soumission DESC""", {"statut": status}).df()


def _load(con: duckdb.DuckDBPyConnection, number: int) -> tuple[str, str | None, str, dict]:
    rows = con.execute("SELECT nature, id_structure, statut, contenu FROM opp_soumissions WHERE id_soumission = ?",
                       [number]).fetchall()
    if not rows:
        raise SubmissionError(f"Soumission n° {number} introuvable.")
    nature, id_structure, status, content = rows[0]
    return nature, id_structure, status, json.loads(content)


def changes(con: duckdb.DuckDBPyConnection, number: int) -> pd.DataFrame:
    """What accepting submission `number` would change: jeu, colonne, avant (in the warehouse), apres."""
    _, _, _, content = _load(con, number)
    out = []
    for dataset, row in content.items():
        if dataset not in DATASETS:
            continue
        ds = DATASETS[dataset]
        stored = con.execute(f"SELECT * FROM {dataset} WHERE {ds.id_column} = ?", [row[ds.id_column]]).df()
        before = stored.iloc[0].to_dict() if len(stored) else {}
        for column in ds.column_names:
            new, old = row.get(column, ""), _written(before.get(column))
            if column != ds.id_column and (new or old) and new != old:
                out.append({"jeu": dataset, "colonne": column, "avant": old, "apres": new})
    return pd.DataFrame(out, columns=["jeu", "colonne", "avant", "apres"])


def _written(value) -> str:
    """A stored value as the form writes it (for the before/after table and the prefill)."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return "|".join(map(str, value))
    if value is None or pd.isna(value):
        return ""
    if isinstance(value, (dt.date, pd.Timestamp)):
        return f"{value:%d/%m/%Y}"
    if isinstance(value, (bool, np.bool_)):
        return "oui" if value else "non"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:.6f}".rstrip("0").replace(".", ",")
    return str(value)


def accept(db: Path, number: int, role: str, *, programme: str | None = None,
           today: dt.date | None = None) -> ingest.IngestResult:
    """Write submission `number` through ingestion and mark it accepted, in one transaction. A direct welcome
    gets its structure id here and, with `programme`, an accompaniment at the welcome step (orientation direct)."""
    today = today or dt.date.today()
    with warehouse.read_connection(db) as con:
        nature, _, status, content = _load(con, number)
        rows = {name: dict(row) for name, row in content.items() if name in DATASETS}
        new_id = None
        if nature == ADHESION:
            taken = {r[0] for r in con.execute("SELECT id_structure FROM structures WHERE id_structure LIKE 'OPP%'").fetchall()}
            new_id = next(f"OPP{n:05d}" for n in range(number, number + 100_000) if f"OPP{n:05d}" not in taken)
        else:  # a network's survey imported since may hold this year under its own id
            observation = rows["observations"]
            existing = _existing_id(con, observation["id_structure"], int(observation["annee"]))
            if existing:
                observation["id_observation"] = existing
    if status != PENDING:
        raise SubmissionError(f"Soumission n° {number} déjà {STATUS_LABELS[status]} : rien à faire.")
    if new_id:
        rows["structures"]["id_structure"] = new_id
        rows["observations"].update(id_structure=new_id, id_observation=f"OB-{new_id}-{rows['observations']['annee']}")
        if programme:
            besoins = [b for b in rows["observations"].get("besoins", "").split("|") if b]
            rows["accompagnements"] = {
                "id_accompagnement": f"ACC-{new_id}", "id_structure": new_id, "id_programme": programme,
                "date_debut": f"{today:%d/%m/%Y}", "etape": "accueil", "modalite": "individuel",
                "besoin_principal": besoins[0] if besoins else "", "besoins": "|".join(besoins),
                "orientation": content.get("orientation", "direct")}

    def mark(con: duckdb.DuckDBPyConnection, import_id: int | None) -> None:
        # Checked again inside the writing transaction: a refusal (or another acceptance) that got there first
        # aborts this one, rows included.
        now = con.execute("SELECT statut FROM opp_soumissions WHERE id_soumission = ?", [number]).fetchone()[0]
        if now != PENDING:
            raise SubmissionError(f"Soumission n° {number} déjà {STATUS_LABELS[now]} entre-temps : rien n'a été écrit.")
        con.execute("UPDATE opp_soumissions SET statut = ?, decide_le = ?, import_id = ?, id_structure = "
                    "coalesce(id_structure, ?) WHERE id_soumission = ?",
                    [ACCEPTED, dt.datetime.now().replace(microsecond=0), import_id, new_id, number])

    result = ingest.ingest(db, _uploads(rows, f"soumission-{number}"), role=role, after_write=mark)
    if result.status == "inchange":  # the warehouse already says the same: nothing to import, still decided
        with warehouse.write_transaction(db) as con:
            mark(con, None)
    return result


def refuse(db: Path, number: int, motif: str) -> None:
    if not motif.strip():
        raise SubmissionError("Donnez le motif du refus : il est gardé avec la soumission.")
    with warehouse.write_transaction(db) as con:
        _, _, status, _ = _load(con, number)
        if status != PENDING:
            raise SubmissionError(f"Soumission n° {number} déjà {STATUS_LABELS[status]} : rien à faire.")
        con.execute("UPDATE opp_soumissions SET statut = ?, decide_le = ?, motif = ? WHERE id_soumission = ?",
                    [REFUSED, dt.datetime.now().replace(microsecond=0), motif.strip()[:2000], number])


def previous_answers(con: duckdb.DuckDBPyConnection, opened: Opened) -> dict[str, str]:
    """What to prefill the year's questionnaire with: the structure's answers pending for this campaign, else
    its observation of this year, else its latest earlier one (carried forward)."""
    pending = con.execute("""SELECT contenu FROM opp_soumissions WHERE nature = ? AND id_structure = ? AND annee = ?
                             AND statut = ? ORDER BY id_soumission DESC LIMIT 1""",
                          [OBSERVATION, opened.id_structure, opened.annee, PENDING]).fetchall()
    if pending:
        row = json.loads(pending[0][0])["observations"]
        return {name: row.get(name, "") for name in ANSWER_COLUMNS}
    stored = con.execute("""SELECT * FROM observations WHERE id_structure = ? AND annee <= ?
                            ORDER BY annee DESC LIMIT 1""", [opened.id_structure, opened.annee]).df()
    if stored.empty:
        return {}
    row = stored.iloc[0].to_dict()
    answers = {name: _written(row.get(name)) for name in ANSWER_COLUMNS}
    if int(row["annee"]) < opened.annee:
        answers["commentaire"] = ""  # last year's comment is last year's
    return answers


def programme_choices(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Programmes a direct welcome may be oriented to: id → « name (id) »."""
    return {p: f"{n} ({p})" for p, n in con.execute("SELECT id_programme, nom FROM programmes ORDER BY nom").fetchall()}
