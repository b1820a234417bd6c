"""Session tokens (geo.sessions): signature, expiry, tampering, revocation and the account check."""
from __future__ import annotations

import base64
import json
import stat

import pytest

from geo import sessions
from geo.auth import AccountStore

KEY = b"0123456789abcdef" * 4


def test_a_token_reads_back_until_it_expires():
    t = sessions.make_token("alice", 4, secret=KEY, now=10_000, ttl_s=600)
    tok = sessions.read_token(t, secret=KEY, now=10_599)
    assert (tok.username, tok.version, tok.expires) == ("alice", 4, 10_600)
    assert sessions.read_token(t, secret=KEY, now=10_600) is None


def test_default_expiry_is_the_idle_timeout():
    from geo.settings import settings
    t = sessions.make_token("alice", 1, secret=KEY, now=0)
    assert sessions.read_token(t, secret=KEY, now=0).expires == settings.session_idle_minutes * 60


@pytest.mark.parametrize("tamper", ["payload", "signature", "other key", "garbage", "empty", "future"])
def test_a_tampered_token_is_refused(tamper):
    t = sessions.make_token("alice", 4, secret=KEY, now=10_000, ttl_s=600)
    payload, sig = t.split(".")
    if tamper == "payload":  # a valid-looking body naming another user, with the old signature
        body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        body["u"] = "admin"
        forged = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
        t = f"{forged}.{sig}"
    elif tamper == "signature":
        t = f"{payload}.{sig[:-2]}{'AA' if sig[-2:] != 'AA' else 'BB'}"
    elif tamper == "other key":
        t = sessions.make_token("alice", 4, secret=b"x" * 64, now=10_000, ttl_s=600)
    elif tamper == "garbage":
        t = "not-a-token"
    elif tamper == "empty":
        t = ""
    elif tamper == "future":
        t = sessions.make_token("alice", 4, secret=KEY, now=20_000, ttl_s=600)
    assert sessions.read_token(t, secret=KEY, now=10_100) is None


def test_the_secret_is_created_once_with_private_permissions(tmp_path):
    p = tmp_path / "keys" / "session.key"
    first = sessions.session_secret(p)
    assert len(first) >= 32 and stat.S_IMODE(p.stat().st_mode) == 0o600
    assert sessions.session_secret(p) == first
    assert sessions.session_secret(tmp_path / "other.key") != first


def test_the_secret_lives_beside_the_accounts_file_not_in_the_repo(tmp_path, monkeypatch):
    monkeypatch.delenv("GEO_SESSION_KEY_FILE", raising=False)
    monkeypatch.setenv("GEO_ACCOUNTS", str(tmp_path / "accounts.db"))
    assert sessions.session_key_path() == tmp_path / "session.key"


@pytest.fixture
def accounts(tmp_path):
    path = tmp_path / "accounts.db"
    with AccountStore(path) as store:
        store.add("alice", "a-long-test-password-1", "analyst")
    return path


def test_user_from_token_checks_the_account_version(accounts):
    with AccountStore(accounts) as store:
        version = store.get("alice").version
    t = sessions.make_token("alice", version, secret=KEY)
    user, tok = sessions.user_from_token(t, secret=KEY, path=accounts)
    assert user.username == "alice" and user.role == "analyst" and tok.version == version
    with AccountStore(accounts) as store:
        store.set_role("alice", "partner")
    user, reason = sessions.user_from_token(t, secret=KEY, path=accounts)
    assert user is None and "changed" in reason


def test_a_disabled_account_is_refused(accounts):
    with AccountStore(accounts) as store:
        version = store.get("alice").version
        store.set_disabled("alice", True)
    user, reason = sessions.user_from_token(sessions.make_token("alice", version, secret=KEY),
                                            secret=KEY, path=accounts)
    assert user is None and "disabled" in reason


def test_a_revoked_token_is_refused(accounts):
    with AccountStore(accounts) as store:
        version = store.get("alice").version
    t = sessions.make_token("alice", version, secret=KEY)
    other = sessions.make_token("alice", version, secret=KEY)
    sessions.revoke(sessions.read_token(t, secret=KEY), path=accounts)
    assert sessions.user_from_token(t, secret=KEY, path=accounts) == (None, "")
    assert sessions.user_from_token(other, secret=KEY, path=accounts)[0] is not None


def test_cookie_script_sets_and_clears():
    t = sessions.make_token("alice", 1, secret=KEY)
    s = sessions.cookie_script(t, max_age_s=1800)
    assert f"geo_session={t}" in s and "Max-Age=1800" in s and "SameSite=Strict" in s and "Secure" not in s
    assert "Secure" in sessions.cookie_script(t, max_age_s=60, secure=True)
    assert "geo_session=;" in sessions.cookie_script(None) and "Max-Age=0" in sessions.cookie_script(None)
    with pytest.raises(ValueError):
        sessions.cookie_script("x'; alert(1); '")
