"""Signed, expiring session tokens for local accounts, so a refresh or a new tab stays signed in. Pure: no Streamlit.

A token is ``<payload>.<signature>``: the payload is URL-safe base64 of a small JSON
object (``u`` username, ``v`` the account's version, ``iat`` issued at, ``exp`` expiry,
both Unix seconds, ``jti`` a random id) and the signature is HMAC-SHA256 of the payload
with a server secret. The secret is kept outside the repository, beside the accounts
file (``session.key`` in the same folder; environment ``GEO_SESSION_KEY_FILE`` to move
it), created on first use with permissions 0600. Deleting it signs every browser out.

A token says only who signed in and when; whether that account may still use the tool
is decided as before by :func:`geo.auth.session_status` (removed, disabled or changed
accounts are refused: the version in the token must match the account's). A token
expires ``session_idle_minutes`` after it was issued; the dashboard issues a fresh one
while the user is active, so the expiry is the idle timeout. Signing out records the
token's ``jti`` as revoked in the accounts file until it would have expired.

References
----------
RFC 2104, HMAC: Keyed-Hashing for Message Authentication (1997).
OWASP Session Management Cheat Sheet (cookie attributes ``HttpOnly``, ``Secure``, ``SameSite``).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from .settings import settings

#: The cookie's name in the browser.
COOKIE_NAME = "geo_session"
_KEY_BYTES = 32


def session_key_path() -> Path:
    """Where the signing secret lives: ``GEO_SESSION_KEY_FILE`` or ``session.key`` beside the accounts file."""
    env = os.environ.get("GEO_SESSION_KEY_FILE")
    if env:
        return Path(env)
    from .auth import accounts_path
    return accounts_path().parent / "session.key"


def session_secret(path: str | Path | None = None) -> bytes:
    """The server's signing secret; created (32 random bytes, mode 0600) on first use.

    Parameters
    ----------
    path : str or Path, optional
        The key file; ``None`` means :func:`session_key_path`.
    """
    p = Path(path) if path else session_key_path()
    try:
        key = p.read_bytes().strip()
        if len(key) >= _KEY_BYTES:
            return key
    except FileNotFoundError:
        pass
    p.parent.mkdir(parents=True, exist_ok=True)
    new = secrets.token_hex(_KEY_BYTES).encode()
    try:  # O_EXCL: two processes starting at once agree on one key
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return p.read_bytes().strip()
    with os.fdopen(fd, "wb") as f:
        f.write(new)
    os.chmod(p, 0o600)
    return new


@dataclass(frozen=True)
class SessionToken:
    """What a valid token says.

    Attributes
    ----------
    username : str
    version : int
        The account's version when the token was issued.
    issued : float
        Unix seconds.
    expires : float
        Unix seconds.
    jti : str
        The token's random id (for revocation at sign-out).
    """

    username: str
    version: int
    issued: float
    expires: float
    jti: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(payload: str, secret: bytes) -> str:
    return _b64(hmac.new(secret, payload.encode("ascii"), hashlib.sha256).digest())


def make_token(username: str, version: int, *, secret: bytes, now: float | None = None,
               ttl_s: float | None = None) -> str:
    """A signed token for ``username`` at account ``version``.

    Parameters
    ----------
    username : str
    version : int
        The account's current version (see :class:`geo.auth.User`).
    secret : bytes
        The signing secret (:func:`session_secret`).
    now : float, optional
        Unix seconds (default: the current time).
    ttl_s : float, optional
        Seconds until it expires; default ``settings.session_idle_minutes * 60``.

    Returns
    -------
    str
        ``<payload>.<signature>``, safe in a cookie value.
    """
    now = time.time() if now is None else float(now)
    ttl = settings.session_idle_minutes * 60 if ttl_s is None else float(ttl_s)
    body = {"u": str(username), "v": int(version), "iat": int(now), "exp": int(now + ttl),
            "jti": secrets.token_urlsafe(12)}
    payload = _b64(json.dumps(body, separators=(",", ":")).encode())
    return f"{payload}.{_sign(payload, secret)}"


def read_token(token: str | None, *, secret: bytes, now: float | None = None) -> SessionToken | None:
    """The token's content if its signature is right and it has not expired, else ``None``.

    Never raises on a malformed token: anything that does not verify is simply ``None``.

    Examples
    --------
    >>> key = b"k" * 32
    >>> t = make_token("alice", 3, secret=key, now=1000, ttl_s=60)
    >>> read_token(t, secret=key, now=1030).username
    'alice'
    >>> read_token(t, secret=key, now=1061) is None
    True
    """
    if not token or not isinstance(token, str) or token.count(".") != 1 or len(token) > 2048:
        return None
    payload, sig = token.split(".")
    if not hmac.compare_digest(_sign(payload, secret), sig):
        return None
    try:
        body = json.loads(_unb64(payload))
        out = SessionToken(str(body["u"]), int(body["v"]), float(body["iat"]), float(body["exp"]), str(body["jti"]))
    except (ValueError, KeyError, TypeError):
        return None
    now = time.time() if now is None else float(now)
    if now >= out.expires or out.issued > now + 60:  # expired, or issued in the future (clock games)
        return None
    return out


# ------------------------------------------------------------------ revocation at sign-out
def _revoked_db(path: str | Path | None):
    from .auth import accounts_path
    p = Path(path) if path else accounts_path()
    conn = sqlite3.connect(p, isolation_level=None, timeout=5)
    conn.execute("CREATE TABLE IF NOT EXISTS revoked_sessions (jti TEXT PRIMARY KEY, expires REAL NOT NULL)")
    return conn


def revoke(token: SessionToken, *, path: str | Path | None = None, now: float | None = None) -> None:
    """Refuse ``token`` from now on (sign-out); forgotten once it would have expired anyway."""
    now = time.time() if now is None else float(now)
    conn = _revoked_db(path)
    try:
        conn.execute("DELETE FROM revoked_sessions WHERE expires < ?", (now,))
        conn.execute("INSERT OR REPLACE INTO revoked_sessions (jti, expires) VALUES (?, ?)",
                     (token.jti, token.expires))
    finally:
        conn.close()


def is_revoked(token: SessionToken, *, path: str | Path | None = None) -> bool:
    """True if ``token`` was signed out (see :func:`revoke`)."""
    from .auth import accounts_path
    p = Path(path) if path else accounts_path()
    if not p.exists():
        return False
    conn = sqlite3.connect(f"file:{p}?mode=ro", uri=True, timeout=5)
    try:
        return conn.execute("SELECT 1 FROM revoked_sessions WHERE jti=?", (token.jti,)).fetchone() is not None
    except sqlite3.OperationalError:  # no table yet: nothing was ever revoked
        return False
    finally:
        conn.close()


def user_from_token(token: str | None, *, secret: bytes | None = None, now: float | None = None,
                    path: str | Path | None = None):
    """The :class:`geo.auth.User` a cookie's token signs in, or ``(None, reason)``.

    Checks, in order: signature and expiry (:func:`read_token`), sign-out
    (:func:`is_revoked`), and the account itself (:func:`geo.auth.session_status`: removed,
    disabled or changed since the token was issued are refused).

    Returns
    -------
    (User, SessionToken) or (None, str)
        The user and the token's content, or ``None`` and why (empty when there was no
        valid token at all, so nothing needs saying).
    """
    from .auth import session_status
    secret = session_secret() if secret is None else secret
    tok = read_token(token, secret=secret, now=now)
    if tok is None:
        return None, ""
    if is_revoked(tok, path=path):
        return None, ""
    user, reason = session_status(tok.username, tok.version, path=path)
    if user is None:
        return None, reason
    return user, tok


def cookie_script(token: str | None, *, max_age_s: float = 0, secure: bool = False) -> str:
    """The ``<script>`` that sets (or, with ``token=None``, clears) the session cookie.

    ``SameSite=Strict`` and ``Path=/``; ``Secure`` when the app is served over https.
    A cookie written by script cannot be ``HttpOnly``: its value is only a signed,
    expiring reference, useless once signed out or expired.
    """
    value = token or ""
    if any(c in value for c in ";\"'<>\\ \n\r"):
        raise ValueError("a session token has no quotes, spaces or semicolons")
    age = max(0, int(max_age_s)) if token else 0
    attrs = f"Path=/; Max-Age={age}; SameSite=Strict" + ("; Secure" if secure else "")
    return f"<script>document.cookie = '{COOKIE_NAME}={value}; {attrs}';</script>"
