"""Proposals: how another system's export could map onto one dataset, guessed from its header and values.

`python -m pipelines profil proposer` and the upload page's mapping step call `propose`. Nothing here maps
a file: the analyst confirms or corrects each proposal, and the result becomes a profile
(pipelines.ingest.profiles). Each header gets a score per column of ours, from four kinds of evidence:

* the spec's own header matching (case, accents, separators: `Code-Commune` is `code_commune`);
* the vocabulary of French exports (pipelines.spec.synonymes: « Raison sociale » is `nom`);
* fuzzy likeness of the names (rapidfuzz), for spellings no list foresaw (« Nbre d'heures réal. »);
* the values: 14-digit numbers with a valid Luhn key are a SIRET, 5-character codes of the commune
  reference a code_commune, dates a date, a column whose values are one list's codes or labels that list.

Then each header gets the best column still free, best scores first (a column takes one header).
"""

from __future__ import annotations

import dataclasses
import functools
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process
from stdnum.fr import siret as stdnum_siret

from pipelines.ingest import values as V
from pipelines.ingest.profiles import MAPPABLE_KINDS, Profile, value_choices
from pipelines.ingest.read import RawTable
from pipelines.spec import synonymes
from pipelines.spec.datasets import (BOOLEAN, COMMUNE, DATASETS, DATE, DECIMAL, ENUM_LIST, FORME_JURIDIQUE,
                                     INTEGER, RNA, SIRET, Column, Dataset)

# Below this score a header is left unmapped: a wrong guess costs the analyst more than a blank one.
MIN_SCORE = 70
# Values looked at per column (distinct, non-empty): enough to recognise a kind, cheap on a big file.
SAMPLE = 200
# Headers looked at: the datasets have at most 14 columns; a file of thousands of columns is not an export
# to map header by header (its other columns are left out, and the page says so).
MAX_HEADERS = 200
# A column of at most this many distinct values may be a list of codes written in other words.
ENUM_LIKE_VALUES = 20
# Share of a column's sampled values that must have a kind for the values to speak for it.
MOSTLY = 0.8
# Small words and signs that tell nothing apart: « Nombre d'heures » and « Nb heures » are alike.
_SMALL_WORDS = {"de", "du", "des", "d", "la", "le", "les", "l", "en", "a", "au", "aux", "et", "ou", "n", "no", "num",
                "numero", "nb", "nbre", "nombre", "par", "pour", "sur", "dans"}
_BOOLEAN_WORDS = {V.normalize_key(word) for word in synonymes.BOOLEAN_SYNONYMS}
_SIGNS = re.compile(r"[°'’`\"().,;:!?%/\\#*+\[\]{}<>=]")


def header_key(text: str) -> str:
    """A header reduced to its meaningful words: « N° de SIRET » → 'siret', « Nombre d'heures » → 'heures'."""
    words = V.normalize_key(_SIGNS.sub(" ", str(text))).split("_")
    kept = [w for w in words if w and w not in _SMALL_WORDS]
    return " ".join(kept or [w for w in words if w])


def _synonym_keys(dataset: Dataset) -> dict[str, str]:
    """Header key → our column, for the dataset's columns: their own names, then the exports' words."""
    keys: dict[str, str] = {}
    for column in dataset.columns:
        for written in synonymes.HEADER_SYNONYMS.get(column.name, ()):
            keys.setdefault(header_key(written), column.name)
    # A bare « Identifiant », « Réf. » or « N° » names the rows of the file: the dataset's id.
    for written in ("identifiant", "id", "référence", "réf", "code", "numéro", "n°", "clé"):
        keys[header_key(written)] = dataset.id_column
    for column in dataset.columns:  # our own name wins over another column's synonym
        keys[header_key(column.name.replace("_", " "))] = column.name
    return keys


# ---------------------------------------------------------------------- values


def _lookup(column: Column) -> dict[str, str]:
    """Normalised value → our code: codes, labels, then the exports' words (which never override a code)."""
    return _cached_lookup(column.name, column.kind, tuple(value_choices(column).items()))


@functools.lru_cache(maxsize=64)
def _cached_lookup(name: str, kind: str, items: tuple[tuple[str, str], ...]) -> dict[str, str]:
    choices = dict(items)
    column = Column(name, kind, choices=choices)
    found = {V.normalize_key(w): code for w, code in synonymes.value_synonyms(column).items() if code in choices}
    found.update({V.normalize_key(label): code for code, label in choices.items()})
    found.update({V.normalize_key(code): code for code in choices})
    return found


def accepted_as_is(column: Column, values: list[str]) -> np.ndarray:
    """Which of `values` (single items, not lists) validation reads in `column` without a profile: a code, a
    label, a boolean word, an INSEE legal category."""
    cells = pd.Series(values, dtype="str")
    if column.kind == BOOLEAN:
        return ~V.parse_boolean(cells)[1].to_numpy(dtype=bool)
    accepted = ~V.parse_enum(cells, column.choices)[1].to_numpy(dtype=bool)
    if column.kind == FORME_JURIDIQUE:
        accepted |= cells.str.fullmatch(r"\d{4}").to_numpy(dtype=bool)
    return accepted


def nearest_code(column: Column, value: str) -> str | None:
    """Our code nearest to `value`: a known word of exports, else the closest code or label (≥ 70 % alike)."""
    lookup = _lookup(column)
    key = V.normalize_key(value)
    if key in lookup:
        return lookup[key]
    if not key:
        return None
    # WRatio also rewards a value contained in a label (« Diag » in « Diagnostic »); ties go to the first.
    # Keys of one or two letters (« rh ») would be "contained" in anything: only an exact match takes them.
    best = process.extractOne(key, [k for k in lookup if len(k) > 2], scorer=fuzz.WRatio, processor=None,
                              score_cutoff=70)
    return lookup[best[0]] if best else None


def _items(column: Column, value: str) -> list[str]:
    if column.kind == ENUM_LIST:
        return [item.strip() for item in value.split("|") if item.strip()]
    return [value]


def propose_values(column: Column, distinct: list[str]) -> dict[str, str | None]:
    """Their values that validation would refuse → the code we propose (None: nothing near enough)."""
    items = list(dict.fromkeys(item for value in distinct for item in _items(column, value)))
    if not items:
        return {}
    refused = [item for item, ok in zip(items, accepted_as_is(column, items)) if not ok]
    return {item: nearest_code(column, item) for item in refused}


# ---------------------------------------------------------------------- evidence from values


@dataclass
class _ValueKinds:
    """What a column's sampled values look like (shares of the non-empty distinct values)."""
    siret: float = 0.0
    rna: float = 0.0
    commune: float | None = None  # None: no commune reference to compare with
    date: float = 0.0
    number: float = 0.0
    boolean: float = 0.0
    enum: dict[str, float] = field(default_factory=dict)  # our column → share of values it reads
    near_enum: dict[str, float] = field(default_factory=dict)  # our column → share of values near one of its codes

    @classmethod
    def of(cls, sample: pd.Series, communes: frozenset | None) -> "_ValueKinds":
        """What the values are, whatever the dataset (lists are measured by `for_dataset`)."""
        if sample.empty:
            return cls()
        digits = sample.str.replace(r"[\s\u00a0.]", "", regex=True)
        kinds = cls(
            siret=float(digits.map(lambda d: len(d) == 14 and stdnum_siret.is_valid(d)).mean()),
            rna=float(sample.str.upper().str.fullmatch(r"W\d{9}").mean()),
            # Five digits read as a date only where a date is expected (Excel's day count): not as evidence.
            date=float((~V.parse_date(sample)[1] & ~V.excel_serial(sample)).mean()),
            number=float((~V.parse_decimal(sample)[1]).mean()),
            boolean=float(((~V.parse_boolean(sample)[1]) | V.normalize_keys(sample).isin(_BOOLEAN_WORDS)).mean()),
        )
        if communes is not None:
            codes = sample.str.upper().str.zfill(5)
            known = np.fromiter((code in communes for code in codes), dtype=bool, count=len(codes))
            kinds.commune = float((sample.str.fullmatch(r"\d{4,5}|2[AB]\d{3}", case=False).to_numpy(dtype=bool) & known).mean())
        return kinds

    def for_dataset(self, sample: pd.Series, dataset: Dataset) -> "_ValueKinds":
        """These kinds, with how far the values read as each list column of `dataset`."""
        kinds = dataclasses.replace(self, enum={}, near_enum={})
        if sample.empty:
            return kinds
        for column in dataset.columns:
            if column.kind in MAPPABLE_KINDS and column.kind != BOOLEAN:
                lookup = _lookup(column)
                read = sample.map(lambda v: all(V.normalize_key(i) in lookup for i in _items(column, v)))
                kinds.enum[column.name] = float(read.mean())
                # A few values repeated, each near one of the list's codes (« À 6 mois », « Fin de parcours »):
                # the list, less surely. Free text (names, comments) has too many values to be taken for one.
                if len(sample) <= ENUM_LIKE_VALUES and kinds.enum[column.name] < MOSTLY:
                    near = sample.map(lambda v: all(nearest_code(column, i) is not None for i in _items(column, v)))
                    kinds.near_enum[column.name] = float(near.mean())
        return kinds

    def fits(self, column: Column) -> bool | None:
        """Whether the values fit `column`'s kind (None: the values say nothing either way)."""
        if column.kind in (DATE,):
            return self.date >= 0.5
        if column.kind in (INTEGER, DECIMAL):
            return self.number >= 0.5
        if column.kind == SIRET:
            return self.siret >= 0.5
        if column.kind == COMMUNE:
            return None if self.commune is None else self.commune >= 0.5
        if column.kind == BOOLEAN:
            return self.boolean >= 0.5
        return None

    def scores(self, dataset: Dataset) -> dict[str, float]:
        """Columns the values alone point to, with a score (below a name's: a name says more)."""
        found: dict[str, float] = {}
        for column in dataset.columns:
            if column.kind == SIRET and self.siret >= MOSTLY:
                found[column.name] = 90
            elif column.kind == RNA and self.rna >= MOSTLY:
                found[column.name] = 90
            elif column.kind == COMMUNE and (self.commune or 0) >= MOSTLY:
                found[column.name] = 88
            elif column.name in self.enum and self.enum[column.name] >= MOSTLY:
                found[column.name] = 85
            elif self.near_enum.get(column.name, 0) >= MOSTLY:
                found[column.name] = 74
            elif column.kind == DATE and self.date >= MOSTLY:
                found[column.name] = 72  # which date it is, only the name can say
        return found


# ---------------------------------------------------------------------- the proposal


@dataclass
class Proposal:
    jeu: str
    colonnes: dict[str, str | None]  # their header → our column, or None
    valeurs: dict[str, dict[str, str | None]]  # our column → their value → our code, or None
    manquantes: list[str]  # our required columns no header maps to
    raisons: dict[str, str] = field(default_factory=dict)  # their header → why it was proposed

    def to_json(self) -> dict:
        return {"jeu": self.jeu, "colonnes": self.colonnes, "valeurs": self.valeurs, "manquantes": self.manquantes}

    def to_profile(self, nom: str = "", constantes: dict[str, str] | None = None) -> Profile:
        """The proposal as a profile: headers left unmapped are ignored, values without a code left as written."""
        mapped = {V.normalize_key(theirs) for theirs, ours in self.colonnes.items() if ours}
        return Profile(
            jeu=self.jeu, nom=nom,
            colonnes={theirs: ours for theirs, ours in self.colonnes.items() if ours},
            valeurs={column: {v: c for v, c in mapping.items() if c} for column, mapping in self.valeurs.items()
                     if any(mapping.values())},
            constantes=dict(constantes or {}),
            # A second spelling of a mapped header (« Siret » beside « SIRET ») is the same column for the
            # import, which refuses the pair as a duplicate: it cannot be left out without leaving both out.
            ignorer=tuple(theirs for theirs, ours in self.colonnes.items()
                          if not ours and theirs and V.normalize_key(theirs) not in mapped),
        )


def _sample(raw: RawTable, position: int) -> pd.Series:
    cells = raw.column(position).str.strip()
    cells = cells[cells != ""].drop_duplicates()
    return cells.head(SAMPLE).reset_index(drop=True)


def header_scores(header: str, dataset: Dataset, synonym_keys: dict[str, str] | None = None) -> dict[str, tuple[float, str]]:
    """Our columns a header's name points to: column → (score 0–100, why)."""
    synonym_keys = synonym_keys if synonym_keys is not None else _synonym_keys(dataset)
    found: dict[str, tuple[float, str]] = {}
    key = V.normalize_key(header)
    if key in dataset.column_names:
        found[key] = (100, "même nom")
    words = header_key(header)
    if words in synonym_keys and synonym_keys[words] not in found:
        found[synonym_keys[words]] = (95, "nom connu des exports")
    # A known name inside a longer header (« Sujet abordé », « Lien vidéo / article », « Budget N-1 (€) »):
    # the more of the header's words it covers, the surer; never as sure as the name alone.
    meaningful = {w for w in words.split() if len(w) > 1 and not w.isdigit()}
    if meaningful:
        for key, column in synonym_keys.items():
            inside = set(key.split())
            if inside and inside <= meaningful and (len(inside) > 1 or len(key) >= 4):
                score = 70 + 20 * len(inside) / len(meaningful)
                if column not in found or found[column][0] < score:
                    found[column] = (score, f"contient « {key} »")
    if words:
        for match, score, _ in process.extract(words, list(synonym_keys), scorer=fuzz.token_sort_ratio,
                                               processor=None, score_cutoff=80, limit=5):
            column = synonym_keys[match]
            score = 0.9 * score  # 80 % alike → 72: just above the bar, below any exact word
            if column not in found or found[column][0] < score:
                found[column] = (score, f"nom ressemblant (« {match} »)")
    return found


@dataclass
class _Column:
    """What a file's column holds, the same whatever the dataset it is proposed for."""
    sample: pd.Series  # distinct non-empty values, at most SAMPLE
    kinds: _ValueKinds
    repeats: bool  # a value on two lines: not an id


def _columns(raw: RawTable, communes: frozenset | None) -> dict[int, _Column]:
    """Each named header's column (the first MAX_HEADERS), looked at once."""
    out = {}
    for position, header in enumerate(raw.headers[:MAX_HEADERS]):
        if not header:
            continue
        sample = _sample(raw, position)
        cells = raw.column(position).str.strip()
        cells = cells[cells != ""]
        out[position] = _Column(sample, _ValueKinds.of(sample, communes), len(cells) > 1 and cells.nunique() < len(cells))
    return out


def _as_set(communes) -> frozenset | None:
    """The commune codes as a set (looked up per sampled value), whatever collection they came in."""
    return communes if communes is None or isinstance(communes, frozenset) else frozenset(communes)


def propose(raw: RawTable, dataset_name: str, communes: "pd.Index | frozenset | None" = None,
            columns: dict[int, _Column] | None = None) -> Proposal:
    """A mapping of `raw`'s headers onto `dataset_name`, and of its unknown enumeration values onto our codes.
    `columns`: the file's columns already looked at (best_dataset proposes the same file for every dataset)."""
    dataset = DATASETS[dataset_name]
    synonym_keys = _synonym_keys(dataset)
    if columns is None:
        columns = _columns(raw, _as_set(communes))
    candidates: list[tuple[float, int, str, str]] = []  # (score, header position, our column, why)
    for position, column_facts in columns.items():
        header, sample, repeats = raw.headers[position], column_facts.sample, column_facts.repeats
        kinds = column_facts.kinds.for_dataset(sample, dataset)
        scores = header_scores(header, dataset, synonym_keys)
        for column, score in kinds.scores(dataset).items():
            why = "d'après les valeurs"
            if column in scores:  # name and values agree: surer than either
                score, why = min(100, max(score, scores[column][0]) + 5), scores[column][1] + " et les valeurs"
            if column not in scores or scores[column][0] < score:
                scores[column] = (score, why)
        for column, (score, why) in scores.items():
            fits = kinds.fits(dataset.column(column)) if not sample.empty else None
            if fits is False and score < 100:
                score -= 25  # the name says a date, the values are not dates: doubt it
            if column == dataset.id_column and repeats and score < 100:
                score -= 25  # an identifier is on one line only
            candidates.append((score, position, column, why))
    colonnes: dict[str, str | None] = {h: None for h in raw.headers if h}
    raisons: dict[str, str] = {}
    taken: set[str] = set()
    placed: set[int] = set()
    # Best first; at equal score the header further left (exports put the main columns first).
    for score, position, column, why in sorted(candidates, key=lambda c: (-c[0], c[1])):
        if score < MIN_SCORE or column in taken or position in placed:
            continue
        header = raw.headers[position]
        if colonnes.get(header) is not None:
            continue  # the same header written twice: the first one takes the column
        colonnes[header] = column
        raisons[header] = f"{why} ({score:.0f} %)"
        taken.add(column)
        placed.add(position)
    valeurs: dict[str, dict[str, str | None]] = {}
    for position, header in enumerate(raw.headers):
        column = colonnes.get(header)
        if column and position in placed and dataset.column(column).kind in MAPPABLE_KINDS:
            distinct = raw.column(position).str.strip()
            distinct = distinct[distinct != ""].drop_duplicates().head(10 * SAMPLE).tolist()
            unknown = propose_values(dataset.column(column), distinct)
            if unknown:
                valeurs[column] = unknown
    missing = [c.name for c in dataset.columns if c.required and c.name not in taken]
    return Proposal(dataset_name, colonnes, valeurs, missing, raisons)


def commune_codes(con) -> frozenset:
    """The commune reference's codes (what a column of code_commune values holds)."""
    return frozenset(r[0] for r in con.execute(
        "SELECT code FROM geo_communes WHERE NOT coalesce(arrondissement, false)").fetchall())


def best_dataset(raw: RawTable, communes: "pd.Index | frozenset | None" = None) -> str:
    """The dataset a foreign export most likely holds: the one whose proposal maps the most, ids weighing more."""
    columns = _columns(raw, _as_set(communes))
    best, best_score = None, -1.0
    for name, dataset in DATASETS.items():
        proposal = propose(raw, name, columns=columns)
        mapped = [c for c in proposal.colonnes.values() if c]
        score = len(mapped) + (2 if dataset.id_column in mapped else 0) - 0.5 * len(proposal.manquantes)
        if score > best_score:
            best, best_score = name, score
    return best
