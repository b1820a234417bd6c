"""Accounts, roles and what each role may see. Pure: no Streamlit.

Roles
-----
``inspector``
    Their BCU(s) only; incident points allowed.
``analyst``
    Everything except account administration.
``partner``
    Council community safety, public health, treatment services, housing: suppressed
    aggregates only (see :mod:`geo.disclosure`), never an incident point, id or location.
``admin``
    Accounts, settings and the audit log, plus everything an analyst sees.

Two ways to sign in, both ending in a :class:`User`:

* an identity provider through OIDC (Streamlit's ``st.login``); the role comes from a
  claim (``roles`` by default), see :func:`user_from_claims`;
* built-in local accounts for the embedded default, kept in an :class:`AccountStore`
  (one SQLite file shared by all workspaces, ``workspaces/accounts.db`` or the path in
  ``GEO_ACCOUNTS``). Passwords are stored only as salted argon2id hashes.

Create the first admin from the command line::

    python -m geo users add --username alice --role admin

Sessions and sign-in
--------------------
Every account has a ``version`` that every change (password, role, BCUs, disabling)
bumps; a dashboard session keeps the version it signed in with and re-checks it on every
run with one indexed lookup (:func:`session_status`), so a disabled, removed or changed
account is signed out everywhere at its next interaction. Failed sign-ins are throttled
per account and per client in the accounts file itself, so parallel sessions and server
processes share the count: after ``sign_in_free_failures`` a growing delay applies, and
after ``sign_in_lock_after`` (per client: ``sign_in_client_lock_after``) the account or
client is locked for ``sign_in_lock_minutes`` (:meth:`AccountStore.sign_in`). Passwords
shorter than ``min_password_length``, in the bundled common-password list
(``geo/data/common-passwords.txt``) or containing the username are refused
(:func:`check_password`).
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd

from .errors import GeoInputError
from .passwords import COMMON_PASSWORDS_FILE, check_password, common_passwords  # noqa: F401 (re-exported)
from .settings import settings

ROOT = Path(__file__).resolve().parents[1]

ROLES = ("inspector", "analyst", "partner", "admin")
ROLE_LABELS = {
    "inspector": "Inspector (own BCU, incident detail)",
    "analyst": "Analyst (everything)",
    "partner": "Partner (suppressed aggregates only)",
    "admin": "Administrator (accounts, settings, audit log)",
}
#: When a claim lists several roles, the first of these that is present wins.
ROLE_PRIORITY = ("admin", "analyst", "inspector", "partner")
MIN_PASSWORD_LENGTH = settings.min_password_length

#: Which roles may open which page (keys are the pages' URL paths, i.e. file names).
#: A page missing from this table is open to analysts and admins only: new pages are
#: internal until someone decides otherwise.
PAGE_ROLES: dict[str, frozenset[str]] = {
    "map": frozenset({"inspector", "analyst", "admin"}),
    "hotspots": frozenset({"inspector", "analyst", "admin"}),
    "operations": frozenset({"inspector", "analyst", "admin"}),
    "displacement": frozenset({"inspector", "analyst", "admin"}),
    "data": frozenset({"analyst", "admin"}),
    "harm": frozenset({"analyst", "admin"}),
    "areas": frozenset(ROLES),
    "briefings": frozenset(ROLES),
    "admin": frozenset({"admin"}),
}
_DEFAULT_PAGE_ROLES = frozenset({"analyst", "admin"})

#: The demo accounts made by ``python -m geo demo`` on a first run. FOR THE DEMO ONLY:
#: the passwords are published in the README.
DEMO_ACCOUNTS = (
    ("demo-admin", "admin", (), "admin-demo-only"),
    ("demo-analyst", "analyst", (), "analyst-demo-only"),
    ("demo-inspector", "inspector", ("E08000019",), "inspector-demo-only"),
    ("demo-partner", "partner", (), "partner-demo-only"),
)


class AccessDenied(PermissionError):
    """The signed-in user's role does not allow this."""


@dataclass(frozen=True)
class User:
    """A signed-in user.

    Attributes
    ----------
    username : str
    role : str
        One of :data:`ROLES`.
    bcus : tuple of str
        BCU codes an inspector is limited to (empty: none; ignored for other roles).
    source : str
        ``local`` or ``oidc``.
    version : int
        The account's version when this user signed in (local accounts); a session whose
        version no longer matches the account's is signed out. Not part of equality.
    """

    username: str
    role: str
    bcus: tuple[str, ...] = ()
    source: str = "local"
    display_name: str = ""
    version: int = field(default=0, compare=False)

    def __post_init__(self):
        if self.role not in ROLES:
            raise GeoInputError(f"Unknown role '{self.role}'", fix=f"use one of: {', '.join(ROLES)}")
        object.__setattr__(self, "bcus", tuple(self.bcus or ()))

    @property
    def may_see_incidents(self) -> bool:
        """True for roles allowed incident-level data (points, ids, locations)."""
        return self.role in ("inspector", "analyst", "admin")

    @property
    def sees_all_areas(self) -> bool:
        return self.role in ("analyst", "admin", "partner")

    @property
    def cache_key(self) -> tuple:
        """What a cached, role-filtered result must be keyed by."""
        return (self.role, self.bcus if self.role == "inspector" else ())

    def to_dict(self) -> dict:
        return {"username": self.username, "role": self.role, "bcus": list(self.bcus), "source": self.source,
                "display_name": self.display_name, "version": self.version}

    @classmethod
    def from_dict(cls, d: dict) -> "User":
        return cls(username=d["username"], role=d["role"], bcus=tuple(d.get("bcus") or ()),
                   source=d.get("source", "local"), display_name=d.get("display_name", ""),
                   version=int(d.get("version") or 0))

    @property
    def label(self) -> str:
        return self.display_name or self.username


# ------------------------------------------------------------------ what a role may do
def page_allowed(role: str | None, page: str) -> bool:
    """May ``role`` open the page whose URL path is ``page``? Unknown pages: analysts and admins."""
    if role not in ROLES:
        return False
    return role in PAGE_ROLES.get(page, _DEFAULT_PAGE_ROLES)


def require_incidents(user: User | None, what: str = "incident-level data") -> User:
    """Raise :class:`AccessDenied` unless ``user`` may see incident-level data (see :mod:`geo.access`)."""
    from .access import require_incidents as check
    check(user, what)
    return user


def require_role(user: User | None, *roles: str) -> User:
    if user is None or user.role not in roles:
        raise AccessDenied(f"This needs the {' or '.join(roles)} role"
                           + (f"; you are signed in as {user.role}." if user else "; sign in first."))
    return user


def allowed_bcus(user: User, all_bcus) -> list[str]:
    """The BCU codes ``user`` may choose from (an inspector: their own); see :mod:`geo.access`."""
    from .access import allowed_bcus as allowed
    return allowed(user, all_bcus)


# ------------------------------------------------------------------ local accounts
def accounts_path() -> Path:
    """The accounts file: ``GEO_ACCOUNTS`` or ``workspaces/accounts.db`` beside the demo workspaces."""
    env = os.environ.get("GEO_ACCOUNTS")
    if env:
        return Path(env)
    ws = os.environ.get("GEO_WORKSPACES")
    return (Path(ws) if ws else ROOT / "workspaces") / "accounts.db"


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


def _hasher():
    try:
        from argon2 import PasswordHasher
    except ImportError as err:  # pragma: no cover - argon2-cffi is in requirements.txt
        raise ImportError("Local accounts need argon2-cffi: pip install argon2-cffi") from err
    return PasswordHasher()  # argon2id, random 16-byte salt per hash


def _check_username(username: str) -> str:
    u = (username or "").strip()
    if not re.fullmatch(r"[A-Za-z0-9._@-]{2,64}", u):
        raise GeoInputError(f"'{username}' is not a valid username",
                            fix="use 2-64 letters, digits, dots, dashes, underscores or @")
    return u


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise GeoInputError(f"Unknown role '{role}'", fix=f"use one of: {', '.join(ROLES)}")
    return role


@dataclass(frozen=True)
class SignInResult:
    """What :meth:`AccountStore.sign_in` decided.

    Attributes
    ----------
    user : User or None
        The signed-in user (``status == "ok"``), else ``None``.
    status : {'ok', 'wrong', 'wait', 'locked'}
        ``wrong``: wrong username or password (or a disabled account); ``wait``: too soon
        after the last failures, the password was not checked; ``locked``: the account or
        this client is locked, the password was not checked.
    retry_after_s : float
        Seconds until another attempt will be considered (``wait`` and ``locked``).
    locked_now : tuple of str
        What this failed attempt locked (``account NAME``, ``client ADDRESS``), for the audit.
    """

    user: User | None
    status: str
    retry_after_s: float = 0.0
    locked_now: tuple[str, ...] = ()

    @property
    def message(self) -> str:
        """The sentence to show the person signing in (never says whether a name exists)."""
        if self.status == "ok":
            return ""
        if self.status == "wrong":
            return "Wrong username or password."
        secs = max(1, int(-(-self.retry_after_s // 1)))
        when = f"{secs} seconds" if secs < 120 else f"{-(-secs // 60)} minutes"
        if self.status == "locked":
            return (f"Too many failed sign-ins: signing in is locked for {when}. Ask an administrator if you "
                    "have forgotten your password.")
        return f"Too many failed sign-ins: wait {when} before trying again."


def _throttle_limit(kind: str) -> int:
    return settings.sign_in_lock_after if kind == "account" else settings.sign_in_client_lock_after


def _throttle_delay(kind: str, failures: int) -> float:
    """Seconds to wait after ``failures`` consecutive failures of an account or client (0 for the first few)."""
    free = settings.sign_in_free_failures if kind == "account" else settings.sign_in_client_free_failures
    extra = failures - free
    if extra < 0:
        return 0.0
    return float(min(settings.sign_in_delay_s * 2 ** extra, settings.sign_in_max_delay_s))


class AccountStore:
    """Local accounts in one SQLite file; every change is one transaction.

    Only argon2id hashes are stored (with their salt and parameters in the hash string).

    Parameters
    ----------
    path : str or Path, optional
        The accounts file; ``None`` means :func:`accounts_path`.
    clock : callable, optional
        Returns the time in seconds (``time.time`` by default); tests inject one to
        expire sign-in locks without sleeping.
    """

    def __init__(self, path: str | Path | None = None, *, clock: Callable[[], float] | None = None):
        self.path = Path(path) if path else accounts_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._clock = clock or time.time
        self._conn = sqlite3.connect(self.path, isolation_level=None, timeout=10)
        self._conn.execute("PRAGMA journal_mode=DELETE")
        self._conn.execute("PRAGMA synchronous=FULL")
        with self._tx() as c:
            c.execute("CREATE TABLE IF NOT EXISTS accounts (username TEXT PRIMARY KEY COLLATE NOCASE, "
                      "role TEXT NOT NULL, bcus TEXT NOT NULL DEFAULT '[]', password_hash TEXT NOT NULL, "
                      "demo INTEGER NOT NULL DEFAULT 0, disabled INTEGER NOT NULL DEFAULT 0, "
                      "created_at TEXT, updated_at TEXT, last_sign_in TEXT, version INTEGER NOT NULL DEFAULT 1)")
            c.execute("CREATE TABLE IF NOT EXISTS account_log (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT, "
                      "user TEXT, action TEXT, detail TEXT)")
            c.execute("CREATE TABLE IF NOT EXISTS sign_in_throttle (key TEXT PRIMARY KEY, failures INTEGER NOT NULL, "
                      "last_failure REAL NOT NULL, locked_until REAL NOT NULL DEFAULT 0)")
            cols = {r[1] for r in c.execute("PRAGMA table_info(accounts)")}
            if "version" not in cols:  # an accounts file from before sessions were re-checked
                c.execute("ALTER TABLE accounts ADD COLUMN version INTEGER NOT NULL DEFAULT 1")
        try:
            os.chmod(self.path, 0o600)
        except OSError:  # pragma: no cover
            pass

    def close(self) -> None:
        self._conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @contextmanager
    def _tx(self):
        c = self._conn.cursor()
        c.execute("BEGIN IMMEDIATE")
        try:
            yield c
        except BaseException:
            c.execute("ROLLBACK")
            raise
        c.execute("COMMIT")

    def log(self, user: str, action: str, detail: str = "") -> None:
        with self._tx() as c:
            c.execute("INSERT INTO account_log (at, user, action, detail) VALUES (?,?,?,?)",
                      (_now(), user, action, detail))

    def account_log(self) -> pd.DataFrame:
        return pd.read_sql_query("SELECT at, user, action, detail FROM account_log ORDER BY id DESC", self._conn)

    # ---------------------------------------------------------------- changes
    def add(self, username: str, password: str, role: str, bcus=(), *, demo: bool = False,
            by: str = "command line") -> User:
        """Create an account; refuses an existing username or a short password."""
        username = _check_username(username)
        _check_role(role)
        check_password(password, username=username)
        if self.get(username) is not None:
            raise GeoInputError(f"An account called '{username}' already exists",
                                fix="choose another name, or change that account's password or role")
        if role == "inspector" and not bcus:
            raise GeoInputError("An inspector account needs at least one BCU",
                                fix="give --bcu CODE (e.g. --bcu E08000019 for Sheffield)")
        h = _hasher().hash(password)
        with self._tx() as c:
            c.execute("INSERT INTO accounts (username, role, bcus, password_hash, demo, created_at, updated_at) "
                      "VALUES (?,?,?,?,?,?,?)", (username, role, json.dumps(list(bcus)), h, int(demo), _now(), _now()))
            c.execute("INSERT INTO account_log (at, user, action, detail) VALUES (?,?,?,?)",
                      (_now(), by, "account created", f"{username} as {role}" + (f" ({', '.join(bcus)})" if bcus else "")))
        return User(username, role, tuple(bcus), version=1)

    def set_password(self, username: str, password: str, *, by: str = "command line") -> None:
        check_password(password, username=username)
        self._require(username)
        h = _hasher().hash(password)
        with self._tx() as c:
            c.execute("UPDATE accounts SET password_hash=?, demo=0, updated_at=?, version=version+1 WHERE username=?",
                      (h, _now(), username))
            c.execute("INSERT INTO account_log (at, user, action, detail) VALUES (?,?,?,?)",
                      (_now(), by, "password changed", username))

    def set_role(self, username: str, role: str, bcus=(), *, by: str = "command line") -> None:
        _check_role(role)
        self._require(username)
        if role == "inspector" and not bcus:
            raise GeoInputError("An inspector account needs at least one BCU", fix="choose the inspector's BCU(s)")
        if role != "admin":
            self._keep_an_admin(username)
        with self._tx() as c:
            c.execute("UPDATE accounts SET role=?, bcus=?, updated_at=?, version=version+1 WHERE username=?",
                      (role, json.dumps(list(bcus)), _now(), username))
            c.execute("INSERT INTO account_log (at, user, action, detail) VALUES (?,?,?,?)",
                      (_now(), by, "role changed", f"{username} to {role}" + (f" ({', '.join(bcus)})" if bcus else "")))

    def set_disabled(self, username: str, disabled: bool, *, by: str = "command line") -> None:
        self._require(username)
        if disabled:
            self._keep_an_admin(username)
        with self._tx() as c:
            c.execute("UPDATE accounts SET disabled=?, updated_at=?, version=version+1 WHERE username=?",
                      (int(disabled), _now(), username))
            c.execute("INSERT INTO account_log (at, user, action, detail) VALUES (?,?,?,?)",
                      (_now(), by, "account disabled" if disabled else "account enabled", username))

    def sign_out_everywhere(self, username: str, *, by: str = "command line") -> None:
        """End every open session of ``username`` at its next interaction (bumps the account's version)."""
        self._require(username)
        with self._tx() as c:
            c.execute("UPDATE accounts SET version=version+1, updated_at=? WHERE username=?", (_now(), username))
            c.execute("INSERT INTO account_log (at, user, action, detail) VALUES (?,?,?,?)",
                      (_now(), by, "signed out everywhere", username))

    def remove(self, username: str, *, by: str = "command line") -> None:
        self._require(username)
        self._keep_an_admin(username)
        with self._tx() as c:
            c.execute("DELETE FROM accounts WHERE username=?", (username,))
            c.execute("INSERT INTO account_log (at, user, action, detail) VALUES (?,?,?,?)",
                      (_now(), by, "account removed", username))

    def _require(self, username: str) -> None:
        if self.get(username) is None:
            raise GeoInputError(f"No account called '{username}'", fix="check the name with `python -m geo users list`")

    def _keep_an_admin(self, username: str) -> None:
        row = self._conn.execute("SELECT role FROM accounts WHERE username=?", (username,)).fetchone()
        if row and row[0] == "admin":
            n = self._conn.execute("SELECT count(*) FROM accounts WHERE role='admin' AND disabled=0 "
                                   "AND username<>?", (username,)).fetchone()[0]
            if n == 0:
                raise GeoInputError(f"'{username}' is the last active admin",
                                    fix="create another admin first, so someone can still manage accounts")

    # ---------------------------------------------------------------- reading
    def get(self, username: str) -> User | None:
        row = self._conn.execute("SELECT username, role, bcus, version FROM accounts WHERE username=?",
                                 ((username or "").strip(),)).fetchone()
        return User(row[0], row[1], tuple(json.loads(row[2])), version=row[3]) if row else None

    def users(self) -> pd.DataFrame:
        """Accounts without their hashes: username, role, bcus, demo, disabled, created_at, last_sign_in."""
        df = pd.read_sql_query("SELECT username, role, bcus, demo, disabled, created_at, last_sign_in "
                               "FROM accounts ORDER BY username", self._conn)
        df["bcus"] = df["bcus"].map(lambda s: ", ".join(json.loads(s)))
        df["demo"] = df["demo"].astype(bool)
        df["disabled"] = df["disabled"].astype(bool)
        return df

    def count(self) -> int:
        return self._conn.execute("SELECT count(*) FROM accounts").fetchone()[0]

    def has_admin(self) -> bool:
        return bool(self._conn.execute("SELECT 1 FROM accounts WHERE role='admin' AND disabled=0").fetchone())

    def has_demo_accounts(self) -> bool:
        return bool(self._conn.execute("SELECT 1 FROM accounts WHERE demo=1").fetchone())

    def verify(self, username: str, password: str) -> User | None:
        """The user if the password is right and the account active, else ``None``.

        An unknown name costs the same argon2 work as a wrong password, so response time
        does not tell which names exist. A hash made with older parameters is upgraded.
        """
        from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
        ph = _hasher()
        row = self._conn.execute("SELECT username, role, bcus, password_hash, disabled, version FROM accounts "
                                 "WHERE username=?", ((username or "").strip(),)).fetchone()
        if row is None:
            try:
                ph.verify(_dummy_hash(), password or "")
            except (VerificationError, InvalidHashError):
                pass
            return None
        name, role, bcus, h, disabled, version = row
        try:
            ph.verify(h, password or "")
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if disabled:
            return None
        with self._tx() as c:
            if ph.check_needs_rehash(h):
                c.execute("UPDATE accounts SET password_hash=? WHERE username=?", (ph.hash(password), name))
            c.execute("UPDATE accounts SET last_sign_in=? WHERE username=?", (_now(), name))
        return User(name, role, tuple(json.loads(bcus)), version=version)

    # ---------------------------------------------------------------- throttled sign-in
    def sign_in(self, username: str, password: str, *, client: str = "") -> SignInResult:
        """Check a sign-in attempt, throttled per account and per client.

        Parameters
        ----------
        username, password : str
        client : str, optional
            Who is asking: the client's network address, or a session id when the
            address is unknown. Empty: throttle per account only.

        Returns
        -------
        SignInResult
            The attempt is refused without checking the password while the account or
            client is locked or inside its delay. Otherwise it is counted as a failure
            *before* the password is checked (so parallel attempts cannot all slip in at
            the same count) and the count is cleared when it succeeds.

        Notes
        -----
        The counts live in the accounts file (table ``sign_in_throttle``), so every
        session and server process shares them. An unknown username is throttled like a
        real one, so the responses do not tell which names exist. Locks are written to
        the account log (``sign-in locked``).
        """
        now = float(self._clock())
        keys = [("account", "account:" + (username or "").strip().lower()[:64])]
        if client:
            keys.append(("client", "client:" + str(client)[:128]))
        lock_s = settings.sign_in_lock_minutes * 60
        wait, locked, locked_now = 0.0, False, []
        with self._tx() as c:
            c.execute("DELETE FROM sign_in_throttle WHERE last_failure < ? AND locked_until < ?",
                      (now - 86400, now))
            rows = {}
            for kind, key in keys:
                row = c.execute("SELECT failures, last_failure, locked_until FROM sign_in_throttle WHERE key=?",
                                (key,)).fetchone()
                rows[key] = row
                if row is None:
                    continue
                failures, last, until = row
                if until > now:
                    locked, wait = True, max(wait, until - now)
                elif last + _throttle_delay(kind, failures) > now:
                    wait = max(wait, last + _throttle_delay(kind, failures) - now)
            if wait > 0:
                return SignInResult(None, "locked" if locked else "wait", retry_after_s=wait)
            for kind, key in keys:
                row = rows[key]
                failures = 0
                if row is not None:
                    failures, last, _ = row
                    if failures < _throttle_limit(kind) and last < now - lock_s:
                        failures = 0  # old slips are forgiven; a locked key stays counted for a day
                failures += 1
                until = now + lock_s if failures >= _throttle_limit(kind) else 0.0
                if until:
                    locked_now.append(f"{kind} {key.split(':', 1)[1]}")
                c.execute("INSERT INTO sign_in_throttle (key, failures, last_failure, locked_until) VALUES (?,?,?,?) "
                          "ON CONFLICT(key) DO UPDATE SET failures=excluded.failures, "
                          "last_failure=excluded.last_failure, locked_until=excluded.locked_until",
                          (key, failures, now, until))
        user = self.verify(username, password)
        if user is not None:
            with self._tx() as c:
                c.executemany("DELETE FROM sign_in_throttle WHERE key=?", [(k,) for _, k in keys])
            return SignInResult(user, "ok")
        if locked_now:
            detail = (f"{' and '.join(locked_now)} locked for {settings.sign_in_lock_minutes:g} minutes after "
                      "repeated failed sign-ins")
            self.log(str(username or "(blank)")[:64], "sign-in locked", detail)
        return SignInResult(None, "wrong", locked_now=tuple(locked_now))

    def unlock(self, username: str, *, by: str = "command line") -> None:
        """Clear the failed sign-ins of ``username`` (an administrator's reset)."""
        with self._tx() as c:
            c.execute("DELETE FROM sign_in_throttle WHERE key=?", ("account:" + username.strip().lower(),))
            c.execute("INSERT INTO account_log (at, user, action, detail) VALUES (?,?,?,?)",
                      (_now(), by, "sign-in unlocked", username))


def session_status(username: str, version: int, *, path: str | Path | None = None) -> tuple[User | None, str]:
    """Is a session signed in as ``username`` at account ``version`` still valid?

    One indexed lookup in the accounts file, cheap enough for every dashboard run.

    Returns
    -------
    (User, "") or (None, reason)
        The account as it is now, or ``None`` and the sentence to show: the account was
        removed, disabled, or changed (password, role or BCUs) since the session began.
    """
    p = Path(path) if path else accounts_path()
    if not p.exists():
        return None, "The accounts file is gone; sign in again."
    conn = sqlite3.connect(f"file:{p}?mode=ro", uri=True, timeout=5)
    try:
        row = conn.execute("SELECT username, role, bcus, disabled, version FROM accounts WHERE username=?",
                           ((username or "").strip(),)).fetchone()
    except sqlite3.OperationalError as err:
        return None, f"Your session could not be checked ({err}); sign in again."
    finally:
        conn.close()
    if row is None:
        return None, "Your account was removed, so you have been signed out."
    name, role, bcus, disabled, current = row
    if disabled:
        return None, "Your account has been disabled, so you have been signed out. Ask an administrator."
    if int(current) != int(version):
        return None, ("Your account was changed (password, role or BCUs), so you have been signed out. "
                      "Sign in again.")
    return User(name, role, tuple(json.loads(bcus)), version=int(current)), ""


_DUMMY: list[str] = []


def _dummy_hash() -> str:
    """A hash of a random string, verified against when the username is unknown (timing)."""
    if not _DUMMY:
        import secrets
        _DUMMY.append(_hasher().hash(secrets.token_hex(16)))
    return _DUMMY[0]


def ensure_demo_accounts(store: AccountStore) -> bool:
    """Create the documented demo accounts if the store has no account at all.

    Returns True if they were created. Never touches a store that already has accounts,
    so a real deployment's accounts are left alone.
    """
    if store.count():
        return False
    for username, role, bcus, password in DEMO_ACCOUNTS:
        store.add(username, password, role, bcus, demo=True, by="python -m geo demo")
    return True


# The OIDC claim mapping lives in geo.oidc; re-exported here, where callers have always found it.
from .oidc import user_from_claims  # noqa: E402,F401
