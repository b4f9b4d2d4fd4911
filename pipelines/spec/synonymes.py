"""What other software calls our columns and our codes: the vocabulary of French exports.

Used by the import profile proposals (pipelines.ingest.propose) to guess a mapping, never to map a file
silently: an analyst confirms every proposal. Written as people write them; they are compared once
normalised (case, accents, separators and small words ignored).
"""

from __future__ import annotations

# Our column → headers seen in management software (DLA, pôles), federations' surveys and spreadsheets.
HEADER_SYNONYMS: dict[str, tuple[str, ...]] = {
    # structures
    "id_structure": ("identifiant structure", "code structure", "numéro structure", "référence structure",
                     "id association", "identifiant association", "n° adhérent", "code adhérent", "id structure",
                     "identifiant de la structure", "code client", "n° structure", "réf. structure",
                     "réf structure"),
    "nom": ("raison sociale", "dénomination", "dénomination sociale", "nom de la structure", "nom structure",
            "nom de l'association", "nom association", "structure", "nom usuel", "enseigne", "libellé",
            "nom du dispositif", "intitulé du dispositif"),
    "siret": ("n° siret", "numéro siret", "code siret", "siret établissement", "n° de siret", "siret"),
    "rna": ("numéro rna", "n° rna", "rna", "n° de déclaration en préfecture", "numéro waldec", "waldec"),
    "forme_juridique": ("statut juridique", "statut", "forme", "nature juridique", "catégorie juridique",
                        "cat. juridique", "type de structure", "forme de la structure"),
    "domaine": ("secteur", "secteur d'activité", "discipline", "domaine d'activité", "champ", "filière",
                "champ culturel", "discipline principale", "secteur culturel", "activité principale"),
    "code_commune": ("code insee", "code commune insee", "insee", "commune (code insee)", "cog",
                     "code officiel géographique", "code géographique", "code insee commune", "insee commune"),
    "annee_creation": ("année de création", "date de création", "création", "créée en", "année création",
                       "année de fondation"),
    "effectif_etp": ("etp", "équivalent temps plein", "effectif etp", "nombre d'etp", "nb etp", "salariés etp",
                     "effectif salarié etp", "effectif"),
    "nb_benevoles": ("bénévoles", "nombre de bénévoles", "nb bénévoles", "bénévoles actifs"),
    "budget_annuel": ("budget", "budget annuel", "budget total", "total des produits", "produits",
                      "chiffre d'affaires", "ressources annuelles", "budget de l'année"),
    "employeur": ("employeur", "structure employeuse", "emploie des salariés", "employeuse"),
    "latitude": ("lat", "coordonnée y", "y"),
    "longitude": ("lon", "lng", "long", "coordonnée x", "x"),
    # programmes
    "id_programme": ("code programme", "dispositif", "code dispositif", "programme", "id dispositif",
                     "référence programme", "identifiant dispositif", "code du dispositif"),
    "operateur": ("opérateur", "porteur", "structure porteuse", "porteur du dispositif", "opéré par"),
    "type": ("type de dispositif", "type de programme", "type"),
    "code_region": ("région", "code région", "code insee région", "n° région"),
    "date_debut": ("date d'entrée", "date de début", "début", "date entrée", "date d'ouverture", "date ouverture",
                   "entrée", "date de démarrage", "démarrage", "ouverture du dossier", "date début",
                   "date d'entrée dans le dispositif"),
    "date_fin": ("date de sortie", "date de fin", "fin", "date sortie", "date de clôture", "date clôture",
                 "sortie", "clôture du dossier", "date fin", "date de sortie du dispositif"),
    "financeurs": ("financeurs", "financement", "cofinanceurs", "financeurs du dispositif"),
    "heures_prevues": ("heures prévues", "volume horaire prévu", "nombre d'heures prévues", "heures programmées"),
    # accompagnements
    "id_accompagnement": ("n° dossier", "numéro de dossier", "dossier", "id dossier", "référence dossier",
                          "code dossier", "identifiant accompagnement", "n° accompagnement", "id accompagnement",
                          "n° de dossier", "référence de l'accompagnement"),
    "etape": ("phase", "état", "état du dossier", "statut du dossier", "avancement", "étape", "stade",
              "phase du dossier", "étape du parcours"),
    "modalite": ("modalité", "type d'accompagnement", "individuel ou collectif", "mode d'accompagnement"),
    "heures": ("nombre d'heures", "nb heures", "heures réalisées", "volume horaire", "temps passé", "heures",
               "durée de l'accompagnement", "heures d'accompagnement", "nb d'heures réalisées", "durée (h)"),
    "besoin_principal": ("problématique principale", "problématique", "besoin", "besoin principal",
                         "thématique principale", "axe principal", "motif de la demande", "thème principal"),
    "besoins": ("problématiques", "autres problématiques", "besoins identifiés", "thématiques", "besoins",
                "problématiques secondaires"),
    "format": ("format", "type d'appui", "format de l'accompagnement"),
    "orientation": ("orientation", "origine", "prescripteur", "orientée par", "origine de la demande",
                    "canal d'arrivée", "comment nous avez-vous connu"),
    "heures_benevoles": ("heures bénévoles", "heures de pairs", "heures de bénévolat", "temps bénévole"),
    "intervenant": ("intervenant", "consultant", "chargé de mission", "référent", "prestataire", "chargé(e) de mission"),
    # ateliers
    "id_atelier": ("identifiant atelier", "code atelier", "n° atelier", "n° session", "code session", "id session"),
    "date": ("date", "date de l'atelier", "date de la session", "date du témoignage", "le"),
    "theme": ("thème", "sujet", "intitulé", "titre", "thématique", "intitulé de l'atelier"),
    "duree_heures": ("durée", "durée (heures)", "durée en heures", "nombre d'heures de l'atelier"),
    "nb_participants": ("participants", "nombre de participants", "nb participants", "présents", "nb présents",
                        "nombre de présents"),
    "nb_adherents": ("adhérents", "dont adhérents", "membres", "dont membres", "nb adhérents"),
    # resultats
    "id_resultat": ("identifiant résultat", "n° suivi", "id suivi", "code suivi", "n° enquête"),
    "echeance": ("échéance", "horizon", "suivi à", "temps de mesure", "moment du suivi"),
    "date_mesure": ("date de mesure", "date du suivi", "date de l'enquête", "date d'évaluation", "mesuré le"),
    "objectifs_atteints": ("objectifs atteints", "taux d'atteinte", "atteinte des objectifs", "% objectifs atteints",
                           "part des objectifs atteints"),
    "etp_avant": ("etp avant", "etp à l'entrée", "effectif avant", "etp initial"),
    "etp_apres": ("etp après", "etp à la sortie", "effectif après", "etp final"),
    "budget_avant": ("budget avant", "budget à l'entrée", "budget initial"),
    "budget_apres": ("budget après", "budget à la sortie", "budget final"),
    "structure_active": ("structure active", "toujours active", "en activité", "activité maintenue", "pérennité"),
    "satisfaction": ("satisfaction", "note de satisfaction", "note", "satisfaction (1 à 5)"),
    # temoignages
    "id_temoignage": ("identifiant témoignage", "n° témoignage", "code témoignage"),
    "auteur_role": ("fonction", "rôle", "qualité", "rôle de l'auteur", "fonction de l'auteur"),
    "texte": ("témoignage", "verbatim", "citation", "texte", "propos recueillis"),
    "lien_media": ("lien", "url", "vidéo", "média", "lien vidéo"),
    "consentement_publication": ("consentement", "accord de publication", "autorisation de publication",
                                 "publiable", "consentement rgpd", "diffusion autorisée"),
    # plans, enjeux, actions, decisions
    "porteur": ("porteur", "porteurs", "pilote du plan"),
    "intitule": ("intitulé", "libellé", "titre"),
    "pilote": ("pilote", "responsable", "chef de file"),
    "partenaires": ("partenaires", "partenaires associés"),
    "cible": ("cible", "objectif chiffré", "valeur cible"),
    "commentaire": ("commentaire", "observations", "remarques", "notes"),
    "decision": ("décision", "décision prise", "relevé"),
    "date_comite": ("date du comité", "date de la réunion", "comité du"),
}

# Our column → values seen in exports → our code. Only what matching by code or label cannot find.
VALUE_SYNONYMS: dict[str, dict[str, str]] = {
    "etape": {
        "terminé": "clos", "clôturé": "clos", "achevé": "clos", "fini": "clos", "fermé": "clos", "sorti": "clos",
        "abandon": "clos", "en cours": "accompagnement", "accompagné": "accompagnement", "ingénierie": "accompagnement",
        "premier contact": "accueil", "prise de contact": "accueil", "demande": "accueil", "à traiter": "accueil",
        "nouveau": "accueil", "diagnostic partagé": "diagnostic", "pré-diagnostic": "diagnostic",
        "suivi post-accompagnement": "suivi", "consolidation": "suivi",
    },
    "forme_juridique": {
        "association loi 1901": "association", "asso": "association", "association déclarée": "association",
        "association loi 1908": "association", "association reconnue d'utilité publique": "association",
        "fonds de dotation": "fondation", "société coopérative et participative": "scop",
        "société coopérative d'intérêt collectif": "scic", "coopérative d'activités et d'emploi": "cae",
        "auto-entrepreneur": "ei", "micro-entreprise": "ei", "entrepreneur individuel": "ei",
        "commune": "collectivite", "établissement public": "collectivite", "epci": "collectivite",
        "sasu": "sas", "eurl": "sarl",
    },
    "modalite": {"individuelle": "individuel", "indiv": "individuel", "collective": "collectif",
                 "groupe": "collectif", "entre pairs": "pairs", "pair à pair": "pairs", "peer": "pairs"},
    "orientation": {"spontanée": "direct", "venue directe": "direct", "bouche à oreille": "direct",
                    "site internet": "direct", "financeur": "prescripteur", "collectivité": "prescripteur",
                    "drac": "prescripteur", "région": "prescripteur", "département": "prescripteur",
                    "fédération": "reseau", "réseau": "reseau", "tête de réseau": "reseau"},
    "format": {"court": "appui_court", "ponctuel": "appui_court", "long": "accompagnement_long",
               "parcours": "accompagnement_long"},
    "echeance": {"sortie": "fin", "fin d'accompagnement": "fin", "6 mois": "6_mois", "à 6 mois": "6_mois",
                 "j+6 mois": "6_mois", "12 mois": "12_mois", "à 12 mois": "12_mois", "1 an": "12_mois",
                 "à un an": "12_mois"},
    "domaine": {"théâtre": "spectacle_vivant", "danse": "spectacle_vivant", "spectacle": "spectacle_vivant",
                "musiques actuelles": "musique", "musique classique": "musique", "jazz": "musique",
                "cinéma": "audiovisuel_cinema", "audiovisuel": "audiovisuel_cinema", "livre": "livre_edition_presse",
                "édition": "livre_edition_presse", "lecture publique": "livre_edition_presse",
                "arts plastiques": "arts_visuels", "photographie": "arts_visuels", "cirque": "arts_rue_cirque",
                "arts de la rue": "arts_rue_cirque", "éducation populaire": "action_culturelle",
                "médiation culturelle": "action_culturelle", "école de musique": "enseignement_artistique",
                "conservatoire": "enseignement_artistique", "multidisciplinaire": "pluridisciplinaire",
                "patrimoine bâti": "patrimoine", "musée": "patrimoine"},
    "type": {"dispositif local d'accompagnement": "dla", "pôle": "pole_accompagnement",
             "pépinière": "pole_accompagnement", "incubateur": "pole_accompagnement", "pair à pair": "pairs",
             "plan sectoriel": "collectif_sectoriel"},
    "statut": {"à faire": "a_lancer", "non démarrée": "a_lancer", "en cours": "en_cours", "démarrée": "en_cours",
               "terminée": "realisee", "faite": "realisee", "achevée": "realisee", "reporté": "reportee",
               "décalée": "reportee", "abandonné": "abandonnee", "annulée": "abandonnee"},
    "besoin_principal": {"modèle éco": "ECO.MODELE", "gestion": "ECO.GESTION", "comptabilité": "ECO.GESTION",
                         "financement": "ECO.FINANCEMENT", "recherche de financements": "ECO.FINANCEMENT",
                         "gouvernance": "ORG.GOUVERNANCE", "vie associative": "ORG.GOUVERNANCE",
                         "ressources humaines": "EMP.RH", "rh": "EMP.RH", "emploi": "EMP",
                         "fonction employeur": "EMP", "formation": "EMP.COMPETENCES",
                         "stratégie": "STR.PROJET", "développement": "STR.PROJET", "coopération": "STR.COOPERATION",
                         "mutualisation": "EMP.MUTUALISATION", "communication": "EXT.COMMUNICATION",
                         "évaluation": "EXT.EVALUATION", "numérique": "TRA.NUMERIQUE",
                         "transition écologique": "TRA.ECOLOGIQUE", "crise": "TRA.CRISE",
                         "consolidation économique": "ECO", "structuration": "ORG"},
}
# The need list takes the same words as the main need.
VALUE_SYNONYMS["besoins"] = VALUE_SYNONYMS["besoin_principal"]
VALUE_SYNONYMS["indicateur_besoin"] = VALUE_SYNONYMS["besoin_principal"]

# Yes/no columns (consent, still active, employer): what surveys write besides oui/non.
BOOLEAN_SYNONYMS: dict[str, str] = {
    "x": "oui", "vrai": "oui", "yes": "oui", "y": "oui", "accepté": "oui", "accord": "oui", "d'accord": "oui",
    "autorisé": "oui", "active": "oui", "actif": "oui", "en activité": "oui", "toujours active": "oui",
    "faux": "non", "no": "non", "refusé": "non", "refus": "non", "pas d'accord": "non", "non autorisé": "non",
    "cessée": "non", "inactive": "non", "dissoute": "non", "radiée": "non", "fermée": "non",
}


def value_synonyms(column) -> dict[str, str]:
    """Their value → our code for one column (a pipelines.spec.datasets.Column): what matching cannot find."""
    if column.kind == "boolean":
        return BOOLEAN_SYNONYMS
    if not column.choices:
        return {}
    return VALUE_SYNONYMS.get(column.name, {})
