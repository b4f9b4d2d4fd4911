"""Read an uploaded file (bytes) into a table of strings.

Readers take bytes and sniff format, encoding and delimiter themselves. The
returned table's lines are numbered as the analyst sees them in the file
(header = line 1; for XLSX, the spreadsheet row), so every later error can
point at it.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import hashlib
import io
import os
import re
import zipfile
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pipelines.ingest.profiles import Profile
from pipelines.ingest.values import normalize_key, strip_cells
from pipelines.spec.datasets import DATASETS

MAX_BYTES_DEFAULT = 500 * 1024 * 1024
DELIMITERS = {";": "point-virgule", ",": "virgule", "\t": "tabulation"}
XLSX_MAGIC = b"PK\x03\x04"
# Signatures of files analysts upload by mistake, with the fix to suggest.
OTHER_FORMATS = {
    b"%PDF": "un document PDF",
    b"\x89PNG": "une image PNG",
    b"\xff\xd8\xff": "une image JPEG",
    b"GIF8": "une image GIF",
}
ODS_MIMETYPE = b"mimetypeapplication/vnd.oasis.opendocument.spreadsheet"
# Share of control characters above which decoded "text" is in fact binary.
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LINE_BREAKS = re.compile(r"\r\n|\r|\n")
_BLANK_BYTES = re.compile(rb"[ \t\n\r\x0b\x0c]*")


EMPTY_FILE = ("le fichier est vide : vérifiez que vous déposez le bon fichier, avec une ligne d'en-tête "
              "puis une ligne par enregistrement.")


class UnreadableFile(ValueError):
    """The file cannot be read at all (binary, empty, corrupt, too large). French message."""


class DistinctCells:
    """A column of cells as its distinct values and the code of each line's value.

    Exports repeat values (dates, codes, need lists): a file's columns are held this way from the moment
    they are parsed, rules run on `values`, and the full column (`values` spread to the lines) is built only
    when something asks for it.
    """

    __slots__ = ("codes", "values", "index", "_full")

    def __init__(self, codes: np.ndarray, values: pd.Series, index: pd.Index):
        self.codes, self.values, self.index = codes, values, index
        self._full: pd.Series | None = None

    @classmethod
    def of(cls, column: pd.Series) -> "DistinctCells":
        codes, uniques = pd.factorize(column, use_na_sentinel=False)
        return cls(_compact(codes), pd.Series(uniques, dtype="str"), column.index)

    def stripped(self) -> "DistinctCells":
        """Cells trimmed, an empty cell missing (values.strip_cells), computed once per distinct raw cell."""
        trimmed = strip_cells(pd.DataFrame({"v": self.values}))["v"]
        if trimmed.notna().all() and (trimmed == self.values).all():
            # Nothing to trim (ids, most exports): the values are already distinct.
            return DistinctCells(self.codes, trimmed, self.index)
        # " A1" and "A1" are one value once trimmed.
        merged, distinct = pd.factorize(trimmed, use_na_sentinel=False)
        return DistinctCells(_compact(merged)[self.codes], pd.Series(distinct, dtype=trimmed.dtype), self.index)

    def translated(self, translate) -> "DistinctCells":
        """The same lines with each distinct value passed through `translate` (a profile's value mapping)."""
        return DistinctCells(self.codes, translate(self.values), self.index)

    def full(self) -> pd.Series:
        """Every line's value (kept once built: validation quotes a column's cells in several messages)."""
        if self._full is None:
            self._full = self.series()
        return self._full

    def series(self, positions: np.ndarray | None = None) -> pd.Series:
        """Every line's value, or those of the lines at `positions`, built anew."""
        if positions is None:
            return self.values.take(self.codes).set_axis(self.index)
        return self.values.take(self.codes[positions]).set_axis(self.index[positions])

    def lines(self, positions: np.ndarray, index: pd.Index) -> "DistinctCells":
        """The lines at `positions`, numbered `index`, without the values no line holds any more."""
        codes = self.codes[positions]
        used = np.bincount(codes, minlength=len(self.values)) > 0
        if used.all():
            return DistinctCells(codes, self.values, index)
        renumber = np.cumsum(used, dtype=np.int64) - 1
        return DistinctCells(_compact(renumber[codes]), self.values[used].reset_index(drop=True), index)


def _compact(codes: np.ndarray) -> np.ndarray:
    """Codes in 32 bits (a file has fewer than 2³¹ lines): a million lines of 14 columns, 56 MB less."""
    return codes.astype(np.int32, copy=False)


@dataclass
class RawTable:
    file_name: str
    sha256: str
    format: str  # 'csv' | 'xlsx'
    headers: list[str]  # as written in the file
    cells: list[DistinctCells]  # one per header position, each line's cell as a string
    index: pd.Index  # the line numbers
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    notes: list[str] = field(default_factory=list)  # what was detected, for the report
    # Lines whose number of fields differs from the header's: line number → fields found.
    ragged: pd.Series = field(default_factory=lambda: pd.Series(dtype="int64"))
    header_line: int = 1  # below title rows of a spreadsheet, the header is further down
    profile: "Profile | None" = None  # how to read another system's export (pipelines.ingest.profiles)
    n_bytes: int | None = None  # the file's size, for the report

    def column(self, position: int) -> pd.Series:
        """The cells at a header position, one per line (built on each call)."""
        return self.cells[position].series()

    @property
    def frame(self) -> pd.DataFrame:
        """Every cell, one str column per header position ("0", "1", …), index = line number. Built on each
        call: for previews and small files; validation reads `cells`."""
        return self.rows(None)

    def rows(self, lines: "pd.Index | None") -> pd.DataFrame:
        """The cells of `lines` (those of the file among them, in their order), as `frame` has them."""
        positions = None if lines is None else self.index.get_indexer(lines)
        if positions is not None:
            positions = positions[positions >= 0]
        frame = pd.DataFrame({str(i): c.series(positions) for i, c in enumerate(self.cells)},
                             index=self.index if positions is None else self.index[positions])
        frame.index.name = "ligne"
        return frame

    @property
    def detection(self) -> str:
        if self.format == "xlsx":
            how = f"Excel (feuille « {self.sheet} »" + (f", en-tête ligne {self.header_line})" if self.header_line > 1 else ")")
        else:
            how = f"CSV, encodage {self.encoding}, séparateur {DELIMITERS.get(self.delimiter, repr(self.delimiter))}"
        return how + (f", profil « {self.profile.nom} »" if self.profile is not None and self.profile.nom else "")


def max_bytes() -> int:
    value = os.environ.get("OBSERVATOIRE_TAILLE_MAX_MO")
    return int(float(value) * 1024 * 1024) if value else MAX_BYTES_DEFAULT


# What a file may expand to, checked before it is expanded: a few kilobytes must not become gigabytes.
INFLATION = 4  # a spreadsheet's XML may be this many times the largest accepted file, once decompressed
MAX_COLUMNS = 2_000  # the widest dataset has 14 columns; an export with comments and extras, a few dozen
MAX_CELLS = 60_000_000  # declared rows × columns of a sheet (1,000,000 rows of 60 columns)
MAX_LINE_BYTES = 1024 * 1024  # a text cell is at most 2,000 characters: a 1 MB line is no export's


def max_inflated_bytes() -> int:
    return INFLATION * max_bytes()


def _spaced(count: int) -> str:
    return f"{count:,}".replace(",", " ")


def read_file(file_name: str, data: bytes, dataset_hint: str | None = None) -> RawTable:
    limit = max_bytes()
    if len(data) > limit:
        raise UnreadableFile(
            f"{file_name} : fichier trop volumineux ({len(data) / 1e6:.0f} Mo, maximum {limit / 1e6:.0f} Mo) ; "
            "découpez-le en plusieurs fichiers."
        )
    # Only blanks (bytes.strip's) after an optional BOM; a scan that stops at the first other byte, no copy.
    if _BLANK_BYTES.fullmatch(data, 3 if data.startswith(b"\xef\xbb\xbf") else 0):
        raise UnreadableFile(f"{file_name} : {EMPTY_FILE}")
    sha = hashlib.sha256(data).hexdigest()
    for magic, what in OTHER_FORMATS.items():
        if data.startswith(magic):
            raise UnreadableFile(f"{file_name} : fichier binaire ({what}), pas un tableau : déposez un CSV ou un classeur .xlsx.")
    if data.startswith(XLSX_MAGIC) and data[30:30 + len(ODS_MIMETYPE)] == ODS_MIMETYPE:
        raise UnreadableFile(
            f"{file_name} : classeur OpenDocument (.ods) non pris en charge ; enregistrez-le en .xlsx ou en CSV."
        )
    if data.startswith(XLSX_MAGIC) or file_name.lower().endswith((".xlsx", ".xlsm")):
        table = _read_xlsx(file_name, data, sha, dataset_hint)
    elif file_name.lower().endswith(".xls") or data.startswith(b"\xd0\xcf\x11\xe0"):
        raise UnreadableFile(
            f"{file_name} : ancien format Excel (.xls) non pris en charge ; enregistrez le classeur en .xlsx ou en CSV."
        )
    else:
        table = _read_csv(file_name, data, sha)
    table.n_bytes = len(data)
    return table


def decode(data: bytes) -> tuple[str, str]:
    """Decode CSV bytes: UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        # A truncated file may end in half a character: drop it (the cut line is reported as incomplete).
        try:
            return data[:len(data) - len(data) % 2].decode("utf-16"), "UTF-16"
        except UnicodeDecodeError:
            raise UnreadableFile(
                "le fichier annonce l'encodage UTF-16 mais contient des caractères invalides : "
                "réenregistrez-le en « CSV UTF-8 »."
            ) from None
    if b"\x00" in data[:4096]:
        raise UnreadableFile("le fichier semble binaire (octets nuls) : attendu un CSV texte ou un classeur .xlsx.")
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return _decode_utf8(data[3:]), "UTF-8 (BOM)"
        except UnicodeDecodeError as exc:
            line = data[:exc.start + 3].count(b"\n") + 1
            raise UnreadableFile(
                f"le fichier annonce l'encodage UTF-8 mais la ligne {line} contient un caractère dans un autre "
                "encodage : réenregistrez tout le fichier en « CSV UTF-8 »."
            ) from None
    try:
        return _decode_utf8(data), "UTF-8"
    except UnicodeDecodeError:
        pass
    mixed = _decode_mixed(data)
    if mixed is not None:
        return mixed, MIXED_ENCODINGS
    from charset_normalizer import from_bytes

    # Exports from French office tools are Windows-1252 (a superset of Latin-1 for € ’ œ « »).
    best = from_bytes(data[:200_000], cp_isolation=["cp1252", "latin_1", "mac_roman"]).best()
    encoding = best.encoding if best is not None else "cp1252"
    try:
        return data.decode(encoding), _encoding_label(encoding)
    except UnicodeDecodeError:
        return data.decode("latin-1"), "ISO-8859-1"


MIXED_ENCODINGS = "UTF-8 et Windows-1252 mêlés"


def _decode_mixed(data: bytes) -> str | None:
    """Lines in UTF-8 beside lines in Windows-1252 (a paste from another file): each line in its own, when at
    least one line really is UTF-8 beyond ASCII; else None (the whole file is in one 8-bit encoding)."""
    lines = data.split(b"\n")
    decoded, utf8_beyond_ascii = [], False
    for line in lines:
        try:
            text = line.decode("utf-8")
            utf8_beyond_ascii |= not line.isascii()
        except UnicodeDecodeError:
            text = line.decode("cp1252", errors="replace")
        decoded.append(text)
    return "\n".join(decoded) if utf8_beyond_ascii else None


def _decode_utf8(data: bytes) -> str:
    """UTF-8, tolerating a character cut in two by a truncated file (the cut line is reported as incomplete)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.reason == "unexpected end of data" and exc.end == len(data):
            return data[:exc.start].decode("utf-8")
        raise


def _encoding_label(codec: str) -> str:
    return {"cp1252": "Windows-1252", "latin_1": "ISO-8859-1", "mac_roman": "Mac Roman"}.get(codec, codec)


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the header line the most (outside quotes)."""
    end = text.find("\n")
    first_line = text if end < 0 else text[:end]  # not split(): it would copy the whole rest of the text
    counts = {}
    for delim in DELIMITERS:
        try:
            counts[delim] = len(next(csv.reader([first_line], delimiter=delim)))
        except (StopIteration, csv.Error):
            counts[delim] = 0
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 1 else ";"


def _read_csv(file_name: str, data: bytes, sha: str) -> RawTable:
    # The common export (UTF-8, no quote, no blank line above the header) is checked on its bytes and parsed
    # by Arrow straight from them: a 100 MB file is not also held as a 100-200 MB Python string.
    plain = _plain_utf8(data)
    if plain is not None:
        encoding = "UTF-8 (BOM)" if data.startswith(b"\xef\xbb\xbf") else "UTF-8"
        head, skipped = bytes(plain[:1_000_000]).decode("utf-8", errors="replace"), 0
        if b"\x00" in data:
            _refuse_binary(file_name)
    else:
        text, encoding, skipped = _decoded(file_name, data)
        head = text[:1_000_000]
    if len(CONTROL_CHARS.findall(head[:65536])) > max(2, len(head[:65536]) // 200):
        _refuse_binary(file_name)
    line = _longest_line(data)
    if line is not None:
        raise UnreadableFile(f"{file_name} : ligne {line} trop longue (plus de {MAX_LINE_BYTES // (1024 * 1024)} Mo) : "
                             "ce n'est pas une ligne de tableau ; vérifiez le fichier (retours à la ligne perdus ?).")
    delimiter = sniff_delimiter(head)
    # Named columns: a spreadsheet's export may end each line with thousands of empty ones (trimmed later).
    header = _LINE_BREAKS.split(head, maxsplit=1)[0].rstrip(delimiter + " ")
    if header.count(delimiter) + 1 > MAX_COLUMNS:
        raise UnreadableFile(f"{file_name} : en-tête de {_spaced(header.count(delimiter) + 1)} colonnes : attendu "
                             f"un tableau de quelques dizaines de colonnes au plus ({_spaced(MAX_COLUMNS)} acceptées).")
    extra = None
    columns, arrow_tried = None, False
    if plain is not None:
        columns = _read_plain(head, delimiter, plain)
        if columns is None:  # not that simple case after all (ragged lines, not UTF-8…): the general way
            text, encoding, skipped = _decoded(file_name, data)
            arrow_tried = encoding in ("UTF-8", "UTF-8 (BOM)")  # the same text Arrow just refused
    if columns is None and not arrow_tried and '"' not in text:
        columns = _read_plain(head, delimiter, text)
    if columns is not None:
        # Every record has the header's number of fields (the Arrow reader refuses any other): none is ragged.
        table = _table_of_cells(file_name, sha, "csv", columns, len(columns[0].codes), encoding=encoding,
                                delimiter=delimiter, header_line=skipped + 1)
        return _noted(table, skipped, encoding)
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            header=None,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
            engine="c",
        )
    except pd.errors.ParserError as exc:
        if "EOF inside string" in str(exc):
            raise UnreadableFile(f"{file_name} : structure CSV illisible ({_parser_hint(str(exc))}).") from None
        # Some line has more fields than the first ones: read it the slow way, report it per line.
        frame, extra = _read_ragged(text, delimiter)
    except pd.errors.EmptyDataError:
        raise UnreadableFile(f"{file_name} : {EMPTY_FILE}") from None
    counts = _field_counts(text, delimiter, len(frame))
    return _noted(_finish_csv(file_name, sha, frame, counts, extra, encoding, delimiter, skipped), skipped, encoding)


_LEADING_BLANK = re.compile(r"(?:[ \t]*\r?\n)+")


def _longest_line(data: bytes) -> int | None:
    """The number of the first line longer than MAX_LINE_BYTES, or None: line breaks found by numpy over the
    bytes (a regex over the text would try every position), a block at a time (masks of a 100 MB file would
    cost 200 MB). A quoted cell spanning lines counts as its lines."""
    if len(data) <= MAX_LINE_BYTES:
        return None
    carriage_returns = data.count(b"\r")
    if carriage_returns == 0 or carriage_returns == data.count(b"\r\n"):
        return _first_long_line_lf(data)
    raw = np.frombuffer(data, dtype=np.uint8)
    line, line_start = 0, 0  # lines before the block, offset where the current line starts
    for block in range(0, len(raw), LINE_SCAN_BLOCK):
        chunk = raw[block:block + LINE_SCAN_BLOCK]
        # \n, \r\n (one break, at its \n) and the old Mac's \r alone.
        alone_cr = chunk == 13
        following = raw[block + 1:block + 1 + len(chunk)]
        alone_cr[:len(following)] &= following != 10
        breaks = np.flatnonzero((chunk == 10) | alone_cr) + block
        lengths = np.diff(np.concatenate([[line_start - 1], breaks])) - 1
        too_long = np.flatnonzero(lengths > MAX_LINE_BYTES)
        if len(too_long):
            return line + int(too_long[0]) + 1
        if len(breaks):
            line, line_start = line + len(breaks), int(breaks[-1]) + 1
    return line + 1 if len(raw) - line_start > MAX_LINE_BYTES else None


LINE_SCAN_BLOCK = 16 * 1024 * 1024


def _first_long_line_lf(data: bytes) -> int | None:
    """`_longest_line` when every line ends with \n (no lone \r): from each break, the last break at most
    MAX_LINE_BYTES + 1 bytes ahead, so a 100 MB file takes a few hundred searches in C instead of a pass of
    numpy masks."""
    start = 0  # where the current line starts
    while len(data) - start > MAX_LINE_BYTES:
        brk = data.rfind(b"\n", start, start + MAX_LINE_BYTES + 1)
        if brk < 0:  # no break within the limit: the line starting here is too long
            return data.count(b"\n", 0, start) + 1
        start = brk + 1
    return None


def _noted(table: RawTable, skipped: int, encoding: str) -> RawTable:
    if skipped:
        table.notes.append(f"{skipped} ligne(s) vide(s) avant l'en-tête ignorée(s) ; l'en-tête est la ligne {skipped + 1}.")
    if encoding == MIXED_ENCODINGS:
        table.notes.append("Le fichier mêle deux encodages (des lignes en UTF-8, d'autres en Windows-1252, souvent après "
                           "un copier-coller entre deux fichiers) : chaque ligne a été lue dans le sien ; vérifiez les "
                           "accents, puis réenregistrez le fichier en « CSV UTF-8 ».")
    return table


def _finish_csv(file_name: str, sha: str, frame: pd.DataFrame, counts: pd.Series | None, extra: pd.Series | None,
                encoding: str, delimiter: str, skipped: int = 0) -> RawTable:
    header_width = int(counts.iloc[0]) if counts is not None else frame.shape[1]
    if extra is None:
        extra = pd.Series(False, index=frame.index)
    if frame.shape[1] > header_width:
        beyond = frame.iloc[:, header_width:].fillna("")
        extra |= (beyond.apply(lambda col: col.str.strip()) != "").any(axis=1)
        frame = frame.iloc[:, :header_width]
    if counts is not None and (counts.iloc[1:] > header_width).any():
        # Fields beyond the header's: harmless when empty and on every data line (an export that ends each
        # line with a delimiter), else reported: an empty last cell does not make a delimiter in a value harmless.
        long = counts.set_axis(frame.index) > header_width
        data = (frame.apply(lambda col: col.fillna("").str.strip()) != "").any(axis=1) | extra
        data.iloc[0] = False
        if not long[data].all():
            extra |= long
    table = _as_raw_table(file_name, sha, "csv", frame, encoding=encoding, delimiter=delimiter, header_line=skipped + 1)
    if counts is not None:
        width = len(table.headers)
        bad = (counts < width) | ((counts > width) & extra.to_numpy())
        bad.index = pd.RangeIndex(1 + skipped, 1 + skipped + len(bad))
        ragged = counts.set_axis(bad.index)[bad]
        table.ragged = ragged[ragged.index.isin(table.index)]
    return table


def _plain_utf8(data: bytes) -> memoryview | None:
    """The UTF-8 bytes (past a BOM) of a file Arrow may parse as they are, judged on the bytes alone: no quote,
    no blank line above the header, no UTF-16 mark, ending on a whole character. Whether they are valid
    UTF-8 is Arrow's own check while parsing (None here does not mean the file is unreadable)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or not data or data[-1] >= 0x80 or b'"' in data:
        return None
    body = memoryview(data)[3:] if data.startswith(b"\xef\xbb\xbf") else memoryview(data)
    if _LEADING_BLANK_BYTES.match(body):
        return None
    return body


_LEADING_BLANK_BYTES = re.compile(rb"(?:[ \t]*\r?\n)+")


def _decoded(file_name: str, data: bytes) -> tuple[str, str, int]:
    """The text, its encoding, and the number of blank lines above the header (dropped from the text)."""
    try:
        text, encoding = decode(data)
    except UnreadableFile as exc:
        raise UnreadableFile(f"{file_name} : {exc}") from None
    if "\x00" in text:
        _refuse_binary(file_name)
    # Blank lines above the header (an export that starts with an empty line): skipped, numbering kept.
    leading = _LEADING_BLANK.match(text)
    skipped = text.count("\n", 0, leading.end()) if leading else 0
    if skipped:
        text = text[leading.end():]
        if not text.strip():
            raise UnreadableFile(f"{file_name} : {EMPTY_FILE}")
    return text, encoding, skipped


def _refuse_binary(file_name: str):
    raise UnreadableFile(f"{file_name} : le fichier semble binaire : attendu un CSV texte ou un classeur .xlsx.")


# Arrow parses a block per thread, each dictionary-encoded on its own: 4 MB blocks instead of its 1 MB default
# make a quarter as many dictionaries to merge, for a parse peak ~80 MB lower on a million lines, same time.
ARROW_BLOCK_BYTES = 4 * 1024 * 1024


def _read_plain(head: str, delimiter: str, source: "memoryview | str") -> list[DistinctCells] | None:
    """The common export, read by Arrow's multithreaded CSV reader; None when it is not that simple case.

    Only a file without any quote (the caller knows), whose every line has the header's number of fields
    (more than one) and no blank line: then splitting at line breaks and delimiters is all the parsing there
    is, and the result is the C parser's, cell for cell. Anything else (ragged or blank lines, a line longer
    than a block, bytes that are not UTF-8) goes the general way, which counts and reports fields line by line.
    `source`: the UTF-8 bytes, or the decoded text.
    """
    first = _LINE_BREAKS.split(head, maxsplit=1)[0]
    width = first.count(delimiter) + 1
    if width < 2:
        return None
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    names = [str(i) for i in range(width)]
    try:
        # The multithreaded reader: its streaming twin peaks ~50 MB lower on a million lines but takes 0.4 s more.
        table = pa_csv.read_csv(
            io.BytesIO(source.encode("utf-8")) if isinstance(source, str) else pa.BufferReader(pa.py_buffer(source)),
            read_options=pa_csv.ReadOptions(column_names=names, block_size=ARROW_BLOCK_BYTES),
            parse_options=pa_csv.ParseOptions(delimiter=delimiter, quote_char=False, double_quote=False,
                                              escape_char=False, newlines_in_values=False, ignore_empty_lines=False),
            # Dictionary-encoded as parsed: each distinct cell is held once, each line has its code.
            convert_options=pa_csv.ConvertOptions(column_types={n: pa.dictionary(pa.int32(), pa.large_string())
                                                                for n in names},
                                                  strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
    except (pa.ArrowException, UnicodeEncodeError):
        return None
    if table.num_rows == 0:
        return None
    # Column by column, each parsed column let go (and its memory returned) once converted: the parse and its
    # conversion are never all held at once (~40 MB lower peak on a million lines).
    parsed, columns = table.columns, []
    del table
    for i in range(width):
        columns.append(_dictionary_cells(parsed[i]))
        parsed[i] = None
        pa.default_memory_pool().release_unused()
    release_freed_memory()
    # A blank line comes out as a row of empty cells, like a line of bare delimiters would: let the general
    # way tell them apart (one field, not the header's number).
    empty = (columns[0].values == "").to_numpy(dtype=bool)[columns[0].codes]
    for column in columns[1:]:
        if not empty.any():
            break
        empty &= (column.values == "").to_numpy(dtype=bool)[column.codes]
    if empty.any():
        return None
    return columns


def release_freed_memory() -> None:
    """Give the system back what was freed after a big step. Arrow's allocator keeps a parse's freed blocks for
    reuse (about twice the table), and so does C's malloc with pandas' freed arrays (~80 MB after reading a
    million lines); DuckDB allocates with its own allocator and cannot reuse them: without this the writer
    would stack its memory on top of theirs."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()
    try:
        _libc().malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (macOS, musl): nothing to trim this way
        pass


@functools.cache
def _libc():
    import ctypes

    return ctypes.CDLL("libc.so.6")


def _dictionary_cells(column) -> DistinctCells:
    """An Arrow dictionary column (one dictionary per parsed block) as distinct cells, in order of first
    appearance like pd.factorize's."""
    column = column.unify_dictionaries()
    codes = np.concatenate([chunk.indices.to_numpy(zero_copy_only=False) for chunk in column.chunks])
    values = pd.Series(column.chunk(0).dictionary, dtype="str")
    return DistinctCells(_compact(codes), values, pd.RangeIndex(len(codes)))


def _field_counts(text: str, delimiter: str, records: int) -> pd.Series | None:
    """Number of fields of each record (header first), or None if it cannot be aligned."""
    if '"' not in text:
        lines = pd.Series(_LINE_BREAKS.split(text))
        if len(lines) and lines.iloc[-1] == "":
            lines = lines.iloc[:-1]
        counts = lines.str.count(re.escape(delimiter)) + 1
    else:
        # Quoted fields may hold delimiters and line breaks: let the csv module count.
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        counts = pd.Series(np.fromiter((len(row) or 1 for row in reader), dtype="int64"))
    if len(counts) != records:
        return None
    return counts.reset_index(drop=True)


def _read_ragged(text: str, delimiter: str) -> tuple[pd.DataFrame, pd.Series]:
    """Rows cut or padded to the header's width, and whether each had non-empty fields beyond it.

    Never as wide as the longest line: a line of 100 000 delimiters must not make 100 000 columns.
    """
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    width = len(rows[0]) if rows else 0
    frame = pd.DataFrame([r[:width] + [""] * (width - len(r)) for r in rows], dtype=str)
    extra = pd.Series([any(cell.strip() for cell in r[width:]) for r in rows], index=frame.index, dtype=bool)
    return frame, extra


def _parser_hint(message: str) -> str:
    if "Expected" in message and "fields" in message:
        # pandas: "Error tokenizing data. C error: Expected 5 fields in line 7, saw 6"
        tail = message.split("Expected", 1)[1].strip()
        parts = tail.replace(",", "").split()
        try:
            expected, line, seen = parts[0], parts[3], parts[5]
            return (
                f"ligne {line} : {seen} champs au lieu de {expected} — un séparateur de trop "
                "ou un guillemet mal fermé"
            )
        except IndexError:
            return message
    if "EOF inside string" in message:
        found = re.search(r"starting at row (\d+)", message)
        where = f"ligne {int(found.group(1)) + 1} : " if found else ""
        return f"{where}un guillemet ouvert n'est jamais refermé ; le fichier est peut-être tronqué"
    return message


XLSX_UNREADABLE = ("classeur Excel illisible ou corrompu ({}) ; rouvrez-le dans Excel et enregistrez-le de nouveau "
                   "en .xlsx.")
# Title rows an export puts above its header ("Export du 01/12/2026", a blank line) are looked for this far down.
TITLE_ROWS_MAX = 20


def _check_archive(file_name: str, data: bytes) -> None:
    """A workbook is a zip: refuse one whose members decompress beyond what any real export holds, before
    decompressing anything (the sizes are in the archive's directory)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            inflated = sum(item.file_size for item in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise UnreadableFile(f"{file_name} : " + XLSX_UNREADABLE.format(type(exc).__name__)) from None
    if inflated > max_inflated_bytes():
        raise UnreadableFile(f"{file_name} : classeur anormal : {len(data) / 1e6:.1f} Mo qui, décompressés, en feraient "
                             f"{inflated / 1e6:,.0f} Mo ; ce n'est pas un export de tableau. Enregistrez les données en "
                             "CSV, ou vérifiez l'origine du fichier.".replace(",", " "))


def _check_dimensions(file_name: str, sheet_name: str, sheet) -> int:
    """The columns to read: refuse a sheet that declares more cells than any export (its last used cell far away)."""
    rows, columns = sheet.max_row or 0, sheet.max_column or 0
    if columns > MAX_COLUMNS or rows * columns > MAX_CELLS:
        raise UnreadableFile(f"{file_name} : la feuille « {sheet_name} » est trop grande ({_spaced(rows)} lignes × "
                             f"{_spaced(columns)} colonnes utilisées d'après le classeur) : une cellule éloignée a "
                             "sans doute été remplie ; supprimez les lignes et colonnes vides au-delà du tableau "
                             "(Ctrl+Fin montre la dernière cellule), puis enregistrez de nouveau.")
    return columns


def _read_xlsx(file_name: str, data: bytes, sha: str, dataset_hint: str | None) -> RawTable:
    import openpyxl

    _check_archive(file_name, data)
    try:
        # Formulas are read as written ("=B2*2"), not as a cached result that may be missing:
        # validation refuses them, like in a CSV.
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many types on a damaged archive
        raise UnreadableFile(f"{file_name} : " + XLSX_UNREADABLE.format(type(exc).__name__)) from None
    notes = []
    try:
        hidden = [name for name in book.sheetnames if book[name].sheet_state != "visible"]
        visible = [name for name in book.sheetnames if name not in hidden]
        if not visible:
            raise UnreadableFile(f"{file_name} : toutes les feuilles du classeur sont masquées ; affichez celle "
                                 "à importer (clic droit sur un onglet > Afficher) et enregistrez de nouveau.")
        sheet_name = choose_sheet(visible, dataset_hint)
        if hidden:
            notes.append(f"Feuille(s) masquée(s) non lue(s) : {', '.join('« ' + n + ' »' for n in hidden)} ; seule "
                         f"la feuille visible « {sheet_name} » est importée.")
        sheet = book[sheet_name]
        width = _check_dimensions(file_name, sheet_name, sheet)
        rows = [
            [_xlsx_cell(value) for value in row]
            for row in sheet.iter_rows(values_only=True, max_col=width or None)
        ]
    except UnreadableFile:
        raise
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise UnreadableFile(f"{file_name} : " + XLSX_UNREADABLE.format(type(exc).__name__)) from None
    finally:
        book.close()
    while rows and not any(rows[-1]):
        rows.pop()
    if not rows:
        raise UnreadableFile(f"{file_name} : la feuille « {sheet_name} » est vide ; mettez l'en-tête et les lignes "
                             "dans la première feuille visible ou dans une feuille nommée d'après le jeu de données.")
    header = header_row(rows)
    if header:
        titles = [" ".join(cell for cell in row if cell.strip()) for row in rows[:header]]
        titles = [t for t in titles if t]
        notes.append(f"Ligne(s) 1 à {header} au-dessus de l'en-tête ignorée(s)"
                     + (f" (titre : « {clip_text(titles[0])} »)" if titles else "") + f" ; l'en-tête est la ligne {header + 1}.")
    width = max(len(r) for r in rows)
    frame = pd.DataFrame([r + [""] * (width - len(r)) for r in rows[header:]], dtype=str)
    table = _as_raw_table(file_name, sha, "xlsx", frame, sheet=sheet_name, header_line=header + 1)
    table.notes.extend(notes)
    return table


def header_row(rows: list[list[str]]) -> int:
    """Index of the header among the first rows: the first row of text cells about as wide as the table.

    A title ("Export DLA Calvados — 01/12/2026") fills one cell, a blank row none; the header names at
    least half of the columns the next rows use, and none of its cells is a number or a date.
    """
    filled = [sum(1 for cell in row if cell.strip()) for row in rows]
    for index in range(min(TITLE_ROWS_MAX, len(rows))):
        below = filled[index + 1:index + 6]
        wide = max([filled[index], *below])
        if filled[index] >= max(2, (wide + 1) // 2) and not any(_looks_like_data(c) for c in rows[index]):
            return index
        if filled[index] >= 2:
            return 0  # a wide row that is not a header: the file has no title rows; read it as written
    return 0


def _looks_like_data(cell: str) -> bool:
    text = cell.strip()
    return bool(text) and (re.fullmatch(r"[-+]?\d+([.,]\d+)?", text) is not None
                           or re.fullmatch(r"\d{4}-\d{2}-\d{2}.*|\d{1,2}/\d{1,2}/\d{4}", text) is not None)


def clip_text(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def choose_sheet(names: list[str], dataset_hint: str | None) -> str:
    """The sheet named after the dataset (or after any dataset when not chosen), else the first."""
    wanted = [dataset_hint] if dataset_hint else list(DATASETS)
    keys = {normalize_key(n): n for n in reversed(names)}
    return next((keys[w] for w in wanted if w in keys), names[0])


def _xlsx_cell(value: object) -> str:
    if value is None:
        return ""
    if hasattr(value, "text") and not isinstance(value, str):  # an array formula
        return str(value.text)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _as_raw_table(file_name: str, sha: str, fmt: str, frame: pd.DataFrame, **kw) -> RawTable:
    """A table of strings whose first row is the header (a missing cell is empty)."""
    frame = frame.reset_index(drop=True)
    return _table_of_cells(file_name, sha, fmt, [DistinctCells.of(frame[c].fillna("")) for c in frame.columns],
                           len(frame), **kw)


def _table_of_cells(file_name: str, sha: str, fmt: str, columns: list[DistinctCells], n_rows: int,
                    **kw) -> RawTable:
    """`columns`: each column of the file as distinct cells, header row first."""
    headers = [str(c.values.iloc[c.codes[0]]).strip() for c in columns] if n_rows else []
    # Per distinct value, once: whether it is blank.
    blank_values = [(c.values.str.strip() == "").to_numpy(dtype=bool) for c in columns]
    # Trailing unnamed empty columns (a stray delimiter at the end of each line, or the thousands of
    # columns a spreadsheet exports once a far cell was touched) carry nothing.
    keep = len(headers)
    while keep and headers[keep - 1] == "" and blank_values[keep - 1][columns[keep - 1].codes[1:]].all():
        keep -= 1
    headers, columns, blank_values = headers[:keep], columns[:keep], blank_values[:keep]
    first = kw.get("header_line", 1) + 1
    index = pd.RangeIndex(first, first + max(n_rows - 1, 0), name="ligne")
    # Fully blank lines are not data (but keep the numbering of the others). Column by column, on the
    # lines still blank so far: the first column alone clears nearly every line.
    blank = np.ones(len(index), dtype=bool)
    for column, blank_value in zip(columns, blank_values):
        candidates = np.flatnonzero(blank)
        if not len(candidates):
            break
        blank[candidates] = blank_value[column.codes[1:][candidates]]
    body = np.flatnonzero(~blank) + 1 if blank.any() else np.arange(1, n_rows)
    index = index[body - 1] if blank.any() else index
    cells = [c.lines(body, index) for c in columns]
    return RawTable(file_name=file_name, sha256=sha, format=fmt, headers=headers, cells=cells, index=index, **kw)
