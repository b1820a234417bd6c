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

#: Every page: (file under app_pages/, title, icon). The file name is the page's URL path.
PAGES = [
    ("map", "Map", ":material/map:"),
    ("hotspots", "Hotspots", ":material/local_fire_department:"),
    ("operations", "Operations", ":material/target:"),
    ("data", "Data and imports", ":material/upload_file:"),
    ("harm", "Harm weights", ":material/balance:"),
    ("areas", "Area summary", ":material/hexagon:"),
    ("briefings", "Briefings", ":material/description:"),
    ("national", "National view", ":material/public:"),
    ("admin", "Admin", ":material/admin_panel_settings:"),
]

user = auth.check_session()  # every run: idle timeout, account removed, disabled or changed -> signed out
if user is None:
    # The sign-in form answers at every page's address too (with no menu), so a deep link such as
    # /operations shows the form and, once signed in, opens that page.
    sign_in = [st.Page(auth.sign_in_page, title="Sign in", icon=":material/login:", url_path="sign-in", default=True)]
    sign_in += [st.Page(auth.sign_in_page, title="Sign in", url_path=name) for name, _, _ in PAGES]
    st.navigation(sign_in, position="hidden").run()
    st.stop()
auth.sync_cookie(user)  # a refresh or a new tab stays signed in (a signed, expiring cookie)

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

pages = [st.Page(f"app_pages/{name}.py", title=title, icon=icon, default=(name == "map"))
         for name, title, icon in PAGES]
pages = auth.allowed_pages(user, pages)  # role-aware: the rest are not registered at all
auth.sidebar(user)
nav = st.navigation(pages)
if not paths and nav.title != "Data and imports":
    st.info("Import data on the **Data and imports** page, or build the demo workspaces with `make run`.")
    st.stop()
nav.run()
