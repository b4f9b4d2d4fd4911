"""Import profiles: another system's export mapped once onto one dataset, reused every month.

A profile (spec v1.1, "Import profiles") renames the file's columns to ours, translates the values of
enumeration columns, fills columns the file lacks with a constant and leaves named columns out without a
warning. It is a TOML file, and it is stored in the warehouse under its name, each save a new version.
Applying one changes what a header or a value means, never the lines: errors still name the file's own
header and line (pipelines.ingest.validate).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd
import tomli_w

from pipelines.ingest import values as V
from pipelines.spec.datasets import BOOLEAN, DATASETS, ENUM, ENUM_LIST, FORME_JURIDIQUE, Column

# Column kinds whose values a profile may translate.
MAPPABLE_KINDS = (ENUM, ENUM_LIST, FORME_JURIDIQUE, BOOLEAN)
BOOLEAN_CODES = {"oui": "Oui", "non": "Non"}
MAX_TOML_BYTES = 1024 * 1024
MAX_NAME_CHARS = 120
TOP_LEVEL_KEYS = {"jeu", "nom", "ignorer", "colonnes", "valeurs", "constantes"}


class ProfileError(ValueError):
    """A profile that cannot be used as written (message in French)."""


def value_choices(column: Column) -> dict[str, str]:
    """Codes (→ labels) a profile may translate a value of `column` into."""
    return BOOLEAN_CODES if column.kind == BOOLEAN else dict(column.choices or {})


@dataclass(frozen=True)
class Profile:
    jeu: str
    nom: str = ""
    colonnes: dict[str, str] = field(default_factory=dict)  # their header → our column
    valeurs: dict[str, dict[str, str]] = field(default_factory=dict)  # our column → their value → our code
    constantes: dict[str, str] = field(default_factory=dict)  # our column → the value of every line
    ignorer: tuple[str, ...] = ()  # their headers, left out without a warning

    # ------------------------------------------------------------------ reading and writing

    @classmethod
    def from_toml(cls, text: str | bytes, source: str = "profil") -> "Profile":
        if isinstance(text, bytes):
            if len(text) > MAX_TOML_BYTES:
                raise ProfileError(f"{source} : profil trop volumineux (plus de 1 Mo) : ce n'est pas un profil d'import.")
            try:
                text = text.decode("utf-8-sig")
            except UnicodeDecodeError:
                raise ProfileError(f"{source} : le profil doit être un fichier texte UTF-8 (TOML).") from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ProfileError(f"{source} : TOML illisible ({exc}) ; voyez l'exemple de la documentation.") from None
        except RecursionError:  # thousands of nested [ or { in a small file
            raise ProfileError(f"{source} : TOML trop imbriqué : ce n'est pas un profil d'import.") from None
        return cls.from_dict(data, source)

    @classmethod
    def from_file(cls, path: str | Path) -> "Profile":
        path = Path(path)
        try:
            if path.stat().st_size > MAX_TOML_BYTES:
                raise ProfileError(f"{path} : profil trop volumineux (plus de 1 Mo) : ce n'est pas un profil d'import.")
            data = path.read_bytes()
        except OSError as exc:
            raise ProfileError(f"{path} : profil illisible ({exc.strerror}).") from None
        profile = cls.from_toml(data, str(path))
        return profile if profile.nom else profile.renamed(path.stem)

    @classmethod
    def from_dict(cls, data: dict, source: str = "profil") -> "Profile":
        """Checked against the dataset: every column ours, every translated value one of our codes, no header
        or value written twice (as the headers match: without regard to case, accents, separators), no
        header both mapped and left out."""
        where = f"{source} : "
        try:
            return cls._from_dict(data, where)
        except ProfileError as exc:
            if str(exc).startswith(where):
                raise
            raise ProfileError(where + str(exc)) from None

    @classmethod
    def _from_dict(cls, data: dict, where: str) -> "Profile":
        if not isinstance(data, dict):
            raise ProfileError("table TOML attendue.")
        unknown = sorted(set(data) - TOP_LEVEL_KEYS)
        if unknown:
            raise ProfileError(where + f"clé(s) inconnue(s) {', '.join(unknown)} ; un profil a les clés "
                               + ", ".join(sorted(TOP_LEVEL_KEYS)) + ".")
        jeu = data.get("jeu")
        if not isinstance(jeu, str) or jeu not in DATASETS:
            raise ProfileError(where + f"« jeu » doit nommer un jeu de données : {', '.join(DATASETS)} "
                               f"(trouvé : {jeu!r}).")
        dataset = DATASETS[jeu]
        nom = check_name(_text(data.get("nom", ""), "« nom »"), required=False)

        def our_column(name: object, context: str) -> str:
            key = V.normalize_key(_text(name, context))
            if key not in dataset.column_names:
                raise ProfileError(where + f"{context} : « {name} » n'est pas une colonne du jeu {jeu} "
                                   f"({', '.join(dataset.column_names)}).")
            return key

        colonnes: dict[str, str] = {}
        targets: dict[str, str] = {}
        _unique_keys(_table(data.get("colonnes", {}), "[colonnes]"), "[colonnes]", "en-têtes")
        for theirs, ours in _table(data.get("colonnes", {}), where + "[colonnes]").items():
            if not theirs.strip():
                raise ProfileError(where + "[colonnes] : un en-tête vide ne peut pas être associé.")
            column = our_column(ours, f"[colonnes] « {theirs} »")
            if column in targets:
                raise ProfileError(where + f"[colonnes] : « {targets[column]} » et « {theirs} » vont tous deux "
                                   f"dans {column} ; une colonne ne reçoit qu'un en-tête.")
            targets[column] = theirs
            colonnes[theirs] = column

        valeurs: dict[str, dict[str, str]] = {}
        for name, mapping in _table(data.get("valeurs", {}), where + "[valeurs]").items():
            column = dataset.column(our_column(name, "[valeurs]"))
            if column.kind not in MAPPABLE_KINDS:
                raise ProfileError(where + f"[valeurs.{column.name}] : {column.name} n'est pas une liste de codes ; "
                                   "seules les colonnes à valeurs codées se traduisent.")
            lookup = _lookup(value_choices(column))
            translated = {}
            _unique_keys(_table(mapping, f"[valeurs.{column.name}]"), f"[valeurs.{column.name}]", "valeurs")
            for theirs, code in _table(mapping, where + f"[valeurs.{column.name}]").items():
                found = lookup.get(V.normalize_key(_text(code, f"[valeurs.{column.name}] « {theirs} »")))
                if found is None:
                    raise ProfileError(where + f"[valeurs.{column.name}] « {theirs} » = « {code} » : code inconnu ; "
                                       f"codes possibles : {', '.join(value_choices(column))}.")
                translated[theirs] = found
            valeurs[column.name] = translated

        constantes = {}
        for name, value in _table(data.get("constantes", {}), where + "[constantes]").items():
            if isinstance(value, bool):
                value = "oui" if value else "non"
            elif isinstance(value, (int, float, dt.date)):
                value = str(value)
            constantes[our_column(name, "[constantes]")] = _text(value, f"[constantes] {name}")
        ignorer = data.get("ignorer", [])
        if not isinstance(ignorer, list) or not all(isinstance(h, str) for h in ignorer):
            raise ProfileError(where + "« ignorer » doit être une liste d'en-têtes entre guillemets.")
        mapped = {V.normalize_key(h): h for h in colonnes}
        both = [h for h in ignorer if V.normalize_key(h) in mapped]
        if both:
            raise ProfileError(where + f"« {both[0]} » est à la fois associé (à {colonnes[mapped[V.normalize_key(both[0])]]}) "
                               "et dans « ignorer » : retirez-le de l'un des deux.")
        return cls(jeu=jeu, nom=nom, colonnes=colonnes, valeurs=valeurs, constantes=constantes,
                   ignorer=tuple(dict.fromkeys(ignorer)))

    def to_dict(self) -> dict:
        data: dict = {"jeu": self.jeu}
        if self.nom:
            data["nom"] = self.nom
        if self.ignorer:
            data["ignorer"] = list(self.ignorer)
        data["colonnes"] = dict(self.colonnes)
        if self.valeurs:
            data["valeurs"] = {column: dict(mapping) for column, mapping in self.valeurs.items() if mapping}
        if self.constantes:
            data["constantes"] = dict(self.constantes)
        return data

    def to_toml(self) -> str:
        header = f"# Profil d'import Observatoire : {self.nom or 'sans nom'} (jeu {self.jeu})\n"
        return header + tomli_w.dumps(self.to_dict())

    def renamed(self, nom: str) -> "Profile":
        return Profile(self.jeu, check_name(nom, required=False), self.colonnes, self.valeurs, self.constantes,
                       self.ignorer)

    # ------------------------------------------------------------------ applying

    def column_of(self, header: str) -> str | None:
        """Our column for one of the file's headers ('' to leave it out), None when the profile says nothing."""
        key = V.normalize_key(header)
        if key in self._ignored_keys:
            return ""
        return self._column_keys.get(key)

    @functools.cached_property
    def _column_keys(self) -> dict[str, str]:  # computed once: a profile may ignore thousands of headers
        return {V.normalize_key(theirs): ours for theirs, ours in self.colonnes.items()}

    @functools.cached_property
    def _ignored_keys(self) -> frozenset[str]:
        return frozenset(V.normalize_key(h) for h in self.ignorer)

    def missing_headers(self, headers: list[str]) -> list[str]:
        """Headers the profile maps that the file does not have (an export whose columns changed)."""
        keys = {V.normalize_key(h) for h in headers}
        return [theirs for theirs in self.colonnes if V.normalize_key(theirs) not in keys]

    def translate(self, column: Column, cells: pd.Series) -> pd.Series:
        """Cells (distinct, trimmed) with the profile's values replaced by our codes; others left as written."""
        mapping = self.valeurs.get(column.name)
        if not mapping:
            return cells
        lookup = {V.normalize_key(theirs): code for theirs, code in mapping.items()}

        def one(cell: str) -> str:
            return lookup.get(V.normalize_key(cell), cell)

        if column.kind == ENUM_LIST:
            return cells.map(lambda cell: "|".join(one(item.strip()) for item in cell.split("|")), na_action="ignore")
        return cells.map(one, na_action="ignore")

    def fits(self, headers: list[str]) -> bool:
        """Every header the profile maps is in the file (it was made for files like this one)."""
        keys = {V.normalize_key(h) for h in headers}
        return bool(self.colonnes) and set(self._column_keys) <= keys


def check_name(name: str, required: bool = True) -> str:
    """A profile's name as stored: trimmed, visible, one line, at most MAX_NAME_CHARS characters."""
    cleaned = "".join(ch for ch in str(name) if unicodedata.category(ch) != "Cf").strip()
    if any(unicodedata.category(ch) == "Cc" for ch in cleaned):
        raise ProfileError("le nom du profil tient sur une ligne, sans caractère de contrôle.")
    if len(cleaned) > MAX_NAME_CHARS:
        raise ProfileError(f"nom trop long ({len(cleaned)} caractères, maximum {MAX_NAME_CHARS}).")
    if required and not cleaned:
        raise ProfileError("Donnez un nom au profil pour l'enregistrer.")
    return cleaned


def _unique_keys(table: dict, context: str, what: str) -> None:
    """Two keys of a table that headers or values would match alike (« Théâtre » and « THEATRE »)."""
    seen: dict[str, str] = {}
    for key in table:
        normal = V.normalize_key(str(key))
        if normal in seen:
            raise ProfileError(f"{context} : « {seen[normal]} » et « {key} » sont les mêmes {what} une fois la casse, "
                               "les accents et les séparateurs ignorés ; gardez-en un.")
        seen[normal] = key


def _text(value: object, context: str) -> str:
    if not isinstance(value, str):
        raise ProfileError(f"{context} : texte entre guillemets attendu (trouvé : {value!r}).")
    return value


def _table(value: object, context: str) -> dict:
    if not isinstance(value, dict):
        raise ProfileError(f"{context} : table TOML attendue (« clé » = « valeur » sous l'en-tête).")
    return value


def _lookup(choices: dict[str, str]) -> dict[str, str]:
    return {**{V.normalize_key(label): code for code, label in choices.items()},
            **{V.normalize_key(code): code for code in choices}}


def file_stem(name: str) -> str:
    """A profile's name as a file name: « Export DLA (2026) » → 'export_dla_2026'."""
    return V.normalize_key(re.sub(r"[^\w\s-]", " ", name))[:60] or "profil"


def header_signature(headers: list[str]) -> list[str]:
    """The file's headers as a profile remembers them: normalised, sorted, without blanks."""
    return sorted({V.normalize_key(h) for h in headers if str(h).strip()})


# ---------------------------------------------------------------------- the warehouse's profiles


def save(con: duckdb.DuckDBPyConnection, profile: Profile, *, role: str, headers: list[str] | None = None) -> int:
    """Store `profile` under its name as a new version (the same content again adds nothing); its version."""
    profile = profile.renamed(check_name(profile.nom))
    content = profile.to_toml()
    latest = con.execute(
        "SELECT version, contenu FROM profils_import WHERE nom = ? ORDER BY version DESC LIMIT 1", [profile.nom]
    ).fetchall()
    if latest and latest[0][1] == content:
        return int(latest[0][0])
    version = int(latest[0][0]) + 1 if latest else 1
    signature = header_signature(headers if headers is not None else [*profile.colonnes, *profile.ignorer])
    con.execute("INSERT INTO profils_import VALUES (?, ?, ?, ?, ?, ?, ?)",
                [profile.nom, version, profile.jeu, content, signature, dt.datetime.now().replace(microsecond=0), role])
    return version


def _stored(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the warehouse has the profiles table (a file made before them, opened read-only, has not)."""
    return bool(con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'profils_import'").fetchone()[0])


def load(con: duckdb.DuckDBPyConnection, name: str, version: int | None = None) -> Profile:
    if not _stored(con):
        raise ProfileError(f"Profil « {name} » introuvable : aucun profil enregistré dans cet entrepôt.")
    rows = con.execute(
        """SELECT contenu FROM profils_import WHERE nom = ? AND (? IS NULL OR version = ?)
           ORDER BY version DESC LIMIT 1""", [name, version, version]).fetchall()
    if not rows:
        known = ", ".join(r[0] for r in con.execute("SELECT DISTINCT nom FROM profils_import ORDER BY 1").fetchall())
        which = f"Profil « {name} »" + (f" version {version}" if version is not None else "")
        raise ProfileError(f"{which} introuvable dans l'entrepôt" + (f" (profils : {known})." if known else
                                                                      " : aucun profil enregistré."))
    return Profile.from_toml(rows[0][0], f"profil « {name} »").renamed(name)


def listing(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The latest version of every stored profile: nom, jeu, version, cree_le, role, entetes."""
    if not _stored(con):
        return pd.DataFrame(columns=["nom", "jeu", "version", "cree_le", "role", "entetes"])
    return con.execute(
        """SELECT nom, jeu, version, cree_le, role, entetes FROM profils_import
           QUALIFY row_number() OVER (PARTITION BY nom ORDER BY version DESC) = 1 ORDER BY nom"""
    ).df()


def versions(con: duckdb.DuckDBPyConnection, name: str) -> pd.DataFrame:
    if not _stored(con):
        return pd.DataFrame(columns=["version", "cree_le", "role"])
    return con.execute("SELECT version, cree_le, role FROM profils_import WHERE nom = ? ORDER BY version",
                       [name]).df()


def matching(con: duckdb.DuckDBPyConnection, headers: list[str]) -> list[tuple[str, bool]]:
    """Stored profiles made for files like this one: (name, same headers exactly), exact ones first."""
    signature = header_signature(headers)
    found = []
    for row in listing(con).itertuples():
        exact = list(row.entetes if row.entetes is not None else []) == signature
        try:
            fits = exact or load(con, row.nom).fits(headers)
        except ProfileError:  # one unreadable profile (saved by an older version) must not block every upload
            continue
        if fits:
            found.append((row.nom, exact))
    return sorted(found, key=lambda item: (not item[1], item[0]))
