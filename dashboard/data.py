"""Cached access to the query layer.

Results are cached with `st.cache_data`, keyed on the function, the scope and
the warehouse version (which changes at every committed write), so a page
never shows stale figures after an import and never holds a connection open.
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
from pathlib import Path
from typing import Any, Callable

import streamlit as st

from pipelines.demo import loader as demo_loader
from pipelines.queries import cube, masks
from pipelines.store import warehouse

PUBLISH_AHEAD_VAR = "OBSERVATOIRE_PUBLICATION_ANTICIPEE"  # "0": protect each funder slice on first request only


def db() -> warehouse.Target:
    return warehouse.db_path()


@st.cache_data(show_spinner=False, max_entries=512)
def _run(module_name: str, function_name: str, db_path: str, version: tuple, args: tuple, kwargs: tuple) -> Any:
    function = getattr(importlib.import_module(module_name), function_name)
    with warehouse.read_connection(warehouse.db_path(db_path)) as con:
        return function(con, *args, **dict(kwargs))


def fetch(function: Callable, *args, **kwargs) -> Any:
    """Call a query-layer function `f(con, *args, **kwargs)` through the cache."""
    path = db()
    return _run(function.__module__, function.__name__, warehouse.target_key(path), warehouse.version(path),
                args, tuple(sorted(kwargs.items())))


def is_demo() -> bool:
    return fetch(demo_loader.is_demo)


def clear() -> None:
    """After a write from this process (uploads page), drop every cached result."""
    _run.clear()


_published: set[tuple] = set()  # (warehouse, version) whose publication has started in this process


def publish_ahead() -> None:
    """Once per warehouse version, protect every funder slice in a background thread (cube.publish), so
    that the first funder page after an import reads its published cube instead of protecting it (about
    1.5 s per slice at 1,000,000 accompaniments). The thread holds one read connection while it works:
    readers never lock a writer out (pipelines.store.warehouse)."""
    path = db()
    key = (warehouse.target_key(path), warehouse.version(path))
    if os.environ.get(PUBLISH_AHEAD_VAR, "1") == "0" or key in _published or not path.exists():
        return
    _published.add(key)
    threading.Thread(target=_publish, args=(path,), name="publication-financeur", daemon=True).start()


def _publish(path: Path) -> None:
    try:
        with warehouse.read_connection(path) as con:
            cube.publish(con, masks.database_version(con))
    except Exception:  # a failed publication only means funders' first pages protect their slice themselves
        logging.getLogger(__name__).exception("publication anticipée du cube financeur")
