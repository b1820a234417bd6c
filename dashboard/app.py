"""Router: sign-in, workspace switcher in the sidebar, and only the pages the user's role may open.

Before sign-in only the sign-in page is registered. After it, every page in ``pages`` is
kept only if ``geo.auth.PAGE_ROLES`` lets the user's role open it (a page missing from that
table is for analysts and admins only), so an internal page cannot be reached by URL.
"""
from __future__ import annotations

import streamlit as st

from dashboard import auth, data, warm

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
asked = auth.asked_path({name for name, _, _ in PAGES} | {"sign-in"})  # an address that is no page, if opened on
if user is None:
    # The sign-in form answers at every page's address too (with no menu), so a deep link such as
    # /operations shows the form and, once signed in, opens that page; at an address that is no page
    # it says so (not Streamlit's "Page not found" dialog).
    sign_in = [st.Page(auth.sign_in_page, title="Sign in", icon=":material/login:", url_path="sign-in", default=True)]
    sign_in += [st.Page(auth.sign_in_page, title="Sign in", url_path=name) for name, _, _ in PAGES]
    if asked:
        sign_in.append(st.Page(auth.unknown_page_sign_in(asked), title="Sign in", url_path=asked))
    with warm.user_run:  # background warm-ups wait while any user's page runs
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

# The user's first page (the Map, or a partner's Area summary) answers at "/". Its own name is freed
# (HOME_PATH) for a hidden page that opens it, so /map, a bookmark or a deep link from the sign-in
# form, opens the Map rather than Streamlit's "Page not found" dialog.
home = auth.home_page(user, [name for name, _, _ in PAGES])
pages = [st.Page(f"app_pages/{name}.py", title=title, icon=icon, default=(name == home),
                 url_path=auth.HOME_PATH if name == home else None)
         for name, title, icon in PAGES]
allowed = auth.allowed_pages(user, pages)  # role-aware: the rest are not registered as pages at all
# Their addresses (and one that is no page) answer with a plain message and links to the user's pages
# (hidden from the menu), so a deep link never ends in Streamlit's "Page not found" dialog.
hidden = [st.Page(auth.not_for_role(user, title, allowed), title=title, url_path=name, visibility="hidden")
          for (name, title, _), page in zip(PAGES, pages) if page not in allowed]
if home:
    hidden.append(st.Page(auth.opens(allowed[0]), title=allowed[0].title, url_path=home, visibility="hidden"))
if asked:
    hidden.append(st.Page(auth.no_such_page(asked, allowed), title="Not found", url_path=asked, visibility="hidden"))
auth.sidebar(user)
nav = st.navigation(allowed + hidden)
if not paths and nav.title != "Data and imports":
    st.info("Import data on the **Data and imports** page, or build the demo workspaces with `make run`.")
    st.stop()
warm.kept_hotspots(st.session_state.get("workspace"))  # first start: the Hotspots defaults kept, if missing
with warm.user_run:  # background warm-ups (dashboard/warm.py) wait while any user's page runs
    nav.run()
