"""Make every page run through app.py, even on a direct link to a fresh server.

Because a `pages/` folder sits beside app.py, Streamlit starts in its legacy
multipage mode: until some session has run `st.navigation`, a direct link such
as /territoires runs the page file alone — no filters, no banner, no sign-in.
Each page calls `through_app()` first: in that mode it switches the legacy mode
off and reruns, so the same URL is served by app.py's navigation.
"""

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager


def through_app() -> None:
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
