"""The first lines of every page, in one call: `page.start(url_path, title, description)`.

It runs the page through app.py, lets in only the roles the page is for, reads the sidebar's filters and
draws the title with the scope in words, then returns what the page needs of all that.

Why `through_app`: because a `pages/` folder sits beside app.py, Streamlit starts in its legacy multipage
mode: until some session has run `st.navigation`, a direct link such as /territoires runs the page file
alone — no filters, no banner, no sign-in. In that mode it switches the legacy mode off and reruns, so the
same URL is served by app.py's navigation.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from dashboard import auth, filters, layout
from pipelines.privacy import roles
from pipelines.queries.indicators import Scope


def through_app() -> None:
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


@dataclass(frozen=True)
class Page:
    role: str  # the signed-in role's code, which the query layer takes as `vue`
    rules: roles.Role
    scope: Scope  # the sidebar's filters
    where: str  # the scope in words, for titles and captions

    def heading(self, title: str, description: str = "", container=st) -> None:
        """The page's title, and under it the scope and what the page counts."""
        container.title(title)
        where = layout.escape_markdown(self.where)  # names from the data (programmes) are shown as plain text
        container.caption(" · ".join(part for part in (f"Périmètre : {where}", description) if part))


def start(url_path: str, title: str | None = None, description: str = "") -> Page:
    """Stop here unless the signed-in role may open the page `url_path` (the sign-in form stands in for it
    when nobody is signed in); else the page's context, and its heading when `title` is given."""
    through_app()
    role = auth.require(url_path)
    scope = filters.current()
    page = Page(role, roles.role(role), scope, filters.describe(scope))
    if title:
        page.heading(title, description)
    return page
