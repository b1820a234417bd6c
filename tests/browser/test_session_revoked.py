"""Sessions are re-checked on every interaction, in a real Chromium (issue 10, High 5).

The attack: after ``python -m geo users disable`` (or ``users role --role partner``) an
open analyst session kept its pages and data. Here a user signs in through the form, the
account is changed from outside the app (as the command line does it, through
``AccountStore`` on the same accounts file), and the very next click lands on the sign-in
page with the reason, with no incident data on screen.
"""
from __future__ import annotations

import shutil

import pytest

from tests.browser.conftest import make_accounts, sign_in, wait_for_app


@pytest.fixture(scope="module")
def app(streamlit_app, demo_workspaces, tmp_path_factory):
    folder = tmp_path_factory.mktemp("revoke-workspaces")
    shutil.copy(demo_workspaces["south-yorkshire"], folder / "south-yorkshire.gpkg")
    accounts = make_accounts(folder / "accounts.db")
    server = streamlit_app("dashboard/app.py", env={"GEO_WORKSPACES": str(folder), "GEO_ACCOUNTS": str(accounts)})
    server.accounts = accounts
    server.folder = folder
    return server


@pytest.mark.parametrize("user, change, reason", [
    ("analyst-user", "disable", "disabled"),
    ("inspector-user", "role", "changed"),
])
def test_next_interaction_after_an_account_change_signs_out(page, network_log, app, user, change, reason):
    from geo import Workspace
    from geo.auth import AccountStore
    sign_in(page, app, user)
    page.get_by_text("Incidents shown").first.wait_for()  # the Map page, with incident data
    with AccountStore(app.accounts) as store:
        if change == "disable":
            store.set_disabled(user, True, by="command line")
        else:
            store.set_role(user, "partner", by="command line")
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Operations").click()
    wait_for_app(page)
    page.get_by_role("heading", name="Sign in").wait_for()
    from playwright.sync_api import expect
    expect(page.get_by_text(reason, exact=False).first).to_be_visible()
    # what the old run drew is cleared once the new run has finished
    expect(page.get_by_text("Incidents shown")).to_have_count(0)
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    expect(page.get_by_test_id("stSidebarNav").get_by_role("link", name="Operations")).to_have_count(0)
    ws = Workspace.open(app.folder / "south-yorkshire.gpkg")
    log = ws.store.audit_log()
    ws.close()
    assert ((log["user"] == user) & (log["action"] == "signed out")).any()
    network_log.assert_offline()
