"""The export corpora (tests/fixtures/exports, tests/fixtures/exports_inedits): files written as other software
writes them, and the mapping an analyst would choose for each (attendu.toml). Scored by tests/test_profiles.py
and bench/bench_proposals.py."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pipelines.ingest import propose
from pipelines.ingest.read import RawTable, read_file

CORPUS = Path(__file__).parent / "fixtures" / "exports"
# Written by someone who had not seen the vocabulary of pipelines/spec/synonymes.py: how unseen exports fare.
HELD_OUT = Path(__file__).parent / "fixtures" / "exports_inedits"


@dataclass
class Expected:
    name: str
    jeu: str
    path: Path
    colonnes: dict[str, str | None]
    valeurs: dict[str, dict[str, str]]

    def raw(self) -> RawTable:
        return read_file(self.path.name, self.path.read_bytes())


def expectations(corpus: Path = CORPUS) -> list[Expected]:
    expected = tomllib.loads((corpus / "attendu.toml").read_text(encoding="utf-8"))
    return [Expected(name, case["jeu"], corpus / case.get("fichier", f"{name}.csv"),
                     {h: c or None for h, c in case["colonnes"].items()}, case.get("valeurs", {}))
            for name, case in expected.items()]


@dataclass
class Score:
    name: str
    headers: int
    right: int
    wrong: list[tuple[str, str | None, str | None]]  # (header, proposed, expected)
    values: int
    values_right: int
    values_wrong: list[tuple[str, str, str | None, str]]  # (column, value, proposed, expected)
    dataset_guessed: str


def score(case: Expected, communes: pd.Index | None) -> Score:
    raw = case.raw()
    proposal = propose.propose(raw, case.jeu, communes)
    wrong = [(h, proposal.colonnes.get(h), c) for h, c in case.colonnes.items() if proposal.colonnes.get(h) != c]
    values_wrong = [(column, value, proposal.valeurs.get(column, {}).get(value), code)
                    for column, mapping in case.valeurs.items() for value, code in mapping.items()
                    if proposal.valeurs.get(column, {}).get(value) != code]
    n_values = sum(len(m) for m in case.valeurs.values())
    return Score(case.name, len(case.colonnes), len(case.colonnes) - len(wrong), wrong,
                 n_values, n_values - len(values_wrong), values_wrong, propose.best_dataset(raw, communes))
