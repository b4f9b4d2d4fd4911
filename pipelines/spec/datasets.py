"""The datasets of the interchange format (v1, and the sector plan's of v1.1), as data.

These definitions are the single source for the warehouse tables, the
validator, the upload templates and the data dictionary: a rule written here
is enforced, documented and templated at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from pipelines.spec import referentiels as ref

# Column kinds understood by the validator (pipelines.ingest.validate).
TEXT = "text"
INTEGER = "integer"
DECIMAL = "decimal"
DATE = "date"
BOOLEAN = "boolean"
ENUM = "enum"
ENUM_LIST = "enum_list"
TEXT_LIST = "text_list"
SIRET = "siret"
RNA = "rna"
COMMUNE = "commune"
REGION = "region"
URL = "url"
FORME_JURIDIQUE = "forme_juridique"

SQL_TYPES = {
    TEXT: "VARCHAR",
    INTEGER: "BIGINT",
    DECIMAL: "DOUBLE",
    DATE: "DATE",
    BOOLEAN: "BOOLEAN",
    ENUM: "VARCHAR",
    ENUM_LIST: "VARCHAR[]",
    TEXT_LIST: "VARCHAR[]",
    SIRET: "VARCHAR",
    RNA: "VARCHAR",
    COMMUNE: "VARCHAR",
    REGION: "VARCHAR",
    URL: "VARCHAR",
    FORME_JURIDIQUE: "VARCHAR",
}

KIND_LABELS = {
    TEXT: "texte",
    INTEGER: "nombre entier",
    DECIMAL: "nombre décimal (virgule ou point)",
    DATE: "date JJ/MM/AAAA ou AAAA-MM-JJ",
    BOOLEAN: "oui/non",
    ENUM: "code ou libellé d'une liste",
    ENUM_LIST: "liste de codes séparés par |",
    TEXT_LIST: "liste de textes séparés par |",
    SIRET: "SIRET, 14 chiffres",
    RNA: "RNA, W suivi de 9 chiffres",
    COMMUNE: "code commune INSEE, 5 caractères",
    REGION: "code région INSEE, 2 chiffres",
    URL: "adresse http(s)",
    FORME_JURIDIQUE: "forme juridique (code, libellé ou catégorie INSEE à 4 chiffres)",
}


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    required: bool = False
    description: str = ""
    example: str = ""
    choices: Mapping[str, str] | None = None  # code → French label, for ENUM / ENUM_LIST
    minimum: float | None = None
    maximum: float | None = None
    max_length: int = 500
    references: str | None = None  # dataset whose id this column must match
    personal: bool = False  # personal data: never shown outside the analyst view

    @property
    def sql_type(self) -> str:
        return SQL_TYPES[self.kind]


@dataclass(frozen=True)
class Dataset:
    name: str
    label: str
    description: str
    columns: tuple[Column, ...]
    depends_on: tuple[str, ...] = field(default=())

    @property
    def id_column(self) -> str:
        return self.columns[0].name

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


STRUCTURES = Dataset(
    name="structures",
    label="Structures accompagnées",
    description="Les organisations culturelles suivies par un programme.",
    columns=(
        Column("id_structure", TEXT, True, "Identifiant unique de la structure", "S0001", max_length=64),
        Column("nom", TEXT, True, "Nom de la structure", "Compagnie du Vent Bleu", max_length=300),
        Column("siret", SIRET, description="SIRET (14 chiffres, espaces acceptés)", example="73282932000074"),
        Column("rna", RNA, description="Numéro RNA des associations", example="W143001234"),
        Column("forme_juridique", FORME_JURIDIQUE, True, "Forme juridique", "association", choices=ref.FORMES_JURIDIQUES),
        Column("domaine", ENUM, True, "Domaine culturel principal", "spectacle_vivant", choices=ref.DOMAINES),
        Column("code_commune", COMMUNE, True, "Code commune INSEE du siège", "14118"),
        Column("annee_creation", INTEGER, description="Année de création", example="2009", minimum=1800),
        Column("effectif_etp", DECIMAL, description="Effectif salarié en équivalents temps plein", example="2,5", minimum=0),
        Column("nb_benevoles", INTEGER, description="Nombre de bénévoles", example="12", minimum=0),
        Column("budget_annuel", DECIMAL, description="Budget annuel en euros", example="85 000", minimum=0),
        Column("employeur", BOOLEAN, description="La structure emploie-t-elle des salariés ?", example="oui"),
        Column("latitude", DECIMAL, description="Latitude WGS84 (avec longitude)", example="49,1829", minimum=-90, maximum=90),
        Column("longitude", DECIMAL, description="Longitude WGS84 (avec latitude)", example="-0,3707", minimum=-180, maximum=180),
    ),
)

PROGRAMMES = Dataset(
    name="programmes",
    label="Programmes d'accompagnement",
    description="Les dispositifs qui accompagnent les structures (DLA, pôles, pairs, plans sectoriels).",
    columns=(
        Column("id_programme", TEXT, True, "Identifiant unique du programme", "P01", max_length=64),
        Column("nom", TEXT, True, "Nom du programme", "DLA Calvados", max_length=300),
        Column("operateur", TEXT, True, "Opérateur qui porte le programme", "DLA départemental du Calvados", max_length=300),
        Column("type", ENUM, True, "Type de programme", "dla", choices=ref.TYPES_PROGRAMME),
        Column("code_region", REGION, True, "Code région INSEE", "28"),
        Column("date_debut", DATE, True, "Date de début", "01/01/2022"),
        Column("date_fin", DATE, description="Date de fin (postérieure au début)", example="31/12/2024"),
        Column("financeurs", TEXT_LIST, description="Financeurs, séparés par |", example="État|Région"),
        Column("heures_prevues", DECIMAL, description="Heures d'accompagnement prévues", example="1 200", minimum=0),
    ),
)

ACCOMPAGNEMENTS = Dataset(
    name="accompagnements",
    label="Accompagnements",
    description="Une structure suivie par un programme.",
    depends_on=("structures", "programmes"),
    columns=(
        Column("id_accompagnement", TEXT, True, "Identifiant unique de l'accompagnement", "A00001", max_length=64),
        Column("id_structure", TEXT, True, "Structure accompagnée", "S0001", references="structures", max_length=64),
        Column("id_programme", TEXT, True, "Programme qui accompagne", "P01", references="programmes", max_length=64),
        Column("date_debut", DATE, True, "Date de début", "12/03/2023"),
        Column("date_fin", DATE, description="Date de fin (postérieure au début)", example="30/11/2023"),
        Column("etape", ENUM, True, "Étape atteinte", "accompagnement", choices=ref.ETAPES),
        Column("modalite", ENUM, True, "Modalité", "individuel", choices=ref.MODALITES),
        Column("heures", DECIMAL, description="Heures d'accompagnement réalisées", example="18,5", minimum=0),
        Column("besoin_principal", ENUM, True, "Besoin principal (code de la typologie)", "ECO.MODELE", choices=ref.BESOINS_ACCEPTES),
        Column("besoins", ENUM_LIST, description="Tous les besoins, séparés par |", example="ECO.MODELE|ORG.GOUVERNANCE", choices=ref.BESOINS_ACCEPTES),
        Column("format", ENUM, description="Appui court ou accompagnement long", example="accompagnement_long", choices=ref.FORMATS),
        Column("orientation", ENUM, description="Comment la structure est arrivée", example="reseau", choices=ref.ORIENTATIONS),
        Column("heures_benevoles", DECIMAL, description="Heures données par des bénévoles ou des pairs", example="6", minimum=0),
        Column("intervenant", TEXT, description="Intervenant (donnée personnelle, jamais montrée aux financeurs)", example="Chargé de mission 2", max_length=200, personal=True),
    ),
)

ATELIERS = Dataset(
    name="ateliers",
    label="Ateliers collectifs",
    description="Les ateliers collectifs organisés par un programme.",
    depends_on=("programmes",),
    columns=(
        Column("id_atelier", TEXT, True, "Identifiant unique de l'atelier", "W0001", max_length=64),
        Column("id_programme", TEXT, True, "Programme organisateur", "P01", references="programmes", max_length=64),
        Column("date", DATE, True, "Date de l'atelier", "14/02/2024"),
        Column("theme", TEXT, True, "Thème (code de besoin ou texte libre)", "ECO.FINANCEMENT", max_length=300),
        Column("duree_heures", DECIMAL, description="Durée en heures", example="3", minimum=0),
        Column("nb_participants", INTEGER, True, "Nombre de participants", "9", minimum=0),
        Column("nb_adherents", INTEGER, description="Dont adhérents (au plus le nombre de participants)", example="4", minimum=0),
    ),
)

RESULTATS = Dataset(
    name="resultats",
    label="Résultats et suivi",
    description="Les mesures de suivi d'un accompagnement, à la fin, à 6 et à 12 mois.",
    depends_on=("accompagnements",),
    columns=(
        Column("id_resultat", TEXT, True, "Identifiant unique du résultat", "R00001", max_length=64),
        Column("id_accompagnement", TEXT, True, "Accompagnement suivi", "A00001", references="accompagnements", max_length=64),
        Column("echeance", ENUM, True, "Échéance de la mesure", "6_mois", choices=ref.ECHEANCES),
        Column("date_mesure", DATE, True, "Date de la mesure (après le début de l'accompagnement)", "15/06/2024"),
        Column("objectifs_atteints", INTEGER, description="Part des objectifs atteints, en %", example="75", minimum=0, maximum=100),
        Column("etp_avant", DECIMAL, description="ETP avant l'accompagnement", example="1", minimum=0),
        Column("etp_apres", DECIMAL, description="ETP à la date de mesure", example="1,5", minimum=0),
        Column("budget_avant", DECIMAL, description="Budget annuel avant, en euros", example="60 000", minimum=0),
        Column("budget_apres", DECIMAL, description="Budget annuel à la date de mesure, en euros", example="72 000", minimum=0),
        Column("structure_active", BOOLEAN, description="La structure est-elle toujours en activité ?", example="oui"),
        Column("satisfaction", INTEGER, description="Satisfaction de 1 à 5", example="4", minimum=1, maximum=5),
    ),
)

TEMOIGNAGES = Dataset(
    name="temoignages",
    label="Témoignages",
    description="La valorisation qualitative : paroles de structures accompagnées.",
    depends_on=("programmes", "structures"),
    columns=(
        Column("id_temoignage", TEXT, True, "Identifiant unique du témoignage", "T0001", max_length=64),
        Column("id_programme", TEXT, True, "Programme concerné", "P01", references="programmes", max_length=64),
        Column("id_structure", TEXT, description="Structure concernée (facultatif)", example="S0001", references="structures", max_length=64),
        Column("date", DATE, True, "Date du témoignage", "20/09/2024"),
        Column("auteur_role", TEXT, description="Rôle de l'auteur (jamais un nom)", example="directrice", max_length=100),
        Column("texte", TEXT, True, "Texte du témoignage (5 000 caractères au plus)", "L'accompagnement nous a permis de revoir notre modèle économique.", max_length=5000),
        Column("lien_media", URL, description="Lien vers une vidéo ou un article", example="https://example.org/video"),
        Column("consentement_publication", BOOLEAN, True, "Consentement à la publication (seul « oui » est publié)", "oui"),
    ),
)

# Additions of v1.1: a sector plan followed by its steering committee.

PLANS = Dataset(
    name="plans",
    label="Plans d'action sectoriels",
    description="Un plan collectif d'une région, porté par une ou plusieurs organisations.",
    columns=(
        Column("id_plan", TEXT, True, "Identifiant unique du plan", "PL28", max_length=64),
        Column("nom", TEXT, True, "Nom du plan", "Plan sectoriel culture Normandie", max_length=300),
        Column("code_region", REGION, True, "Code région INSEE", "28"),
        Column("porteur", TEXT, True, "Organisation(s) qui portent le plan", "CRESS Normandie · Ligue de l'enseignement 14",
               max_length=300),
        Column("date_debut", DATE, True, "Date de début", "01/01/2024"),
        Column("date_fin", DATE, description="Date de fin (postérieure au début)", example="31/12/2026"),
    ),
)

ENJEUX = Dataset(
    name="enjeux",
    label="Enjeux d'un plan",
    description="Les enjeux auxquels un plan répond, dans l'ordre où le comité les présente.",
    depends_on=("plans",),
    columns=(
        Column("id_enjeu", TEXT, True, "Identifiant unique de l'enjeu", "E1", max_length=64),
        Column("id_plan", TEXT, True, "Plan de l'enjeu", "PL28", references="plans", max_length=64),
        Column("numero", INTEGER, True, "Numéro d'ordre dans le plan (unique dans le plan)", "1", minimum=1),
        Column("intitule", TEXT, True, "Intitulé de l'enjeu", "Professionnalisation des structures culturelles",
               max_length=300),
        Column("mots_cles", TEXT_LIST, description="Mots-clés, séparés par |", example="emploi|formation"),
    ),
)

ACTIONS = Dataset(
    name="actions",
    label="Actions d'un plan",
    description="Les pistes d'actions d'un plan : pilote, échéance, statut et indicateur suivi.",
    depends_on=("plans", "enjeux", "programmes"),
    columns=(
        Column("id_action", TEXT, True, "Identifiant unique de l'action", "AC01", max_length=64),
        Column("id_plan", TEXT, True, "Plan de l'action", "PL28", references="plans", max_length=64),
        Column("enjeux", TEXT_LIST, True, "Enjeux du même plan que l'action sert, séparés par |", "E1",
               references="enjeux"),
        Column("intitule", TEXT, True, "Intitulé de l'action", "Former les bénévoles dirigeants à la fonction employeur",
               max_length=300),
        Column("pilote", TEXT, description="Organisation qui pilote l'action (jamais le nom d'une personne)",
               example="DLA du Calvados", max_length=300),
        Column("partenaires", TEXT_LIST, description="Organisations partenaires, séparées par |",
               example="CRESS|Région"),
        Column("echeance", DATE, description="Échéance de l'action", example="30/06/2025"),
        Column("statut", ENUM, True, "Statut de départ (une décision du comité le remplace)", "a_lancer",
               choices=ref.STATUTS_ACTION),
        Column("indicateur", ENUM, description="Indicateur de l'entrepôt qui mesure l'action", example="structures",
               choices=ref.INDICATEURS_ACTION),
        Column("indicateur_besoin", ENUM, description="Restreint l'indicateur aux accompagnements de ce besoin principal "
               "(catégorie ou code)", example="EMP", choices=ref.BESOINS_ACCEPTES),
        Column("indicateur_programme", TEXT, description="Restreint l'indicateur à ce programme", example="P01",
               references="programmes", max_length=64),
        Column("cible", DECIMAL, description="Cible de l'indicateur", example="40", minimum=0),
        Column("commentaire", TEXT, description="Commentaire", example="Deux sessions prévues", max_length=2000),
    ),
)

DECISIONS = Dataset(
    name="decisions",
    label="Décisions du comité de pilotage",
    description="Le relevé de décisions : ce que le comité a décidé pour une action, à une date de réunion.",
    depends_on=("actions",),
    columns=(
        Column("id_decision", TEXT, True, "Identifiant unique de la décision", "D001", max_length=64),
        Column("id_action", TEXT, True, "Action concernée", "AC01", references="actions", max_length=64),
        Column("date_comite", DATE, True, "Date de la réunion du comité", "14/03/2025"),
        Column("decision", TEXT, True, "Décision prise", "Lancer l'action avec deux DLA pilotes", max_length=2000),
        Column("statut", ENUM, description="Statut de l'action à partir de cette date", example="en_cours",
               choices=ref.STATUTS_ACTION),
        Column("auteur_role", TEXT, description="Rôle de qui l'a enregistrée (jamais un nom)", example="comite",
               max_length=100),
    ),
)

OBSERVATIONS = Dataset(
    name="observations",
    label="Observation participative",
    description="Ce qu'une structure déclare d'elle-même, une fois par an (questionnaire de l'observation "
                "participative, ou enquête d'un réseau importée).",
    depends_on=("structures",),
    columns=(
        Column("id_observation", TEXT, True, "Identifiant unique de l'observation", "OB-S0001-2025", max_length=64),
        Column("id_structure", TEXT, True, "Structure qui déclare", "S0001", references="structures", max_length=64),
        Column("annee", INTEGER, True, "Année observée (une observation par structure et par année)", "2025",
               minimum=2000),
        Column("effectif_etp", DECIMAL, description="Effectif salarié en équivalents temps plein", example="2,5",
               minimum=0),
        Column("nb_salaries", INTEGER, description="Nombre de salariés", example="3", minimum=0),
        Column("nb_benevoles", INTEGER, description="Nombre de bénévoles", example="12", minimum=0),
        Column("heures_benevolat", DECIMAL, description="Heures données par les bénévoles sur l'année", example="850",
               minimum=0),
        Column("budget_annuel", DECIMAL, description="Budget annuel en euros", example="85 000", minimum=0),
        Column("part_recettes_propres", INTEGER, description="Part du budget venant des recettes propres, en %",
               example="35", minimum=0, maximum=100),
        Column("nb_evenements", INTEGER, description="Événements donnés (représentations, expositions, ateliers)",
               example="24", minimum=0),
        Column("public_touche", INTEGER, description="Personnes touchées sur l'année", example="1800", minimum=0),
        Column("besoins", ENUM_LIST, description="Besoins tels que la structure les voit, séparés par |",
               example="ECO.FINANCEMENT|EMP.RH", choices=ref.BESOINS_ACCEPTES),
        Column("commentaire", TEXT, description="Commentaire de la structure", example="Année de reprise après travaux",
               max_length=2000),
        Column("source", ENUM, True, "D'où vient l'observation", "questionnaire", choices=ref.SOURCES_OBSERVATION),
    ),
)

DATASETS: dict[str, Dataset] = {
    d.name: d for d in (STRUCTURES, PROGRAMMES, ACCOMPAGNEMENTS, ATELIERS, RESULTATS, TEMOIGNAGES,
                        PLANS, ENJEUX, ACTIONS, DECISIONS, OBSERVATIONS)
}
V1_DATASETS = ("structures", "programmes", "accompagnements", "ateliers", "resultats", "temoignages")
V1_1_PLAN_DATASETS = ("plans", "enjeux", "actions", "decisions")
V1_1_OBSERVATION_DATASETS = ("observations",)

# Dependency order: a batch is validated and loaded in this order.
LOAD_ORDER: tuple[str, ...] = (*V1_DATASETS, *V1_1_PLAN_DATASETS, *V1_1_OBSERVATION_DATASETS)
