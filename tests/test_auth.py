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


# ------------------------------------------------------------------ weak passwords (issue 10, High 6)
@pytest.mark.parametrize("password, why", [
    ("password123", "commonly used"),
    ("Password123!", "commonly used"),
    ("qwertyuiop", "commonly used"),
    ("1234567890", "commonly used"),
    ("Football2024", "commonly used"),
    ("administrator", "commonly used"),
    ("short", "shorter than 10"),
    ("alice-is-great", "contains the username"),
    ("xxALICExx-2024", "contains the username"),
])
def test_weak_passwords_are_refused_everywhere(store, password, why):
    with pytest.raises(GeoInputError, match=why):
        auth.check_password(password, username="alice")
    with pytest.raises(GeoInputError, match=why):
        store.add("alice", password, "admin")
    store.add("bobby", "tram kettle orbit", "admin")
    with pytest.raises(GeoInputError, match=why):
        store.set_password("bobby", password.replace("alice", "bobby").replace("ALICE", "BOBBY"))


def test_the_bundled_common_password_list():
    common = auth.common_passwords()
    assert len(common) >= 1000
    assert {"123456", "password", "qwerty", "letmein", "password123"} <= common
    assert all(p == p.lower() and p.strip() == p for p in common)
    auth.check_password("tram kettle orbit")  # three random words pass
    auth.check_password("ann-likes-long-walks", username="ann")  # names under 4 letters are not searched for


def test_cli_refuses_a_common_password(tmp_path):
    env = {"GEO_ACCOUNTS": str(tmp_path / "acc.db"), "PATH": "/usr/bin:/bin"}
    r = subprocess.run([sys.executable, "-m", "geo", "users", "add", "--username", "root1", "--role", "admin",
                        "--password-stdin"], input="password1234\n", text=True, capture_output=True, cwd=ROOT,
                       env=env)
    assert r.returncode == 2 and "commonly used" in r.stderr, r.stderr


# ------------------------------------------------------------------ throttling (issue 10, High 6)
class Clock:
    """An injected clock: tests move time on instead of sleeping."""

    def __init__(self, t: float = 1_000_000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clocked(tmp_path):
    clock = Clock()
    with AccountStore(tmp_path / "accounts.db", clock=clock) as s:
        s.add("alice", "correct horse battery", "admin")
        yield s, clock


def test_thirty_wrong_then_right_is_refused_while_locked(clocked):
    """The attack: thirty wrong passwords and then the right one succeeded."""
    store, clock = clocked
    statuses = []
    for _ in range(30):
        statuses.append(store.sign_in("alice", "wrong password!", client="10.0.0.9").status)
        clock.t += 5  # an attacker waiting out each delay still hits the lock
    assert statuses[:2] == ["wrong", "wrong"]
    assert "locked" in statuses and statuses.count("wrong") <= auth.settings.sign_in_lock_after
    res = store.sign_in("alice", "correct horse battery", client="10.0.0.9")
    assert res.user is None and res.status == "locked" and "locked" in res.message
    # from another client too: the account itself is locked
    assert store.sign_in("alice", "correct horse battery", client="10.0.0.10").status == "locked"
    log = store.account_log()
    assert (log["action"] == "sign-in locked").sum() >= 1
    assert "account alice" in log.loc[log["action"] == "sign-in locked", "detail"].iloc[-1]


def test_lock_expires_with_the_clock(clocked):
    store, clock = clocked
    for _ in range(auth.settings.sign_in_lock_after):
        assert store.sign_in("alice", "wrong password!").status == "wrong"
        clock.t += 120
    assert store.sign_in("alice", "correct horse battery").status == "locked"
    clock.t += auth.settings.sign_in_lock_minutes * 60 - 130
    assert store.sign_in("alice", "correct horse battery").status == "locked"  # not yet
    clock.t += 20
    res = store.sign_in("alice", "correct horse battery")
    assert res.status == "ok" and res.user == User("alice", "admin")
    # success clears the count: the next slip is an ordinary wrong password
    assert store.sign_in("alice", "wrong password!").status == "wrong"


def test_growing_delay_between_attempts(clocked):
    store, clock = clocked
    free = auth.settings.sign_in_free_failures
    for _ in range(free):
        assert store.sign_in("alice", "wrong password!").status == "wrong"
    res = store.sign_in("alice", "correct horse battery")  # straight away: inside the delay
    assert res.status == "wait" and res.retry_after_s == pytest.approx(auth.settings.sign_in_delay_s)
    clock.t += auth.settings.sign_in_delay_s
    assert store.sign_in("alice", "wrong password!").status == "wrong"
    res = store.sign_in("alice", "wrong password!")
    assert res.status == "wait" and res.retry_after_s == pytest.approx(2 * auth.settings.sign_in_delay_s)
    clock.t += 2 * auth.settings.sign_in_delay_s
    assert store.sign_in("alice", "correct horse battery").status == "ok"


def test_parallel_sessions_share_the_count(tmp_path):
    """Six sessions (six connections to the same file) cannot each get their own budget."""
    clock = Clock()
    stores = [AccountStore(tmp_path / "accounts.db", clock=clock) for _ in range(6)]
    try:
        stores[0].add("alice", "correct horse battery", "admin")
        wrong = 0
        for round_ in range(10):
            for s in stores:
                wrong += s.sign_in("alice", f"guess {round_}", client=f"session {id(s)}").status == "wrong"
            clock.t += 5
        assert wrong <= auth.settings.sign_in_lock_after  # 60 attempts, at most 5 passwords checked
        assert stores[3].sign_in("alice", "correct horse battery").status == "locked"
    finally:
        for s in stores:
            s.close()


def test_one_client_is_locked_across_accounts(clocked):
    store, clock = clocked
    n = auth.settings.sign_in_client_lock_after
    for i in range(n):
        assert store.sign_in(f"user{i}", "wrong password!", client="10.0.0.9").status == "wrong"
        clock.t += auth.settings.sign_in_max_delay_s
    res = store.sign_in("alice", "correct horse battery", client="10.0.0.9")
    assert res.status == "locked"
    assert store.sign_in("alice", "correct horse battery", client="10.0.0.77").status == "ok"


def test_unknown_names_are_throttled_like_real_ones(clocked):
    store, clock = clocked
    a = [store.sign_in("alice", "wrong password!").status for _ in range(4)]
    b = [store.sign_in("nobody-here", "wrong password!").status for _ in range(4)]
    assert a == b


# ------------------------------------------------------------------ sessions (issue 10, High 5)
def test_every_account_change_bumps_the_version(store):
    u = store.add("alice", "correct horse battery", "admin")
    store.add("bob", "tram kettle orbit", "analyst")
    v0 = store.get("bob").version
    assert auth.session_status("bob", v0, path=store.path) == (User("bob", "analyst"), "")
    store.set_password("bob", "another tram kettle", by="alice")
    v1 = store.get("bob").version
    store.set_role("bob", "inspector", ["E08000019"], by="alice")
    v2 = store.get("bob").version
    store.set_disabled("bob", True, by="alice")
    v3 = store.get("bob").version
    assert v0 < v1 < v2 < v3
    user, why = auth.session_status("bob", v2, path=store.path)
    assert user is None and "disabled" in why
    store.set_disabled("bob", False, by="alice")
    user, why = auth.session_status("bob", v2, path=store.path)
    assert user is None and "changed" in why
    v4 = store.get("bob").version
    assert auth.session_status("bob", v4, path=store.path)[0] == User("bob", "inspector", ("E08000019",))
    store.sign_out_everywhere("bob", by="alice")
    assert auth.session_status("bob", v4, path=store.path)[0] is None
    v5 = store.get("bob").version
    assert v5 == v4 + 1
    store.remove("bob", by="alice")
    user, why = auth.session_status("bob", v5, path=store.path)
    assert user is None and "removed" in why
    assert store.verify("alice", "correct horse battery").version == u.version


def test_an_older_accounts_file_gets_versions(tmp_path):
    p = tmp_path / "old.db"
    c = sqlite3.connect(p)
    c.execute("CREATE TABLE accounts (username TEXT PRIMARY KEY COLLATE NOCASE, role TEXT NOT NULL, bcus TEXT NOT "
              "NULL DEFAULT '[]', password_hash TEXT NOT NULL, demo INTEGER NOT NULL DEFAULT 0, disabled INTEGER "
              "NOT NULL DEFAULT 0, created_at TEXT, updated_at TEXT, last_sign_in TEXT)")
    c.execute("INSERT INTO accounts (username, role, password_hash) VALUES ('old', 'analyst', 'x')")
    c.commit()
    c.close()
    with AccountStore(p) as s:
        assert s.get("old").version == 1


def test_server_listens_on_localhost_and_caps_uploads():
    """The server listened on all interfaces by default (issue 10)."""
    import tomllib
    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert cfg["server"]["address"] == "127.0.0.1"
    assert cfg["server"]["maxUploadSize"] == 200


def test_make_run_is_the_demo_mode():
    """Demo credentials are listed only in demo mode, which `make run` (the demo) switches on."""
    run = [line for line in (ROOT / "Makefile").read_text().splitlines() if "streamlit run dashboard/app.py" in line]
    assert run and all("GEO_DEMO=1" in line for line in run)


def test_cli_disable_and_role_change_end_open_sessions(tmp_path):
    """The attack: `python -m geo users disable` / `users role --role partner` left sessions open."""
    acc = tmp_path / "acc.db"
    with AccountStore(acc) as s:
        s.add("root1", "a-very-long-password", "admin")
        s.add("ann", "tram kettle orbit", "analyst")
        s.add("ben", "tram kettle orbit", "analyst")
        s.add("cat", "tram kettle orbit", "analyst")
        sessions = {u: s.get(u).version for u in ("ann", "ben", "cat")}
    env = {"GEO_ACCOUNTS": str(acc), "PATH": "/usr/bin:/bin"}
    for args in (["disable", "--username", "ann"], ["role", "--username", "ben", "--role", "partner"],
                 ["sign-out", "--username", "cat"]):
        r = subprocess.run([sys.executable, "-m", "geo", "users", *args], text=True, capture_output=True, cwd=ROOT,
                           env=env)
        assert r.returncode == 0, r.stderr
    for user, word in (("ann", "disabled"), ("ben", "changed"), ("cat", "changed")):
        current, why = auth.session_status(user, sessions[user], path=acc)
        assert current is None and word in why
    clock = Clock()
    with AccountStore(acc, clock=clock) as s:
        for _ in range(auth.settings.sign_in_lock_after):
            s.sign_in("root1", "wrong password!")
            clock.t += 120
        assert s.sign_in("root1", "a-very-long-password").status == "locked"
    r = subprocess.run([sys.executable, "-m", "geo", "users", "unlock", "--username", "root1"], text=True,
                       capture_output=True, cwd=ROOT, env=env)
    assert r.returncode == 0, r.stderr
    with AccountStore(acc, clock=clock) as s:
        assert s.sign_in("root1", "a-very-long-password").status == "ok"
