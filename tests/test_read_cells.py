"""A file's cells as the reader holds them (issue 14, speed and memory): a plain export parsed by Arrow from
its bytes, dictionary-encoded, gives cell for cell what the general reader gives; the columns kept as
distinct values and codes read back as the lines they came from."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest

from pipelines import ingest
from pipelines.ingest import read
from pipelines.ingest.read import read_file

HEADER = "id_structure;nom;domaine;code_commune"
LINES = ["S1;Théâtre du Port;theatre;14118", "S2;Compagnie A;musique;14118", "S3; Compagnie A ;musique;76540",
         "S4;Théâtre du Port;theatre;14118", "S5;id_structure;;76540"]


def general_way(text: str) -> list[list[str]]:
    """What the csv module reads, header first: the reference."""
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))


@pytest.mark.parametrize("bom", [False, True])
def test_a_plain_export_is_read_from_its_bytes_cell_for_cell(bom, monkeypatch):
    text = "\n".join([HEADER, *LINES]) + "\n"
    data = ("\ufeff" if bom else "").encode() + text.encode("utf-8")
    # The fast path must not decode the whole file into one Python string.
    decoded = []
    monkeypatch.setattr(read, "decode", lambda d: decoded.append(d) or (_ for _ in ()).throw(AssertionError))
    raw = read_file("structures.csv", data)
    assert not decoded
    assert raw.encoding == ("UTF-8 (BOM)" if bom else "UTF-8")
    expected = general_way(text)
    assert raw.headers == expected[0]
    assert raw.frame.to_numpy().tolist() == expected[1:]
    assert list(raw.index) == [2, 3, 4, 5, 6]
    # A cell equal to its header (S5's nom) is a value like any other, and the header is no line's value.
    assert raw.column(1).tolist() == [row[1] for row in expected[1:]]
    assert "id_structure" not in set(raw.cells[0].values)


def test_a_file_that_is_not_utf8_after_all_goes_the_general_way():
    text = "\n".join([HEADER, *LINES]) + "\n"
    raw = read_file("structures.csv", text.encode("cp1252"))
    assert raw.encoding == "Windows-1252"
    assert raw.frame.to_numpy().tolist() == general_way(text)[1:]


def test_blank_lines_between_records_are_dropped_and_the_numbering_kept():
    # A line of bare delimiters and spaces is as wide as the header: Arrow parses it, the reader drops it.
    text = "\n".join([HEADER, LINES[0], " ; ; ; ", LINES[1]]) + "\n"
    raw = read_file("structures.csv", text.encode("utf-8"))
    assert list(raw.index) == [2, 4]
    assert raw.column(0).tolist() == ["S1", "S2"]
    assert raw.rows([4, 99]).to_numpy().tolist() == [LINES[1].split(";")]


def test_trailing_unnamed_empty_columns_are_dropped():
    text = "\n".join([HEADER + ";;", *(line + ";;" for line in LINES)]) + "\n"
    raw = read_file("structures.csv", text.encode("utf-8"))
    assert raw.headers == HEADER.split(";")
    assert raw.frame.shape == (len(LINES), 4)


def test_a_long_line_is_found_whatever_block_it_straddles(monkeypatch):
    monkeypatch.setattr(read, "MAX_LINE_BYTES", 50)
    monkeypatch.setattr(read, "LINE_SCAN_BLOCK", 16)
    rng = np.random.default_rng(7)
    for _ in range(200):
        # Lengths well off the limit: whether a \r\n's \r counts in its line's length does not matter.
        lengths = rng.choice([*range(0, 40), *range(60, 80)], size=rng.integers(1, 8))
        # Mixed breaks (lone \r among them: the numpy scan), or only \n / \r\n (the jump from break to break).
        kinds = [b"\n", b"\r\n", b"\r"] if rng.random() < 0.5 else [b"\n", b"\r\n"]
        breaks = rng.choice(kinds, size=len(lengths))
        data = b"".join(b"a" * int(n) + b for n, b in zip(lengths, breaks)) + b"a" * 60
        lines = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
        expected = next((i + 1 for i, line in enumerate(lines) if len(line) > 50), None)
        assert read._longest_line(data) == expected, (lengths, breaks)


def test_an_import_leaves_no_spill_files_beside_the_warehouse(empty_db):
    result = ingest.ingest(empty_db, [ingest.Upload("programmes.csv", (
        "id_programme;nom;operateur;type;code_region;date_debut\nP1;Prog;Op;dla;28;01/01/2024\n").encode())])
    assert result.status == "importe", result.message
    assert sorted(p.name for p in empty_db.parent.iterdir() if p.name.startswith(".")) == []
