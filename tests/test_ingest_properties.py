"""Property: whatever is done to a valid file, ingestion answers in French and never half-writes.

Start from a valid mini-fixture file, damage it at random (lines deleted, duplicated or
swapped, a cell replaced by random text, unicode, nothing or 100 kB, the delimiter changed,
the text re-encoded, the bytes cut short), ingest it into a copy of the mini warehouse, and
check that:

* the only exceptions are the two the pages and the CLI turn into a French message
  (UnreadableFile, DatasetNotRecognised);
* a refusal, an unchanged verdict or an exception leaves the warehouse file byte-for-byte
  as it was;
* an import writes every valid line, exactly as validated, writes no rejected line, and
  touches no other dataset's table.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines import ingest
from pipelines.spec.datasets import DATASETS, LOAD_ORDER
from pipelines.store import warehouse
from tests.conftest import MINI

BASE = {name: (MINI / f"{name}.csv").read_text(encoding="utf-8") for name in LOAD_ORDER}
# Tables an import writes besides its dataset's own: the log and the history.
LOG_TABLES = {"imports", "import_fichiers", "lignes_rejetees"} | {f"{log}_{n}" for n in LOAD_ORDER for log in ("historique", "journal")}

SPECIAL_CELLS = ["", " ", "=1+1", '"', '""', ";", ",", "\t", "\n", "|", "\u00a0", "NULL", "-1", "1e9", "31/02/2022",
                 "\ufeff", "é’€œ«»", "S1", "P1", "A1"]


@st.composite
def cell_value(draw) -> str:
    kind = draw(st.sampled_from(["text", "special", "huge", "number"]))
    if kind == "text":
        return draw(st.text(max_size=20))
    if kind == "special":
        return draw(st.sampled_from(SPECIAL_CELLS))
    if kind == "huge":
        return draw(st.sampled_from(["x", "9", "é", ";"])) * draw(st.integers(1_000, 100_000))
    return str(draw(st.integers(-10**20, 10**20)))


@st.composite
def damaged_file(draw) -> tuple[str, str | None, bytes, list[str]]:
    """(file name, dataset or None for auto-detection, bytes, what was done)."""
    dataset = draw(st.sampled_from(LOAD_ORDER))
    lines = BASE[dataset].splitlines()
    done: list[str] = []
    if draw(st.booleans()):
        # New ids, so that an import adds rows rather than finding them unchanged.
        lines = [lines[0]] + ["N" + line for line in lines[1:]]
        done.append("nouveaux identifiants")
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["delete", "duplicate", "swap", "cell", "cell", "cell"]))
        if not lines:
            break
        i = draw(st.integers(0, len(lines) - 1))
        if op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        else:
            cells = lines[i].split(";")
            k = draw(st.integers(0, len(cells) - 1))
            cells[k] = draw(cell_value())
            lines[i] = ";".join(cells)
        done.append(f"{op} ligne {i + 1}")
    delimiter = draw(st.sampled_from([";", ";", ",", "\t"]))
    end = draw(st.sampled_from(["\n", "\r\n"]))
    text = end.join(line.replace(";", delimiter) for line in lines) + end
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]))
    data = text.encode(encoding, errors="replace")
    if draw(st.integers(0, 4)) == 0:
        data = data[:draw(st.integers(0, len(data)))]
        done.append("tronqué")
    done.append(f"séparateur {delimiter!r}, {encoding}")
    named = draw(st.booleans())
    return f"{dataset}.csv", dataset if named else None, data, done


def table_contents(db: Path) -> dict[str, list[tuple]]:
    """Every table's rows, sorted (the warehouse's content, independent of the file's layout)."""
    with warehouse.read_connection(db) as con:
        names = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()]
        return {n: sorted(map(repr, con.execute(f'SELECT * FROM "{n}"').fetchall()))
                for n in names if not n.startswith(("geo_", "ref_"))}


def ids_in(db: Path, dataset: str) -> set[str]:
    key = DATASETS[dataset].id_column
    with warehouse.read_connection(db) as con:
        return {r[0] for r in con.execute(f"SELECT {key} FROM {dataset}").fetchall()}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(damaged=damaged_file(), valid_only=st.booleans())
def test_damaged_files_are_committed_whole_or_not_at_all(_mini_template, damaged, valid_only):
    name, dataset, data, done = damaged
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "mini.duckdb"
        shutil.copyfile(_mini_template, db)
        before_bytes = hashlib.sha256(db.read_bytes()).hexdigest()
        before = table_contents(db)
        before_ids = {n: ids_in(db, n) for n in LOAD_ORDER}
        upload = ingest.Upload(name, data, dataset)
        try:
            result = ingest.ingest(db, [upload], valid_only=valid_only)
        except (ingest.UnreadableFile, ingest.DatasetNotRecognised) as exc:
            assert str(exc) and "\n" not in str(exc), done
            assert hashlib.sha256(db.read_bytes()).hexdigest() == before_bytes, done
            return
        if result.status in ("refuse", "inchange"):
            assert hashlib.sha256(db.read_bytes()).hexdigest() == before_bytes, (done, result.message)
            return

        assert result.status == "importe", (done, result.status)
        errors = result.problems[result.problems["gravite"] == "erreur"]
        if not valid_only:
            assert errors.empty, (done, errors)
        (check,) = result.batch.files
        written = check.dataset.name
        after = table_contents(db)
        # No other dataset was touched.
        for table, rows in before.items():
            if table != written and table not in LOG_TABLES:
                assert after[table] == rows, (done, table)
        # Every valid line is in the warehouse, the rejected ones (new ids) are not.
        valid_ids = set(check.valid[check.dataset.id_column])
        stored = ids_in(db, written)
        assert valid_ids <= stored, (done, valid_ids - stored)
        ids = check.typed[check.dataset.id_column]
        rejected = set(ids[ids.index.isin(check.rejected_lines)].dropna())
        assert not (rejected - valid_ids - before_ids[written]) & stored, done
        assert len(after[written]) == len(before[written]) + result.totals["nouveau"], done
        # … exactly as validated: the same file again finds every valid line unchanged.
        again = ingest.preview(db, [upload])
        assert (again.totals["valides"], again.totals["inchange"]) == (result.totals["valides"], result.totals["valides"]), done
        assert again.totals["nouveau"] == again.totals["modifie"] == 0, done
