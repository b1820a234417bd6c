from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

DATA = ROOT / "data"
SY_CRIME = DATA / "south-yorkshire" / "crime"
collect_ignore_glob = ["browser/apps/*"]


@pytest.fixture(scope="session")
def demo_workspaces(tmp_path_factory):
    """The two bundled demo workspaces, built once per test session."""
    from geo.demo import ensure_demo_workspaces
    folder = tmp_path_factory.mktemp("workspaces")
    sy, pdx = ensure_demo_workspaces(folder, progress=lambda s: None)
    return {"south-yorkshire": sy, "portland": pdx}


def sign_in_for_test(at, role: str = "analyst", bcus=(), username: str | None = None):
    """Sign an AppTest in as ``role`` (before ``at.run()``); returns ``at``.

    Creates the account (or sets its role) in the test's private accounts file, then
    puts it into the session the way the sign-in form does, with the account's version,
    so the app's per-run session check accepts it (the session lives on the server, so a
    browser cannot do this). Inspectors default to Sheffield::

        at = sign_in_for_test(AppTest.from_file(APP), "analyst").run()
    """
    import secrets

    from geo.auth import AccountStore
    if role == "inspector" and not bcus:
        bcus = ("E08000019",)
    name = username or f"test-{role}"
    with AccountStore() as store:
        user = store.get(name)
        if user is None:
            user = store.add(name, "Tt-" + secrets.token_hex(12), role, bcus, by="test")
        elif (user.role, tuple(user.bcus)) != (role, tuple(bcus)):
            store.set_role(name, role, bcus, by="test")
            user = store.get(name)
    at.session_state["auth_user"] = user.to_dict()
    return at


@pytest.fixture(autouse=True)
def _private_accounts_file(tmp_path_factory, monkeypatch):
    """Every test uses its own accounts file, never ``workspaces/accounts.db``."""
    import os
    if "GEO_ACCOUNTS" not in os.environ:
        monkeypatch.setenv("GEO_ACCOUNTS", str(tmp_path_factory.mktemp("accounts") / "accounts.db"))
