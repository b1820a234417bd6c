"""Router: sign-in, workspace switcher in the sidebar, and only the pages the user's role may open.

Before sign-in only the sign-in page is registered. After it, every page in ``pages`` is
kept only if ``geo.auth.PAGE_ROLES`` lets the user's role open it (a page missing from that
table is for analysts and admins only), so an internal page cannot be reached by URL.
"""
from __future__ import annotations

import streamlit as st

from dashboard import auth, data

# An emoji favicon is drawn locally; a ":material/...:" page_icon is fetched from fonts.gstatic.com.
st.set_page_config(page_title="Harm-focused drug-market map", page_icon="🗺️", layout="wide")

user = auth.check_session()  # every run: idle timeout, account removed, disabled or changed -> signed out
if user is None:
    st.navigation([st.Page(auth.sign_in_page, title="Sign in", icon=":material/login:", url_path="sign-in")]).run()
    st.stop()

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
    st.Page("app_pages/hotspots.py", title="Hotspots", icon=":material/local_fire_department:"),
    st.Page("app_pages/operations.py", title="Operations", icon=":material/target:"),
    st.Page("app_pages/data.py", title="Data and imports", icon=":material/upload_file:"),
    st.Page("app_pages/harm.py", title="Harm weights", icon=":material/balance:"),
]
pages += [
    st.Page("app_pages/areas.py", title="Area summary", icon=":material/hexagon:"),
    st.Page("app_pages/briefings.py", title="Briefings", icon=":material/description:"),
    st.Page("app_pages/national.py", title="National view", icon=":material/public:"),
    st.Page("app_pages/admin.py", title="Admin", icon=":material/admin_panel_settings:"),
]
pages = auth.allowed_pages(user, pages)  # role-aware: the rest are not registered at all
auth.sidebar(user)
nav = st.navigation(pages)
if not paths and nav.title != "Data and imports":
    st.info("Import data on the **Data and imports** page, or build the demo workspaces with `make run`.")
    st.stop()
nav.run()
