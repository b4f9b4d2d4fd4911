"""Invitation links of the participatory observation: `BASE/contribuer?jeton=SELECTOR.VERIFIER`.

A token is two halves: a public selector (64 bits) that finds its row, and a secret verifier (192 bits of
randomness) of which only the SHA-256 is stored. Checking a token looks its selector up, then compares the
hashes with `hmac.compare_digest` (constant time): the database never compares a secret, and a stolen
warehouse holds no usable link. An unknown selector is compared against a dummy hash all the same, so a
forged token takes as long to refuse as a wrong one.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import hmac
import io
import secrets
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.store import warehouse

DEFAULT_VALIDITY_DAYS = 120  # a campaign stays open about four months
SELECTOR_BYTES = 8
VERIFIER_BYTES = 24  # 192 bits
PATH = "contribuer"
PARAMETER = "jeton"
_DUMMY = hashlib.sha256(b"observatoire").hexdigest()


class TokenError(ValueError):
    """A link that opens nothing (message in French, for the person who clicked it)."""


@dataclass(frozen=True)
class Invitation:
    id_structure: str
    lien: str
    expire_le: dt.date


@dataclass(frozen=True)
class Opened:
    """What a valid link opens: one structure's space for one campaign."""
    selecteur: str
    id_structure: str
    annee: int
    expire_le: dt.date


def _digest(verifier: str) -> str:
    return hashlib.sha256(verifier.encode("utf-8")).hexdigest()


def new_token() -> tuple[str, str, str]:
    """(token, selector, SHA-256 of the verifier)."""
    selector = secrets.token_hex(SELECTOR_BYTES)
    verifier = secrets.token_urlsafe(VERIFIER_BYTES)
    return f"{selector}.{verifier}", selector, _digest(verifier)


def link(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/{PATH}?{PARAMETER}={token}"


def invite(db: Path, annee: int, *, region: str | None = None, structure: str | None = None,
           base_url: str = "http://localhost:8501", expire_le: dt.date | None = None,
           today: dt.date | None = None, deliver=None) -> list[Invitation]:
    """One new link per structure of the scope (a région, one structure, or all) for the campaign `annee`.
    A structure's earlier links for the same campaign are revoked: the last link sent is the one that works.
    `deliver(invitations)` runs before the commit (writing the links file): if it fails, nothing is revoked
    nor stored — links that nobody holds would lock every structure out."""
    today = today or dt.date.today()
    expire_le = expire_le or today + dt.timedelta(days=DEFAULT_VALIDITY_DAYS)
    if expire_le <= today:
        raise TokenError(f"Date d'expiration {expire_le:%d/%m/%Y} passée : choisissez une date à venir.")
    with warehouse.write_transaction(db) as con:
        ids = _structures(con, region, structure)
        now = dt.datetime.now().replace(microsecond=0)
        con.execute("UPDATE opp_jetons SET revoque_le = ? WHERE annee = ? AND revoque_le IS NULL "
                    "AND id_structure IN (SELECT unnest(?::VARCHAR[]))", [now, annee, ids])
        invitations = []
        for id_structure in ids:
            token = store(con, new_token()[0], id_structure, annee, expire_le)
            invitations.append(Invitation(id_structure, link(base_url, token), expire_le))
        if deliver is not None:
            deliver(invitations)
    return invitations


def store(con: duckdb.DuckDBPyConnection, token: str, id_structure: str, annee: int, expire_le: dt.date) -> str:
    """Keep a token's selector and the hash of its verifier (never the token itself); the token."""
    selector, _, verifier = token.partition(".")
    con.execute("INSERT INTO opp_jetons VALUES (?, ?, ?, ?, ?, ?, NULL)",
                [selector, _digest(verifier), id_structure, annee, dt.datetime.now().replace(microsecond=0), expire_le])
    return token


def _structures(con: duckdb.DuckDBPyConnection, region: str | None, structure: str | None) -> list[str]:
    if structure is not None:
        found = con.execute("SELECT id_structure FROM structures WHERE id_structure = ?", [structure]).fetchall()
        if not found:
            raise TokenError(f"Structure « {structure} » introuvable dans l'entrepôt.")
        return [structure]
    if region is not None:
        if not con.execute("SELECT count(*) FROM geo_regions WHERE code = ?", [region]).fetchone()[0]:
            raise TokenError(f"Région « {region} » inconnue : attendu un code INSEE à 2 chiffres, p. ex. 28.")
        rows = con.execute(
            """SELECT s.id_structure FROM structures s JOIN geo_communes c ON c.code = s.code_commune
               WHERE c.code_region = ? ORDER BY 1""", [region]).fetchall()
    else:
        rows = con.execute("SELECT id_structure FROM structures ORDER BY 1").fetchall()
    return [r[0] for r in rows]


def invitations_csv(invitations: list[Invitation]) -> bytes:
    """`id_structure;lien;expire_le`, UTF-8 with BOM and `;` (opens as is in French Excel)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(["id_structure", "lien", "expire_le"])
    for invitation in invitations:
        writer.writerow([invitation.id_structure, invitation.lien, f"{invitation.expire_le:%d/%m/%Y}"])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def revoke(db: Path, id_structure: str) -> int:
    """Every live link of a structure stops working; how many were."""
    with warehouse.write_transaction(db) as con:
        count = con.execute("SELECT count(*) FROM opp_jetons WHERE id_structure = ? AND revoque_le IS NULL",
                            [id_structure]).fetchone()[0]
        con.execute("UPDATE opp_jetons SET revoque_le = ? WHERE id_structure = ? AND revoque_le IS NULL",
                    [dt.datetime.now().replace(microsecond=0), id_structure])
    return int(count)


INVALID = ("Ce lien n'est pas valide : vérifiez qu'il a été copié en entier depuis le message de l'observatoire, "
           "ou demandez-lui un nouveau lien.")


def check(con: duckdb.DuckDBPyConnection, token: str, today: dt.date | None = None) -> Opened:
    """The space a token opens, or TokenError saying in French why it opens nothing."""
    today = today or dt.date.today()
    selector, _, verifier = (token or "").strip().partition(".")
    if not selector or not verifier or len(token) > 200:
        raise TokenError(INVALID)
    rows = con.execute("SELECT verificateur_sha256, id_structure, annee, expire_le, revoque_le FROM opp_jetons "
                       "WHERE selecteur = ?", [selector]).fetchall()
    stored = rows[0][0] if rows else _DUMMY
    if not hmac.compare_digest(_digest(verifier), stored) or not rows:
        raise TokenError(INVALID)
    _, id_structure, annee, expire_le, revoked = rows[0]
    if revoked is not None:
        raise TokenError(f"Ce lien a été révoqué le {revoked:%d/%m/%Y} : l'observatoire vous en a peut-être envoyé "
                         "un plus récent ; sinon, demandez-lui un nouveau lien.")
    if expire_le < today:
        raise TokenError(f"Ce lien a expiré le {expire_le:%d/%m/%Y} : demandez un nouveau lien à l'observatoire.")
    return Opened(selector, id_structure, int(annee), expire_le)


def still_open(con: duckdb.DuckDBPyConnection, selector: str, today: dt.date | None = None) -> bool:
    """Whether a space opened earlier in the session may stay open (its link neither revoked nor expired since)."""
    today = today or dt.date.today()
    rows = con.execute("SELECT expire_le, revoque_le FROM opp_jetons WHERE selecteur = ?", [selector]).fetchall()
    return bool(rows) and rows[0][1] is None and rows[0][0] >= today
