"""Command line: `python -m pipelines COMMAND …` (no Streamlit needed).

Exit codes: 0 done, 1 refused (the report says why), 2 usage error or
unreadable input.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

from pipelines import ingest
from pipelines.demo import loader as demo_loader
from pipelines.ingest import population
from pipelines.ingest.load import UndoRefused
from pipelines.privacy import accounts, roles, secret
from pipelines.queries import indicators, plan, vue_ensemble
from pipelines.reports import fmt
from pipelines.spec import referentiels as ref
from pipelines.spec import templates
from pipelines.spec.datasets import DATASETS
from pipelines.store import schema, warehouse

EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2


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
        p.add_argument("--db", help=f"fichier DuckDB (défaut : ${warehouse.ENV_VAR} ou data/observatoire.duckdb)")
        return p

    p = with_db(sub.add_parser("init", help="crée ou met à jour l'entrepôt"))
    p.add_argument("--demo", action="store_true", help="charge les données de démonstration synthétiques")

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


def cmd_init(args, db: Path) -> int:
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
        result = demo_loader.load_demo(db)
        print(result.message)
        if not result.committed:
            return EXIT_REFUSED
    return EXIT_OK


def _scope(args) -> indicators.Scope:
    return indicators.Scope(args.region, args.departement, args.programme, args.domaine, args.depuis, args.jusqu_au)


def cmd_kpis(args, db: Path) -> int:
    with warehouse.read_connection(db) as con:
        figures = vue_ensemble.kpis(con, _scope(args), args.vue)
    print(json.dumps(figures, ensure_ascii=False, indent=2))
    return EXIT_OK


def cmd_ingest(args, db: Path) -> int:
    dataset = None if args.dataset == "auto" else args.dataset
    if dataset is not None and dataset not in DATASETS:
        print(f"Erreur d'utilisation : jeu de données « {args.dataset} » inconnu ; choisissez parmi "
              f"{', '.join(DATASETS)} ou auto.", file=sys.stderr)
        return EXIT_USAGE
    try:
        result = ingest.ingest_paths(db, args.files, dataset, valid_only=args.valides_seulement)
    except (ingest.UnreadableFile, ingest.DatasetNotRecognised) as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        return EXIT_USAGE
    for f in result.files:
        print(f"{f['fichier']} → {f['jeu']} ({f['detection']}) : {f['lus']} lues, {f['valides']} valides, "
              f"{f['rejetes']} rejetées")
    _print_problems(result.problems)
    if args.rapport:
        Path(args.rapport).write_bytes(result.problems.to_csv(sep=";", index=False).encode("utf-8-sig"))
    print(result.message)
    return EXIT_OK if result.committed else EXIT_REFUSED


def _print_problems(problems, limit: int = 50) -> None:
    for row in problems.head(limit).itertuples():
        label = "ERREUR" if row.gravite == "erreur" else "attention"
        value = f" « {row.valeur} »" if row.valeur else ""
        print(f"  {label} {row.fichier} ligne {row.ligne}, colonne {row.colonne}{value} : {row.erreur}")
    if len(problems) > limit:
        print(f"  … et {len(problems) - limit} autres problèmes (voir --rapport).")


def cmd_historique(args, db: Path) -> int:
    frame = ingest.history(db)
    if frame.empty:
        print("Aucun import enregistré.")
        return EXIT_OK
    for r in frame.itertuples():
        print(f"n° {r.import_id}  {r.cree_le:%d/%m/%Y %H:%M}  {r.statut:<8} {r.jeux:<30} "
              f"{r.nb_lus} lues, {r.nb_nouveaux} nouvelles, {r.nb_modifies} modifiées, {r.nb_rejetes} rejetées  "
              f"[{r.fichiers}]")
    return EXIT_OK


def cmd_annuler(args, db: Path) -> int:
    try:
        restored = ingest.undo(db, args.import_id)
    except UndoRefused as exc:
        print(f"Refusé : {exc}", file=sys.stderr)
        return EXIT_REFUSED
    detail = ", ".join(f"{n} {name}" for name, n in restored.items() if n)
    print(f"Import n° {args.import_id} annulé ({detail or 'aucune ligne'}).")
    return EXIT_OK


def cmd_population(args, db: Path) -> int:
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


def cmd_rapport(args, db: Path) -> int:
    from pipelines.reports import rapport  # imported when used: WeasyPrint and kaleido are slow to load

    scope = _scope(args)
    with warehouse.read_connection(db) as con:
        pdf = rapport.committee_report_pdf(con, scope, args.vue)
    try:
        Path(args.out).write_bytes(pdf)
    except OSError as exc:
        print(f"Erreur : impossible d'écrire {args.out} ({exc.strerror}).", file=sys.stderr)
        return EXIT_USAGE
    print(f"Rapport du comité écrit : {args.out} ({len(pdf) // 1024} Ko, vue {args.vue}).")
    return EXIT_OK


def cmd_modeles(args, db: Path) -> int:
    try:
        written = templates.write_all(args.out)
    except OSError as exc:
        print(f"Erreur : impossible d'écrire dans {args.out} ({exc.strerror}).", file=sys.stderr)
        return EXIT_USAGE
    for path in written:
        print(path)
    print(f"{len(written)} fichiers écrits dans {args.out}.")
    return EXIT_OK


def cmd_plan(args, db: Path) -> int:
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


def cmd_comptes(args, db: Path) -> int:
    return accounts.run_command(args)


COMMANDS = {"init": cmd_init, "kpis": cmd_kpis, "ingest": cmd_ingest, "historique": cmd_historique,
            "annuler": cmd_annuler, "population": cmd_population, "rapport": cmd_rapport, "comptes": cmd_comptes,
            "modeles": cmd_modeles, "plan": cmd_plan}

if __name__ == "__main__":
    sys.exit(main())
