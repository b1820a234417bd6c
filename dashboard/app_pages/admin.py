"""Admin: accounts, settings and the audit log (admins only; the role is checked again here)."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import auth, data, ui
from geo import auth as core
from geo import safe, tiles
from geo.briefing import DEFAULT_MARKING
from geo.errors import GeoInputError
from geo.settings import settings

user = auth.require_user()
core.require_role(user, "admin")
path, key, ver, info = data.current()
st.title("Admin")
flash = st.session_state.pop("admin_flash", None)
if flash:
    st.success(safe.md(flash))

tab_accounts, tab_settings, tab_audit = st.tabs(["Accounts", "Settings", "Audit log"])

with tab_accounts:
    if auth.oidc_configured():
        st.info("Sign-in goes through your identity provider: roles come from its claims. Local accounts below "
                "are not used while OIDC is configured.")
    store = core.AccountStore()
    users = store.users()
    if users["demo"].any():
        st.warning("Demo accounts with published passwords exist. Remove them before real use.")
    bcus = data.bcus(key, ver)
    bcu_names = dict(zip(bcus["code"], bcus["name"]))
    ui.table(users, names=bcu_names, key="admin_users")

    st.subheader("Add an account")
    with st.form("admin_add", clear_on_submit=True):
        c1, c2 = st.columns(2)
        name = c1.text_input("Username", key="admin_new_name")
        role = c2.selectbox("Role", core.ROLES, format_func=core.ROLE_LABELS.get, key="admin_new_role")
        new_bcus = st.multiselect("BCUs (inspectors)", list(bcu_names), format_func=bcu_names.get,
                                  key="admin_new_bcus")
        c1, c2 = st.columns(2)
        pw1 = c1.text_input("Password", type="password", key="admin_new_pw1")
        pw2 = c2.text_input("Password again", type="password", key="admin_new_pw2")
        if st.form_submit_button("Create account", type="primary"):
            try:
                if pw1 != pw2:
                    raise GeoInputError("The two passwords differ", fix="type the same password twice")
                store.add(name, pw1, role, new_bcus if role == "inspector" else (), by=user.username)
            except GeoInputError as err:
                st.error(safe.md(err))
            else:
                st.session_state["admin_flash"] = f"Created {role} account '{name}'."
                st.rerun()

    if len(users):
        st.subheader("Change an account")
        who = st.selectbox("Account", users["username"].tolist(), key="admin_who")
        current = store.get(who)
        c1, c2 = st.columns(2)
        new_role = c1.selectbox("Role", core.ROLES, index=core.ROLES.index(current.role),
                                format_func=core.ROLE_LABELS.get, key=f"admin_role_{who}")
        chosen = c2.multiselect("BCUs (inspectors)", list(bcu_names), format_func=bcu_names.get,
                                default=[b for b in current.bcus if b in bcu_names], key=f"admin_bcus_{who}")
        b1, b2, b3, b4 = st.columns(4)
        try:
            if b1.button("Save role", key="admin_save_role"):
                store.set_role(who, new_role, chosen if new_role == "inspector" else (), by=user.username)
                st.session_state["admin_flash"] = f"'{who}' is now {new_role}."
                st.rerun()
            disabled = bool(users.loc[users["username"] == who, "disabled"].iloc[0])
            if b2.button("Enable" if disabled else "Disable", key="admin_toggle"):
                store.set_disabled(who, not disabled, by=user.username)
                st.session_state["admin_flash"] = f"'{who}' {'enabled' if disabled else 'disabled'}."
                st.rerun()
            if b1.button("Sign out everywhere", key="admin_sign_out_all",
                         help="End every open session of this account at its next click."):
                store.sign_out_everywhere(who, by=user.username)
                st.session_state["admin_flash"] = f"Every session of '{who}' will be signed out at its next click."
                st.rerun()
            if b2.button("Clear failed sign-ins", key="admin_unlock",
                         help="Lift a sign-in lock after too many wrong passwords (the account's own count)."):
                store.unlock(who, by=user.username)
                st.session_state["admin_flash"] = f"Failed sign-ins of '{who}' cleared."
                st.rerun()
            sure = b4.checkbox("Confirm removal", key="admin_sure")
            if b3.button("Remove", key="admin_remove", disabled=not sure):
                store.remove(who, by=user.username)
                st.session_state["admin_flash"] = f"Removed '{who}'."
                st.rerun()
            with st.form("admin_pw", clear_on_submit=True):
                pw = st.text_input(f"New password for {safe.md(who)}", type="password", key="admin_pw")
                if st.form_submit_button("Set password"):
                    store.set_password(who, pw, by=user.username)
                    st.session_state["admin_flash"] = f"Password changed for '{who}'."
                    st.rerun()
        except GeoInputError as err:
            st.error(safe.md(err))
    store.close()

with tab_settings:
    st.caption(f"Settings of the workspace **{safe.md(info['name'])}**. Changes are recorded in its audit log.")
    s = info["settings"]
    threshold = st.number_input("Suppression threshold for partners (counts below it show as '<N')", min_value=3,
                                max_value=20, step=1, key="admin_threshold",
                                value=int(s.get("suppression_threshold", settings.suppression_threshold)))
    marking = st.text_input("Protective marking on briefings", value=s.get("protective_marking") or DEFAULT_MARKING,
                            key="admin_marking", max_chars=60)
    basemaps = {t.url: t for t in tiles.installed()}
    current = s.get("tile_url") or settings.tile_url or ""
    choices = [""] + list(basemaps) + ([current] if current and current not in basemaps else [])

    def basemap_label(url: str) -> str:
        if not url:
            return "None: the boundaries are the basemap"
        if url in basemaps:
            t = basemaps[url]
            return f"{t.name} (installed: {t.tiles:,} tiles, zoom {t.zooms[0]}–{t.zooms[1]})"
        return f"Tile server {url}"

    tile_url = st.selectbox("Basemap", choices, index=choices.index(current), format_func=basemap_label,
                            key="admin_basemap",
                            help="Offline basemaps are installed on the server with `python -m geo tiles install "
                                 "FILE.mbtiles` (a raster MBTiles file, e.g. from QGIS) and served by the dashboard "
                                 "itself: nothing leaves the machine.")
    if not basemaps:
        st.caption("No offline basemap is installed: `python -m geo tiles install FILE.mbtiles` adds one.")
    if st.button("Save settings", type="primary", key="admin_save_settings"):
        changes = {}
        if tile_url != current:
            changes["tile_url"] = tile_url or None
            changes["tile_attribution"] = basemaps[tile_url].attribution if tile_url in basemaps else ""
        if int(threshold) != int(s.get("suppression_threshold", settings.suppression_threshold)):
            changes["suppression_threshold"] = int(threshold)
        if marking.strip() and marking.strip() != (s.get("protective_marking") or DEFAULT_MARKING):
            changes["protective_marking"] = marking.strip()
        changed = data.change_settings(path, changes, user=user)  # admins only; each change audited
        st.session_state["admin_flash"] = "Saved: " + "; ".join(changed) if changed else "Nothing changed."
        st.rerun()

with tab_audit:
    log = data.audit_log(path, user=user)
    st.markdown(f"**Workspace {safe.md(info['name'])}**: sign-ins, areas viewed, exports, operations and settings changed.")
    who = st.multiselect("User", sorted(log["user"].unique()), key="admin_audit_user", placeholder="Everyone")
    shown = log[log["user"].isin(who)] if who else log
    ui.table(shown, key="admin_audit")
    st.download_button("Download the audit log (CSV)", safe.csv_bytes(shown), mime="text/csv",
                       file_name=f"{path.stem}-audit-log.csv", key="admin_audit_csv")
    with core.AccountStore() as store:
        acc = store.account_log()
    st.markdown("**Accounts**: created, role and password changes, sign-in locks (all workspaces).")
    ui.table(acc, key="admin_account_log")
