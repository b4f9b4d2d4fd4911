"""Indicators against values computed by hand on tests/fixtures/mini.

The fixture: S1 Caen (14, Normandie) with A1 (2022, 10 h, ECO.MODELE) and
A2 (2023–, 5 h, ORG.GOUVERNANCE); S2 Rouen (76, Normandie) with A3 (2022,
20 h, ECO.GESTION); S3 Toulouse (31, Occitanie) with A4 (2023, 14 h, ECO);
S4 Marseille (13, PACA) with A5 (2024–, no hours, TRA.NUMERIQUE).
"""

import datetime as dt

import pytest

from pipelines.queries import indicators
from pipelines.queries.indicators import Scope
from pipelines.store import warehouse


def kpis(db, **scope):
    with warehouse.read_connection(db) as con:
        return indicators.kpis(con, Scope(**scope))


def test_whole_fixture(mini_db):
    k = kpis(mini_db)
    assert (k["structures"], k["accompagnements"], k["heures"], k["programmes"]) == (4, 5, 49.0, 2)
    assert k["part_besoin_principal"] == pytest.approx({"ECO": 0.6, "ORG": 0.2, "TRA": 0.2})
    assert k["structures_par_departement"] == {"13": 1, "14": 1, "31": 1, "76": 1}
    assert k["structures_par_region"] == {"28": 2, "76": 1, "93": 1}


def test_region_scope(mini_db):
    k = kpis(mini_db, region="28")
    assert (k["structures"], k["accompagnements"], k["heures"]) == (2, 3, 35.0)
    assert k["part_besoin_principal"] == pytest.approx({"ECO": 2 / 3, "ORG": 1 / 3})


def test_departement_programme_and_domaine_scopes(mini_db):
    assert kpis(mini_db, departement="14")["accompagnements"] == 2
    assert kpis(mini_db, programme="P2")["structures"] == 2
    k = kpis(mini_db, domaine="musique")
    assert (k["structures"], k["accompagnements"], k["heures"]) == (2, 2, 34.0)


def test_period_counts_accompaniments_active_during_it(mini_db):
    # 2023: A2 (open since 02/2023) and A4 (03–09/2023); A1/A3 ended in 2022, A5 starts in 2024.
    k = kpis(mini_db, depuis=dt.date(2023, 1, 1), jusqu_au=dt.date(2023, 12, 31))
    assert (k["structures"], k["accompagnements"], k["heures"]) == (2, 2, 19.0)
    assert k["part_besoin_principal"] == pytest.approx({"ECO": 0.5, "ORG": 0.5})


def test_shares_sum_to_one_and_empty_scope_is_empty(mini_db):
    assert sum(kpis(mini_db)["part_besoin_principal"].values()) == pytest.approx(1.0)
    k = kpis(mini_db, region="11")
    assert k["structures"] == 0 and k["part_besoin_principal"] == {} and k["structures_par_departement"] == {}


def test_trend_by_year(mini_db):
    with warehouse.read_connection(mini_db) as con:
        trend = indicators.trend_by_year(con, Scope())
    assert trend["annee"].tolist() == [2022, 2023, 2024]
    assert trend["accompagnements"].tolist() == [2, 2, 1]
    assert trend["heures"].tolist() == [30.0, 19.0, 0.0]


def test_previous_period_has_equal_length():
    scope = Scope(depuis=dt.date(2023, 1, 1), jusqu_au=dt.date(2023, 12, 31))
    previous = scope.previous_period()
    assert previous.jusqu_au == dt.date(2022, 12, 31)
    assert previous.jusqu_au - previous.depuis == scope.jusqu_au - scope.depuis
    assert Scope().previous_period() is None
