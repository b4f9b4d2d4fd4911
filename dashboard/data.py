"""Cached access to the query layer.

Results are cached with `st.cache_data`, keyed on the function, the scope and
the warehouse version (which changes at every committed write), so a page
never shows stale figures after an import and never holds a connection open.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, Callable

import streamlit as st

from pipelines.demo import loader as demo_loader
from pipelines.store import warehouse


def db() -> Path:
    return warehouse.db_path()


@st.cache_data(show_spinner=False, max_entries=512)
def _run(module_name: str, function_name: str, db_path: str, version: tuple, args: tuple, kwargs: tuple) -> Any:
    function = getattr(importlib.import_module(module_name), function_name)
    with warehouse.read_connection(Path(db_path)) as con:
        return function(con, *args, **dict(kwargs))


def fetch(function: Callable, *args, **kwargs) -> Any:
    """Call a query-layer function `f(con, *args, **kwargs)` through the cache."""
    path = db()
    return _run(function.__module__, function.__name__, str(path), warehouse.version(path),
                args, tuple(sorted(kwargs.items())))


def is_demo() -> bool:
    return fetch(demo_loader.is_demo)


def clear() -> None:
    """After a write from this process (uploads page), drop every cached result."""
    _run.clear()
