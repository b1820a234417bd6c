"""Deep links before sign-in, in a real Chromium (issue 12): after sign-in the user lands on the page asked for.

A partner opens ``/areas`` (their first page) or ``/briefings`` in a new session: the
sign-in form answers there, and after sign-in that page opens, with no "Page not found"
dialog. A page the role may not
open (a partner at ``/operations``) and an address that is no page at all get a plain
message naming what the user can open, never Streamlit's dialog.
"""
from __future__ import annotations

import shutil

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import TEST_PASSWORD, assert_offline, make_accounts, wait_for_app

#: A cold first page (the Area summary's aggregation) can take a while on a busy machine.
FIRST_PAGE_MS = 120_000


@pytest.fixture(scope="module")
def app(streamlit_app, demo_workspaces, tmp_path_factory):
    folder = tmp_path_factory.mktemp("deep-link-workspaces")
    shutil.copy(demo_workspaces["south-yorkshire"], folder / "south-yorkshire.gpkg")
    accounts = make_accounts(folder / "accounts.db", roles=("partner", "inspector"))
    return streamlit_app("dashboard/app.py", env={"GEO_WORKSPACES": str(folder), "GEO_ACCOUNTS": str(accounts)})


def _sign_in_at(page, url: str, username: str) -> None:
    page.goto(url)
    wait_for_app(page)
    page.get_by_role("heading", name="Sign in").wait_for()
    page.get_by_role("textbox", name="Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.get_by_role("button", name="Sign out").wait_for(timeout=FIRST_PAGE_MS)
    wait_for_app(page, timeout=FIRST_PAGE_MS)


def _no_page_not_found_dialog(page) -> None:
    expect(page.get_by_text("Page not found")).to_have_count(0)
    expect(page.get_by_role("dialog")).to_have_count(0)


@pytest.mark.parametrize("path, title", [("areas", "Area summary"), ("briefings", "Briefings")])
def test_a_partner_lands_on_the_page_asked_for(page, network_log, app, path, title):
    _sign_in_at(page, f"{app.url}/{path}", "partner-user")
    expect(page.get_by_role("heading", name="Sign in")).to_have_count(0)
    link = page.get_by_test_id("stSidebarNav").get_by_role("link", name=title)
    expect(link).to_have_attribute("aria-current", "page")
    if path != "areas":  # the Area summary is a partner's first page: Streamlit shows it at "/"
        assert page.url.rstrip("/").endswith(f"/{path}")
    _no_page_not_found_dialog(page)
    assert_offline(network_log)


def test_a_page_the_role_may_not_open_gets_a_message(page, network_log, app):
    _sign_in_at(page, app.url + "/operations", "partner-user")
    _no_page_not_found_dialog(page)
    msg = page.get_by_test_id("stAlert").filter(has_text="not available to your role")
    expect(msg).to_have_count(1)
    expect(msg).to_contain_text("Area summary")
    # the message offers the pages the partner has; the operations page itself is nowhere
    expect(page.get_by_test_id("stSidebarNav").get_by_role("link", name="Operations")).to_have_count(0)
    page.get_by_role("link", name="Area summary").last.click()
    wait_for_app(page, timeout=FIRST_PAGE_MS)
    expect(page.get_by_test_id("stSidebarNav").get_by_role("link", name="Area summary")).to_have_attribute(
        "aria-current", "page")


def test_an_unknown_address_gets_a_message_not_a_dialog(page, network_log, app):
    page.goto(app.url + "/no-such-page")
    wait_for_app(page, timeout=FIRST_PAGE_MS)
    _no_page_not_found_dialog(page)
    expect(page.get_by_test_id("stAlert").filter(has_text="no page at")).to_have_count(1)
    page.get_by_role("textbox", name="Username").fill("inspector-user")
    page.get_by_role("textbox", name="Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.get_by_role("button", name="Sign out").wait_for(timeout=FIRST_PAGE_MS)
    wait_for_app(page, timeout=FIRST_PAGE_MS)
    _no_page_not_found_dialog(page)
    expect(page.get_by_test_id("stAlert").filter(has_text="There is no page at /no-such-page")).to_have_count(1)


@pytest.mark.parametrize("user, path, title", [("inspector-user", "map", "Map"),
                                               ("partner-user", "areas", "Area summary")])
def test_the_first_page_also_answers_at_its_own_name(page, network_log, app, user, path, title):
    """The first page is served at "/"; a signed-in user opening /map (a bookmark, a typed address)
    gets the Map, not Streamlit's "Page not found" dialog."""
    _sign_in_at(page, app.url, user)
    page.goto(f"{app.url}/{path}")  # the same browser: the session cookie signs the user in again
    page.get_by_role("button", name="Sign out").wait_for(timeout=FIRST_PAGE_MS)
    wait_for_app(page, timeout=FIRST_PAGE_MS)
    link = page.get_by_test_id("stSidebarNav").get_by_role("link", name=title)
    expect(link).to_have_attribute("aria-current", "page")  # first: the page has settled
    _no_page_not_found_dialog(page)
    assert_offline(network_log)
