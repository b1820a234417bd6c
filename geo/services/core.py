"""Opening a workspace, who is asking, the audit log, settings, the harm table and imports."""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Union

from .. import access
from ..auth import PAGE_ROLES, AccessDenied, User
from ..errors import GeoInputError

#: Role of the command line's local operator (no ``--as``): whoever can run commands on the
#: machine holding the workspace files can read them anyway, so the CLI acts as an analyst.
LOCAL_OPERATOR_ROLE = "analyst"

Who = Union[User, tuple, None]


# ------------------------------------------------------------------ the workspace
@contextmanager
def opened(where):
    """``where`` as an open :class:`~geo.workspace.Workspace`: a path is opened and closed
    afterwards, an open workspace is used as it is (and left open)."""
    from ..workspace import Workspace
    if isinstance(where, Workspace):
        yield where
        return
    from ..store import store_url
    if store_url(where):  # a PostGIS workspace (a postgresql:// URL, or a path with GEO_STORE set)
        ws = Workspace.open(where)
        try:
            yield ws
        finally:
            ws.close()
        return
    path = Path(where)
    if not path.is_file():
        raise GeoInputError("The workspace file does not exist", where=str(path),
                            fix="give the path of a workspace .gpkg (python -m geo import creates one)")
    ws = Workspace.open(path)
    try:
        yield ws
    finally:
        ws.close()


def create_workspace(path, *, user: Who, name: str, crs: str, force: str | None = None):
    """Create a new workspace file (:meth:`Workspace.create`) for ``user`` (analyst or admin); audited."""
    from ..workspace import Workspace
    who = writer(need_role(user, "data", "create a workspace"), "create a workspace")
    ws = Workspace.create(Path(path), name=name, crs=crs, force=force)
    ws.store.audit(who.username, "workspace created", f"{name}, {crs}, force {force or '(none)'}")
    return ws


# ------------------------------------------------------------------ who
def cli_user(username: str | None = None, *, accounts=None) -> User:
    """The command line's identity.

    Parameters
    ----------
    username : str, optional
        ``--as USERNAME``: the account of that name in the accounts file, with its role
        and BCUs (an inspector's commands are scoped like their dashboard). ``None``: the
        local operator, ``cli:<os user>`` with the :data:`LOCAL_OPERATOR_ROLE` role.
    accounts : path, optional
        Accounts file (default ``GEO_ACCOUNTS`` or ``workspaces/accounts.db``).

    Raises
    ------
    GeoInputError
        No such account.
    AccessDenied
        The account is disabled.
    """
    if not username:
        import getpass
        try:
            me = getpass.getuser()
        except Exception:  # no user name in the environment (some containers)
            me = str(os.getuid()) if hasattr(os, "getuid") else "unknown"
        return User(f"cli:{me}", LOCAL_OPERATOR_ROLE, source="cli")
    from ..auth import AccountStore
    with AccountStore(accounts) as store:
        user = store.get(username)
        listed = store.users()
        where = str(store.path)
    if user is None:
        raise GeoInputError(f"No account called '{username}'", where=where,
                            fix="see python -m geo users list, or leave out --as to act as the local operator")
    row = listed[listed["username"] == user.username]
    if len(row) and bool(row["disabled"].iloc[0]):
        raise AccessDenied(f"The account '{user.username}' is disabled.")
    return User(user.username, user.role, user.bcus, source="cli", version=user.version)


def writer(user: Who, what: str) -> User:
    """``user`` as a :class:`User` (a write needs a name for the audit log)."""
    if not isinstance(user, User):
        access.require_signed_in(None if user is None else user, what)
        raise AccessDenied(f"Sign in to {what}: a change is recorded with the user's name.")
    return user


def need_role(user: Who, page: str, what: str) -> Who:
    """``user`` if their role may use ``page`` (:data:`geo.auth.PAGE_ROLES`), else :class:`AccessDenied`.

    Reads accept a scope key; a write calls :func:`writer` too.
    """
    role = access.require_signed_in(user, what)[0]
    roles = PAGE_ROLES.get(page, frozenset({"analyst", "admin"}))
    if role not in roles:
        raise AccessDenied(f"The {role} role may not {what}; that needs the {' or '.join(sorted(roles))} role.")
    return user


def refused(ws, user: Who, what: str, err: Exception) -> None:
    """Record a refusal (``access refused``) in the workspace's audit log, for a named user."""
    if isinstance(user, User):
        ws.store.audit(user.username, "access refused", f"{what}: {err}")


# ------------------------------------------------------------------ the audit log
def record(where, who: Union[User, str], action: str, detail: str = "", *,
           busy_timeout_s: float | None = None):
    """Write one audit entry: views, downloads and sign-ins (writes record their own).

    ``who`` is the user, or a name when there is no account behind it (a refused sign-in).
    Returns what the store's ``audit`` returns: for a file store its modification time before
    and after the entry (the entry changes no data: caches keyed by the time may keep theirs).
    """
    name = who.username if isinstance(who, User) else str(who)
    with opened(where) as ws:
        return ws.store.audit(name, action, detail, busy_timeout_s=busy_timeout_s)


def audit_log(where, *, user: Who):
    """The workspace's audit log (admins only)."""
    need_role(user, "admin", "read the audit log")
    with opened(where) as ws:
        return ws.store.audit_log()


# ------------------------------------------------------------------ settings and the harm table
def workspace_info(where, *, user: Who) -> dict:
    """Name, CRS, force, layers, months, categories, boundary levels and settings (any signed-in user)."""
    access.require_signed_in(user, "this workspace")
    with opened(where) as ws:
        s = ws.store
        return {
            "name": ws.name, "crs": ws.crs, "force": ws.force,
            "layers": s.layers(), "months": s.months(),
            "crime_months": s.months("crime"), "calls_months": s.months("calls"),
            "crime_categories": s.categories("crime"), "calls_categories": s.categories("calls"),
            "levels": s.boundary_levels(), "settings": s.settings(),
        }


def change_settings(where, changes: dict, *, user: Who) -> list[str]:
    """Set workspace settings (admins only); each change is audited. Returns ``key = value`` lines."""
    who = writer(need_role(user, "admin", "change the workspace settings"), "change settings")
    done = []
    with opened(where) as ws:
        for key, value in changes.items():
            ws.set_setting(key, value)
            done.append(f"{key} = {value}")
            ws.store.audit(who.username, "setting changed", done[-1])
    return done


def save_harm_table(where, table, *, user: Who) -> None:
    """Save an edited harm table (validated; analysts and admins); audited."""
    who = writer(need_role(user, "harm", "change the harm weights"), "change the harm weights")
    with opened(where) as ws:
        ws.set_harm_table(table)
        ws.store.audit(who.username, "harm weights saved", f"{len(table)} categories")


def restore_harm_defaults(where, *, user: Who) -> None:
    """Put back the bundled CCHI harm table (analysts and admins); audited."""
    from ..harm import read_harm_weights
    from ..workspace import DEFAULT_HARM_TABLE
    who = writer(need_role(user, "harm", "change the harm weights"), "change the harm weights")
    table = read_harm_weights(DEFAULT_HARM_TABLE)
    with opened(where) as ws:
        ws.set_harm_table(table)
        ws.store.audit(who.username, "harm weights restored", f"CCHI defaults, {len(table)} categories")


# ------------------------------------------------------------------ imports
def import_history(where, *, user: Who):
    """``(import history, incident summary)`` (the Data page's roles)."""
    need_role(user, "data", "see the import history")
    with opened(where) as ws:
        return ws.store.import_history(), ws.store.incident_summary()


def import_report(where, import_id: int, *, user: Who) -> dict:
    """The stored report of one import (the Data page's roles)."""
    need_role(user, "data", "see import reports")
    with opened(where) as ws:
        return ws.store.import_report(int(import_id))


def rejected_rows(where, *, user: Who, import_id: int | None = None):
    """Rows an import refused, with the reason (the Data page's roles)."""
    need_role(user, "data", "see rejected rows")
    with opened(where) as ws:
        return ws.store.rejected_rows(import_id)


def import_upload(where, *, user: Who, name: str, data: bytes, kind: str, mapping=None,
                  site_kind: str | None = None):
    """Import a file uploaded through the dashboard (:meth:`Workspace.import_upload`); audited."""
    from ..uploads import display_label
    who = writer(need_role(user, "data", "import data"), "import data")
    with opened(where) as ws:
        report = ws.import_upload(name, data, kind=kind, mapping=mapping, site_kind=site_kind)
        ws.store.audit(who.username, "imported",
                       f"{kind}: {display_label(name)}, {report.rows_read} rows read, {report.new} new")
    return report


def import_files(where, *, user: Who, boundaries=(), boundary_options: dict | None = None, crime=(), calls=(),
                 mapping=None, sites=(), site_kind: str | None = None) -> list:
    """Import files in this order: boundaries, crime, calls (through ``mapping``), sites; each audited.

    ``boundary_options`` are the keywords of :meth:`Workspace.import_boundaries`
    (``level``, ``name_field``, ``code_field``, ...). Returns the import reports.
    """
    who = writer(need_role(user, "data", "import data"), "import data")
    reports = []
    with opened(where) as ws:
        def done(kind, f, rep):
            reports.append(rep)
            new = f", {rep.new} new" if getattr(rep, "new", None) is not None else ""
            ws.store.audit(who.username, "imported", f"{kind}: {Path(str(f)).name}, {rep.rows_read} rows read{new}")
        for f in boundaries:
            done("boundaries", f, ws.import_boundaries(f, **(boundary_options or {})))
        for f in crime:
            done("crime", f, ws.import_crime(f))
        for f in calls:
            done("calls", f, ws.import_calls(f, mapping))
        for f in sites:
            done("sites", f, ws.import_sites(f, kind=site_kind))
    return reports
