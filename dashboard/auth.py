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

Every run of the app re-checks the session first (:func:`check_session`, called by
``dashboard/app.py``): a local account that was removed, disabled or changed since the
session signed in (its ``version`` in the accounts file moved on), an OIDC identity whose
claims no longer give the same role, or a session idle for longer than
``session_idle_minutes`` (30; environment ``GEO_SESSION_IDLE_MINUTES``) is signed out with
a message. Sign-in attempts are throttled per account and per client
(:meth:`geo.auth.AccountStore.sign_in`); the client is the browser's address
(``st.context.ip_address``) or, when Streamlit does not know it, the session.

The demo accounts' passwords are shown on the sign-in page only when the app runs in demo
mode (environment ``GEO_DEMO=1``, as ``make run`` sets it).

A browser refresh or a new tab starts a new Streamlit session; it stays signed in through
a signed, expiring cookie (:mod:`geo.sessions`: HMAC with a server secret kept beside the
accounts file). The cookie is read from ``st.context.cookies`` (sent when the browser
connects) and written by a small script (``st.html(..., unsafe_allow_javascript=True)``,
``SameSite=Strict``, ``Secure`` over https); it is re-issued while the user is active, so
it expires after the idle timeout, and it is checked like a session (removed, disabled or
changed accounts are refused). Signing out revokes it and clears it.

Tests sign in with ``tests/conftest.py``'s ``sign_in_for_test(at, role)``, which creates
the account in the test's private accounts file and puts it into the session the way the
form does; there is no switch that turns sign-in off.
"""
from __future__ import annotations

import logging
import os
import sqlite3
import time

import streamlit as st

from geo import auth as core
from geo import sessions
from geo.auth import AccessDenied, User

SESSION_KEY = "auth_user"
SEEN_KEY = "auth_seen"  # time of the session's last run, for the idle timeout
FLASH_KEY = "auth_flash"  # why the session was signed out, shown on the sign-in page
NOTICE_KEY = "audit_notice"  # an audit entry that went to the accounts log, shown in the sidebar
TOKEN_KEY = "auth_token"  # the session cookie's token this session last wrote, and when
NO_COOKIE_KEY = "auth_cookie_off"  # signed out here: do not sign back in from the cookie sent at connection
log = logging.getLogger(__name__)


def idle_minutes() -> float:
    """Minutes without interaction before a session is signed out (``GEO_SESSION_IDLE_MINUTES``)."""
    try:
        return float(os.environ.get("GEO_SESSION_IDLE_MINUTES", core.settings.session_idle_minutes))
    except ValueError:
        return core.settings.session_idle_minutes


def demo_mode() -> bool:
    """True when the app runs as the bundled demo (``GEO_DEMO=1``, set by ``make run``)."""
    return os.environ.get("GEO_DEMO", "").strip().lower() in ("1", "true", "yes", "on")


def client_id() -> str:
    """Who is signing in, for throttling: the client's address, else this session's id."""
    try:
        ip = st.context.ip_address
    except Exception:  # pragma: no cover - older Streamlit
        ip = None
    if ip:
        return str(ip)
    try:
        from streamlit.runtime.scriptrunner import get_script_run_ctx
        ctx = get_script_run_ctx()
        return f"session {ctx.session_id}" if ctx else ""
    except Exception:  # pragma: no cover
        return ""


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


def sign_out(reason: str = "", *, user: User | None = None) -> None:
    """End this session's sign-in; ``reason`` is shown on the sign-in page."""
    user = user or _session_user()
    st.session_state.pop(SESSION_KEY, None)
    st.session_state.pop(SEEN_KEY, None)
    _revoke_cookie()
    if reason:
        st.session_state[FLASH_KEY] = reason
    if user is not None:
        audit_as(user.username, "signed out", reason or user.role)


def _cookie_token() -> str | None:
    """The session cookie the browser sent when this session connected, if any."""
    try:
        return st.context.cookies.get(sessions.COOKIE_NAME)
    except Exception:  # no browser (AppTest) or an older Streamlit
        return None


def _secure() -> bool:
    try:
        return str(st.context.url or "").startswith("https://")
    except Exception:
        return False


def _revoke_cookie() -> None:
    """Sign-out: the cookie's tokens are refused from now on, and the next run clears the cookie."""
    for token in (st.session_state.pop(TOKEN_KEY, {}) or {}).get("token"), _cookie_token():
        try:
            tok = sessions.read_token(token, secret=sessions.session_secret())
            if tok is not None:
                sessions.revoke(tok)
        except Exception:  # a sign-out must not fail; the cookie also expires by itself
            log.exception("could not revoke a session token")
    st.session_state[NO_COOKIE_KEY] = True


def _user_from_cookie(now: float) -> User | None:
    """Sign this new session in from the browser's session cookie (a refresh or a new tab)."""
    if st.session_state.get(NO_COOKIE_KEY):
        return None
    token = _cookie_token()
    if not token:
        return None
    try:
        user, tok = sessions.user_from_token(token, now=now)
    except Exception:
        log.exception("could not check a session cookie")
        return None
    if user is None:
        st.session_state[NO_COOKIE_KEY] = True  # the sign-in page clears it
        if tok:
            st.session_state[FLASH_KEY] = tok
        return None
    st.session_state[SESSION_KEY] = user.to_dict()
    st.session_state[SEEN_KEY] = now
    st.session_state[TOKEN_KEY] = {"token": token, "at": tok.issued}
    return user


#: Seconds between re-issues of the session cookie while the user is active.
COOKIE_REFRESH_S = 60.0


def sync_cookie(user: User, *, now: float | None = None) -> None:
    """Write (or renew) the session cookie of a signed-in local user; call once per run after sign-in.

    Renewed at most every :data:`COOKIE_REFRESH_S` seconds, so the cookie expires
    :func:`idle_minutes` after the user's last interaction. OIDC sessions keep
    Streamlit's own ``st.login`` cookie instead.
    """
    if user.source != "local":
        return
    now = time.time() if now is None else now
    have = st.session_state.get(TOKEN_KEY) or {}
    if have and now - float(have.get("at", 0)) < COOKIE_REFRESH_S:
        return
    ttl = idle_minutes() * 60
    token = sessions.make_token(user.username, user.version, secret=sessions.session_secret(), now=now, ttl_s=ttl)
    st.session_state[TOKEN_KEY] = {"token": token, "at": now}
    st.session_state.pop(NO_COOKIE_KEY, None)
    with st.sidebar:
        st.html(sessions.cookie_script(token, max_age_s=ttl, secure=_secure()), unsafe_allow_javascript=True)


def clear_cookie() -> None:
    """On the sign-in page: remove a session cookie that no longer signs anyone in."""
    if _cookie_token() or st.session_state.get(NO_COOKIE_KEY):
        st.html(sessions.cookie_script(None, secure=_secure()), unsafe_allow_javascript=True)


def _session_user() -> User | None:
    raw = st.session_state.get(SESSION_KEY)
    if not raw:
        return None
    try:
        return User.from_dict(raw)
    except Exception:
        return None


def check_session(*, now: float | None = None) -> User | None:
    """Re-check this session's sign-in; run once at the top of every run of the app.

    Signs the session out (with the reason kept for the sign-in page) when it has been
    idle longer than :func:`idle_minutes`, when its local account was removed, disabled
    or changed since it signed in (one lookup: :func:`geo.auth.session_status`), or when
    an OIDC identity no longer maps to the same role and BCUs.

    Returns
    -------
    User or None
        The user, still signed in, or ``None``.
    """
    raw = st.session_state.get(SESSION_KEY)
    if raw:
        user = _session_user()
        if user is None:
            sign_out("Your session was not valid; sign in again.")
            return None
        now = time.time() if now is None else now
        seen = st.session_state.get(SEEN_KEY)
        limit = idle_minutes()
        if seen is not None and now - float(seen) > limit * 60:
            sign_out(f"You were signed out after {limit:g} minutes without activity.", user=user)
            _end_oidc(user)
            return None
        if user.source == "local":
            current, reason = core.session_status(user.username, user.version)
        else:
            current = _oidc_user()
            reason = "" if current is not None else "Your identity provider no longer gives you a role here."
            if current is not None and (current.role, current.bcus) != (user.role, user.bcus):
                current, reason = None, "Your role changed, so you have been signed out. Sign in again."
        if current is None:
            sign_out(reason, user=user)
            _end_oidc(user)
            return None
        st.session_state[SEEN_KEY] = now
        return user
    if not oidc_configured():
        restored = _user_from_cookie(time.time() if now is None else now)
        if restored is not None:
            return restored
    return current_user()


def _end_oidc(user: User) -> None:
    """Also end the identity provider's session cookie, or the next run would sign straight back in."""
    if user.source == "oidc":
        st.logout()


def current_user() -> User | None:
    """The signed-in user, or ``None`` (the session was re-checked by :func:`check_session`)."""
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
            st.session_state[SEEN_KEY] = time.time()
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
    audit_as(username(), action, detail, path or data.current_path())


#: Seconds to keep retrying an audit entry while another writer (an import) holds the workspace.
AUDIT_BUSY_S = 3.0


def audit_as(who: str, action: str, detail: str = "", path=None) -> bool:
    """Write one audit entry; True if written.

    A workspace locked by another writer is waited for :data:`AUDIT_BUSY_S` seconds;
    if it stays locked (or any other error), the entry goes to the accounts log instead,
    the user is told in plain words, and the error is logged, never shown as a traceback.
    """
    from dashboard import data
    if path is None:
        paths = data.workspace_paths()
        path = paths[0] if paths else None
    if path is None:
        return False
    busy = False
    try:
        data.record(path, who, action, detail, busy_timeout_s=AUDIT_BUSY_S)
        return True
    except sqlite3.OperationalError as err:
        busy = "locked" in str(err) or "busy" in str(err)
        log.warning("could not write the audit log of %s: %s", path, err)
    except Exception:  # an audit failure must not lose the user's work; it is logged
        log.exception("could not write the audit log of %s", path)
    try:
        with core.AccountStore() as store:
            store.log(who, action, f"{detail} (the audit log of workspace {getattr(path, 'name', path)} was "
                                   f"{'busy' if busy else 'not writable'}: recorded here instead)")
    except Exception:
        log.exception("could not write the accounts log either")
    msg = ("The workspace is busy (another user is importing or saving), so this was recorded in the accounts "
           "log instead of the workspace's audit log." if busy else
           "The workspace's audit log could not be written; this was recorded in the accounts log instead.")
    try:
        st.warning(msg)
        st.session_state[NOTICE_KEY] = msg  # shown again after a rerun (e.g. straight after signing in)
    except Exception:  # pragma: no cover - outside a script run
        pass
    return False


def _audit_sign_in(user: User, path=None) -> None:
    audit_as(user.username, "signed in", f"{user.role} via {user.source}", path)


def sign_in_page() -> None:
    """The only page registered before sign-in.

    Drawn in one placeholder: on success the form is replaced at once by a "signed in,
    opening" note, which stays until the page asked for draws itself (a cold Map page
    takes seconds; the stale form must not stay on screen meanwhile).
    """
    holder = st.empty()
    with holder.container():
        _sign_in_form(holder)


def _sign_in_form(holder) -> None:
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

    clear_cookie()
    flash = st.session_state.pop(FLASH_KEY, None)
    if flash:
        st.warning(flash)
    with core.AccountStore() as store:
        n_accounts = store.count()
        demo = store.has_demo_accounts() and demo_mode()
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
            result = store.sign_in(name, password, client=client_id())
        user = result.user
        if user is None:
            if result.status == "wrong":
                audit_failed(name)
            for what in result.locked_now:
                audit_as(str(name)[:64] or "(blank)", "sign-in locked",
                          f"{what} for {core.settings.sign_in_lock_minutes:g} minutes after repeated failures")
            st.error(result.message)
        else:
            st.session_state[SESSION_KEY] = user.to_dict()
            st.session_state[SEEN_KEY] = time.time()
            st.session_state.pop("auth_password", None)
            _audit_sign_in(user, st.session_state.get("workspace"))
            from geo.safe import md
            holder.info(md(f"Signed in as {user.label}. Opening your page…"), icon=":material/hourglass_top:")
            st.rerun()
    if demo:
        st.info("**Demo accounts** (for the bundled demo only; delete them before real use):\n\n"
                "| username | password | role |\n|---|---|---|\n"
                + "\n".join(f"| `{u}` | `{p}` | {r}{' (' + ', '.join(b) + ')' if b else ''} |"
                            for u, r, b, p in core.DEMO_ACCOUNTS))


def audit_failed(name: str) -> None:
    audit_as(str(name)[:64] or "(blank)", "sign-in refused", "wrong username or password")


def _bcu_names() -> dict:
    """BCU code -> name in the current workspace (empty if there is none)."""
    from dashboard import data
    try:
        path = data.current_path()
        if path is None or not path.exists():
            return {}
        bcus = data.bcus(str(path), data.version(path), True)
        return dict(zip(bcus["code"], bcus["name"]))
    except Exception:  # the sidebar must draw even if the workspace cannot be read
        log.exception("could not read the BCU names")
        return {}


def sidebar(user: User) -> None:
    """Who is signed in, and the sign-out button."""
    with st.sidebar:
        from geo.safe import md  # the label comes from the account or the identity provider
        areas = ", ".join(_bcu_names().get(c, c) for c in user.bcus)
        st.markdown(f"**{md(user.label)}** · {user.role}" + (f" · {md(areas)}"
                                                             if user.role == "inspector" and user.bcus else ""))
        notice = st.session_state.pop(NOTICE_KEY, None)
        if notice:
            from geo.safe import md as _md_notice
            st.warning(_md_notice(notice))
        if st.button("Sign out", key="auth_sign_out"):
            sign_out(user=user)
            if user.source == "oidc":
                st.logout()
            st.rerun()


__all__ = ["AccessDenied", "SESSION_KEY", "current_user", "check_session", "sign_out", "require_user", "audit",
           "sign_in_page", "sidebar", "oidc_configured", "demo_mode"]


#: Session key: an address this session was opened on that is no page (kept across the sign-in rerun).
ASKED_KEY = "asked_path"


def asked_path(known: set[str]) -> str | None:
    """The address this session was opened on if it is no page in ``known`` (``/no-such-page``), else None.

    Read from Streamlit's page request on the session's first run (the page name the
    browser asked for) and kept for the session. Only plain names (letters, digits, ``-``,
    ``_``) are kept: they become the address of a page that says there is no such page.
    """
    import re
    try:
        from streamlit.runtime.scriptrunner import get_script_run_ctx
        ctx = get_script_run_ctx()
        name = ctx.pages_manager.intended_page_name if ctx is not None else None
    except Exception:  # pragma: no cover - a Streamlit without it: its own dialog answers
        name = None
    name = (name or "").strip("/")
    if name and name not in known and re.fullmatch(r"[A-Za-z0-9_-]{1,64}", name):
        st.session_state[ASKED_KEY] = name
    held = st.session_state.get(ASKED_KEY)
    return held if held and held not in known else None


def _links(allowed: list) -> None:
    for page in allowed:
        st.page_link(page)


def unknown_page_sign_in(name: str):
    """The sign-in form at an address that is no page, saying so."""
    def page() -> None:
        from geo.safe import md
        st.warning(md(f"There is no page at /{name}. Sign in to open the map or the pages your role has."))
        sign_in_page()
    page.__name__ = f"sign_in_{name.replace('-', '_')}"
    return page


def no_such_page(name: str, allowed: list):
    """A page for an address that is no page: a message and links to the user's pages."""
    def page() -> None:
        from geo.safe import md
        st.title("No such page")
        st.warning(md(f"There is no page at /{name}. Open one of your pages:"))
        _links(allowed)
    page.__name__ = f"no_page_{name.replace('-', '_')}"
    return page


#: The declared address of the user's first page, which Streamlit serves at "/" (the default page):
#: never asked for (a "." is no name :func:`asked_path` keeps), so the page's own name is free for
#: :func:`opens`.
HOME_PATH = "home.page"


def home_page(user: User, names: list[str]) -> str | None:
    """The first of ``names`` (page file names, in menu order) that ``user``'s role may open."""
    return next((name for name in names if core.page_allowed(user.role, name)), None)


def opens(page):
    """A page that opens ``page`` (the default page, served at "/") when its own name is asked for."""
    def alias() -> None:
        st.switch_page(page)
    alias.__name__ = f"opens_{page_key(page)}"
    return alias


def not_for_role(user: User, title: str, allowed: list):
    """A page at the address of a page ``user``'s role may not open: a message and links to theirs."""
    def page() -> None:
        from geo.safe import md
        st.title("Not available")  # not the page's own title: nothing of the page is shown
        names = ", ".join(p.title for p in allowed)
        st.warning(md(f"The {title} page is not available to your role ({user.role}). "
                      f"You can open: {names}."))
        _links(allowed)
    page.__name__ = f"not_for_role_{title.lower().replace(' ', '_')}"
    return page


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
