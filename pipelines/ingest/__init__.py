"""Ingestion of interchange-format files: read → validate → load, as one batch.

The same functions serve the CLI (`python -m pipelines ingest`), the demo
loader and the upload page; none of them imports streamlit.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import duckdb
import pandas as pd

from pipelines.ingest import load
from pipelines.ingest.profiles import Profile, ProfileError
from pipelines.ingest.read import RawTable, UnreadableFile, read_file, release_freed_memory
from pipelines.ingest.validate import BatchCheck, DatasetNotRecognised, check_batch, detect_dataset
from pipelines.reports import fmt
from pipelines.spec.datasets import DATASETS
from pipelines.store import warehouse

__all__ = ["Upload", "IngestResult", "UnreadableFile", "DatasetNotRecognised", "Profile", "ProfileError", "read_uploads",
           "preview", "ingest", "ingest_paths", "record_decision", "undo", "history"]

MODE_STRICT = "tout_ou_rien"
MODE_VALID_ONLY = "valides_seulement"

Progress = Callable[[float, str], None]


@dataclass
class Upload:
    name: str
    data: bytes
    dataset: str | None = None  # None: recognised from the headers (or the profile's)
    profile: Profile | None = None  # how to read another system's export

    @classmethod
    def from_path(cls, path: str | Path, dataset: str | None = None, profile: Profile | None = None) -> "Upload":
        path = Path(path)
        try:
            return cls(path.name, path.read_bytes(), dataset, profile)
        except OSError as exc:
            raise UnreadableFile(f"{path} : fichier illisible ({exc.strerror}).") from None


@dataclass
class IngestResult:
    status: str  # ingest: 'importe' | 'refuse' | 'inchange'; preview: 'valide' | 'erreurs'
    message: str
    problems: pd.DataFrame
    files: list[dict]
    totals: dict
    import_id: int | None = None
    raws: list[tuple[str, RawTable]] = field(default_factory=list, repr=False)
    batch: BatchCheck | None = field(default=None, repr=False)
    # A preview's: the warehouse version it was checked against, and what it checked (see ingest's `checked`).
    version: tuple | None = field(default=None, repr=False)
    uploads_key: tuple | None = field(default=None, repr=False)

    @property
    def committed(self) -> bool:
        return self.status in ("importe", "inchange")

    def rejected_rows_csv(self) -> bytes:
        """Rejected lines as the analyst wrote them, plus `ligne` and `erreur`, ready to fix."""
        return rejected_rows_csv(self.raws, self.problems)


def read_uploads(uploads: list[Upload], release_bytes: bool = False) -> list[tuple[str, RawTable]]:
    """Each upload read into a table of strings, with its dataset. `release_bytes`: each upload's bytes are
    dropped once read (the caller owns them and needs them no more: a 100 MB file is not held twice)."""
    tables = []
    for up in uploads:
        if up.profile is not None and up.dataset and up.dataset != up.profile.jeu:
            raise ProfileError(f"{up.name} : le profil « {up.profile.nom} » est fait pour le jeu {up.profile.jeu}, "
                               f"pas pour {up.dataset} ; choisissez le jeu {up.profile.jeu} ou un autre profil.")
        hint = up.dataset or (up.profile.jeu if up.profile is not None else None)
        raw = read_file(up.name, up.data, dataset_hint=hint)
        raw.profile = up.profile
        dataset = hint or detect_dataset(raw.headers, up.name)
        if dataset not in DATASETS:
            raise DatasetNotRecognised(f"Jeu de données « {dataset} » inconnu : choisissez parmi {', '.join(DATASETS)}.")
        tables.append((dataset, raw))
        if release_bytes:
            up.data = b""
    return tables


def _summaries(batch: BatchCheck) -> tuple[list[dict], dict]:
    files = []
    for f in batch.files:
        rejected = len(f.rejected_lines)
        files.append({
            "jeu": f.dataset.name, "fichier": f.raw.file_name, "sha256": f.raw.sha256,
            "format": f.raw.format, "encodage": f.raw.encoding, "separateur": f.raw.delimiter,
            "detection": f.raw.detection, "octets": f.raw.n_bytes,
            "lus": len(f.typed), "valides": len(f.typed) - rejected, "rejetes": rejected,
            "nouveau": 0, "modifie": 0, "inchange": 0,
            "profil": f.raw.profile.nom if f.raw.profile is not None else None,
        })
    totals = {k: sum(f[k] for f in files) for k in ("lus", "valides", "rejetes", "nouveau", "modifie", "inchange")}
    return files, totals


def uploads_key(uploads: list[Upload]) -> tuple:
    """What a set of uploads is, for caches and for reusing a preview: names, contents, datasets, profiles."""
    return tuple((u.name, hashlib.sha256(u.data).hexdigest(), u.dataset, u.profile) for u in uploads)


def preview(db: Path, uploads: list[Upload]) -> IngestResult:
    """Validate without writing (the upload page's report before commit)."""
    raws = read_uploads(uploads)
    before = warehouse.version(db)
    with warehouse.read_connection(db) as con:
        batch = check_batch(raws, con)
        _predict_changes(con, batch)
    # Known only if no write swapped the file while it was read (a reader may see either version otherwise).
    version = before if warehouse.version(db) == before else None
    files, totals = _summaries(batch)
    for summary, f in zip(files, batch.files):
        summary.update(f.predicted)
    totals.update({k: sum(f[k] for f in files) for k in ("nouveau", "modifie", "inchange")})
    # 'erreurs': the batch as a whole would be refused; only its valid lines could be imported.
    status = "erreurs" if batch.has_errors else "valide"
    return IngestResult(status, _describe("valide", totals), batch.problems(), files, totals, raws=raws, batch=batch,
                        version=version, uploads_key=uploads_key(uploads))


def _predict_changes(con: duckdb.DuckDBPyConnection, batch: BatchCheck) -> None:
    for f in batch.files:
        ds = f.dataset
        con.register("candidate", load.in_batches(f.valid_table()))
        same = " AND ".join(f"CAST(c.{c.name} AS {c.sql_type}) IS NOT DISTINCT FROM t.{c.name}" for c in ds.columns)
        counts = dict(con.execute(
            f"""SELECT CASE WHEN t.{ds.id_column} IS NULL THEN 'nouveau' WHEN {same} THEN 'inchange' ELSE 'modifie' END, count(*)
                FROM candidate c LEFT JOIN {ds.name} t ON t.{ds.id_column} = c.{ds.id_column} GROUP BY 1"""
        ).fetchall())
        con.unregister("candidate")
        f.predicted = {k: int(counts.get(k, 0)) for k in ("nouveau", "modifie", "inchange")}


class _NothingChanged(Exception):
    pass


class _Refused(Exception):
    pass


def ingest(db: Path, uploads: list[Upload], *, valid_only: bool = False, role: str = "analyste",
           progress: Progress | None = None,
           after_write: Callable[[duckdb.DuckDBPyConnection, int], None] | None = None,
           checked: IngestResult | None = None, release_bytes: bool = False) -> IngestResult:
    """Validate and load a batch. All-or-nothing unless `valid_only`. `after_write(con, import_id)` runs in the
    same transaction once the rows are written (e.g. marking a submission accepted): both commit or neither.
    `checked`: a preview of these very uploads; when no write happened since it (same warehouse version, seen
    under the writer's lock), its reading and checks are used instead of being done again. `release_bytes`:
    see `read_uploads`."""
    progress = progress or (lambda fraction, label: None)
    reusable = (checked is not None and checked.batch is not None and checked.version is not None
                and checked.uploads_key == uploads_key(uploads))
    progress(0.05, "Lecture des fichiers")
    raws = checked.raws if reusable else read_uploads(uploads, release_bytes)
    result: IngestResult | None = None
    try:
        with warehouse.write_transaction(db) as con:  # refuses a national warehouse (read-only)
            progress(0.2, "Vérification des lignes")
            # The lock is held: the live file's version is the one this transaction copied.
            if reusable and warehouse.version(db) == checked.version:
                batch = checked.batch
            else:
                batch = check_batch(raws, con)
            files, totals = _summaries(batch)
            problems = batch.problems()
            if (batch.has_errors and not valid_only) or totals["valides"] == 0:
                result = IngestResult("refuse", _describe("refuse", totals, valid_only=valid_only), problems, files,
                                      totals, raws=raws, batch=batch)
                raise _Refused
            # What reading and checking freed goes back to the system before DuckDB allocates for the write.
            release_freed_memory()
            import_id = load.next_import_id(con)
            for i, (summary, f) in enumerate(zip(files, batch.files)):
                progress(0.4 + 0.5 * i / len(files), f"Écriture de {f.raw.file_name}")
                summary.update(load.classify_and_write(con, f.dataset.name, f.valid_table(), import_id))
            totals.update({k: sum(f[k] for f in files) for k in ("nouveau", "modifie", "inchange")})
            if totals["nouveau"] + totals["modifie"] == 0:
                result = IngestResult("inchange", _describe("inchange", totals), problems, files, totals, raws=raws, batch=batch)
                raise _NothingChanged
            mode = MODE_VALID_ONLY if valid_only else MODE_STRICT
            load.record_import(con, import_id, role=role, mode=mode, totals=totals, files=files, problems=problems)
            if after_write is not None:
                after_write(con, import_id)
            result = IngestResult("importe", _describe("importe", totals, import_id), problems, files, totals,
                                  import_id=import_id, raws=raws, batch=batch)
    except (_Refused, _NothingChanged):
        pass
    progress(1.0, "Terminé")
    assert result is not None
    return result


def ingest_paths(db: Path, paths: list[str | Path], dataset: str | None = None, profile: Profile | None = None,
                 **kw) -> IngestResult:
    # The files are read here and nowhere else: their bytes can go once parsed.
    return ingest(db, [Upload.from_path(p, dataset, profile) for p in paths], release_bytes=True, **kw)


def record_decision(db: Path, *, id_action: str, date_comite: dt.date, decision: str, statut: str | None,
                    role: str) -> IngestResult:
    """A decision taken in a committee meeting, written as a one-line `decisions` import: the same checks,
    history and undo as a file, and the same single writer at a time. Its id orders it after the
    meeting's earlier decisions on the action (the current status is the latest one's)."""
    now = dt.datetime.now()
    row = {"id_decision": f"{id_action}-{date_comite:%Y%m%d}-{now:%H%M%S%f}", "id_action": id_action,
           "date_comite": f"{date_comite:%d/%m/%Y}", "decision": decision, "statut": statut or "",
           "auteur_role": role}
    return ingest(db, [rows_upload(f"decision-comite-{date_comite:%Y-%m-%d}.csv", "decisions", [row])], role=role)


def rows_upload(file_name: str, dataset: str, rows: list[dict]) -> Upload:
    """Rows typed in a form (a committee decision, a structure's answers) as an upload of `dataset`: a `;` CSV
    in the interchange format, checked and loaded like any file. A missing value is an empty cell."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=DATASETS[dataset].column_names, delimiter=";", lineterminator="\n",
                            extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    return Upload(file_name, buffer.getvalue().encode("utf-8"), dataset)


def _n(count: int, singular: str, plural: str | None = None) -> str:
    """'1 ligne rejetée', '2 lignes rejetées' (0 takes the singular in French)."""
    return f"{count} {singular if count <= 1 else (plural or singular + 's')}"


def _describe(status: str, t: dict, import_id: int | None = None, valid_only: bool = False) -> str:
    counts = (f"{_n(t['lus'], 'ligne lue', 'lignes lues')}, {_n(t['valides'], 'valide')}, "
              f"{_n(t['rejetes'], 'rejetée')}")
    changes = (f"{_n(t['nouveau'], 'nouvelle')}, {_n(t['modifie'], 'modifiée')}, "
               f"{_n(t['inchange'], 'inchangée')}")
    if status == "refuse":
        if t["valides"] == 0 and (valid_only or t["lus"] == 0):
            return f"Import refusé, rien n'a été écrit : aucune ligne valide à importer ({counts})."
        if t["valides"] == 0:
            return f"Import refusé, rien n'a été écrit : {counts}. Corrigez les erreurs du rapport."
        return (f"Import refusé, rien n'a été écrit : {counts}. Corrigez les erreurs du rapport, "
                "ou importez uniquement les lignes valides.")
    if status == "valide":
        if t["rejetes"]:
            return (f"Des erreurs empêchent l'import complet : {counts}. Corrigez-les, ou importez uniquement "
                    f"les lignes valides ({changes}).")
        return f"Prêt à importer : {counts} ; {changes}."
    if status == "inchange":
        if t["rejetes"]:
            return (f"Aucune modification : les lignes valides ({t['valides']}) sont déjà dans l'entrepôt à "
                    f"l'identique et {_n(t['rejetes'], 'ligne est rejetée', 'lignes sont rejetées')} ; rien n'a été écrit.")
        lines = "la ligne est" if t["lus"] <= 1 else f"les {t['lus']} lignes sont"
        return f"Aucune modification : {lines} déjà dans l'entrepôt à l'identique ; rien n'a été écrit."
    rejected = (f" {_n(t['rejetes'], 'ligne rejetée est conservée', 'lignes rejetées sont conservées')} dans "
                "l'historique." if t["rejetes"] else "")
    return f"Import n° {import_id} enregistré : {counts} ; {changes}.{rejected}"


def rejected_rows_csv(raws: list[tuple[str, RawTable]], problems: pd.DataFrame) -> bytes:
    errors = problems[problems["gravite"] == "erreur"]
    parts = []
    for _, raw in raws:
        mine = errors[errors["fichier"] == raw.file_name]
        if mine.empty:
            continue
        text = (mine["colonne"] + " : " + mine["erreur"]).groupby(mine["ligne"]).agg(" ; ".join)
        frame = raw.rows(text.index.intersection(raw.index))
        header_only = text.index.difference(raw.index)
        frame.columns = raw.headers
        frame.insert(0, "fichier", raw.file_name)
        frame.insert(1, "ligne", frame.index)
        frame["erreur"] = text.reindex(frame.index).to_numpy()
        if len(header_only):
            frame = pd.concat([pd.DataFrame({"fichier": raw.file_name, "ligne": header_only, "erreur": text[header_only].to_numpy()}), frame])
        parts.append(frame)
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["fichier", "ligne", "erreur"])
    return report_csv(out)


def report_csv(frame: pd.DataFrame) -> bytes:
    """A report table as French-Excel CSV (UTF-8 with BOM, `;`), a formula in a cell kept as text: the lines
    an analyst opens to fix must not run what the file carried (=HYPERLINK(…), @SUM(…))."""
    return ("\ufeff" + fmt.neutralised(frame).to_csv(sep=";", index=False)).encode("utf-8")


def undo(db: Path, import_id: int) -> dict[str, int]:
    with warehouse.write_transaction(db) as con:
        return load.undo_import(con, import_id)


def history(db: Path) -> pd.DataFrame:
    with warehouse.read_connection(db) as con:
        return con.execute(
            """SELECT i.import_id, i.cree_le, i.role, i.mode, i.statut, i.annule_le,
                      string_agg(DISTINCT f.jeu, ', ') AS jeux, string_agg(f.fichier, ', ') AS fichiers,
                      i.nb_lus, i.nb_valides, i.nb_rejetes, i.nb_nouveaux, i.nb_modifies, i.nb_inchanges
               FROM imports i LEFT JOIN import_fichiers f USING (import_id)
               GROUP BY ALL ORDER BY i.import_id DESC"""
        ).df()
