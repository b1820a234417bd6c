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

    Puts the user into the session the way the sign-in form does (the session lives on
    the server, so a browser cannot do this). Inspectors default to Sheffield::

        at = sign_in_for_test(AppTest.from_file(APP), "analyst").run()
    """
    if role == "inspector" and not bcus:
        bcus = ("E08000019",)
    at.session_state["auth_user"] = {"username": username or f"test-{role}", "role": role, "bcus": list(bcus),
                                     "source": "local", "display_name": ""}
    return at


@pytest.fixture(autouse=True)
def _private_accounts_file(tmp_path_factory, monkeypatch):
    """Every test uses its own accounts file, never ``workspaces/accounts.db``."""
    import os
    if "GEO_ACCOUNTS" not in os.environ:
        monkeypatch.setenv("GEO_ACCOUNTS", str(tmp_path_factory.mktemp("accounts") / "accounts.db"))
