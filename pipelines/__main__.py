"""Command line: `python -m pipelines COMMAND …` (no Streamlit needed).

Exit codes: 0 done, 1 refused (the report says why), 2 usage error or
unreadable input.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from pathlib import Path

from pipelines import ingest
from pipelines.demo import loader as demo_loader
from pipelines.ingest import population
from pipelines.ingest import profiles as import_profiles
from pipelines.ingest import propose as proposals
from pipelines.ingest.load import UndoRefused
from pipelines.opp import submissions, tokens
from pipelines.privacy import accounts, roles, secret
from pipelines.queries import indicators, observation, plan, vue_ensemble
from pipelines.reports import fmt
from pipelines.spec import referentiels as ref
from pipelines.spec import templates
from pipelines.spec.datasets import DATASETS
from pipelines.store import national, schema, warehouse

EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2
DEFAULT_BASE_URL = "http://localhost:8501"


class FrenchArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse exits with 2 too, but in English
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"Erreur d'utilisation : {message}\n")


def _date(text: str) -> dt.date:
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return dt.datetime.strptime(text, pattern).date()
        except ValueError:
            pass
    raise argparse.ArgumentTypeError(f"date « {text} » illisible : attendu AAAA-MM-JJ")


def build_parser() -> argparse.ArgumentParser:
    parser = FrenchArgumentParser(prog="python -m pipelines", description="Observatoire : entrepôt et indicateurs.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=FrenchArgumentParser)

    def with_db(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--db", help=f"fichier DuckDB ou lac « ducklake:postgres:<connexion> » (défaut : "
                                    f"${warehouse.ENV_VAR} ou data/observatoire.duckdb)")
        return p

    p = with_db(sub.add_parser("init", help="crée ou met à jour l'entrepôt"))
    p.add_argument("--demo", action="store_true", help="charge les données de démonstration synthétiques")

    p = with_db(sub.add_parser("copier", help="copie tout l'entrepôt (--db) vers un autre, neuf : fichier → lac ou "
                                          "lac → fichier, mêmes chiffres"))
    p.add_argument("--vers", required=True, help="l'entrepôt de destination (fichier .duckdb ou ducklake:postgres:…)")

    p = sub.add_parser("national", help="(re)construit la vue nationale, en lecture seule, à partir des entrepôts "
                                        "régionaux (identifiants préfixés par la région)")
    p.add_argument("--source", action="append", required=True, metavar="REGION=ENTREPOT",
                   help="code de région et son entrepôt (fichier ou lac) ; une fois par région")
    p.add_argument("--vers", required=True, help="l'entrepôt national (fichier .duckdb ou ducklake:postgres:…)")

    def with_scope(p: argparse.ArgumentParser, default_view: str) -> argparse.ArgumentParser:
        """The dashboard's filters, and whose view (the funder's applies statistical secrecy)."""
        for name in ("region", "departement", "programme", "domaine"):
            p.add_argument(f"--{name}")
        p.add_argument("--depuis", type=_date)
        p.add_argument("--jusqu-au", dest="jusqu_au", type=_date)
        p.add_argument("--annee", type=int, metavar="AAAA",
                       help="une année civile entière (du 1er janvier au 31 décembre) : la seule période, avec "
                            "« toutes les années », de la vue financeur")
        p.add_argument("--vue", choices=list(roles.ROLES), default=default_view,
                       help=f"rôle du lecteur : « financeur » applique le secret statistique (défaut : {default_view})")
        return with_db(p)

    with_scope(sub.add_parser("kpis", help="affiche les indicateurs clés en JSON"), "analyste")

    p = with_db(sub.add_parser("ingest", help="importe des fichiers CSV/XLSX d'un jeu de données"))
    p.add_argument("dataset", help=f"{', '.join(DATASETS)} ou auto (reconnu aux en-têtes)")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--valides-seulement", action="store_true", help="importe les lignes valides, rejette les autres")
    p.add_argument("--rapport", help="écrit le rapport des problèmes en CSV")
    p.add_argument("--profil", metavar="NOM|FICHIER.toml",
                   help="profil d'import d'un autre logiciel : nom d'un profil de l'entrepôt ou fichier TOML")

    p = sub.add_parser("profil", help="profils d'import : les exports d'autres logiciels, associés une fois")
    actions = p.add_subparsers(dest="action", required=True, parser_class=FrenchArgumentParser)
    with_db(actions.add_parser("lister", help="les profils de l'entrepôt (dernière version de chacun)"))
    q = with_db(actions.add_parser("montrer", help="affiche un profil (TOML) et ses versions"))
    q.add_argument("nom")
    q.add_argument("--version", type=int)
    q = with_db(actions.add_parser("importer", help="enregistre un profil TOML dans l'entrepôt (nouvelle version)"))
    q.add_argument("fichier", metavar="FICHIER.toml")
    q.add_argument("--nom", help="nom sous lequel l'enregistrer (défaut : le nom du fichier TOML)")
    q = with_db(actions.add_parser("exporter", help="écrit un profil de l'entrepôt en TOML"))
    q.add_argument("nom")
    q.add_argument("--version", type=int)
    q.add_argument("--out", help="fichier TOML à écrire (défaut : la sortie standard)")
    q = with_db(actions.add_parser("proposer", help="propose une association des en-têtes et des valeurs d'un fichier"))
    q.add_argument("dataset", help=f"{', '.join(DATASETS)} ou auto (le jeu le plus probable)")
    q.add_argument("file", metavar="FILE")
    q.add_argument("--json", action="store_true", help="imprime la proposition en JSON")
    q.add_argument("--out", help="écrit la proposition comme profil TOML, à relire puis importer")
    q.add_argument("--nom", help="nom du profil écrit par --out")

    with_db(sub.add_parser("historique", help="liste les imports"))
    p = with_db(sub.add_parser("annuler", help="annule un import"))
    p.add_argument("import_id", type=int)

    p = with_db(sub.add_parser("population", help="charge la population de référence (taux de couverture)"))
    p.add_argument("file", metavar="FICHIER",
                   help="CSV code_territoire;niveau;nb_structures_reference;source;annee (remplace la précédente)")

    p = with_scope(sub.add_parser("rapport", help="écrit le rapport du comité (PDF) d'un périmètre"), "comite")
    p.add_argument("--out", required=True, help="fichier PDF à écrire")

    accounts.add_command(sub)

    p = with_db(sub.add_parser("plan", help="suit les plans d'action : statuts, retards, indicateurs"))
    p.add_argument("--region", help="code région INSEE des plans")
    p.add_argument("--plan", help="identifiant d'un plan")
    p.add_argument("--au", type=_date, help="date du suivi, AAAA-MM-JJ (défaut : aujourd'hui)")
    p.add_argument("--json", action="store_true", help="imprime le suivi en JSON")
    p = sub.add_parser("opp", help="observation participative : invitations des structures, file des soumissions")
    actions = p.add_subparsers(dest="action", required=True, parser_class=FrenchArgumentParser)
    q = with_db(actions.add_parser("inviter", help="un lien personnel par structure pour une campagne (CSV)"))
    q.add_argument("--annee", type=int, required=True, metavar="AAAA", dest="campagne",
                   help="l'année observée par la campagne")
    where = q.add_mutually_exclusive_group()
    where.add_argument("--region", help="code région INSEE des structures invitées")
    where.add_argument("--structure", help="une seule structure (identifiant)")
    q.add_argument("--out", required=True, help="CSV id_structure;lien;expire_le à écrire")
    q.add_argument("--base-url", default=DEFAULT_BASE_URL, help="adresse publique du tableau de bord (défaut : %(default)s)")
    q.add_argument("--expire-le", type=_date, help=f"date d'expiration (défaut : dans {tokens.DEFAULT_VALIDITY_DAYS} jours)")
    q = with_db(actions.add_parser("publier", help="publie aux structures les moyennes d'une campagne (une fois)"))
    q.add_argument("--annee", type=int, required=True, metavar="AAAA", dest="campagne")
    q = with_db(actions.add_parser("revoquer", help="désactive les liens d'une structure"))
    q.add_argument("id_structure")
    q = with_db(actions.add_parser("soumissions", help="la file des soumissions des structures"))
    q.add_argument("--json", action="store_true")
    q.add_argument("--statut", choices=[submissions.PENDING, submissions.ACCEPTED, submissions.REFUSED])
    q = with_db(actions.add_parser("accepter", help="écrit une soumission dans l'entrepôt (import annulable)"))
    q.add_argument("numero", type=int)
    q.add_argument("--programme", help="accueil direct : programme vers lequel la structure est orientée")
    q = with_db(actions.add_parser("refuser", help="refuse une soumission (rien n'est écrit)"))
    q.add_argument("numero", type=int)
    q.add_argument("--motif", required=True)

    p = sub.add_parser("modeles", help="écrit les modèles de fichiers (CSV, XLSX) et le dictionnaire des données")
    p.add_argument("--out", required=True, help="dossier de destination (créé au besoin)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    db = warehouse.db_path(getattr(args, "db", None))
    if getattr(args, "annee", None) is not None:
        if args.depuis or args.jusqu_au:
            print("Erreur d'utilisation : --annee remplace --depuis et --jusqu-au ; n'indiquez que l'un ou l'autre.",
                  file=sys.stderr)
            return EXIT_USAGE
        args.depuis, args.jusqu_au = indicators.Scope.year_period(args.annee)
    try:
        return COMMANDS[args.command](args, db)
    except warehouse.WarehouseError as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        return EXIT_USAGE
    except secret.SecretError as exc:  # e.g. a period the funder view does not publish
        print(f"Refusé : {exc}", file=sys.stderr)
        return EXIT_USAGE


def cmd_init(args, db: warehouse.Target) -> int:
    with warehouse.write_transaction(db, create=True) as con:
        schema.load_reference_data(con)
    print(f"Entrepôt prêt : {db}")
    if not args.demo:
        with warehouse.read_connection(db) as con:
            holds_demo = demo_loader.is_demo(con)
        if holds_demo:  # an analyst's files would mix with the synthetic demo
            print(f"Attention : {db} contient la démonstration synthétique. Pour vos propres fichiers, créez un "
                  "autre entrepôt : --db data/mon-observatoire.duckdb (ou la variable OBSERVATOIRE_DB).",
                  file=sys.stderr)
    if args.demo:
        with warehouse.read_connection(db) as con:
            holds_demo = demo_loader.is_demo(con)
            holds_data = con.execute("SELECT count(*) FROM imports WHERE statut = 'importe'").fetchone()[0] > 0
        if holds_data and not holds_demo:  # the public demo accounts and link would open these data
            print(f"Refusé : {db} contient déjà des données (imports de fichiers) : la démonstration synthétique n'y "
                  "est pas ajoutée, ses comptes publics les ouvriraient. Créez-la dans un autre entrepôt : "
                  "--db data/demo.duckdb.", file=sys.stderr)
            return EXIT_REFUSED
        result = demo_loader.load_demo(db)
        print(result.message)
        if not result.committed:
            return EXIT_REFUSED
    return EXIT_OK


def cmd_copy(args, db) -> int:
    destination = warehouse.db_path(args.vers)
    copied = warehouse.copy_warehouse(db, destination)
    print(f"Copié vers {destination} : {sum(copied.values())} lignes dans {len(copied)} tables "
          f"(dont {copied.get('imports', 0)} imports).")
    return EXIT_OK


def cmd_national(args, db) -> int:
    sources = {}
    for given in args.source:
        label, sep, target = given.partition("=")
        if not sep or not target or label.strip() in sources:
            print(f"Erreur d'utilisation : --source {given} : écrivez CODE_REGION=ENTREPOT, une fois par région.",
                  file=sys.stderr)
            return EXIT_USAGE
        sources[label.strip()] = warehouse.db_path(target)
    copied = national.build(sources, warehouse.db_path(args.vers))
    print(f"Vue nationale écrite dans {warehouse.db_path(args.vers)} : {len(sources)} région(s), "
          + ", ".join(f"{n} {name}" for name, n in copied.items() if n) + ".")
    return EXIT_OK


def _scope(args) -> indicators.Scope:
    return indicators.Scope(args.region, args.departement, args.programme, args.domaine, args.depuis, args.jusqu_au)


def cmd_kpis(args, db: warehouse.Target) -> int:
    with warehouse.read_connection(db) as con:
        figures = vue_ensemble.kpis(con, _scope(args), args.vue)
    print(json.dumps(figures, ensure_ascii=False, indent=2))
    return EXIT_OK


def cmd_ingest(args, db: warehouse.Target) -> int:
    dataset = None if args.dataset == "auto" else args.dataset
    if dataset is not None and dataset not in DATASETS:
        print(f"Erreur d'utilisation : jeu de données « {args.dataset} » inconnu ; choisissez parmi "
              f"{', '.join(DATASETS)} ou auto.", file=sys.stderr)
        return EXIT_USAGE
    try:
        profile = _profile(args.profil, db) if args.profil else None
        result = ingest.ingest_paths(db, args.files, dataset, profile, valid_only=args.valides_seulement)
    except (ingest.UnreadableFile, ingest.DatasetNotRecognised, ingest.ProfileError) as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        if isinstance(exc, ingest.DatasetNotRecognised):
            _suggest_profile(args.files, db)
        return EXIT_USAGE
    for f in result.files:
        print(f"{f['fichier']} → {f['jeu']} ({f['detection']}) : {f['lus']} lues, {f['valides']} valides, "
              f"{f['rejetes']} rejetées")
    _print_problems(result.problems)
    if args.rapport:
        Path(args.rapport).write_bytes(ingest.report_csv(result.problems))
    print(result.message)
    if not args.profil and (result.problems["erreur"].str.startswith("Colonne obligatoire")).any():
        _suggest_profile(args.files, db)
    return EXIT_OK if result.committed else EXIT_REFUSED


def _profile(text: str, db: warehouse.Target) -> import_profiles.Profile:
    """--profil: a TOML file when it names one, else a profile stored in the warehouse."""
    if Path(text).is_file():
        return import_profiles.Profile.from_file(text)
    with warehouse.read_connection(db) as con:
        try:
            return import_profiles.load(con, text)
        except import_profiles.ProfileError:
            if text.lower().endswith(".toml"):  # meant as a file, most likely
                raise import_profiles.ProfileError(f"{text} : ni fichier TOML lisible, ni profil de ce nom dans "
                                                   "l'entrepôt.") from None
            raise


def _suggest_profile(files: list[str], db: warehouse.Target) -> None:
    """Headers of another system's export: a stored profile made for them, or how to get one."""
    try:
        raw = ingest.read_file(Path(files[0]).name, Path(files[0]).read_bytes())
        with warehouse.read_connection(db) as con:
            found = import_profiles.matching(con, raw.headers)
    except (OSError, ingest.UnreadableFile, warehouse.WarehouseError):
        return
    if found:
        names = ", ".join(f"« {name} »" for name, _ in found)
        print(f"Profil(s) enregistré(s) pour ces en-têtes : {names} ; importez avec --profil \"{found[0][0]}\".",
              file=sys.stderr)
    else:
        print(f"Ce fichier vient d'un autre logiciel ? « python -m pipelines profil proposer JEU {files[0]} » propose "
              "une association de ses colonnes, à enregistrer comme profil (--profil).", file=sys.stderr)


def _print_problems(problems, limit: int = 50) -> None:
    for row in problems.head(limit).itertuples():
        label = "ERREUR" if row.gravite == "erreur" else "attention"
        value = f" « {row.valeur} »" if row.valeur else ""
        print(f"  {label} {row.fichier} ligne {row.ligne}, colonne {row.colonne}{value} : {row.erreur}")
    if len(problems) > limit:
        print(f"  … et {len(problems) - limit} autres problèmes (voir --rapport).")


def cmd_historique(args, db: warehouse.Target) -> int:
    frame = ingest.history(db)
    if frame.empty:
        print("Aucun import enregistré.")
        return EXIT_OK
    for r in frame.itertuples():
        print(f"n° {r.import_id}  {r.cree_le:%d/%m/%Y %H:%M}  {r.statut:<8} {r.jeux:<30} "
              f"{r.nb_lus} lues, {r.nb_nouveaux} nouvelles, {r.nb_modifies} modifiées, {r.nb_rejetes} rejetées  "
              f"[{r.fichiers}]")
    return EXIT_OK


def cmd_annuler(args, db: warehouse.Target) -> int:
    try:
        restored = ingest.undo(db, args.import_id)
    except UndoRefused as exc:
        print(f"Refusé : {exc}", file=sys.stderr)
        return EXIT_REFUSED
    detail = ", ".join(f"{n} {name}" for name, n in restored.items() if n)
    print(f"Import n° {args.import_id} annulé ({detail or 'aucune ligne'}).")
    return EXIT_OK


def cmd_population(args, db: warehouse.Target) -> int:
    try:
        count = population.load_reference_population(db, args.file)
    except population.ReferencePopulationError as exc:
        print(f"Refusé, rien n'a été écrit : {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except OSError as exc:
        print(f"Erreur : {args.file} illisible ({exc.strerror}).", file=sys.stderr)
        return EXIT_USAGE
    print(f"Population de référence chargée : {count} territoire(s).")
    return EXIT_OK


def cmd_rapport(args, db: warehouse.Target) -> int:
    from pipelines.reports import rapport  # imported when used: WeasyPrint and kaleido are slow to load

    scope = _scope(args)
    with warehouse.read_connection(db) as con:
        pdf = rapport.committee_report_pdf(con, scope, args.vue)
    if not _write(args.out, pdf):
        return EXIT_USAGE
    print(f"Rapport du comité écrit : {args.out} ({len(pdf) // 1024} Ko, vue {args.vue}).")
    return EXIT_OK


def _write(path: str, content: bytes, private: bool = False) -> bool:
    """Write an output file, or say in French why it cannot be (False). `private`: readable by its owner only
    (personal links are keys)."""
    try:
        if private:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.fchmod(descriptor, 0o600)  # an existing file keeps its mode through O_CREAT: before any byte
            with open(descriptor, "wb") as handle:
                handle.write(content)
        else:
            Path(path).write_bytes(content)
    except OSError as exc:
        print(f"Erreur : impossible d'écrire {path} ({exc.strerror}).", file=sys.stderr)
        return False
    return True


def cmd_modeles(args, db: warehouse.Target) -> int:
    try:
        written = templates.write_all(args.out)
    except OSError as exc:
        print(f"Erreur : impossible d'écrire dans {args.out} ({exc.strerror}).", file=sys.stderr)
        return EXIT_USAGE
    for path in written:
        print(path)
    print(f"{len(written)} fichiers écrits dans {args.out}.")
    return EXIT_OK


def cmd_plan(args, db: warehouse.Target) -> int:
    with warehouse.read_connection(db) as con:
        followed = plan.summary(con, args.region, args.plan, args.au)
    if args.json:
        print(json.dumps(followed, ensure_ascii=False, indent=2))
        return EXIT_OK
    if not followed["plans"]:
        print("Aucun plan d'action dans l'entrepôt pour ces critères (importez les fichiers plans, enjeux, actions).")
    for p in followed["plans"]:
        statuses = ", ".join(f"{ref.STATUTS_ACTION.get(s, s)} : {n}" for s, n in p["par_statut"].items()) or "aucune"
        print(f"{p['id_plan']} · {p['nom']} — {p['actions']} action(s) ({statuses}) ; en retard : {p['en_retard']}")
        for action, measure in p["indicateurs"].items():
            target = "" if measure["cible"] is None else f" / cible {fmt.nombre(measure['cible'])}"
            print(f"  {action} : {fmt.nombre(measure['valeur'])}{target}")
    return EXIT_OK


def cmd_profil(args, db: warehouse.Target) -> int:
    try:
        return PROFILE_ACTIONS[args.action](args, db)
    except import_profiles.ProfileError as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (ingest.UnreadableFile, ingest.DatasetNotRecognised) as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        return EXIT_USAGE


def profile_list(args, db: warehouse.Target) -> int:
    with warehouse.read_connection(db) as con:
        frame = import_profiles.listing(con)
    if frame.empty:
        print("Aucun profil d'import enregistré (python -m pipelines profil importer FICHIER.toml).")
    for row in frame.itertuples():
        print(f"{row.nom}  (jeu {row.jeu}, version {row.version}, {row.cree_le:%d/%m/%Y %H:%M}, {row.role})")
    return EXIT_OK


def profile_show(args, db: warehouse.Target) -> int:
    with warehouse.read_connection(db) as con:
        profile = import_profiles.load(con, args.nom, args.version)
        history = import_profiles.versions(con, args.nom)
    print(profile.to_toml(), end="")
    print("# versions : " + ", ".join(f"{r.version} ({r.cree_le:%d/%m/%Y %H:%M}, {r.role})" for r in history.itertuples()))
    return EXIT_OK


def profile_import(args, db: warehouse.Target) -> int:
    profile = import_profiles.Profile.from_file(args.fichier)
    if args.nom:
        profile = profile.renamed(args.nom)
    with warehouse.write_transaction(db) as con:
        version = import_profiles.save(con, profile, role="analyste")
    print(f"Profil « {profile.nom} » enregistré (jeu {profile.jeu}, version {version}).")
    return EXIT_OK


def profile_export(args, db: warehouse.Target) -> int:
    with warehouse.read_connection(db) as con:
        text = import_profiles.load(con, args.nom, args.version).to_toml()
    if not args.out:
        print(text, end="")
        return EXIT_OK
    if not _write(args.out, text.encode("utf-8")):
        return EXIT_USAGE
    print(f"Profil « {args.nom} » écrit : {args.out}")
    return EXIT_OK


def profile_propose(args, db: warehouse.Target) -> int:
    if args.dataset != "auto" and args.dataset not in DATASETS:
        print(f"Erreur d'utilisation : jeu de données « {args.dataset} » inconnu ; choisissez parmi "
              f"{', '.join(DATASETS)} ou auto.", file=sys.stderr)
        return EXIT_USAGE
    upload = ingest.Upload.from_path(args.file)
    raw = ingest.read_file(upload.name, upload.data, None if args.dataset == "auto" else args.dataset)
    communes = None
    if db.exists():
        with warehouse.read_connection(db) as con:
            communes = proposals.commune_codes(con)
    dataset = proposals.best_dataset(raw, communes) if args.dataset == "auto" else args.dataset
    proposal = proposals.propose(raw, dataset, communes)
    if args.out:
        profile = proposal.to_profile(args.nom or Path(args.file).stem)
        if not _write(args.out, profile.to_toml().encode("utf-8")):
            return EXIT_USAGE
    if args.json:
        print(json.dumps(proposal.to_json(), ensure_ascii=False, indent=2))
        return EXIT_OK
    print(f"{upload.name} → jeu {dataset} ({raw.detection})")
    for theirs, ours in proposal.colonnes.items():
        why = f"  [{proposal.raisons[theirs]}]" if theirs in proposal.raisons else ""
        print(f"  « {theirs} » → {ours or '(ignorée)'}{why}")
    for column, mapping in proposal.valeurs.items():
        for theirs, code in mapping.items():
            print(f"  {column} : « {theirs} » → {code or '(aucun code proche : à choisir)'}")
    if proposal.manquantes:
        print("Colonnes obligatoires sans en-tête : " + ", ".join(proposal.manquantes)
              + " (associez-les, ou donnez-leur une constante dans [constantes]).")
    if args.out:
        print(f"Proposition écrite : {args.out} ; relisez-la, puis « python -m pipelines profil importer {args.out} ».")
    return EXIT_OK


def cmd_opp(args, db: warehouse.Target) -> int:
    try:
        return OPP_ACTIONS[args.action](args, db)
    except (tokens.TokenError, submissions.SubmissionError) as exc:
        print(f"Refusé : {exc}", file=sys.stderr)
        return EXIT_REFUSED


class _NotWritten(Exception):
    pass


def opp_invite(args, db: warehouse.Target) -> int:
    def deliver(invitations) -> None:  # inside the transaction: no links file, no new links
        if not _write(args.out, tokens.invitations_csv(invitations), private=True):
            raise _NotWritten

    try:
        invitations = tokens.invite(db, args.campagne, region=args.region, structure=args.structure,
                                    base_url=args.base_url, expire_le=args.expire_le, deliver=deliver)
    except _NotWritten:
        print("Rien n'a changé : les liens précédents restent valables.", file=sys.stderr)
        return EXIT_USAGE
    print(f"{len(invitations)} lien(s) écrit(s) dans {args.out} (campagne {args.campagne}, fichier lisible par vous "
          "seul) ; chaque lien ouvre l'espace de sa structure : envoyez-le à elle seule. Un lien envoyé plus tôt pour "
          "cette campagne ne fonctionne plus.")
    if args.base_url == DEFAULT_BASE_URL:
        print(f"Attention : les liens pointent vers {DEFAULT_BASE_URL}, qui n'ouvre que sur cette machine ; donnez "
              "l'adresse publique du tableau de bord avec --base-url.", file=sys.stderr)
    return EXIT_OK


def opp_publish(args, db: warehouse.Target) -> int:
    try:
        with warehouse.write_transaction(db) as con:
            count = observation.publish(con, args.campagne, "analyste")
    except ValueError as exc:
        print(f"Refusé : {exc}", file=sys.stderr)
        return EXIT_REFUSED
    print(f"Résultats de la campagne {args.campagne} publiés aux structures ({count} structure(s) y ont répondu) ; "
          "ils ne changeront plus.")
    return EXIT_OK


def opp_revoke(args, db: warehouse.Target) -> int:
    count = tokens.revoke(db, args.id_structure)
    print(f"{count} lien(s) révoqué(s) pour la structure {args.id_structure}.")
    return EXIT_OK


def opp_list(args, db: warehouse.Target) -> int:
    with warehouse.read_connection(db) as con:
        frame = submissions.listing(con, args.statut)
        diffs = {int(n): submissions.changes(con, int(n)) for n in frame["id_soumission"]}
    if args.json:
        print(json.dumps([{**{k: (None if pd_isna(v) else v) for k, v in row.items()},
                           "changements": diffs[int(row["id_soumission"])].to_dict(orient="records")}
                          for row in frame.to_dict(orient="records")], ensure_ascii=False, indent=2, default=str))
        return EXIT_OK
    if frame.empty:
        print("Aucune soumission.")
    for row in frame.itertuples():
        print(f"n° {row.id_soumission}  {row.cree_le:%d/%m/%Y %H:%M}  {row.nature:<11} {_printable(row.structure):<30} "
              f"{row.annee}  {submissions.STATUS_LABELS[row.statut]}" + (f" (motif : {row.motif})" if row.motif else ""))
        for change in diffs[int(row.id_soumission)].itertuples():
            print(f"    {change.jeu}.{change.colonne} : « {_printable(change.avant)} » → « {_printable(change.apres)} »")
    return EXIT_OK


def _printable(text) -> str:
    """Text from a form, shown in a terminal: no escape sequence of anyone's reaches it."""
    return "".join(ch if ch.isprintable() else "?" for ch in str(text or ""))


def pd_isna(value) -> bool:
    try:
        return bool(value is None or value != value)
    except (TypeError, ValueError):
        return False


def opp_accept(args, db: warehouse.Target) -> int:
    result = submissions.accept(db, args.numero, "analyste", programme=args.programme)
    _print_problems(result.problems)
    print(result.message)
    return EXIT_OK if result.committed else EXIT_REFUSED


def opp_refuse(args, db: warehouse.Target) -> int:
    submissions.refuse(db, args.numero, args.motif)
    print(f"Soumission n° {args.numero} refusée ; rien n'a été écrit dans les données.")
    return EXIT_OK


OPP_ACTIONS = {"inviter": opp_invite, "publier": opp_publish, "revoquer": opp_revoke, "soumissions": opp_list, "accepter": opp_accept,
               "refuser": opp_refuse}


PROFILE_ACTIONS = {"lister": profile_list, "montrer": profile_show, "importer": profile_import,
                   "exporter": profile_export, "proposer": profile_propose}


def cmd_comptes(args, db: warehouse.Target) -> int:
    return accounts.run_command(args)


COMMANDS = {"init": cmd_init, "copier": cmd_copy, "national": cmd_national, "kpis": cmd_kpis, "ingest": cmd_ingest, "historique": cmd_historique,
            "annuler": cmd_annuler, "population": cmd_population, "rapport": cmd_rapport, "comptes": cmd_comptes,
            "modeles": cmd_modeles, "plan": cmd_plan, "profil": cmd_profil, "opp": cmd_opp}

if __name__ == "__main__":
    sys.exit(main())
