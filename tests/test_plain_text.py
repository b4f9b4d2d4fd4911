"""Text from the data is shown as text: a programme named with Markdown or HTML neither formats the page
nor makes the browser fetch anything, and a visitor never sees a traceback."""

from __future__ import annotations

import shutil
import tomllib

from streamlit.testing.v1 import AppTest

from dashboard import auth
from pipelines.reports import charts
from pipelines.store import warehouse
from tests.conftest import REPO_DIR

HOSTILE = "![pixel](http://127.0.0.1:9/pixel.png) <img src=http://127.0.0.1:9/x.png> **gras**"


def hostile_warehouse(demo_db, tmp_path) -> tuple:
    db = tmp_path / "hostile.duckdb"
    shutil.copyfile(demo_db, db)
    with warehouse.write_transaction(db) as con:
        programme = con.execute("SELECT id_programme FROM programmes ORDER BY 1 LIMIT 1").fetchone()[0]
        con.execute("UPDATE programmes SET nom = ? WHERE id_programme = ?", [HOSTILE, programme])
    return db, programme


def test_a_programme_name_in_the_scope_caption_is_escaped(demo_db, tmp_path, monkeypatch):
    db, programme = hostile_warehouse(demo_db, tmp_path)
    monkeypatch.setenv(warehouse.ENV_VAR, str(db))
    at = AppTest.from_file(str(REPO_DIR / "app.py"), default_timeout=60)
    at.session_state[auth.ROLE_KEY] = "analyste"
    at.query_params["programme"] = programme
    at.run()
    assert not at.exception
    scope_line = next(c.value for c in at.caption if c.value.startswith("Périmètre"))
    assert "![pixel](" not in scope_line and "**gras**" not in scope_line
    assert r"\!\[pixel\]" in scope_line and r"\*\*gras\*\*" in scope_line


def test_chart_titles_escape_tags_from_the_data():
    figure = charts.style(charts.go.Figure(), "Titre <b>", HOSTILE)
    title = figure.layout.title.text
    assert "<img" not in title and "&lt;img src=" in title and "Titre &lt;b&gt;" in title


def test_the_shipped_config_shows_visitors_no_traceback():
    config = tomllib.loads((REPO_DIR / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["client"]["showErrorDetails"] == "none"
