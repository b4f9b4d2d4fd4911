"""Deterministic synthetic demo in the interchange format (data/demo/*.csv).

    python -m pipelines.demo [--out data/demo] [--seed 2026]

Everything is drawn from a seeded generator and a fixed "today" (30/06/2026):
two runs give byte-identical files. Names are assembled from words, roles are
roles: no real organisation or person. The files are written the way French
office tools export them (UTF-8 with BOM, `;`, JJ/MM/AAAA, decimal comma,
oui/non, lists with `|`), so loading the demo exercises the analysts' path.

Shape, after the field documents: Normandie (28), Occitanie (76) and
Provence-Alpes-Côte d'Azur (93); a DLA per département; a free pôle
d'accompagnement in Marseille; a peer programme in three sessions (5
individual supports of 14–28 h, 8 workshops of at most 12, 10 resource
persons); a CRESS collective sector plan. Main needs: 60 % economic
consolidation, 25 % organisational structuring, and supports growing from 2021
to 2026 -- these shares are quotas, so they hold whatever the seed. Structures
get coordinates near their commune's centre (~30 %) only when the geographic
reference has centres; the current one has none, so the columns stay empty.
Rows end with CRLF, as Excel writes them.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
from stdnum import luhn

from pipelines.geo import reference as geo
from pipelines.spec import referentiels as ref
from pipelines.spec.datasets import DATASETS
from pipelines.store.warehouse import REPO_DIR

DEMO_DIR = REPO_DIR / "data" / "demo"
TODAY = dt.date(2026, 6, 30)
REGIONS = ("28", "76", "93")
N_STRUCTURES = 650

NAME_HEADS = ["Compagnie", "Ensemble", "Collectif", "Atelier", "Festival", "Théâtre", "Maison", "Studio",
              "Fabrique", "Orchestre", "Chœur", "Association", "Galerie", "Cinéma", "Librairie", "Scène"]
NAME_TAILS = ["du Vent Bleu", "des Sept Lunes", "Les Tilleuls", "Rives et Chemins", "de la Grange", "des Marées",
              "du Phare", "de l'Aube", "des Coquelicots", "Quatre Saisons", "du Fil d'Or", "des Sources",
              "La Passerelle", "de la Canopée", "des Embruns", "du Grand Large", "Les Ricochets", "de la Colline",
              "des Lucioles", "du Moulin", "L'Escale", "des Falaises", "de la Lisière", "des Cigales", "du Mistral",
              "Les Alizés", "de la Garrigue", "des Oliviers", "du Causse", "Les Hirondelles", "de la Draille",
              "du Lavoir", "des Pommiers", "de la Halle", "du Bocage", "Les Passeurs", "du Belvédère",
              "de la Tannerie", "des Voyageurs", "Contrepoint", "Ultramarine", "Arpège", "Kaléidoscope",
              "Mille Feuilles", "Porte-Voix", "Tête de Pont", "Pas de Côté", "Fil Rouge", "Clair-Obscur",
              "Mosaïque", "Boîte à Sons", "Grand Format"]

DOMAINES = {"spectacle_vivant": 28, "musique": 22, "arts_visuels": 9, "patrimoine": 7, "audiovisuel_cinema": 5,
            "livre_edition_presse": 5, "arts_rue_cirque": 5, "architecture": 1, "publicite": 1,
            "enseignement_artistique": 5, "action_culturelle": 8, "pluridisciplinaire": 3, "autre": 1}
HEAD_BY_FORME = {"scop": "Coopérative", "scic": "Coopérative", "cae": "Coopérative", "sarl": "Studio", "sas": "Studio",
                 "fondation": "Fondation", "ei": "Atelier", "collectivite": "Régie", "autre": "Collectif"}
FORMES = {"association": 86, "scop": 3, "scic": 3, "sarl": 2, "sas": 1, "cae": 1, "fondation": 1, "ei": 1,
          "collectivite": 1, "autre": 1}
CATEGORIES = {"ECO": 60, "ORG": 25, "EMP": 5, "STR": 4, "EXT": 4, "TRA": 2}
ORIENTATIONS = {"direct": 40, "prescripteur": 35, "reseau": 25}
YEARS = {2021: 10, 2022: 14, 2023: 17, 2024: 20, 2025: 23, 2026: 12}
ROLES = ["directrice", "directeur", "présidente", "président", "trésorière", "bénévole", "chargée de production",
         "administrateur", "coordinatrice", "personne ressource"]
# Testimonies are assembled from plain-language phrases, in several shapes (a story, a short word, a
# reservation, one person's voice), about what the support worked on: the accompaniment's need.
BEFORE = ["Nous nous sentions isolés", "Le bureau était épuisé", "Nous avancions sans visibilité",
          "La crise nous avait fragilisés", "Nous grandissions trop vite", "Nous avions beaucoup d'idées et peu de temps",
          "Nos subventions baissaient d'année en année", "Personne ne voulait reprendre la trésorerie",
          "Notre unique salariée portait tout", "Nous ne savions plus comment présenter notre projet aux financeurs"]
# What the support brought (infinitive phrases), by need category.
BROUGHT = {
    "ECO": ["revoir notre modèle économique", "structurer nos financements", "construire un budget prévisionnel réaliste",
            "diversifier nos ressources", "solliciter un prêt d'honneur", "suivre notre trésorerie mois par mois",
            "chiffrer le coût réel d'une représentation", "négocier un échéancier avec nos créanciers"],
    "ORG": ["clarifier la gouvernance de l'association", "mettre à plat nos statuts", "répartir les rôles au sein du bureau",
            "écrire enfin notre projet associatif", "organiser la passation avec le fondateur",
            "tenir des réunions de bureau plus courtes et plus utiles"],
    "EMP": ["préparer notre première embauche", "mutualiser un poste d'administration avec deux autres compagnies",
            "sécuriser les contrats de nos intermittents", "construire un plan de formation",
            "alléger la charge de notre unique salariée", "rédiger des fiches de poste"],
    "STR": ["prendre du recul sur notre projet", "choisir les activités à garder", "monter une coopération avec un lieu voisin",
            "écrire un projet à trois ans", "rencontrer d'autres structures qui vivent les mêmes difficultés"],
    "EXT": ["trouver de nouveaux publics", "parler d'égal à égal avec nos partenaires", "refaire notre communication",
            "mesurer ce que nous apportons au territoire", "présenter notre bilan aux élus"],
    "TRA": ["traverser une saison sans festival", "réduire l'empreinte de nos tournées", "passer notre billetterie en ligne",
            "adapter nos ateliers après la fermeture de la salle"],
}
HOW = ["L'accompagnement nous a permis de {a} et de {b}.", "En quelques séances, nous avons pu {a}, puis {b}.",
       "Le diagnostic nous a aidés à {a} et à {b}.", "Avec la chargée de mission, nous avons appris à {a} et à {b}.",
       "Les rendez-vous nous ont donné le temps de {a} et de {b}."]
HOW_PEERS = ["Les échanges avec notre personne ressource nous ont permis de {a} et de {b}.",
             "Les échanges entre pairs ont été décisifs : nous avons pu {a} et {b}.",
             "Parler avec quelqu'un qui a vécu la même chose nous a aidés à {a} et à {b}.",
             "Les ateliers entre pairs nous ont donné envie de {a} et de {b}."]
AFTER = ["Aujourd'hui, nous savons où nous allons.", "Le conseil d'administration s'est renouvelé.",
         "Nous avons pu pérenniser un poste.",
         "Nous recommandons ce dispositif à d'autres structures.", "Le regard extérieur nous a beaucoup apporté.",
         "Nous dormons mieux depuis.", "Notre dernier festival a été le premier à l'équilibre.",
         "Nous avons signé une convention sur trois ans avec la commune.", ""]
SHORT = ["Un regard extérieur, au bon moment.", "Trois séances ont suffi à {a}.", "Enfin du temps pour {a}.",
         "Nous aurions dû venir plus tôt.", "Simple, concret, sans jugement.", "Je le referais demain.",
         "C'est la première fois qu'on nous aide à {a}."]
RESERVED = ["L'accompagnement nous a aidés à {a}. Il aurait fallu plus d'heures pour {b}.",
            "Utile pour {a}, moins pour {b} : nos questions étaient trop propres au secteur.",
            "Le diagnostic était juste, mais le suivi s'est arrêté trop tôt pour {our}.",
            "Nous avons appris à {a}. Les outils proposés restent lourds pour une équipe aussi petite que la nôtre.",
            "Beaucoup de réunions au départ ; c'est dans les dernières séances que nous avons vraiment pu {a}."]
VOICED = ["En tant que {role}, j'ai surtout appris à {a}.", "Comme {role}, je voyais les chiffres sans savoir quoi en "
          "faire : l'accompagnement m'a appris à {a}.", "Mon rôle de {role} a changé : je peux maintenant {a}."]
FOLLOW_UP = ["Six mois après, nous tenons le cap.", "Un an plus tard, {our} a embauché à mi-temps.",
             "Nous avons présenté le résultat à notre assemblée générale.", "Le plan de trésorerie sert chaque mois.",
             "Nous sommes restés en contact avec les autres structures du groupe."]
# What the structure calls itself ("notre compagnie"), by domain.
OUR = {"spectacle_vivant": "notre compagnie", "arts_rue_cirque": "notre compagnie", "musique": "notre lieu",
       "enseignement_artistique": "notre école", "arts_visuels": "notre atelier", "patrimoine": "notre association",
       "action_culturelle": "notre association", "audiovisuel_cinema": "notre structure"}
PEER_HELPERS = ["Accompagner une autre structure m'a obligé à formuler ce que nous avions appris à nos dépens.",
                "J'ai retrouvé dans cette compagnie les questions que nous nous posions il y a dix ans.",
                "Donner quelques heures de mon temps a été aussi utile pour moi que pour eux.",
                "Nous avons surtout écouté, puis partagé nos outils de suivi budgétaire.",
                "Le cadre du programme permet de dire les choses simplement, sans jugement.",
                "Je ne suis pas consultante : je raconte ce qui a marché chez nous, et ce qui a raté.",
                "Le plus difficile a été de ne pas décider à leur place."]


class Draw:
    """Seeded draws with the helpers the generator needs."""

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)

    def choice(self, weights: dict, size: int | None = None):
        keys = list(weights)
        p = np.array(list(weights.values()), dtype=float)
        picked = self.rng.choice(len(keys), size=size, p=p / p.sum())
        return keys[picked] if size is None else [keys[i] for i in picked]

    def quota(self, weights: dict, n: int) -> list:
        """`n` keys in exactly the shares of `weights` (largest remainders), shuffled: the
        demo's headline shares (needs, growth by year) hold by construction, not by luck."""
        keys = list(weights)
        exact = np.array(list(weights.values()), dtype=float) / sum(weights.values()) * n
        counts = np.floor(exact).astype(int)
        counts[np.argsort(-(exact - counts), kind="stable")[: n - counts.sum()]] += 1
        pool = [k for k, c in zip(keys, counts) for _ in range(c)]
        return [pool[i] for i in self.rng.permutation(n)]

    def date_in(self, start: dt.date, end: dt.date) -> dt.date:
        span = max((end - start).days, 0)
        return start + dt.timedelta(days=int(self.rng.integers(0, span + 1)))


def _siret(draw: Draw) -> str:
    siren = "".join(str(d) for d in draw.rng.integers(0, 10, 8))
    siren += luhn.calc_check_digit(siren)
    nic = "".join(str(d) for d in draw.rng.integers(0, 10, 4))
    return siren + nic + luhn.calc_check_digit(siren + nic)


def _structures(draw: Draw, communes: pd.DataFrame) -> pd.DataFrame:
    # Cultural structures gather in towns: a commune's chance grows with its population.
    weights = communes["population"].astype(float).clip(lower=50) ** 0.85
    picked = communes.iloc[draw.rng.choice(len(communes), N_STRUCTURES, p=(weights / weights.sum()).to_numpy())]
    names = [f"{h} {t}" for h in NAME_HEADS for t in NAME_TAILS]
    names = [names[i] for i in draw.rng.permutation(len(names))[:N_STRUCTURES]]
    formes = draw.choice(FORMES, N_STRUCTURES)
    # A name must not contradict its legal form ("Association …" as a SCOP): the head follows the form.
    # Chosen without drawing, so that every other column of the demo stays as it was.
    taken = set(names)
    for i, (name, forme) in enumerate(zip(names, formes)):
        if name.startswith("Association ") and forme != "association":
            tail = name.removeprefix("Association ")
            names[i] = next(f"{head} {tail}" for head in (HEAD_BY_FORME[forme], *NAME_HEADS[:-5], "Maison des arts")
                            if head != "Association" and f"{head} {tail}" not in taken)  # names stay unique
            taken.add(names[i])
    etp = np.where(draw.rng.random(N_STRUCTURES) < 0.45, 0.0,
                   np.round(draw.rng.lognormal(0.3, 0.8, N_STRUCTURES), 1))
    budget = np.round(np.clip(draw.rng.lognormal(10.7, 1.0, N_STRUCTURES) * (1 + etp), 3000, 1_200_000), -2)
    return pd.DataFrame({
        "id_structure": [f"S{i:04d}" for i in range(1, N_STRUCTURES + 1)],
        "nom": names,
        "siret": [_siret(draw) if draw.rng.random() < 0.8 else None for _ in range(N_STRUCTURES)],
        "rna": [f"W{draw.rng.integers(0, 10**9):09d}" if f == "association" and draw.rng.random() < 0.75 else None
                for f in formes],
        "forme_juridique": formes,
        "domaine": draw.choice(DOMAINES, N_STRUCTURES),
        "code_commune": picked["code"].to_numpy(),
        "annee_creation": np.clip(2025 - draw.rng.gamma(2.0, 8.0, N_STRUCTURES).astype(int), 1965, 2025),
        "effectif_etp": etp,
        "nb_benevoles": draw.rng.poisson(9, N_STRUCTURES),
        "budget_annuel": budget,
        "employeur": etp > 0,
        "latitude": None,
        "longitude": None,
        "x_departement": picked["code_departement"].to_numpy(),
        "x_region": picked["code_region"].to_numpy(),
    })


def _locate(draw: Draw, structures: pd.DataFrame, communes: pd.DataFrame, share: float = 0.3) -> None:
    """About `share` of the structures get coordinates near their commune's centre, when the
    reference has centres (both or neither). Own generator: the other draws do not move."""
    if not {"latitude", "longitude"} <= set(communes.columns):
        return
    centres = communes.set_index("code")[["latitude", "longitude"]].astype("Float64")
    lat = structures["code_commune"].map(centres["latitude"]).to_numpy(dtype=float, na_value=np.nan)
    lon = structures["code_commune"].map(centres["longitude"]).to_numpy(dtype=float, na_value=np.nan)
    chosen = (draw.rng.random(len(structures)) < share) & ~np.isnan(lat) & ~np.isnan(lon)
    jitter = draw.rng.normal(0.0, 0.008, (len(structures), 2))  # a few hundred metres
    structures["latitude"] = [round(float(v), 5) if c else None for v, c in zip(lat + jitter[:, 0], chosen)]
    structures["longitude"] = [round(float(v), 5) if c else None for v, c in zip(lon + jitter[:, 1], chosen)]


def _programmes(departements: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for dep in departements.itertuples():
        rows.append((f"DLA {dep.nom}", f"DLA départemental — {dep.nom}", "dla", dep.code_region,
                     dt.date(2021, 1, 1), None, ["État", "Banque des Territoires", "Région"], None, dep.code))
    rows.append(("Pôle d'accompagnement culture Marseille", "Pôle d'accompagnement des arts et de la culture",
                 "pole_accompagnement", "93", dt.date(2021, 1, 1), None, ["Ville", "Région", "État"], None, None))
    for session, year in enumerate((2023, 2024, 2025), start=1):
        rows.append((f"Programme pairs culture session {session}", "Réseau des pairs de la culture en Occitanie",
                     "pairs", "76", dt.date(year, 1, 9), dt.date(year, 12, 19), ["Région", "DRAC"], 5 * 21.0, None))
    rows.append(("Plan sectoriel culture CRESS Normandie", "CRESS Normandie", "collectif_sectoriel", "28",
                 dt.date(2022, 1, 1), dt.date(2025, 12, 31), ["Région", "Europe"], None, None))
    frame = pd.DataFrame(rows, columns=["nom", "operateur", "type", "code_region", "date_debut", "date_fin",
                                        "financeurs", "heures_prevues", "x_departement"])
    frame.insert(0, "id_programme", [f"P{i:02d}" for i in range(1, len(frame) + 1)])
    return frame


def _need(draw: Draw, category: str) -> tuple[str, list[str]]:
    codes = [c for c in ref.BESOINS if c.startswith(category + ".")]
    principal = category if draw.rng.random() < 0.05 else codes[draw.rng.integers(len(codes))]
    others = [c for c in ref.BESOINS if c != principal]
    extra = [others[i] for i in draw.rng.choice(len(others), draw.rng.integers(0, 3), replace=False)]
    return principal, [principal] + extra


def _accompagnements(draw: Draw, structures: pd.DataFrame, programmes: pd.DataFrame) -> pd.DataFrame:
    dla = programmes[programmes["type"] == "dla"].set_index("x_departement")["id_programme"]
    pole = programmes.loc[programmes["type"] == "pole_accompagnement", "id_programme"].iloc[0]
    plan = programmes[programmes["type"] == "collectif_sectoriel"].iloc[0]
    pairs = programmes[programmes["type"] == "pairs"]
    rows = []

    def add(structure, programme, start, modalite, fmt, hours, intervenant=None, benevoles=None, limit=None):
        long = fmt == "accompagnement_long"
        end = start + dt.timedelta(days=int(draw.rng.integers(90, 330) if long else draw.rng.integers(0, 30)))
        if limit is not None:  # a support ends with its programme at the latest
            end = min(end, max(limit, start))
        principal, needs = _need(draw, categories.pop())
        ended = end <= TODAY
        if ended:
            etape = "clos" if draw.rng.random() < 0.8 else "suivi"
        else:
            etape = "accueil" if (TODAY - start).days < 30 else ("diagnostic" if (TODAY - start).days < 75 else "accompagnement")
        rows.append({"id_structure": structure, "id_programme": programme, "date_debut": start,
                     "date_fin": end if ended else None, "etape": etape, "modalite": modalite,
                     "heures": hours if etape != "accueil" else None, "besoin_principal": principal, "besoins": needs,
                     "format": fmt, "orientation": draw.choice(ORIENTATIONS),
                     "heures_benevoles": benevoles if etape != "accueil" else None, "intervenant": intervenant})

    def start_date(earliest: dt.date, latest: dt.date = TODAY) -> dt.date:
        # The next year of the pool in which the programme was running (the pool has spares).
        fits = [i for i, y in enumerate(years) if earliest.year <= y <= latest.year]
        year = years.pop(fits[0]) if fits else draw.choice(
            {y: w for y, w in YEARS.items() if earliest.year <= y <= latest.year})
        return draw.date_in(max(earliest, dt.date(year, 1, 1)), min(latest, dt.date(year, 12, 31)))

    # Every structure is followed at least once; some come back.
    repeat = draw.rng.random(len(structures)) < 0.6
    n_open = len(structures) + int(repeat.sum())
    categories = draw.quota(CATEGORIES, n_open + 5 * len(pairs))
    years = draw.quota(YEARS, n_open + 20)

    # The peer programme: per session, 5 individual supports of 14 to 28 hours, each by one of
    # the 10 resource persons (volunteers: their hours, preparation included, are heures_benevoles).
    # Two consecutive sessions call on all ten persons.
    occitanie = structures[structures["x_region"] == "76"]["id_structure"].to_numpy()
    peers = iter(draw.rng.permutation(occitanie))
    persons = draw.rng.permutation(10) + 1
    for session, p in enumerate(pairs.itertuples()):
        for k in range(5):
            hours = float(draw.rng.integers(14, 29))
            add(next(peers), p.id_programme, draw.date_in(p.date_debut, p.date_debut + dt.timedelta(days=60)),
                "pairs", "accompagnement_long", hours,
                intervenant=f"Personne ressource {persons[(5 * session + k) % 10]:02d}",
                benevoles=hours + float(draw.rng.integers(2, 7)), limit=p.date_fin)

    # Open programmes: each structure goes to a programme of its territory.
    for s, again in zip(structures.itertuples(), repeat):
        for _ in range(2 if again else 1):
            roll = draw.rng.random()
            if s.x_region == "93" and roll < 0.45:
                short = draw.rng.random() < 0.7
                add(s.id_structure, pole, start_date(dt.date(2021, 1, 1)), "individuel",
                    "appui_court" if short else "accompagnement_long",
                    float(draw.rng.integers(1, 5)) if short else float(draw.rng.integers(10, 31)))
            elif s.x_region == "28" and roll < 0.15:
                add(s.id_structure, plan.id_programme, start_date(plan.date_debut, plan.date_fin - dt.timedelta(days=60)),
                    "collectif", "accompagnement_long", float(draw.rng.integers(6, 19)), limit=plan.date_fin)
            else:
                add(s.id_structure, dla[s.x_departement], start_date(dt.date(2021, 1, 1)),
                    "individuel" if draw.rng.random() < 0.8 else "collectif",
                    "accompagnement_long" if draw.rng.random() < 0.85 else "appui_court",
                    float(np.round(draw.rng.gamma(3.0, 7.0), 1)),
                    intervenant=f"Chargé de mission DLA {s.x_departement}-{draw.rng.integers(1, 4)}")
    frame = pd.DataFrame(rows).sort_values(["date_debut", "id_structure"], kind="stable", ignore_index=True)
    frame.insert(0, "id_accompagnement", [f"A{i:05d}" for i in range(1, len(frame) + 1)])
    return frame


def _ateliers(draw: Draw, programmes: pd.DataFrame) -> pd.DataFrame:
    rows = []
    themes = list(ref.BESOINS) + ["Communication numérique", "Droits culturels", "Écoresponsabilité des tournées"]
    for p in programmes.itertuples():
        if p.type == "pairs":
            n, seats = 8, 12
        elif p.type in ("pole_accompagnement", "collectif_sectoriel"):
            n, seats = 40, 20
        else:
            n, seats = int(draw.rng.integers(0, 2)), 15
        end = min(TODAY, p.date_fin or TODAY)
        for _ in range(n):
            participants = int(draw.rng.integers(4, seats + 1))
            rows.append({"id_programme": p.id_programme, "date": draw.date_in(p.date_debut, end),
                         "theme": themes[draw.rng.integers(len(themes))], "duree_heures": float(draw.rng.choice([2, 2.5, 3, 6])),
                         "nb_participants": participants, "nb_adherents": int(draw.rng.integers(0, participants + 1))})
    frame = pd.DataFrame(rows).sort_values(["date", "id_programme"], kind="stable", ignore_index=True)
    frame.insert(0, "id_atelier", [f"W{i:04d}" for i in range(1, len(frame) + 1)])
    return frame


def _resultats(draw: Draw, accs: pd.DataFrame, structures: pd.DataFrame) -> pd.DataFrame:
    base = structures.set_index("id_structure")
    # Only a structure's last support can be followed by its closing down.
    last = accs.groupby("id_structure")["date_debut"].transform("max") == accs["date_debut"]
    rows = []
    for a, is_last in zip(accs.itertuples(), last):
        if pd.isna(a.date_fin):
            continue
        s = base.loc[a.id_structure]
        fin_chance = 1.0 if a.etape == "clos" else 0.85  # a closed support always has its closing review
        for echeance, delay, chance in (("fin", 0, fin_chance), ("6_mois", 182, 0.8), ("12_mois", 365, 0.55)):
            when = a.date_fin + dt.timedelta(days=delay)
            if when > TODAY or draw.rng.random() > chance:
                continue
            growth = draw.rng.normal(0.04 * (1 + delay / 182), 0.08)
            active = not (echeance == "12_mois" and is_last and draw.rng.random() < 0.08)
            rows.append({"id_accompagnement": a.id_accompagnement, "echeance": echeance, "date_mesure": when,
                         "objectifs_atteints": int(np.clip(draw.rng.normal(70, 18), 0, 100)),
                         "etp_avant": s.effectif_etp, "etp_apres": round(max(0.0, s.effectif_etp + draw.rng.choice([0, 0, 0, 0.5, 1, -0.5])), 1),
                         "budget_avant": s.budget_annuel, "budget_apres": float(round(s.budget_annuel * (1 + growth), -2)),
                         "structure_active": active, "satisfaction": int(draw.rng.choice([2, 3, 4, 4, 5, 5]))})
    frame = pd.DataFrame(rows)
    frame.insert(0, "id_resultat", [f"R{i:05d}" for i in range(1, len(frame) + 1)])
    return frame


def _fill(template: str, a: str, b: str = "", our: str = "notre structure", role: str = "") -> str:
    """Put the phrases into a template, with French elision (`de avancer` → `d'avancer`, `que un` → `qu'un`)."""
    for key, phrase in (("a", a), ("b", b), ("role", role)):
        if phrase:
            vowel = phrase[0] in "aeiouyéèêh"
            for word in ("de", "que"):
                template = template.replace(f"{word} {{{key}}}", (word[:-1] + "'" if vowel else word + " ") + phrase)
            template = template.replace("{%s}" % key, phrase)
    template = template.replace("{our}", our)
    return template[0].upper() + template[1:]


def _testimony_text(draw: Draw, need: str, domain: str, peers: bool, role: str) -> str:
    """One testimony about the support of a `need` ('ECO.GESTION'), in one of several shapes and lengths."""
    phrases = BROUGHT[need.split(".")[0]]
    first = _pick(draw, phrases)
    second = _pick(draw, [p for p in sum(BROUGHT.values(), []) if p != first])
    our = OUR.get(domain, "notre structure")
    shape = draw.choice({"story": 40, "short": 18, "reserved": 17, "voiced": 13, "follow_up": 12})
    if shape == "short":
        text = _fill(_pick(draw, SHORT), first, our=our)
    elif shape == "reserved":
        text = _fill(_pick(draw, RESERVED), first, second, our=our)
    elif shape == "voiced":
        text = _fill(_pick(draw, VOICED), first, role=role) + " " + _pick(draw, AFTER)
    else:
        how = _fill(_pick(draw, HOW_PEERS if peers else HOW), first, second)
        text = f"{_pick(draw, BEFORE)}. {how} {_pick(draw, AFTER)}"
        if shape == "follow_up":
            text += " " + _fill(_pick(draw, FOLLOW_UP), first, our=our)
    return " ".join(text.split())


def _pick(draw: Draw, items: list[str]) -> str:
    return items[draw.rng.integers(len(items))]


def _temoignages(draw: Draw, words: Draw, accs: pd.DataFrame, programmes: pd.DataFrame,
                 structures: pd.DataFrame) -> pd.DataFrame:
    """150 testimonies on ended supports; `words` draws their texts, so that rewording them moves nothing else."""
    kinds = programmes.set_index("id_programme")["type"]
    domains = structures.set_index("id_structure")["domaine"]
    ended = accs[accs["date_fin"].notna()]
    # Peer sessions are few but much quoted: their supports are more likely to be picked.
    weight = np.where(ended["id_programme"].map(kinds) == "pairs", 10.0, 1.0)
    picked = ended.iloc[np.sort(draw.rng.choice(len(ended), 150, replace=False, p=weight / weight.sum()))]
    rows = []
    for a in picked.itertuples():
        peers = kinds[a.id_programme] == "pairs"
        helper = peers and draw.rng.random() < 0.4  # the resource person speaks, not the structure
        if helper:
            text = " ".join(PEER_HELPERS[i] for i in words.rng.choice(len(PEER_HELPERS), 2, replace=False))
            structure, role = None, "personne ressource"
        else:
            structure = a.id_structure if draw.rng.random() < 0.9 else None
            role = _pick(draw, [r for r in ROLES if r != "personne ressource"])
            text = _testimony_text(words, a.besoin_principal, domains[a.id_structure], peers, role)
        rows.append({"id_programme": a.id_programme, "id_structure": structure,
                     "date": min(TODAY, a.date_fin + dt.timedelta(days=int(draw.rng.integers(5, 120)))),
                     "auteur_role": role, "texte": text,
                     "lien_media": f"https://example.org/temoignages/video-{len(rows) + 1}" if draw.rng.random() < 0.12 else None,
                     "consentement_publication": draw.rng.random() >= 0.2})
    frame = pd.DataFrame(rows)
    frame.insert(0, "id_temoignage", [f"T{i:04d}" for i in range(1, len(frame) + 1)])
    return frame


def _cell(value) -> str:
    """A value written the way a French spreadsheet exports it."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "oui" if value else "non"
    if isinstance(value, (dt.date, pd.Timestamp)):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, list):
        return "|".join(value)
    if isinstance(value, (float, np.floating)):
        return (str(int(value)) if float(value).is_integer() else f"{value:.6f}".rstrip("0")).replace(".", ",")
    return str(value)


# Participatory observation: the campaigns the demo's structures answered (each a year observed).
OBSERVATION_CAMPAIGNS = {2024: 0.45, 2025: 0.6}  # year → share of structures that answered


def _observations(draw: Draw, structures: pd.DataFrame, accs: pd.DataFrame) -> pd.DataFrame:
    """What structures declared of themselves: drawn around their description, growing a little from one year to
    the next; needs as they see them, near what their programmes recorded. Most came through the questionnaire,
    some from a network's survey."""
    recorded = accs.groupby("id_structure")["besoin_principal"].agg(lambda needs: list(dict.fromkeys(needs)))
    codes = [c for c in ref.BESOINS if "." in c]
    rows = []
    for s in structures.itertuples():
        answered = {year: draw.rng.random() < share for year, share in OBSERVATION_CAMPAIGNS.items()}
        etp, volunteers, budget = float(s.effectif_etp), int(s.nb_benevoles), float(s.budget_annuel)
        for year, yes in answered.items():
            growth = draw.rng.normal(0.03, 0.06)
            etp, volunteers = max(0.0, round(etp * (1 + growth), 1)), max(0, volunteers + int(draw.rng.integers(-2, 3)))
            budget = float(round(budget * (1 + growth), -2))
            if not yes:
                continue
            needs = recorded.get(s.id_structure, [])[:1]
            if draw.rng.random() < 0.6 or not needs:
                needs = list(dict.fromkeys([*needs, codes[int(draw.rng.integers(0, len(codes)))]]))
            rows.append({
                "id_observation": f"OB-{s.id_structure}-{year}", "id_structure": s.id_structure, "annee": year,
                "effectif_etp": etp, "nb_salaries": int(np.ceil(etp * draw.rng.uniform(1.0, 1.6))) if etp else 0,
                "nb_benevoles": volunteers, "heures_benevolat": float(round(volunteers * draw.rng.gamma(3.0, 25.0))),
                "budget_annuel": budget, "part_recettes_propres": int(np.clip(draw.rng.normal(38, 16), 0, 100)),
                "nb_evenements": int(draw.rng.poisson(18)), "public_touche": int(draw.rng.poisson(900)),
                "besoins": needs, "commentaire": None,
                "source": "questionnaire" if draw.rng.random() < 0.85 else "import"})
    return pd.DataFrame(rows)


def write_csv(frame: pd.DataFrame, dataset: str, out_dir: Path) -> Path:
    columns = DATASETS[dataset].column_names
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(columns)
    for row in frame[columns].itertuples(index=False):
        writer.writerow([_cell(v) for v in row])
    path = out_dir / f"{dataset}.csv"
    path.write_bytes(("\ufeff" + buffer.getvalue()).encode("utf-8"))
    return path


# A sector plan per région, shaped like the CRESS Basse-Normandie note's: four stakes, about fifteen actions
# with a pilot organisation (never a person), three committee meetings. Written, not drawn: the same text
# every run, and the statuses tell a plausible story (most launched, a few late, one abandoned).
PLAN_STAKES = ("Professionnalisation des structures culturelles", "Emploi et fonction employeur",
               "Coopération et mutualisation entre structures", "Modèles économiques et financements")
# (intitulé, stakes (1-based), pilot, partners, deadline (months after the start), indicator, need, target, statuses
# decided at the three meetings (None: no decision on it at that meeting))
PLAN_ACTIONS = (  # title, stakes, pilot, partners, deadline (months after the start), indicator, need, target,
    # status set at each of PLAN_MEETINGS (None: no decision on it that day)
    ("Former les dirigeants bénévoles à la gestion", (1,), "DLA", ["CRESS"], 18, "structures", "ECO.GESTION", 30,
     ("en_cours", None, "realisee")),
    ("Diagnostic partagé des besoins de formation", (1, 2), "CRESS", ["Région"], 6, None, None, None,
     ("en_cours", "realisee", None)),
    ("Accompagner la fonction employeur des petites associations", (2,), "DLA", ["Fédération régionale"], 33,
     "accompagnements", "EMP", 60, ("en_cours", None, None)),
    ("Groupement d'employeurs culturel", (2, 3), "Fédération régionale", ["CRESS", "DLA"], 24, None, None, None,
     (None, "en_cours", "reportee")),
    ("Cycle d'ateliers collectifs sur les ressources humaines", (2,), "Pôle ressources", ["DLA"], 24, "ateliers", None, 20,
     ("en_cours", None, "realisee")),
    ("Plateforme de mutualisation de matériel scénique", (3,), "Fédération régionale", ["Région"], 34, None, None, None,
     (None, "en_cours", None)),
    ("Rencontres territoriales des acteurs culturels", (3,), "CRESS", ["Départements"], 9, "participants", None, 200,
     ("en_cours", "realisee", None)),
    ("Coopérations entre lieux de diffusion", (3, 4), "Réseau des lieux", ["CRESS"], 35, "structures", "STR.COOPERATION", 12,
     (None, None, "en_cours")),
    ("Consolider les modèles économiques des compagnies", (4,), "DLA", ["Région", "État"], 35, "structures", "ECO", 80,
     ("en_cours", None, None)),
    ("Diversifier les financements : mécénat et financement participatif", (4,), "Pôle ressources", ["Fondations"], 20,
     "accompagnements", "ECO.DIVERSIFICATION", 40, ("en_cours", None, None)),
    ("Fonds d'avances remboursables pour les associations", (4,), "Financeur solidaire régional", ["Région"], 20, None,
     None, None, (None, "abandonnee", None)),
    ("Heures d'accompagnement individuel des structures", (1, 4), "DLA", [], 35, "heures", None, 600,
     ("en_cours", None, None)),
    ("Guide des obligations de l'employeur associatif", (2,), "CRESS", ["URSSAF"], 14, None, None, None,
     ("a_lancer", "en_cours", None)),
    ("Accueil direct des structures non orientées", (1,), "Pôle ressources", ["CRESS"], 12, "structures", None, 150,
     (None, None, None)),
    ("Évaluation du plan à mi-parcours", (1, 2, 3, 4), "CRESS", ["Région", "État"], 30, None, None, None,
     (None, None, "en_cours")),
)
PLAN_MEETINGS = (3, 14, 27)  # months after the plan's start: three committees, the last before the demo's today
PLAN_DECISIONS = {"en_cours": "Action lancée : le pilote présente son calendrier au prochain comité.",
                  "realisee": "Action réalisée : le comité valide le bilan présenté par le pilote.",
                  "reportee": "Action reportée : les partenaires financiers ne sont pas encore réunis.",
                  "abandonnee": "Action abandonnée : un dispositif régional existant couvre déjà ce besoin.",
                  "a_lancer": "Action confirmée : lancement prévu après la rédaction du cahier des charges."}


def _months_after(start: dt.date, months: int) -> dt.date:
    year, month = divmod(start.month - 1 + months, 12)
    return dt.date(start.year + year, month + 1, min(start.day, 28))


def _plans(programmes: pd.DataFrame) -> dict[str, pd.DataFrame]:
    plans, stakes, actions, decisions = [], [], [], []
    start = dt.date(2024, 1, 15)
    for region in REGIONS:
        name = ref.REGIONS_DEMO[region]
        plan = f"PL{region}"
        plans.append({"id_plan": plan, "nom": f"Plan sectoriel culture {name}", "code_region": region,
                      "porteur": f"CRESS {name} · Ligue de l'enseignement", "date_debut": start,
                      "date_fin": dt.date(2026, 12, 31)})
        for number, title in enumerate(PLAN_STAKES, start=1):
            stakes.append({"id_enjeu": f"{plan}-E{number}", "id_plan": plan, "numero": number, "intitule": title,
                           "mots_cles": None})
        dla = programmes[(programmes["code_region"] == region) & (programmes["type"] == "dla")]["id_programme"]
        for number, (title, served, pilot, partners, months, indicator, need, target, _) in enumerate(PLAN_ACTIONS, 1):
            actions.append({
                "id_action": f"{plan}-A{number:02d}", "id_plan": plan, "enjeux": [f"{plan}-E{e}" for e in served],
                "intitule": title, "pilote": f"{pilot} ({name})" if pilot in ("DLA", "CRESS") else pilot,
                "partenaires": partners or None, "echeance": _months_after(start, months), "statut": "a_lancer",
                "indicateur": indicator, "indicateur_besoin": need,
                "indicateur_programme": dla.iloc[0] if indicator == "heures" and len(dla) else None,
                "cible": float(target) if target is not None else None, "commentaire": None})
        for meeting, months in enumerate(PLAN_MEETINGS):
            date = _months_after(start, months) + dt.timedelta(days=10)
            for number, action in enumerate(PLAN_ACTIONS, 1):
                status = action[-1][meeting]
                if status:
                    decisions.append({"id_decision": f"{plan}-D{meeting + 1}-{number:02d}",
                                      "id_action": f"{plan}-A{number:02d}", "date_comite": date,
                                      "decision": PLAN_DECISIONS[status], "statut": status, "auteur_role": "comite"})
    return {"plans": pd.DataFrame(plans), "enjeux": pd.DataFrame(stakes), "actions": pd.DataFrame(actions),
            "decisions": pd.DataFrame(decisions)}


def generate_demo(out_dir: Path = DEMO_DIR, seed: int = 2026) -> dict[str, Path]:
    draw = Draw(seed)
    communes = geo.read_communes()
    communes = communes[~communes["arrondissement"] & communes["code_region"].isin(REGIONS)].sort_values("code")
    departements = geo.read_departements()
    departements = departements[departements["code_region"].isin(REGIONS)].sort_values("code")
    structures = _structures(draw, communes.reset_index(drop=True))
    programmes = _programmes(departements)
    accs = _accompagnements(draw, structures, programmes)
    # A structure exists before its first support.
    first = structures["id_structure"].map(accs.groupby("id_structure")["date_debut"].min()).map(lambda d: d.year)
    structures["annee_creation"] = np.minimum(structures["annee_creation"], first.astype(int))
    _locate(Draw(seed + 2), structures, communes)
    frames = {
        "structures": structures,
        "programmes": programmes,
        "accompagnements": accs,
        "ateliers": _ateliers(draw, programmes),
        "resultats": _resultats(draw, accs, structures),
        "temoignages": _temoignages(draw, Draw(seed + 4), accs, programmes, structures),
        **_plans(programmes),  # written, not drawn: the datasets above do not move
    }
    # Planned hours of each DLA: a round figure near what it delivered.
    delivered = accs.groupby("id_programme")["heures"].sum()
    is_dla = programmes["type"] == "dla"
    # Planned hours 0.85 to 1.44 times the delivered ones (not one ratio for all: every programme read ≈ 91 %),
    # from each id's checksum rather than a draw, so that the other datasets do not move.
    ids = programmes.loc[is_dla, "id_programme"]
    factors = ids.map(lambda code: 0.85 + (zlib.crc32(code.encode()) % 60) / 100)
    programmes.loc[is_dla, "heures_prevues"] = (ids.map(delivered) * factors).round(-1)
    frames["observations"] = _observations(Draw(seed + 3), structures, accs)  # own generator: the others do not move
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {name: write_csv(frame, name, out_dir) for name, frame in frames.items()}
    paths[REFERENCE_FILE] = write_reference_population(
        _reference_population(Draw(seed + 1), structures, departements), out_dir)
    return paths


# The optional reference population of cultural ESS structures (pipelines.ingest.population),
# drawn from its own generator so that the six datasets above do not move.
REFERENCE_FILE = "population_reference"
REFERENCE_SOURCE = "SYNTHÉTIQUE — démonstration, aucune donnée réelle"


def _reference_population(draw: Draw, structures: pd.DataFrame, departements: pd.DataFrame) -> pd.DataFrame:
    known = structures.groupby("x_departement").size()
    rows = []
    for dep in departements.itertuples():
        coverage = draw.rng.uniform(0.2, 0.6)  # share of the territory's structures the programmes reach
        rows.append((dep.code, "departement", int(np.ceil(known.get(dep.code, 0) / coverage)) + int(draw.rng.integers(3, 15)),
                     dep.code_region))
    frame = pd.DataFrame(rows, columns=["code_territoire", "niveau", "nb_structures_reference", "code_region"])
    regions = frame.groupby("code_region", as_index=False)["nb_structures_reference"].sum()
    regions = regions.rename(columns={"code_region": "code_territoire"}).assign(niveau="region")
    result = pd.concat([regions, frame.drop(columns="code_region")], ignore_index=True)
    # Normandie's reference is a range, as in the Basse-Normandie note (350 by Sirène … 850 by a survey):
    # its coverage reads as an interval. Computed, not drawn: the other territories do not move.
    normandie = ((result["niveau"] == "region") & (result["code_territoire"] == "28")) | (
        (result["niveau"] == "departement")
        & result["code_territoire"].isin(departements.loc[departements["code_region"] == "28", "code"]))
    result["nb_structures_reference_max"] = [round(n * 2.4) if wide else None
                                             for n, wide in zip(result["nb_structures_reference"], normandie)]
    return result.assign(source=REFERENCE_SOURCE, annee=2025)[
        ["code_territoire", "niveau", "nb_structures_reference", "source", "annee", "nb_structures_reference_max"]]


def write_reference_population(frame: pd.DataFrame, out_dir: Path) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(frame.columns)
    for row in frame.itertuples(index=False):
        writer.writerow([_cell(v) for v in row])
    path = out_dir / f"{REFERENCE_FILE}.csv"
    path.write_bytes(("\ufeff" + buffer.getvalue()).encode("utf-8"))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.demo", description="Génère la démonstration synthétique.")
    parser.add_argument("--out", type=Path, default=DEMO_DIR)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    for name, path in generate_demo(args.out, args.seed).items():
        lines = path.read_bytes().count(b"\n") - 1
        print(f"{path} : {lines} lignes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
