"""Accounts, password hashes, roles from OIDC claims, and what each role may open."""
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from geo import auth
from geo.auth import AccessDenied, AccountStore, User, page_allowed, user_from_claims
from geo.errors import GeoInputError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def store(tmp_path):
    with AccountStore(tmp_path / "accounts.db") as s:
        yield s


def test_passwords_are_stored_only_as_salted_argon2_hashes(store, tmp_path):
    store.add("alice", "correct horse battery", "admin")
    store.add("bob", "correct horse battery", "analyst")
    raw = tmp_path.joinpath("accounts.db").read_bytes()
    assert b"correct horse battery" not in raw
    rows = dict(sqlite3.connect(tmp_path / "accounts.db").execute("SELECT username, password_hash FROM accounts"))
    assert rows["alice"].startswith("$argon2id$")
    assert rows["alice"] != rows["bob"]  # same password, different salt
    assert "password_hash" not in store.users().columns


def test_verify_accepts_the_right_password_only(store):
    store.add("alice", "correct horse battery", "admin")
    assert store.verify("alice", "correct horse battery") == User("alice", "admin")
    assert store.verify("alice", "wrong password!") is None
    assert store.verify("nobody", "correct horse battery") is None
    store.add("carol", "another long one", "partner")
    store.set_disabled("carol", True)
    assert store.verify("carol", "another long one") is None


def test_account_rules_have_fix_it_messages(store):
    with pytest.raises(GeoInputError, match="shorter than 10"):
        store.add("alice", "short", "admin")
    with pytest.raises(GeoInputError, match="Unknown role"):
        store.add("alice", "long enough pw", "superuser")
    with pytest.raises(GeoInputError, match="needs at least one BCU"):
        store.add("ian", "long enough pw", "inspector")
    store.add("alice", "long enough pw", "admin")
    with pytest.raises(GeoInputError, match="already exists"):
        store.add("Alice", "long enough pw", "admin")
    with pytest.raises(GeoInputError, match="last active admin"):
        store.remove("alice")
    with pytest.raises(GeoInputError, match="last active admin"):
        store.set_role("alice", "analyst")


def test_changes_are_logged_without_passwords(store):
    store.add("alice", "long enough pw", "admin")
    store.add("ian", "long enough pw", "inspector", ["E08000019"], by="alice")
    store.set_password("ian", "a new long password", by="alice")
    log = store.account_log()
    assert list(log["action"])[:2] == ["password changed", "account created"]
    assert not log["detail"].str.contains("long").any()


def test_demo_accounts_only_on_an_empty_store(store):
    assert auth.ensure_demo_accounts(store)
    assert store.has_demo_accounts()
    for username, role, bcus, password in auth.DEMO_ACCOUNTS:
        assert store.verify(username, password) == User(username, role, bcus)
    assert not auth.ensure_demo_accounts(store)


def test_roles_from_oidc_claims():
    u = user_from_claims({"email": "jo@syp.police.uk", "name": "Jo", "roles": ["partner", "analyst"]})
    assert (u.username, u.role, u.source, u.display_name) == ("jo@syp.police.uk", "analyst", "oidc", "Jo")
    u = user_from_claims({"preferred_username": "ins1", "groups": "SYP-Insp other", "bcus": ["E08000019"]},
                         role_claim="groups", role_map={"syp-insp": "inspector"})
    assert (u.role, u.bcus) == ("inspector", ("E08000019",))
    u = user_from_claims({"sub": "x", "realm_access": {"roles": ["admin"]}}, role_claim="realm_access.roles")
    assert u.role == "admin"
    assert user_from_claims({"email": "a@b", "roles": ["viewer"]}) is None  # no known role: refused
    assert user_from_claims({"roles": ["analyst"]}) is None  # no identity


def test_page_access_by_role():
    assert page_allowed("partner", "briefings") and page_allowed("partner", "areas")
    for page in ("map", "hotspots", "operations", "data", "harm", "admin", "some-new-page"):
        assert not page_allowed("partner", page), page
    assert page_allowed("inspector", "map") and page_allowed("inspector", "hotspots")
    assert not page_allowed("inspector", "data") and not page_allowed("inspector", "admin")
    assert page_allowed("analyst", "data") and not page_allowed("analyst", "admin")
    assert page_allowed("admin", "admin") and page_allowed("admin", "map")
    assert not page_allowed(None, "map")


def test_incident_data_refused_to_partners():
    with pytest.raises(AccessDenied, match="suppressed aggregates only"):
        auth.require_incidents(User("p", "partner"))
    with pytest.raises(AccessDenied, match="Sign in"):
        auth.require_incidents(None)
    assert auth.require_incidents(User("a", "analyst")).role == "analyst"
    assert User("i", "inspector", ("E1",)).cache_key != User("j", "inspector", ("E2",)).cache_key


def test_cli_users_add_and_list(tmp_path):
    env = {"GEO_ACCOUNTS": str(tmp_path / "acc.db"), "PATH": "/usr/bin:/bin"}
    r = subprocess.run([sys.executable, "-m", "geo", "users", "add", "--username", "root1", "--role", "admin",
                        "--password-stdin"], input="a-very-long-password\n", text=True, capture_output=True,
                       cwd=ROOT, env=env)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([sys.executable, "-m", "geo", "users", "list"], text=True, capture_output=True, cwd=ROOT,
                       env=env)
    assert "root1" in r.stdout and "admin" in r.stdout and "a-very-long-password" not in r.stdout
    r = subprocess.run([sys.executable, "-m", "geo", "users", "add", "--username", "xavier", "--role", "admin",
                        "--password-stdin"], input="short\n", text=True, capture_output=True, cwd=ROOT, env=env)
    assert r.returncode == 2 and "shorter than 10" in r.stderr
