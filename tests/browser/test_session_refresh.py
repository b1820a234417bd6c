"""A refresh or a new tab keeps the user signed in; sign-out and a forged cookie do not (issue 12).

The session cookie is signed with a server secret (:mod:`geo.sessions`) and checked like
a session: here a user signs in on a deep link, reloads, opens a second tab on another
page, signs out, and finally presents a tampered cookie.
"""
from __future__ import annotations

import shutil

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import TEST_PASSWORD, make_accounts, wait_for_app


@pytest.fixture(scope="module")
def app(streamlit_app, demo_workspaces, tmp_path_factory):
    folder = tmp_path_factory.mktemp("session-workspaces")
    shutil.copy(demo_workspaces["south-yorkshire"], folder / "south-yorkshire.gpkg")
    accounts = make_accounts(folder / "accounts.db", roles=("analyst",))
    return streamlit_app("dashboard/app.py", env={"GEO_WORKSPACES": str(folder), "GEO_ACCOUNTS": str(accounts)})


def _go(page, url):
    page.goto(url)
    wait_for_app(page)


def _signed_in_on(page, title):
    page.get_by_role("button", name="Sign out").wait_for()
    wait_for_app(page)
    expect(page.get_by_role("heading", name="Sign in")).to_have_count(0)
    expect(page.get_by_test_id("stSidebarNav").get_by_role("link", name=title)).to_have_count(1)
    expect(page.get_by_test_id("stSidebarNav").get_by_role("link", name=title)).to_have_attribute("aria-current", "page")


def _session_cookie(context):
    return next((c for c in context.cookies() if c["name"] == "geo_session"), None)


def test_refresh_new_tab_sign_out_and_a_forged_cookie(page, context, network_log, app):
    # a deep link before sign-in shows the form at that address; after sign-in, that page
    _go(page, app.url + "/operations")
    page.get_by_role("heading", name="Sign in").wait_for()
    page.get_by_role("textbox", name="Username").fill("analyst-user")
    page.get_by_role("textbox", name="Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    _signed_in_on(page, "Operations")
    assert page.url.rstrip("/").endswith("/operations")
    cookie = _session_cookie(context)
    assert cookie is not None and cookie["sameSite"] == "Strict" and "." in cookie["value"]

    # a refresh: still signed in, on the same page
    page.reload()
    wait_for_app(page)
    _signed_in_on(page, "Operations")

    # a new tab on another page's address
    tab = context.new_page()
    _go(tab, app.url + "/hotspots")
    _signed_in_on(tab, "Hotspots")
    tab.close()

    # sign out, then reload: the sign-in page, and the old cookie is gone and refused
    old = cookie["value"]
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("heading", name="Sign in").wait_for()
    wait_for_app(page)
    page.reload()
    wait_for_app(page)
    page.get_by_role("heading", name="Sign in").wait_for()
    assert _session_cookie(context) is None
    context.add_cookies([{"name": "geo_session", "value": old, "url": app.url}])  # replayed after sign-out
    _go(page, app.url + "/operations")
    page.get_by_role("heading", name="Sign in").wait_for()
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)

    # a tampered cookie: the body says admin, the signature is the old one
    import base64
    import json
    payload, sig = old.split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    body.update(u="admin-user", jti="forged")
    forged = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
    context.add_cookies([{"name": "geo_session", "value": f"{forged}.{sig}", "url": app.url}])
    _go(page, app.url + "/map")
    page.get_by_role("heading", name="Sign in").wait_for()
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    network_log.assert_offline()
