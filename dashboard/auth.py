"""Sign-in for the dashboard: OIDC through ``st.login`` when configured, else local accounts.

OIDC is used when ``.streamlit/secrets.toml`` has an ``[auth]`` section (Streamlit's
own settings: ``redirect_uri``, ``cookie_secret``, ``client_id``, ``client_secret``,
``server_metadata_url``). Which claim carries the role, and how the provider's group
names map to roles, is set in an optional ``[geo_auth]`` section::

    [geo_auth]
    role_claim = "roles"            # or e.g. "groups", "realm_access.roles"
    bcu_claim = "bcus"              # an inspector's BCU codes
    [geo_auth.role_map]
    "SYP-Drugs-Analysts" = "analyst"
    "SYP-Inspectors" = "inspector"

Otherwise the local sign-in form checks ``geo.auth.AccountStore`` (argon2 hashes) and
keeps the signed-in user in ``st.session_state["auth_user"]``, which lives on the
server: the browser cannot set it.

Tests sign in by putting a user into that session key (``tests/conftest.py``:
``sign_in_for_test(at, role)``); there is no switch that turns sign-in off.
"""
from __future__ import annotations

import time

import streamlit as st

from geo import auth as core
from geo.auth import AccessDenied, User

SESSION_KEY = "auth_user"


def _secrets_section(name: str) -> dict:
    try:
        return dict(st.secrets.get(name, {}) or {})
    except Exception:  # no secrets file at all
        return {}


def oidc_configured() -> bool:
    return bool(_secrets_section("auth"))


def _oidc_user() -> User | None:
    try:
        if not st.user.is_logged_in:
            return None
        claims = st.user.to_dict()
    except Exception:
        return None
    cfg = _secrets_section("geo_auth")
    return core.user_from_claims(claims, role_claim=cfg.get("role_claim", "roles"),
                                 bcu_claim=cfg.get("bcu_claim", "bcus"), role_map=dict(cfg.get("role_map", {})))


def current_user() -> User | None:
    """The signed-in user, or ``None``."""
    raw = st.session_state.get(SESSION_KEY)
    if raw:
        try:
            return User.from_dict(raw)
        except Exception:
            st.session_state.pop(SESSION_KEY, None)
            return None
    if oidc_configured():
        user = _oidc_user()
        if user is not None:
            st.session_state[SESSION_KEY] = user.to_dict()
            _audit_sign_in(user)
        return user
    return None


def require_user() -> User:
    """The signed-in user; stops the page with a message if nobody is."""
    user = current_user()
    if user is None:
        st.error("Sign in first.")
        st.stop()
    return user


def username() -> str:
    u = current_user()
    return u.username if u else "anonymous"


def audit(action: str, detail: str = "", path=None) -> None:
    """Record ``action`` by the signed-in user in the workspace's audit log."""
    from dashboard import data
    p = path or data.current_path()
    if p is None:
        return
    try:
        with data.open_workspace(p) as ws:
            ws.store.audit(username(), action, detail)
    except Exception:  # an audit failure must not lose the user's work; it is logged
        import logging
        logging.getLogger(__name__).exception("could not write the audit log")


def _audit_sign_in(user: User, path=None) -> None:
    from dashboard import data
    paths = data.workspace_paths()
    target = path or (paths[0] if paths else None)
    if target is not None:
        with data.open_workspace(target) as ws:
            ws.store.audit(user.username, "signed in", f"{user.role} via {user.source}")


def sign_in_page() -> None:
    """The only page registered before sign-in."""
    st.title("Sign in")
    st.caption("Harm-focused drug-market map. Access depends on your role: partners see suppressed area "
               "figures only.")
    if oidc_configured():
        if st.session_state.get("auth_refused"):
            st.error("Your account has no role for this tool. Ask an administrator to add you to a group.")
        cfg = _secrets_section("geo_auth")
        if st.button("Sign in with your organisation account", type="primary", key="auth_oidc"):
            provider = cfg.get("provider")
            st.login(provider) if provider else st.login()
        try:
            if st.user.is_logged_in and _oidc_user() is None:
                st.error("You are signed in with the identity provider, but your account carries no role for "
                         "this tool. Ask an administrator to add you to a group.")
                if st.button("Sign out", key="auth_oidc_out"):
                    st.logout()
        except Exception:
            pass
        return

    with core.AccountStore() as store:
        n_accounts = store.count()
        demo = store.has_demo_accounts()
    if n_accounts == 0:
        st.warning("No accounts yet. Create the first administrator on the server:\n\n"
                   "`python -m geo users add --username NAME --role admin`\n\n"
                   "or run `python -m geo demo` to create the demo accounts.")
    with st.form("sign_in", clear_on_submit=False):
        name = st.text_input("Username", key="auth_username", autocomplete="username")
        password = st.text_input("Password", type="password", key="auth_password", autocomplete="current-password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        with core.AccountStore() as store:
            user = store.verify(name, password)
        if user is None:
            time.sleep(0.5)
            audit_failed(name)
            st.error("Wrong username or password.")
        else:
            st.session_state[SESSION_KEY] = user.to_dict()
            st.session_state.pop("auth_password", None)
            _audit_sign_in(user, st.session_state.get("workspace"))
            st.rerun()
    if demo:
        st.info("**Demo accounts** (for the bundled demo only; delete them before real use):\n\n"
                "| username | password | role |\n|---|---|---|\n"
                + "\n".join(f"| `{u}` | `{p}` | {r}{' (' + ', '.join(b) + ')' if b else ''} |"
                            for u, r, b, p in core.DEMO_ACCOUNTS))


def audit_failed(name: str) -> None:
    from dashboard import data
    paths = data.workspace_paths()
    if paths:
        with data.open_workspace(paths[0]) as ws:
            ws.store.audit(str(name)[:64] or "(blank)", "sign-in refused", "wrong username or password")


def sidebar(user: User) -> None:
    """Who is signed in, and the sign-out button."""
    with st.sidebar:
        from geo.safe import md  # the label comes from the account or the identity provider
        st.markdown(f"**{md(user.label)}** · {user.role}" + (f" · {md(', '.join(user.bcus))}"
                                                             if user.role == "inspector" and user.bcus else ""))
        if st.button("Sign out", key="auth_sign_out"):
            audit("signed out", user.role)
            st.session_state.pop(SESSION_KEY, None)
            if user.source == "oidc":
                st.logout()
            st.rerun()


__all__ = ["AccessDenied", "SESSION_KEY", "current_user", "require_user", "audit", "sign_in_page", "sidebar",
           "oidc_configured"]


def page_key(page) -> str:
    """The key of an ``st.Page`` in ``geo.auth.PAGE_ROLES``: its file name, or its URL path."""
    src = getattr(page, "_page", None)
    from pathlib import Path
    if isinstance(src, (str, Path)):
        return Path(src).stem
    return getattr(page, "url_path", "") or getattr(src, "__name__", "")


def allowed_pages(user: User, pages: list) -> list:
    """The pages ``user``'s role may open, in order."""
    return [p for p in pages if core.page_allowed(user.role, page_key(p))]
