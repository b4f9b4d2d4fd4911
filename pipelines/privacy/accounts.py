"""Local accounts: a TOML file outside the repository, passwords hashed with argon2.

The file (``$OBSERVATOIRE_COMPTES``, default ``~/.config/observatoire/comptes.toml``)::

    [comptes."marie.dupont"]
    role = "analyste"
    hash = "$argon2id$v=19$m=65536,t=3,p=4$…"

    [oidc]   # users signed in through st.login (OIDC): e-mail → role
    "tresorier@financeur.fr" = "financeur"

Demo accounts (one per role, passwords documented below and on the sign-in
page) are accepted only when the warehouse holds the synthetic demo; the
caller says so with `demo=True` (see `pipelines.demo.loader.is_demo`).

Command line::

    python -m pipelines comptes ajouter IDENTIFIANT --role analyste
    echo "mot de passe" | python -m pipelines comptes ajouter IDENTIFIANT --role financeur --mot-de-passe-stdin
    python -m pipelines comptes oidc courriel@exemple.fr --role comite
    python -m pipelines comptes lister
"""

from __future__ import annotations

import functools
import getpass
import hmac
import json
import os
import re
import stat
import sys
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from pipelines.privacy.roles import ROLES
from pipelines.store.warehouse import REPO_DIR

ENV_VAR = "OBSERVATOIRE_COMPTES"
DEFAULT_PATH = Path("~/.config/observatoire/comptes.toml")
MIN_PASSWORD = 10
IDENTIFIER = re.compile(r"^[A-Za-z0-9._@-]{2,64}$")

# Public on purpose: they only open the synthetic demo.
DEMO_ACCOUNTS: dict[str, tuple[str, str]] = {
    "demo-analyste": ("analyste", "demo-analyste"),
    "demo-comite": ("comite", "demo-comite"),
    "demo-financeur": ("financeur", "demo-financeur"),
}

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the identifier is unknown, which keeps the answer time the same. Hashed on the
    first sign-in, not at import: every CLI command imports this module, and a hash costs 0.3 s."""
    return _hasher.hash("observatoire-compte-inexistant")


class AccountsError(ValueError):
    """A problem with the accounts file or a request (message in French, says the fix)."""


@dataclass
class Accounts:
    comptes: dict[str, dict] = field(default_factory=dict)
    oidc: dict[str, str] = field(default_factory=dict)


def accounts_path(explicit: str | os.PathLike | None = None) -> Path:
    """The accounts file; refused inside the repository (it must never be committed)."""
    raw = explicit or os.environ.get(ENV_VAR) or DEFAULT_PATH
    path = Path(raw).expanduser().resolve()
    if path == REPO_DIR or REPO_DIR in path.parents:
        raise AccountsError(
            f"Le fichier des comptes ne doit pas être dans le dépôt ({path}) : choisissez un chemin en dehors, "
            f"par exemple {DEFAULT_PATH}, avec la variable {ENV_VAR}.")
    return path


def load(path: Path | None = None) -> Accounts:
    path = accounts_path(path)
    if not path.exists():
        return Accounts()
    mode = path.stat().st_mode
    if mode & (stat.S_IWGRP | stat.S_IWOTH):  # anyone who may write it may give themselves a role
        raise AccountsError(f"Le fichier des comptes {path} est modifiable par d'autres utilisateurs que son "
                            f"propriétaire : il n'est pas lu. Corrigez ses droits : chmod 600 {path}")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise AccountsError(f"Le fichier des comptes {path} est illisible ({exc}) : corrigez-le ou recréez-le.") from exc
    comptes = raw.get("comptes", {})
    oidc = {str(k).lower(): str(v) for k, v in raw.get("oidc", {}).items()}
    for name, entry in comptes.items():
        if entry.get("role") not in ROLES or not entry.get("hash"):
            raise AccountsError(f"Compte « {name} » de {path} : il faut un rôle ({', '.join(ROLES)}) et un hash.")
    for email, role in oidc.items():
        if role not in ROLES:
            raise AccountsError(f"[oidc] de {path} : rôle inconnu « {role} » pour {email}.")
    return Accounts(comptes=comptes, oidc=oidc)


def _toml_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a valid TOML basic string


def save(accounts: Accounts, path: Path | None = None) -> Path:
    """Write the file atomically, readable by its owner only."""
    path = accounts_path(path)
    lines = ["# Comptes de l'Observatoire : ne pas versionner. Modifier avec « python -m pipelines comptes ».", ""]
    for name, entry in sorted(accounts.comptes.items()):
        lines += [f"[comptes.{_toml_string(name)}]", f"role = {_toml_string(entry['role'])}",
                  f"hash = {_toml_string(entry['hash'])}", ""]
    if accounts.oidc:
        lines.append("[oidc]")
        lines += [f"{_toml_string(email)} = {_toml_string(role)}" for email, role in sorted(accounts.oidc.items())]
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".comptes-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def add_account(identifier: str, role: str, password: str, path: Path | None = None) -> Path:
    """Create or replace a local account."""
    if not IDENTIFIER.match(identifier):
        raise AccountsError(f"Identifiant « {identifier} » refusé : 2 à 64 caractères parmi lettres, chiffres, . _ @ -.")
    if identifier in DEMO_ACCOUNTS:
        raise AccountsError(f"« {identifier} » est réservé aux comptes de démonstration : choisissez un autre identifiant.")
    if role not in ROLES:
        raise AccountsError(f"Rôle inconnu « {role} » : choisissez parmi {', '.join(ROLES)}.")
    if len(password) < MIN_PASSWORD:
        raise AccountsError(f"Mot de passe trop court : au moins {MIN_PASSWORD} caractères.")
    accounts = load(path)
    accounts.comptes[identifier] = {"role": role, "hash": _hasher.hash(password)}
    return save(accounts, path)


def map_oidc(email: str, role: str, path: Path | None = None) -> Path:
    if role not in ROLES:
        raise AccountsError(f"Rôle inconnu « {role} » : choisissez parmi {', '.join(ROLES)}.")
    accounts = load(path)
    accounts.oidc[email.strip().lower()] = role
    return save(accounts, path)


def verify(identifier: str, password: str, *, demo: bool = False, path: Path | None = None) -> str | None:
    """The role of this identifier if the password is right, else None."""
    if identifier in DEMO_ACCOUNTS:
        role, expected = DEMO_ACCOUNTS[identifier]
        return role if demo and hmac.compare_digest(password.encode(), expected.encode()) else None
    entry = load(path).comptes.get(identifier)
    try:
        _hasher.verify(entry["hash"] if entry else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return None
    return entry["role"] if entry else None


def oidc_role(email: str | None, path: Path | None = None) -> str | None:
    """The role given to a user signed in through OIDC (None: signed in, but no access)."""
    if not email:
        return None
    return load(path).oidc.get(email.strip().lower())


def demo_accounts() -> list[tuple[str, str, str]]:
    """(identifier, password, role label) of each demo account, for the sign-in page."""
    return [(name, password, ROLES[role].label) for name, (role, password) in DEMO_ACCOUNTS.items()]


# Command line.

def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Mot de passe : ")
    if getpass.getpass("Mot de passe (encore) : ") != first:
        raise AccountsError("Les deux mots de passe diffèrent : recommencez.")
    return first


def add_command(sub) -> None:
    """`python -m pipelines comptes …`: the accounts commands, under the one CLI."""
    parser = sub.add_parser("comptes", help="comptes locaux et rôles des adresses OIDC")
    parser.add_argument("--fichier", help=f"fichier des comptes (sinon ${ENV_VAR}, sinon {DEFAULT_PATH})")
    commands = parser.add_subparsers(dest="commande", required=True)
    add = commands.add_parser("ajouter", help="crée ou remplace un compte local")
    add.add_argument("identifiant")
    add.add_argument("--role", required=True, choices=list(ROLES))
    add.add_argument("--mot-de-passe-stdin", action="store_true", help="lit le mot de passe sur l'entrée standard")
    oidc = commands.add_parser("oidc", help="donne un rôle à une adresse e-mail connectée par OIDC")
    oidc.add_argument("courriel")
    oidc.add_argument("--role", required=True, choices=list(ROLES))
    commands.add_parser("lister", help="liste les comptes (sans les mots de passe)")


def run_command(args) -> int:
    try:
        if args.commande == "ajouter":
            path = add_account(args.identifiant, args.role, _read_password(args.mot_de_passe_stdin), args.fichier)
            print(f"Compte « {args.identifiant} » ({ROLES[args.role].label}) enregistré dans {path}.")
        elif args.commande == "oidc":
            path = map_oidc(args.courriel, args.role, args.fichier)
            print(f"{args.courriel} aura le rôle {ROLES[args.role].label} (fichier {path}).")
        else:
            accounts = load(args.fichier)
            for name, entry in sorted(accounts.comptes.items()):
                print(f"{name}\t{ROLES[entry['role']].label}")
            for email, role in sorted(accounts.oidc.items()):
                print(f"{email}\t{ROLES[role].label} (OIDC)")
    except AccountsError as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        return 2
    return 0
