"""Router: workspace switcher in the sidebar, pages registered with st.navigation."""
from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from dashboard import data  # noqa: E402

st.set_page_config(page_title="Harm-focused drug-market map", page_icon=":material/map:", layout="wide")

paths = data.workspace_paths()
with st.sidebar:
    st.markdown("### Workspace")
    if not paths:
        st.warning(f"No workspace found in `{data.workspace_folder()}`. Run `make run` (it builds the demo "
                   "workspaces) or `python -m geo import --workspace PATH ...`.")
    else:
        labels = {str(p): p.stem.replace("-", " ").title() for p in paths}
        current = st.session_state.get("workspace")
        if current not in labels:
            st.session_state["workspace"] = str(paths[0])
        st.selectbox("Workspace", list(labels), format_func=labels.get, key="workspace",
                     label_visibility="collapsed")

pages = [
    st.Page("app_pages/map.py", title="Map", icon=":material/map:", default=True),
    st.Page("app_pages/operations.py", title="Operations", icon=":material/target:"),
    st.Page("app_pages/data.py", title="Data and imports", icon=":material/upload_file:"),
    st.Page("app_pages/harm.py", title="Harm weights", icon=":material/balance:"),
]
nav = st.navigation(pages)
if not paths and nav.title != "Data and imports":
    st.info("Import data on the **Data and imports** page, or build the demo workspaces with `make run`.")
    st.stop()
nav.run()
