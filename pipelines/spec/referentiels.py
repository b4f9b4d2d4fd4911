"""Reference lists of the interchange format v1 (codes → French labels).

Every enumeration the validator accepts, the data dictionary documents and the
pages display comes from here, so a label is written once.
"""

from __future__ import annotations

DOMAINES: dict[str, str] = {
    "spectacle_vivant": "Spectacle vivant",
    "musique": "Musique",
    "arts_visuels": "Arts visuels",
    "patrimoine": "Patrimoine",
    "audiovisuel_cinema": "Audiovisuel et cinéma",
    "livre_edition_presse": "Livre, édition, presse",
    "arts_rue_cirque": "Arts de la rue et cirque",
    "architecture": "Architecture",
    "publicite": "Publicité et communication",
    "enseignement_artistique": "Enseignement artistique",
    "action_culturelle": "Action culturelle et éducation populaire",
    "pluridisciplinaire": "Pluridisciplinaire",
    "autre": "Autre",
}

BESOIN_CATEGORIES: dict[str, str] = {
    "ECO": "Consolidation économique et financière",
    "ORG": "Structuration du modèle organisationnel",
    "EMP": "Fonction employeur et emploi",
    "STR": "Stratégie et développement",
    "EXT": "Structuration externe",
    "TRA": "Transitions",
}

BESOINS: dict[str, str] = {
    "ECO.MODELE": "Modèle économique",
    "ECO.GESTION": "Gestion comptable et financière",
    "ECO.FINANCEMENT": "Recherche de financements, finance solidaire",
    "ECO.DIVERSIFICATION": "Diversification des ressources",
    "ORG.GOUVERNANCE": "Projet associatif et gouvernance",
    "ORG.ORGANISATION": "Organisation interne",
    "ORG.JURIDIQUE": "Statuts et cadre juridique",
    "EMP.RH": "Gestion administrative des ressources humaines",
    "EMP.MUTUALISATION": "Emploi mutualisé, groupement d'employeurs",
    "EMP.CONDITIONS": "Conditions de travail, prévention des risques",
    "EMP.COMPETENCES": "Formation, compétences",
    "STR.PROJET": "Projet de développement stratégique",
    "STR.ACTIVITES": "Stratégie des activités",
    "STR.COOPERATION": "Coopérations, lieux partagés, PTCE, SCIC",
    "EXT.EVALUATION": "Évaluation, utilité sociale",
    "EXT.COMMUNICATION": "Communication",
    "EXT.PARTENARIATS": "Partenariats",
    "EXT.PUBLICS": "Nouveaux publics, diffusion",
    "TRA.CRISE": "Adaptation à la crise",
    "TRA.ECOLOGIQUE": "Transition écologique",
    "TRA.NUMERIQUE": "Transition numérique",
}

# A bare category code is a valid need where a source only records the category.
BESOINS_ACCEPTES: dict[str, str] = {**BESOIN_CATEGORIES, **BESOINS}

FORMES_JURIDIQUES: dict[str, str] = {
    "association": "Association",
    "fondation": "Fondation",
    "scop": "SCOP",
    "scic": "SCIC",
    "cae": "Coopérative d'activité et d'emploi",
    "sarl": "SARL",
    "sas": "SAS",
    "ei": "Entreprise individuelle",
    "collectivite": "Collectivité",
    "autre": "Autre",
}

# INSEE legal categories (4 digits) the spec maps onto our legal forms.
FORME_JURIDIQUE_INSEE_EXACT: dict[str, str] = {
    "9300": "fondation",
    "5458": "scop",
    "5558": "scop",
    "5658": "scop",
}
FORME_JURIDIQUE_INSEE_PREFIX: dict[str, str] = {"92": "association"}

TYPES_PROGRAMME: dict[str, str] = {
    "dla": "DLA",
    "pole_accompagnement": "Pôle d'accompagnement",
    "pairs": "Programme entre pairs",
    "collectif_sectoriel": "Plan collectif sectoriel",
    "autre": "Autre",
}

ETAPES: dict[str, str] = {
    "accueil": "Accueil",
    "diagnostic": "Diagnostic",
    "accompagnement": "Accompagnement",
    "suivi": "Suivi",
    "clos": "Clos",
}

MODALITES: dict[str, str] = {
    "individuel": "Individuel",
    "collectif": "Collectif",
    "pairs": "Entre pairs",
}

FORMATS: dict[str, str] = {
    "appui_court": "Appui court",
    "accompagnement_long": "Accompagnement long",
}

ORIENTATIONS: dict[str, str] = {
    "direct": "Venue directe (bouche-à-oreille)",
    "prescripteur": "Prescripteur (financeur, organisme public)",
    "reseau": "Réseau ou fédération",
}

ECHEANCES: dict[str, str] = {
    "fin": "Fin d'accompagnement",
    "6_mois": "6 mois après",
    "12_mois": "12 mois après",
}

# A plan's actions (interchange format v1.1).
STATUTS_ACTION: dict[str, str] = {
    "a_lancer": "À lancer",
    "en_cours": "En cours",
    "realisee": "Réalisée",
    "reportee": "Reportée",
    "abandonnee": "Abandonnée",
}
STATUTS_CLOS = ("realisee", "abandonnee")  # an action with one of these is never late

INDICATEURS_ACTION: dict[str, str] = {
    "structures": "Structures accompagnées",
    "accompagnements": "Accompagnements",
    "heures": "Heures d'accompagnement",
    "ateliers": "Ateliers collectifs",
    "participants": "Participants aux ateliers",
}

# Where an observation comes from (participatory observation, interchange format v1.1).
SOURCES_OBSERVATION: dict[str, str] = {
    "questionnaire": "Questionnaire rempli par la structure",
    "import": "Import d'un fichier (enquête d'une fédération, d'un réseau)",
}

REGIONS_DEMO: dict[str, str] = {
    "28": "Normandie",
    "76": "Occitanie",
    "93": "Provence-Alpes-Côte d'Azur",
}


def besoin_categorie(code: str) -> str:
    """Category of a need code: 'ECO.MODELE' → 'ECO', 'ECO' → 'ECO'."""
    return code.split(".", 1)[0]
