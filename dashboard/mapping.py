"""The upload page's mapping step: an export of another system mapped onto one dataset before its report.

For each deposited file whose headers are not the interchange format's, or that a saved profile fits, the
analyst sees every header of the file with the column proposed for it (pipelines.ingest.propose), the
required columns still missing with a constant to give them, and the values of list columns that match
nothing with the code proposed; the choices make a profile (pipelines.ingest.profiles) that the report
below uses at once, and that can be saved under a name to be offered when a file with these headers
comes again. Widgets only: proposing, applying and storing live in pipelines.ingest.
"""

from __future__ import annotations

import hashlib

import streamlit as st

from dashboard import data
from dashboard.layout import escape_markdown
from pipelines import ingest
from pipelines.ingest import profiles as import_profiles
from pipelines.ingest import propose
from pipelines.ingest.profiles import MAPPABLE_KINDS, Profile, ProfileError, value_choices
from pipelines.ingest.read import RawTable, read_file
from pipelines.ingest.values import normalize_key
from pipelines.ingest.validate import headers_are_ours
from pipelines.spec.datasets import DATASETS, LOAD_ORDER
from pipelines.store import warehouse

IGNORE = "__ignorer__"
KEEP = "__tel_quel__"
NEW = "__nouvelle__"
VALUES_SHOWN = 40  # distinct unknown values offered per column; the report lists the others
EXAMPLES = 3


def _digest(upload: ingest.Upload) -> str:
    return hashlib.sha256(upload.data).hexdigest()[:12]


def _raw(upload: ingest.Upload) -> RawTable:
    """The file as read, once per deposit and not at every widget change (the last few files kept)."""
    key = (_digest(upload), upload.name, upload.dataset)
    cached = st.session_state.setdefault("correspondance_lectures", {})
    if key not in cached:
        while len(cached) >= 8:
            cached.pop(next(iter(cached)))
        cached[key] = read_file(upload.name, upload.data, dataset_hint=upload.dataset)
    return cached[key]


def _proposal(raw: RawTable, dataset: str) -> propose.Proposal:
    key = ("proposition", raw.sha256, dataset)
    cached = st.session_state.setdefault("correspondance_propositions", {})
    if key not in cached:
        cached[key] = propose.propose(raw, dataset, data.fetch(propose.commune_codes))
    return cached[key]


IGNORE_LABEL = "— ignorer cette colonne —"
KEEP_LABEL = "— laisser tel quel (refusé au rapport) —"
NEW_LABEL = "Nouvelle correspondance (proposée)"


def column_label(dataset: str, name: str) -> str:
    """How a column of ours is offered for a header: its name, * if required, what it holds."""
    if name == IGNORE:
        return IGNORE_LABEL
    column = DATASETS[dataset].column(name)
    return f"{name}{' *' if column.required else ''} — {column.description}"


def code_label(choices: dict[str, str], code: str) -> str:
    return KEEP_LABEL if code == KEEP else f"{code} — {choices[code]}"


def _choose(where, label: str, options: dict[str, str], default: str | None, key: str, **kw) -> str:
    """A select over `options` (value → text shown), returning the value. The texts are the options
    themselves, so that a test drives the select by what a person reads."""
    texts = list(options.values())
    index = list(options).index(default) if default in options else 0
    chosen = where.selectbox(label, texts, index=index, key=key, **kw)
    return {text: value for value, text in options.items()}[chosen]


def _examples(raw: RawTable, position: int) -> str:
    cells = raw.column(position).str.strip()
    shown = cells[cells != ""].drop_duplicates().head(EXAMPLES).tolist()
    return ", ".join(f"« {escape_markdown(value[:30])} »" for value in shown) or "(vide)"


def mapped_upload(upload: ingest.Upload, role: str) -> ingest.Upload:
    """`upload` with the profile the analyst confirmed, or as it came when its headers are ours and unmapped."""
    raw = _raw(upload)
    stored = data.fetch(import_profiles.matching, tuple(raw.headers))
    if upload.dataset is not None:
        stored = [(name, exact) for name, exact in stored
                  if data.fetch(import_profiles.load, name).jeu == upload.dataset]
    ours = headers_are_ours(raw.headers, upload.dataset)
    if ours and not stored:
        return upload
    digest = _digest(upload)
    with st.container(border=True):
        st.markdown(f"**Correspondance des colonnes de « {escape_markdown(upload.name)} »**")
        if ours:
            if not st.toggle("Lire ce fichier avec un profil d'import enregistré", key=f"profil_actif_{digest}"):
                return upload
        else:
            st.caption("Ses en-têtes ne sont pas ceux du format d'échange (export d'un autre logiciel ?) : "
                       "vérifiez la colonne proposée pour chacun ; la vérification ci-dessous suit vos choix.")
        profile = _chosen_profile(stored, digest)
        dataset = upload.dataset or _chosen_dataset(raw, profile, digest)
        if profile is not None and profile.jeu != dataset:
            profile = None
        proposal = _proposal(raw, dataset)
        prefix = f"corr_{digest}_{dataset}_{profile.nom if profile is not None else NEW}"
        # A saved profile folds its details away: the report below says whether it still fits the file.
        with st.expander("Colonnes, valeurs et constantes" + (f" du profil « {escape_markdown(profile.nom)} »" if profile else ""),
                         expanded=profile is None):
            colonnes = _columns_step(raw, dataset, proposal, profile, prefix)
            constantes = _constants_step(dataset, colonnes, profile, prefix)
            valeurs = _values_step(raw, dataset, colonnes, proposal, profile, prefix)
        chosen = Profile(jeu=dataset, nom=profile.nom if profile is not None else "",
                         colonnes={h: c for h, c in colonnes.items() if c},
                         valeurs=valeurs, constantes=constantes,
                         ignorer=ignored(colonnes))
        _save_step(chosen, raw, role, prefix, digest)
    return ingest.Upload(upload.name, upload.data, dataset, chosen)


def ignored(colonnes: dict[str, str | None]) -> tuple[str, ...]:
    """Headers left out, but not a second spelling of a mapped one (the import reports that pair)."""
    mapped = {normalize_key(h) for h, c in colonnes.items() if c}
    return tuple(h for h, c in colonnes.items() if not c and normalize_key(h) not in mapped)


def _chosen_profile(stored: list[tuple[str, bool]], digest: str) -> Profile | None:
    if not stored:
        return None
    names = [name for name, _ in stored]
    exact = [name for name, same in stored if same]
    st.success(f"Profil enregistré pour ces en-têtes : {', '.join('« ' + escape_markdown(n) + ' »' for n in (exact or names))}. "
               "Il est appliqué ; vous pouvez encore corriger une correspondance ci-dessous.",
               icon=":material/bookmark:")
    choice = _choose(st, "Profil d'import", {**{n: n for n in names}, NEW: NEW_LABEL}, names[0], f"profil_{digest}")
    return None if choice == NEW else data.fetch(import_profiles.load, choice)


def _chosen_dataset(raw: RawTable, profile: Profile | None, digest: str) -> str:
    default = profile.jeu if profile is not None else propose.best_dataset(raw, data.fetch(propose.commune_codes))
    return _choose(st, "Jeu de données de ce fichier", {n: f"{DATASETS[n].label} ({n})" for n in LOAD_ORDER},
                   default, f"jeu_{digest}")


def _columns_step(raw: RawTable, dataset: str, proposal: propose.Proposal, profile: Profile | None,
                  prefix: str) -> dict[str, str | None]:
    """Their header → our column (None: ignored), one select per header."""
    options = {name: column_label(dataset, name) for name in [IGNORE, *DATASETS[dataset].column_names]}
    chosen: dict[str, str | None] = {}
    st.markdown("**Colonnes du fichier → colonnes de l'Observatoire** (* : obligatoire)")
    if len(raw.headers) > propose.MAX_HEADERS:
        st.warning(f"Ce fichier a {len(raw.headers)} colonnes : seules les {propose.MAX_HEADERS} premières sont "
                   "proposées ici, les autres sont ignorées. Un export d'un jeu de données en a rarement plus de 20 : "
                   "vérifiez qu'il s'agit du bon fichier.", icon=":material/warning:")
    for position, header in enumerate(raw.headers):
        if position >= propose.MAX_HEADERS:
            chosen.setdefault(header, None)
            continue
        if not header or header in chosen:
            continue
        if profile is not None:
            default = profile.column_of(header) or None
        else:
            default = proposal.colonnes.get(header)
        why = proposal.raisons.get(header, "aucune colonne proche") if profile is None else f"profil « {profile.nom} »"
        left, right = st.columns([2, 3], vertical_alignment="center")
        left.markdown(f"« {escape_markdown(header)} »  \n:gray[{_examples(raw, position)}]")
        value = _choose(right, header, options, default, f"{prefix}_col_{position}", label_visibility="collapsed",
                        help=f"Proposé : {why}.")
        chosen[header] = None if value == IGNORE else value
    taken = [c for c in chosen.values() if c]
    twice = sorted({c for c in taken if taken.count(c) > 1})
    if twice:
        st.error("Plusieurs en-têtes vont dans la même colonne : " + ", ".join(twice) + " ; choisissez-en un seul "
                 "(le premier est gardé, les autres ignorés).", icon=":material/error:")
        seen: set[str] = set()
        for header, column in chosen.items():
            if column in seen:
                chosen[header] = None
            elif column:
                seen.add(column)
    return chosen


def _constants_step(dataset: str, colonnes: dict[str, str | None], profile: Profile | None,
                    prefix: str) -> dict[str, str]:
    """A value for each required column no header gives (e.g. the programme of the whole file)."""
    missing = [c for c in DATASETS[dataset].columns if c.required and c.name not in colonnes.values()]
    constantes: dict[str, str] = {}
    if not missing:
        return constantes
    st.warning("Colonnes obligatoires absentes du fichier : " + ", ".join(c.name for c in missing)
               + ". Associez-leur un en-tête ci-dessus, ou donnez une valeur commune à toutes les lignes :",
               icon=":material/warning:")
    for column in missing:
        default = profile.constantes.get(column.name, "") if profile is not None else ""
        value = st.text_input(f"Valeur de {column.name} pour toutes les lignes ({column.description.lower()}, "
                              f"p. ex. {column.example})", value=default, key=f"{prefix}_const_{column.name}")
        if value.strip():
            constantes[column.name] = value.strip()
    return constantes


def _values_step(raw: RawTable, dataset: str, colonnes: dict[str, str | None], proposal: propose.Proposal,
                 profile: Profile | None, prefix: str) -> dict[str, dict[str, str]]:
    """Their values of list columns that match none of our codes → the code chosen (kept as is if none)."""
    valeurs: dict[str, dict[str, str]] = {}
    positions = {header: position for position, header in reversed(list(enumerate(raw.headers)))}
    for header, name in colonnes.items():
        column = DATASETS[dataset].column(name) if name else None
        if column is None or column.kind not in MAPPABLE_KINDS:
            continue
        cells = raw.column(positions[header]).str.strip()
        distinct = cells[cells != ""].drop_duplicates().head(10 * VALUES_SHOWN).tolist()
        unknown = propose.propose_values(column, distinct)
        if proposal.colonnes.get(header) == name:
            unknown.update({v: c for v, c in proposal.valeurs.get(name, {}).items() if v in unknown})
        if not unknown:
            continue
        choices = value_choices(column)
        options = {code: code_label(choices, code) for code in [KEEP, *choices]}
        st.markdown(f"**Valeurs de « {escape_markdown(header)} » à traduire en codes de {name}**")
        mapping: dict[str, str] = {}
        for i, (theirs, proposed) in enumerate(list(unknown.items())[:VALUES_SHOWN]):
            if profile is not None and theirs in profile.valeurs.get(name, {}):
                proposed = profile.valeurs[name][theirs]
            left, right = st.columns([2, 3], vertical_alignment="center")
            left.markdown(f"« {escape_markdown(theirs)} »")
            # Keyed by what it is about, not its position: moving a column to another header must not hand
            # the old values' codes to the new ones.
            which = hashlib.sha256(f"{name}\0{header}\0{theirs}".encode()).hexdigest()[:16]
            code = _choose(right, f"{header} : {theirs}", options, proposed, f"{prefix}_val_{which}",
                           label_visibility="collapsed")
            if code != KEEP:
                mapping[theirs] = code
        if len(unknown) > VALUES_SHOWN:
            st.caption(f"… et {len(unknown) - VALUES_SHOWN} autres valeurs : le rapport les liste ; ajoutez-les au "
                       "profil exporté (TOML) si besoin.")
        if mapping:
            valeurs[name] = mapping
    return valeurs


def _save_step(profile: Profile, raw: RawTable, role: str, prefix: str, digest: str) -> None:
    saved, refused = st.session_state.pop(f"enregistrement_{digest}", (None, None))
    if saved:
        st.success(saved, icon=":material/bookmark_added:")
    if refused:
        st.error(refused, icon=":material/error:")
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    name = left.text_input("Nom du profil", value=profile.nom, key=f"{prefix}_nom",
                           placeholder="p. ex. Export du logiciel de gestion DLA",
                           help="Un profil enregistré est proposé quand un fichier aux mêmes en-têtes revient.")
    right.button("Enregistrer comme profil", icon=":material/bookmark_add:", key=f"{prefix}_enregistrer",
                 on_click=_save, args=(profile, f"{prefix}_nom", raw.headers, role, digest))
    st.download_button("Télécharger ce profil (TOML)", profile.renamed(name or "profil").to_toml().encode("utf-8"),
                       file_name=f"profil_{import_profiles.file_stem(name or profile.jeu)}.toml",
                       mime="application/toml", icon=":material/download:", key=f"{prefix}_toml")


def _save(profile: Profile, name_key: str, headers: list[str], role: str, digest: str) -> None:
    # A callback: the message survives the rerun the click starts. The name is read from its widget now: a
    # name typed just before the click is not yet in the arguments bound at the previous run.
    name = st.session_state.get(name_key, "")
    try:
        with warehouse.write_transaction(data.db()) as con:
            version = import_profiles.save(con, profile.renamed(name), role=role, headers=headers)
    except (ProfileError, warehouse.WarehouseError) as exc:
        st.session_state[f"enregistrement_{digest}"] = (None, str(exc))
        return
    data.clear()
    st.session_state[f"enregistrement_{digest}"] = (
        f"Profil « {name.strip()} » enregistré (version {version}) : il sera proposé pour les fichiers aux mêmes "
        "en-têtes.", None)
