"""A corpus of malformed files: what the analyst is told, where, and that nothing is written.

One row per case: the file is built here from the valid mini fixture (tests/fixtures/mini)
with one defect, then ingested into a private copy of the mini warehouse. Each case states
every problem expected — line as the analyst sees it (header = line 1, spreadsheet row for
XLSX), column as written in the file, the French message (exact, or a fragment marked
`Part(...)` where the message lists a long reference list), the severity — and checks that
the warehouse file is byte-for-byte what it was. Files that cannot be read at all raise
`ingest.UnreadableFile` with a one-line French reason.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import zipfile
from dataclasses import dataclass, field
from typing import Callable

import openpyxl
import pytest

from pipelines import ingest
from pipelines.__main__ import EXIT_USAGE, main
from pipelines.spec.datasets import DATASETS
from pipelines.store import warehouse
from tests.conftest import MINI

ERR, WARN = "erreur", "avertissement"


# ---------------------------------------------------------------------------
# Building files


def mini_text(dataset: str) -> str:
    return (MINI / f"{dataset}.csv").read_text(encoding="utf-8")


def header(dataset: str) -> str:
    return mini_text(dataset).splitlines()[0]


def csv_file(dataset: str, *rows: str, sep: str = ";") -> bytes:
    """The mini header of `dataset` then `rows` (written with ';', re-delimited if asked)."""
    lines = [header(dataset), *rows]
    return ("\n".join(line.replace(";", sep) for line in lines) + "\n").encode("utf-8")


def with_row(dataset: str, *rows: str) -> bytes:
    """The whole valid mini file, plus `rows`."""
    return (mini_text(dataset) + "".join(r + "\n" for r in rows)).encode("utf-8")


def xlsx_file(*sheets: tuple[str, list[list[object]]]) -> bytes:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets:
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def ods_file() -> bytes:
    """An OpenDocument spreadsheet as LibreOffice writes it: an uncompressed 'mimetype' entry first."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", "<office:document-content/>")
    return out.getvalue()


# A structures line with every optional cell empty, to which one defect is added.
def structure(id_: str = "S9", nom: str = "Compagnie Neuf", siret: str = "", rna: str = "", forme: str = "association",
              domaine: str = "musique", commune: str = "14118", annee: str = "", etp: str = "", benevoles: str = "",
              budget: str = "", employeur: str = "", lat: str = "", lon: str = "") -> str:
    return ";".join([id_, nom, siret, rna, forme, domaine, commune, annee, etp, benevoles, budget, employeur, lat, lon])


# ---------------------------------------------------------------------------
# The table


@dataclass(frozen=True)
class Part:
    """A distinctive fragment of a long message (one that lists a whole reference list)."""
    text: str


@dataclass(frozen=True)
class P:
    line: int
    column: str
    message: str | Part
    severity: str = ERR


@dataclass
class Case:
    id: str
    dataset: str | None  # None: recognised from the headers
    data: bytes
    expect: list[P] = field(default_factory=list)
    name: str = "fichier.csv"
    status: str = "refuse"
    unreadable: str | None = None  # the reason after "<file name> : "
    detection: str | None = None
    check: Callable[[ingest.IngestResult], None] | None = None


def _valid_names(result: ingest.IngestResult) -> dict[str, str]:
    valid = result.batch.files[0].valid
    return dict(zip(valid[valid.columns[0]], valid["nom"]))


def _cp1252_names_decoded(result: ingest.IngestResult) -> None:
    assert _valid_names(result) == {"S20": "Théâtre de l’Œuvre « Été », cœur"}


def _operators_keep_their_accents(result: ingest.IngestResult) -> None:
    # The cut character must not send the whole file to Windows-1252 ('OpÃ©rateur').
    assert result.files[0]["encodage"] == "UTF-8"
    valid = result.batch.files[0].valid
    assert valid["operateur"].tolist() == ["Opérateur test", "Opérateur pairs"]


def _quoted_comma_kept(result: ingest.IngestResult) -> None:
    assert _valid_names(result) == {"S9": "Compagnie, Test"}


NOT_A_FORMULA = ("non acceptée : saisissez la valeur elle-même, pas un calcul "
                 "(dans Excel : copier, puis collage spécial > valeurs).")
RAGGED_SHORT = ("ligne incomplète, le fichier est peut-être tronqué ou une valeur contient un retour à la ligne "
                "sans guillemets ; complétez la ligne ou entourez la valeur de guillemets.")
RAGGED_LONG = ("une valeur contient sans doute le point-virgule « ; » ; entourez-la de guillemets ou retirez le "
               "séparateur en trop.")
COMMUNE_99999 = ("Code commune 99999 inconnu : attendu un code INSEE à 5 caractères du Code officiel géographique, "
                 "p. ex. 14118 (Caen) ou 2A004 (Ajaccio) ; le code INSEE d'une commune n'est pas son code postal.")
ORPHAN_TAIL = "introuvable : ni dans l'entrepôt, ni parmi les lignes valides de ce lot ; importez d'abord le fichier"
S_HEADER = header("structures")
P_HEADER = header("programmes").split(";")
BINARY = bytes(range(256)) * 8
EMPTY = "le fichier est vide : vérifiez que vous déposez le bon fichier, avec une ligne d'en-tête puis une ligne par enregistrement."

CASES = [
    # --- one rule of the format per case -------------------------------------------------
    Case("required_missing", "structures", csv_file("structures", structure(nom="")),
         [P(2, "nom", "Valeur obligatoire manquante : renseignez nom (nom de la structure).")]),
    Case("required_only_spaces", "structures", csv_file("structures", structure(), structure("S10", domaine="   ")),
         [P(3, "domaine", "Valeur obligatoire manquante : renseignez domaine (domaine culturel principal).")]),
    Case("bad_integer", "structures",
         csv_file("structures", structure(benevoles="douze"), structure("S10", benevoles="2,5")),
         [P(2, "nb_benevoles", "« douze » n'est pas un nombre entier : écrivez par exemple 12."),
          P(3, "nb_benevoles", "« 2,5 » n'est pas un nombre entier : écrivez par exemple 12.")]),
    Case("integer_too_big", "structures", csv_file("structures", structure(benevoles="9" * 30)),
         [P(2, "nb_benevoles", f"Nombre « {'9' * 30} » trop grand pour nb_benevoles : vérifiez la saisie.")]),
    # 400 digits overflow a double to infinity: refused, never stored as inf.
    Case("decimal_overflow", "structures", mini_text("structures").replace("250000,50", "9" * 400).encode(),
         [P(5, "budget_annuel", Part("Nombre « " + "9" * 120 + "… (400 caractères) » trop grand pour budget_annuel"))]),
    Case("bad_decimal", "structures",
         csv_file("structures", structure(etp="1,5,2"), structure("S10", budget="12 5"), structure("S11", etp="1e3")),
         [P(2, "effectif_etp", "« 1,5,2 » n'est pas un nombre : écrivez par exemple 2,5."),
          P(3, "budget_annuel", "« 12 5 » n'est pas un nombre : écrivez par exemple 85 000."),
          P(4, "effectif_etp", "« 1e3 » n'est pas un nombre : écrivez par exemple 2,5.")]),
    Case("date_that_does_not_exist", "programmes",
         csv_file("programmes", "P9;DLA Neuf;Opérateur;dla;28;31/02/2022;;;", "P10;DLA Dix;Opérateur;dla;28;2022-13-01;;;"),
         [P(2, "date_debut", "Date « 31/02/2022 » inexistante : vérifiez le jour et le mois (JJ/MM/AAAA, le jour d'abord, ou AAAA-MM-JJ)."),
          P(3, "date_debut", "Date « 2022-13-01 » inexistante : vérifiez le jour et le mois (JJ/MM/AAAA, le jour d'abord, ou AAAA-MM-JJ).")]),
    Case("date_unreadable", "accompagnements",
         csv_file("accompagnements", "A9;S1;P1;mars 2022;;clos;individuel;;ECO.MODELE;;;;;"),
         [P(2, "date_debut", "Date « mars 2022 » illisible : attendu JJ/MM/AAAA ou AAAA-MM-JJ, p. ex. 12/03/2021.")]),
    Case("dates_in_wrong_order", "programmes",
         csv_file("programmes", "P9;DLA Neuf;Opérateur;dla;28;01/06/2022;01/01/2022;;"),
         [P(2, "date_fin", "Date de fin antérieure à la date de début : corrigez l'une des deux dates.")]),
    Case("measure_before_start", "resultats", csv_file("resultats", "R9;A1;fin;01/01/2021;;;;;;;"),
         [P(2, "date_mesure", "Date de mesure antérieure au début de l'accompagnement (01/03/2022) : une mesure de suivi vient après le début.")]),
    Case("out_of_range", "resultats", csv_file("resultats", "R9;A1;fin;30/06/2022;101;;;;;;", "R10;A1;fin;30/06/2022;;;;;;;0"),
         [P(2, "objectifs_atteints", "Valeur 101 hors limites pour objectifs_atteints : attendu entre 0 et 100."),
          P(3, "satisfaction", "Valeur 0 hors limites pour satisfaction : attendu entre 1 et 5.")]),
    Case("negative_and_too_old", "structures", csv_file("structures", structure(budget="-5", annee="1700")),
         [P(2, "budget_annuel", "Valeur -5 hors limites pour budget_annuel : attendu au moins 0."),
          P(2, "annee_creation", f"Valeur 1700 hors limites pour annee_creation : attendu entre 1800 et {dt.date.today().year}.")]),
    Case("more_members_than_participants", "ateliers", csv_file("ateliers", "W9;P1;15/03/2023;Communication;2;4;5"),
         [P(2, "nb_adherents", "Plus d'adhérents que de participants : nb_adherents doit être au plus nb_participants.")]),
    Case("unknown_enum_code", "structures", csv_file("structures", structure(domaine="danse")),
         [P(2, "domaine", "« danse » ne fait pas partie de la liste domaine : valeurs possibles : spectacle_vivant, musique, "
                          "arts_visuels, patrimoine, audiovisuel_cinema, livre_edition_presse, arts_rue_cirque, architecture, "
                          "publicite, enseignement_artistique, action_culturelle, pluridisciplinaire, autre ; le plus "
                          "proche : « spectacle_vivant » (Spectacle vivant).")]),
    Case("unknown_enum_label", "accompagnements",
         csv_file("accompagnements", "A9;S1;P1;01/03/2022;;Terminé;Individuel;;ECO.MODELE;;;;;"),
         [P(2, "etape", "« Terminé » ne fait pas partie de la liste etape : valeurs possibles : accueil, diagnostic, "
                        "accompagnement, suivi, clos ; le plus proche : « clos » (Clos).")]),
    Case("unknown_legal_form", "structures", csv_file("structures", structure(forme="GIE")),
         [P(2, "forme_juridique", Part("Forme juridique « GIE » non reconnue : valeurs possibles : association, fondation,"))]),
    Case("bad_list_item", "accompagnements",
         csv_file("accompagnements", "A9;S1;P1;01/03/2022;;clos;individuel;;ECO.MODELE;ECO.MODELE|XYZ| ABC;;;;"),
         [P(2, "besoins", "Code(s) inconnu(s) « XYZ, ABC » dans besoins : utilisez un code de la typologie, p. ex. "
                          "ECO.MODELE|ORG.GOUVERNANCE (voir le dictionnaire des données) ; séparez-les par |.")]),
    Case("siret_checksum", "structures", csv_file("structures", structure(siret="732 829 320 00075")),
         [P(2, "siret", "SIRET « 732 829 320 00075 » invalide : 14 chiffres attendus, dont une clé de contrôle (vérifiez la saisie).")]),
    Case("rna_format", "structures", csv_file("structures", structure(rna="W12345")),
         [P(2, "rna", "RNA « W12345 » invalide : attendu W suivi de 9 chiffres, p. ex. W143001234.")]),
    Case("unknown_commune", "structures", with_row("structures", structure(commune="99999")),
         [P(6, "code_commune", COMMUNE_99999)]),
    Case("unknown_region", "programmes", csv_file("programmes", "P9;DLA Neuf;Opérateur;dla;99;01/01/2022;;;"),
         [P(2, "code_region", "Code région 99 inconnu : attendu un code INSEE à 2 chiffres, p. ex. 28 (Normandie), "
                              "76 (Occitanie), 93 (Provence-Alpes-Côte d'Azur).")]),
    Case("bad_boolean", "structures", csv_file("structures", structure(employeur="peut-être")),
         [P(2, "employeur", "« peut-être » n'est pas reconnu : attendu oui ou non (ou o/n, true/false, 1/0).")]),
    Case("bad_url", "temoignages", csv_file("temoignages", "T9;P1;S1;01/07/2022;;Merci.;www.example.org;oui"),
         [P(2, "lien_media", "Lien « www.example.org » invalide : attendu une adresse commençant par http:// ou https://.")]),
    Case("latitude_without_longitude", "structures", csv_file("structures", structure(lat="49,18")),
         [P(2, "longitude", "Latitude sans longitude : renseignez les deux coordonnées ou aucune.")]),
    # An invalid latitude is reported once, as invalid, not also as "missing".
    Case("latitude_out_of_range_not_missing", "structures", csv_file("structures", structure(lat="149,18", lon="-0,37")),
         [P(2, "latitude", "Valeur 149,18 hors limites pour latitude : attendu entre -90 et 90.")]),
    Case("coordinates_outside_france", "structures", csv_file("structures", structure(lat="-0,37", lon="49,18")),
         [P(2, "latitude", "Coordonnées hors de France : vérifiez latitude et longitude (WGS84, degrés décimaux, p. ex. 49,18 et -0,37).")]),
    Case("duplicated_ids_in_file", "structures", with_row("structures", structure("S9"), structure("S10"), structure("S9", nom="Autre")),
         [P(6, "id_structure", "Identifiant présent plusieurs fois dans le fichier (lignes 6, 8) : chaque ligne doit avoir un identifiant unique."),
          P(8, "id_structure", "Identifiant présent plusieurs fois dans le fichier (lignes 6, 8) : chaque ligne doit avoir un identifiant unique.")]),
    Case("orphan_structure_and_programme", "accompagnements",
         with_row("accompagnements", "A9;S99;P99;01/03/2022;;clos;individuel;;ECO.MODELE;;;;;"),
         [P(7, "id_structure", f"Structure S99 {ORPHAN_TAIL} structures ou corrigez l'identifiant."),
          P(7, "id_programme", f"Programme P99 {ORPHAN_TAIL} programmes ou corrigez l'identifiant.")]),
    Case("orphan_programme_of_workshop", "ateliers", csv_file("ateliers", "W9;P9;15/03/2023;Communication;2;8;"),
         [P(2, "id_programme", f"Programme P9 {ORPHAN_TAIL} programmes ou corrigez l'identifiant.")]),
    Case("orphan_accompagnement", "resultats", csv_file("resultats", "R9;A9;fin;30/06/2022;;;;;;;"),
         [P(2, "id_accompagnement", f"Accompagnement A9 {ORPHAN_TAIL} accompagnements ou corrigez l'identifiant.")]),
    Case("orphan_optional_structure", "temoignages", csv_file("temoignages", "T9;P1;S99;01/07/2022;;Merci.;;oui"),
         [P(2, "id_structure", f"Structure S99 {ORPHAN_TAIL} structures ou corrigez l'identifiant.")]),
    # A warning never blocks: the mini rows with an extra column are valid and already stored.
    Case("unknown_column_is_a_warning", "structures",
         "\n".join(line + (";Commentaire" if i == 0 else ";à revoir") for i, line in enumerate(mini_text("structures").splitlines())).encode() + b"\n",
         [P(1, "Commentaire", "Colonne « Commentaire » inconnue pour le jeu structures : ignorée (vérifiez l'orthographe si elle devait être importée).", WARN)],
         status="inchange"),
    # --- header problems ------------------------------------------------------------------
    Case("header_only", "structures", (S_HEADER + "\n").encode(),
         [P(1, "", "Le fichier ne contient aucune ligne de données (seulement l'en-tête) : ajoutez une ligne par enregistrement sous l'en-tête.")]),
    Case("duplicate_headers", "structures",
         b"id_structure;nom;forme_juridique;domaine;code_commune;Nom\nS9;X;association;musique;14118;Y\n",
         [P(1, "Nom", "Colonne en double : « nom » et « Nom » désignent la même colonne nom ; supprimez l'une des deux.")]),
    Case("duplicate_headers_written_differently", "structures",
         "id_structure;nom;forme_juridique;domaine;Code commune;CODE-COMMUNE\nS9;X;association;musique;14118;14118\n".encode(),
         [P(1, "CODE-COMMUNE", "Colonne en double : « Code commune » et « CODE-COMMUNE » désignent la même colonne "
                                "code_commune ; supprimez l'une des deux.")]),
    Case("missing_required_column", "structures", b"id_structure;nom;forme_juridique;domaine\nS9;X;association;musique\n",
         [P(1, "code_commune", "Colonne obligatoire « code_commune » absente : ajoutez-la (code commune INSEE du siège, p. ex. 14118).")]),
    # --- encodings and delimiters ---------------------------------------------------------
    Case("utf8_bom", "structures", b"\xef\xbb\xbf" + csv_file("structures", structure(), structure(id_="")),
         [P(3, "id_structure", "Valeur obligatoire manquante : renseignez id_structure (identifiant unique de la structure).")],
         detection="CSV, encodage UTF-8 (BOM), séparateur point-virgule"),
    Case("utf8_bom_recognised_without_dataset", None, b"\xef\xbb\xbf" + csv_file("structures", structure(commune="99999")),
         [P(2, "code_commune", COMMUNE_99999)]),
    Case("windows_1252", "structures",
         ("id_structure;Nom;Forme juridique;Domaine;Code commune;Année création;Budget annuel\n"
          "S20;Théâtre de l’Œuvre « Été », cœur;association;spectacle vivant;14118;2001;12 000\n"
          "S21;Cœur;association;musique;14118;deux mille;12 000 €\n").encode("cp1252"),
         [P(3, "Année création", "« deux mille » n'est pas un nombre entier : écrivez par exemple 2009."),
          P(3, "Budget annuel", "« 12 000 € » n'est pas un nombre : écrivez par exemple 85 000.")],
         detection="CSV, encodage Windows-1252, séparateur point-virgule", check=_cp1252_names_decoded),
    Case("utf16_with_bom", "structures", with_row("structures", structure(commune="99999")).decode().encode("utf-16"),
         [P(6, "code_commune", COMMUNE_99999)], detection="CSV, encodage UTF-16, séparateur point-virgule"),
    Case("utf16_cut_inside_a_character", "structures",
         with_row("structures", structure(commune="99999"), structure("S10", nom="Coupé")).decode().encode("utf-16")[:-3],
         [P(7, "longitude", "Ligne de 13 champ(s) au lieu de 14 : " + RAGGED_SHORT), P(6, "code_commune", COMMUNE_99999)]),
    Case("comma_delimiter_with_quoted_comma", "structures",
         b'id_structure,nom,forme_juridique,domaine,code_commune\nS9,"Compagnie, Test",association,musique,14118\nS10,X,association,musique,99999\n',
         [P(3, "code_commune", COMMUNE_99999)], detection="CSV, encodage UTF-8, séparateur virgule", check=_quoted_comma_kept),
    Case("tab_delimiter", "structures",
         csv_file("structures", structure(), structure("S10", domaine="danse"), sep="\t").replace(b"Compagnie Neuf", b"Compagnie; Neuf, 2"),
         [P(3, "domaine", Part("« danse » ne fait pas partie de la liste domaine"))], detection="CSV, encodage UTF-8, séparateur tabulation",
         check=lambda result: _valid_names(result) == {"S9": "Compagnie; Neuf, 2"} or pytest.fail(str(_valid_names(result)))),
    Case("crlf_line_ends", "structures", with_row("structures", structure(commune="99999")).replace(b"\n", b"\r\n"),
         [P(6, "code_commune", COMMUNE_99999)]),
    Case("old_mac_line_ends", "structures", with_row("structures", structure(commune="99999")).replace(b"\n", b"\r"),
         [P(6, "code_commune", COMMUNE_99999)]),
    # --- structure of the file ------------------------------------------------------------
    # Blank lines are skipped but keep their number, so the line quoted is the one the editor shows.
    Case("blank_lines_keep_numbering", "structures",
         csv_file("structures", structure(), "", ";" * 13, structure("S10", commune="99999")),
         [P(5, "code_commune", COMMUNE_99999)]),
    # A quoted value holding a line break is one spreadsheet row: lines are counted as rows, like in XLSX.
    Case("line_break_inside_quotes", "structures",
         csv_file("structures", structure(nom='"Compagnie\nsur deux lignes"'), structure("S10", commune="99999")),
         [P(3, "code_commune", COMMUNE_99999)]),
    Case("truncated_file", "structures", (MINI / "structures.csv").read_bytes()[:-30],
         [P(5, "annee_creation", f"Ligne de 7 champ(s) au lieu de 14 : {RAGGED_SHORT}"),
          P(5, "code_commune", "Valeur obligatoire manquante : renseignez code_commune (code commune INSEE du siège).")]),
    Case("truncated_inside_a_character", "programmes",
         (MINI / "programmes.csv").read_bytes() + "P3;Opé".encode()[:-1],
         [P(4, "operateur", f"Ligne de 2 champ(s) au lieu de 9 : {RAGGED_SHORT}"),
          P(4, "operateur", "Valeur obligatoire manquante : renseignez operateur (opérateur qui porte le programme)."),
          P(4, "type", "Valeur obligatoire manquante : renseignez type (type de programme)."),
          P(4, "code_region", "Valeur obligatoire manquante : renseignez code_region (code région INSEE)."),
          P(4, "date_debut", "Valeur obligatoire manquante : renseignez date_debut (date de début).")],
         check=_operators_keep_their_accents),
    # Values shift right after an unquoted ';' in a name: the line's field count names the cause first.
    Case("unquoted_delimiter_in_a_value", "structures",
         mini_text("structures").replace("Ensemble Test Deux", "Ensemble; Test Deux").encode(),
         [P(3, "longitude", f"Ligne de 15 champ(s) au lieu de 14 : {RAGGED_LONG}"),
          P(3, "siret", Part("SIRET « Test Deux » invalide")),
          P(3, "forme_juridique", Part("Valeur obligatoire manquante")),
          P(3, "domaine", Part("« Association » ne fait pas partie de la liste domaine")),
          P(3, "code_commune", Part("Code commune Musique inconnu")),
          P(3, "annee_creation", Part("Valeur 76540 hors limites")),
          P(3, "employeur", Part("« 12000 » n'est pas reconnu")),
          P(3, "latitude", Part("« non » n'est pas un nombre")),
          P(3, "longitude", "Latitude sans longitude : renseignez les deux coordonnées ou aucune.")]),
    Case("unquoted_comma_in_a_comma_file", "structures",
         b"id_structure,nom,forme_juridique,domaine,code_commune\nS9,Dupont, fils,association,musique,14118\n",
         [P(2, "code_commune", "Ligne de 6 champ(s) au lieu de 5 : une valeur contient sans doute la virgule « , » ; "
                               "entourez-la de guillemets ou retirez le séparateur en trop."),
          P(2, "forme_juridique", Part("« fils » non reconnue")),
          P(2, "domaine", Part("« association » ne fait pas partie de la liste domaine")),
          P(2, "code_commune", Part("Code commune musique inconnu"))]),
    Case("stray_delimiter_on_one_line", "structures", mini_text("structures").replace("oui;;\nS2", "oui;;;\nS2").encode(),
         [P(2, "longitude", f"Ligne de 15 champ(s) au lieu de 14 : {RAGGED_LONG}")]),
    # A line of 100 000 delimiters is one ragged line, not 100 000 columns.
    Case("line_of_100k_delimiters", "structures", mini_text("structures").replace("Compagnie Test Un", ";" * 100_000).encode(),
         [P(2, "longitude", f"Ligne de 100014 champ(s) au lieu de 14 : {RAGGED_LONG}"),
          P(2, "nom", Part("Valeur obligatoire manquante")), P(2, "forme_juridique", Part("Valeur obligatoire manquante")),
          P(2, "domaine", Part("Valeur obligatoire manquante")), P(2, "code_commune", Part("Valeur obligatoire manquante"))]),
    # A spreadsheet saved after a far cell was touched: thousands of empty columns on every line, header included.
    Case("thousands_of_empty_columns", "structures", mini_text("structures").replace("\n", ";" * 16_000 + "\n").encode(),
         status="inchange"),
    # --- dangerous or huge cells ----------------------------------------------------------
    Case("formula_cells", "structures",
         csv_file("structures", structure(benevoles="=1+1"), structure("S10", nom="+cmd|' /C calc'!A0"), structure("S11", etp="@SUM(1)"),
                  structure("S12", nom="-2 + 3 = 1")),
         [P(2, "nb_benevoles", f"Formule « =1+1 » {NOT_A_FORMULA}"),
          P(3, "nom", f"Formule « +cmd|' /C calc'!A0 » {NOT_A_FORMULA}"),
          P(4, "effectif_etp", f"Formule « @SUM(1) » {NOT_A_FORMULA}")]),
    Case("cell_of_100_kb", "structures", csv_file("structures", structure(nom="x" * 100_000)),
         [P(2, "nom", "Texte trop long (100000 caractères, maximum 300) : raccourcissez-le.")]),
    Case("testimony_too_long", "temoignages", csv_file("temoignages", "T9;P1;;01/07/2022;;" + "é" * 5001 + ";;oui"),
         [P(2, "texte", "Texte trop long (5001 caractères, maximum 5000) : raccourcissez-le.")]),
    # --- spreadsheets ---------------------------------------------------------------------
    # A date cell that lost its format arrives as a day count: read, with a warning (P2 is stored as 01/01/2023).
    Case("xlsx_excel_serial_date", "programmes",
         xlsx_file(("programmes", [P_HEADER, ["P2", "Pairs test", "Opérateur pairs", "pairs", "76", 44927, dt.datetime(2024, 12, 31), None, 70]])),
         [P(2, "date_debut", "Nombre « 44927 » lu comme une date Excel : le 01/01/2023 ; vérifiez-la, ou donnez à la colonne le format date.", WARN)],
         name="programmes.xlsx", status="inchange", detection="Excel (feuille « programmes »)"),
    Case("xlsx_rows_are_lines", "programmes",
         xlsx_file(("Notice", [["Lisez-moi"]]),
                   ("Programmes", [P_HEADER, ["P9", "N", "O", "dla", 28, dt.date(2022, 1, 1), None, None, None],
                                   [None] * 9, ["P10", "N", "O", "dla", "28", "=A1", None, None, "cent"]])),
         [P(4, "date_debut", f"Formule « =A1 » {NOT_A_FORMULA}"),
          P(4, "heures_prevues", "« cent » n'est pas un nombre : écrivez par exemple 1 200.")],
         name="export.xlsx", detection="Excel (feuille « Programmes »)"),
    Case("xlsx_header_only", "programmes", xlsx_file(("Feuil1", [P_HEADER])),
         [P(1, "", "Le fichier ne contient aucune ligne de données (seulement l'en-tête) : ajoutez une ligne par enregistrement sous l'en-tête.")],
         name="p.xlsx"),
    # --- files that cannot be read at all -------------------------------------------------
    Case("empty_file", "structures", b"", unreadable=EMPTY),
    Case("bom_and_blank_lines_only", "structures", b"\xef\xbb\xbf\r\n \r\n", unreadable=EMPTY),
    Case("binary_with_nul_bytes", "structures", BINARY,
         unreadable="le fichier semble binaire (octets nuls) : attendu un CSV texte ou un classeur .xlsx."),
    Case("binary_control_characters", "structures", b"\x01\x02\x03abc\x04\x05\x06\x07" * 50,
         unreadable="le fichier semble binaire : attendu un CSV texte ou un classeur .xlsx."),
    Case("unclosed_quote", "structures",
         csv_file("structures", structure(), structure("S10", nom='"Compagnie'), structure("S11")),
         unreadable="structure CSV illisible (ligne 3 : un guillemet ouvert n'est jamais refermé ; le fichier est peut-être tronqué)."),
    Case("bom_then_windows_1252", "structures",
         b"\xef\xbb\xbf" + mini_text("structures").replace("Patrimoine", "Patrimoine é").encode("cp1252"),
         unreadable="le fichier annonce l'encodage UTF-8 mais la ligne 5 contient un caractère dans un autre encodage : "
                    "réenregistrez tout le fichier en « CSV UTF-8 »."),
    Case("ods_file", "programmes", ods_file(), name="programmes.ods",
         unreadable="classeur OpenDocument (.ods) non pris en charge ; enregistrez-le en .xlsx ou en CSV."),
    Case("pdf_file", "programmes", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", name="programmes.pdf",
         unreadable="fichier binaire (un document PDF), pas un tableau : déposez un CSV ou un classeur .xlsx."),
    Case("pdf_named_csv", "programmes", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", name="programmes.csv",
         unreadable="fichier binaire (un document PDF), pas un tableau : déposez un CSV ou un classeur .xlsx."),
    Case("old_xls", "programmes", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512, name="programmes.xls",
         unreadable="ancien format Excel (.xls) non pris en charge ; enregistrez le classeur en .xlsx ou en CSV."),
    Case("truncated_xlsx", "programmes", xlsx_file(("programmes", [P_HEADER]))[:300], name="programmes.xlsx",
         unreadable="classeur Excel illisible ou corrompu (BadZipFile) ; rouvrez-le dans Excel et enregistrez-le de nouveau en .xlsx."),
    Case("xlsx_empty_sheet", "programmes", xlsx_file(("Feuil1", [])), name="programmes.xlsx",
         unreadable="la feuille « Feuil1 » est vide ; mettez l'en-tête et les lignes dans la première feuille visible ou dans une "
                    "feuille nommée d'après le jeu de données."),
]


# ---------------------------------------------------------------------------
# The checks


def snapshot(db) -> tuple[str, dict[str, int]]:
    """The warehouse file's sha256, and the row count of every table (for a readable failure)."""
    with warehouse.read_connection(db) as con:
        names = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables ORDER BY 1").fetchall()]
        counts = {n: con.execute(f'SELECT count(*) FROM "{n}"').fetchall()[0][0] for n in names}
    return hashlib.sha256(db.read_bytes()).hexdigest(), counts


def _matches(message: str, expected: str | Part) -> bool:
    return expected.text in message if isinstance(expected, Part) else message == expected


def test_the_corpus_is_large_and_its_ids_unique():
    assert len(CASES) >= 30
    assert len({c.id for c in CASES}) == len(CASES)
    assert all(c.dataset is None or c.dataset in DATASETS for c in CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_malformed_file(case: Case, mini_db):
    before = snapshot(mini_db)
    upload = ingest.Upload(case.name, case.data, case.dataset)
    if case.unreadable is not None:
        with pytest.raises(ingest.UnreadableFile) as raised:
            ingest.ingest(mini_db, [upload])
        reason = str(raised.value)
        assert reason == f"{case.name} : {case.unreadable}"
        assert "\n" not in reason
        assert snapshot(mini_db) == before
        return

    result = ingest.ingest(mini_db, [upload])
    problems = result.problems
    found = list(zip(problems["ligne"], problems["colonne"], problems["erreur"], problems["gravite"]))
    unexplained = [p for p in found if not any(
        (p[0], p[1], p[3]) == (e.line, e.column, e.severity) and _matches(p[2], e.message) for e in case.expect)]
    missing = [e for e in case.expect if not any(
        (p[0], p[1], p[3]) == (e.line, e.column, e.severity) and _matches(p[2], e.message) for p in found)]
    assert not missing and not unexplained, f"missing: {missing}\nunexpected: {unexplained}"
    assert result.status == case.status, result.message
    assert snapshot(mini_db) == before
    if case.detection:
        assert result.files[0]["detection"] == case.detection
    if case.check:
        case.check(result)


# ---------------------------------------------------------------------------
# The same refusals through the command line: exit code 2, the reason on stderr, nothing written.

CLI_CASES = ["empty_file", "binary_with_nul_bytes", "pdf_file", "ods_file", "unclosed_quote", "xlsx_empty_sheet"]


@pytest.mark.parametrize("case_id", CLI_CASES)
def test_cli_refuses_an_unreadable_file_with_exit_code_2(case_id, mini_db, tmp_path, capsys):
    case = next(c for c in CASES if c.id == case_id)
    path = tmp_path / case.name
    path.write_bytes(case.data)
    before = snapshot(mini_db)
    code = main(["ingest", case.dataset, str(path), "--db", str(mini_db)])
    captured = capsys.readouterr()
    assert code == EXIT_USAGE == 2
    assert captured.err == f"Erreur : {case.name} : {case.unreadable}\n"
    assert snapshot(mini_db) == before


def test_cli_refuses_a_file_of_no_known_dataset_with_exit_code_2(mini_db, tmp_path, capsys):
    path = tmp_path / "inconnu.csv"
    path.write_bytes(b"code;libelle\n1;un\n")
    before = snapshot(mini_db)
    assert main(["ingest", "auto", str(path), "--db", str(mini_db)]) == 2
    assert "jeu de données non reconnu" in capsys.readouterr().err
    assert snapshot(mini_db) == before


def test_cli_refused_file_exits_1_and_names_line_and_column(mini_db, tmp_path, capsys):
    case = next(c for c in CASES if c.id == "windows_1252")
    path = tmp_path / case.name
    path.write_bytes(case.data)
    before = snapshot(mini_db)
    assert main(["ingest", "structures", str(path), "--db", str(mini_db)]) == 1
    out = capsys.readouterr().out
    assert "ERREUR fichier.csv ligne 3, colonne Budget annuel « 12 000 € »" in out
    assert snapshot(mini_db) == before


def test_a_warning_only_file_with_new_rows_is_imported(mini_db):
    """The unknown column does not block new rows either: they are written, the column is not."""
    data = (S_HEADER + ";Commentaire\n" + structure("S9") + ";à revoir\n").encode()
    result = ingest.ingest(mini_db, [ingest.Upload("s.csv", data, "structures")])
    assert result.status == "importe", result.problems
    assert result.problems["gravite"].tolist() == [WARN]
    with warehouse.read_connection(mini_db) as con:
        assert con.execute("SELECT nom FROM structures WHERE id_structure = 'S9'").fetchall() == [("Compagnie Neuf",)]
