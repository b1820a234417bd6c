"""Sign-in per role in a real Chromium, and a partner's session captured whole: no incident detail in it.

Everything the browser receives while a partner signs in, opens every page they have,
changes the map's areas and downloads the table and a briefing (HTTP bodies, every
websocket frame, and the downloaded files) is searched for real crime ids, exact
incident coordinates (WGS84 to 6 decimals, British National Grid to the centimetre) and
the police.uk location strings.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.browser.conftest import make_accounts, sign_in, wait_for_app, wait_for_map

SHOTS = os.environ.get("MAP_SCREENSHOT_DIR")


@pytest.fixture(scope="module")
def app(streamlit_app, demo_workspaces, tmp_path_factory):
    folder = tmp_path_factory.mktemp("role-workspaces")
    shutil.copy(demo_workspaces["south-yorkshire"], folder / "south-yorkshire.gpkg")
    accounts = make_accounts(folder / "accounts.db")
    return streamlit_app("dashboard/app.py", env={"GEO_WORKSPACES": str(folder), "GEO_ACCOUNTS": str(accounts)})


@pytest.fixture(scope="module")
def secrets(demo_workspaces):
    """Incident details that must never reach a partner: 200 crime ids, their coordinates and locations."""
    from geo import Workspace
    ws = Workspace.open(demo_workspaces["south-yorkshire"])
    inc = ws.incidents(layer="crime")
    ws.close()
    inc = inc[inc["crime_id"].fillna("").str.len() > 20].sample(200, random_state=1)
    ll = inc.to_crs(4326)
    coords = set()
    for (x, y), p in zip(zip(inc["x"], inc["y"]), ll.geometry):
        coords |= {f"{p.x:.6f}", f"{p.y:.6f}", f"{x:.2f}", f"{y:.2f}",  # raw values
                   f"{p.x:.5f},{p.y:.5f}", f"{p.x:.5f}, {p.y:.5f}"}  # as a map would send a point
    busiest = ll.geometry.iloc[0]
    return {"ids": set(inc["crime_id"]), "coords": coords, "point": (busiest.x, busiest.y),
            "locations": {s for s in inc["location"] if s and len(s) > 12}}


def _nav_titles(page) -> list[str]:
    nav = page.get_by_test_id("stSidebarNav")
    nav.wait_for()
    return [t.strip() for t in nav.get_by_role("link").all_inner_texts()]


@pytest.mark.parametrize("role, expected, forbidden", [
    ("partner", ["Area summary", "Briefings"], ["Map", "Operations", "Data and imports", "Harm weights", "Admin"]),
    ("inspector", ["Map", "Operations", "Area summary", "Briefings"], ["Data and imports", "Admin"]),
    ("analyst", ["Map", "Operations", "Data and imports", "Harm weights", "Briefings"], ["Admin"]),
    ("admin", ["Map", "Data and imports", "Briefings", "Admin"], []),
])
def test_sign_in_per_role(page, network_log, app, role, expected, forbidden):
    sign_in(page, app, f"{role}-user")
    titles = _nav_titles(page)
    for t in expected:
        assert any(t == x or x.endswith(t) for x in titles), (t, titles)
    for t in forbidden:
        assert not any(t == x or x.endswith(t) for x in titles), (t, titles)
    assert page.get_by_text(f"{role}-user").first.is_visible()
    network_log.assert_offline()


def test_wrong_password_is_refused(page, app):
    from tests.browser.conftest import open_app
    open_app(page, app)
    page.get_by_label("Username").wait_for()
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / "sign_in.png"), full_page=True)
    page.get_by_label("Username").fill("analyst-user")
    page.get_by_label("Password", exact=True).fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Wrong username or password").wait_for()
    assert page.get_by_role("button", name="Sign out").count() == 0


def test_partner_cannot_open_internal_pages_by_url(page, app):
    sign_in(page, app, "partner-user")
    for path in ("map", "operations", "data", "harm", "admin"):
        page.goto(f"{app.url}/{path}")
        wait_for_app(page)
        assert page.get_by_text("Map · South Yorkshire").count() == 0
        assert page.get_by_role("heading", name="Data and imports").count() == 0
        assert page.get_by_role("heading", name="Admin").count() == 0
        assert page.get_by_text(re.compile("Page not found|Area summary")).first.is_visible()


def test_partner_session_carries_no_incident_detail(context, page, network_log, app, secrets, tmp_path):
    received: list[bytes] = []

    def on_response(resp):
        try:
            received.append(resp.body())
        except Exception:  # redirects and aborted requests have no body
            pass

    def on_ws(ws):
        ws.on("framereceived", lambda payload: received.append(
            payload if isinstance(payload, bytes) else payload.encode("utf-8", "replace")))

    context.on("response", on_response)
    page.on("websocket", on_ws)

    sign_in(page, app, "partner-user")
    assert page.get_by_role("heading", name=re.compile("Area summary")).is_visible()
    wait_for_map(page)
    # whole calendar quarters only: no sliding three-month blocks and no single month are offered
    quarter = r"(Jan–Mar|Apr–Jun|Jul–Sep|Oct–Dec) 20\d\d"
    shown = re.sub(quarter, "", page.get_by_test_id("stMain").inner_text())
    assert not re.search(r"\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) 20\d\d", shown), shown[:500]
    # the quarter picker (the trend section's "Area" select box lists areas, not periods)
    choose = page.get_by_test_id("stMain").get_by_test_id("stSelectbox").filter(
        has=page.get_by_text("Quarter", exact=True))
    if choose.count():  # one complete quarter: a select box; several: a slider
        choose.first.click()
        options = page.get_by_role("option").all_inner_texts()
        page.keyboard.press("Escape")
        assert options and all(re.fullmatch(quarter, o.strip()) for o in options), options
    # every area level on the map, and the table download
    for level in ("Neighbourhoods", "LSOAs", "Wards"):
        page.get_by_text(level, exact=True).click()
        wait_for_app(page)
        wait_for_map(page)
    files = []
    for name in ("Download the table (CSV)", "Download the map (HTML, works offline)", "Download the map (PNG)"):
        wait_for_app(page)  # each download reruns (audit): the next click waits for that run to end
        with page.expect_download() as dl:
            page.get_by_role("button", name=name).click()
        files.append(Path(dl.value.path()))
    assert files[2].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Harm (CCHI days, rounded)" in files[1].read_text(encoding="utf-8")  # the map's legend, offline page
    # the briefing page: prepare one and download both formats
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Briefings").click()
    wait_for_app(page)
    page.get_by_role("button", name="Prepare briefing").click()
    page.get_by_role("button", name="Download PDF").wait_for(timeout=90_000)
    wait_for_app(page)
    for name in ("Download PDF", "Download HTML"):
        wait_for_app(page)  # each download reruns (audit): the next click waits for that run to end
        with page.expect_download() as dl:
            page.get_by_role("button", name=name).click()
        files.append(Path(dl.value.path()))
    wait_for_app(page)
    # a drawn area (pasted as GeoJSON, the page's alternative to the draw tool): a tiny one around a single
    # map point is refused, a larger one is snapped to whole LSOAs and says which
    page.get_by_text("Drawn area", exact=True).click()
    wait_for_app(page)
    box = page.get_by_label("Area polygon (GeoJSON)")
    x, y = secrets["point"]
    tiny = {"type": "Polygon", "coordinates": [[[x - 1e-4, y - 1e-4], [x + 1e-4, y - 1e-4], [x + 1e-4, y + 1e-4],
                                                [x - 1e-4, y + 1e-4], [x - 1e-4, y - 1e-4]]]}
    box.fill(json.dumps(tiny))
    box.press("Control+Enter")
    wait_for_app(page)
    page.get_by_role("button", name="Prepare briefing").click()
    page.get_by_text("partner figures need at least 3").wait_for(timeout=90_000)
    big = {"type": "Polygon", "coordinates": [[[-1.48, 53.37], [-1.46, 53.37], [-1.46, 53.39], [-1.48, 53.39],
                                               [-1.48, 53.37]]]}
    box.fill(json.dumps(big))
    box.press("Control+Enter")
    wait_for_app(page)
    page.get_by_role("button", name="Prepare briefing").click()
    page.get_by_text(re.compile(r"Drawn area · " + quarter)).first.wait_for(timeout=90_000)
    wait_for_app(page)
    with page.expect_download() as dl:
        page.get_by_role("button", name="Download HTML").click()
    drawn = Path(dl.value.path())
    files.append(drawn)
    drawn_html = drawn.read_text()
    assert "whole LSOAs" in drawn_html and "E01" in drawn_html
    text = re.sub(r"<[^>]+>", " ", drawn_html.split("</style>")[1])
    # no monthly series, no month-to-month change: no single month named outside a quarter label
    assert not re.search(r"\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) 20\d\d\b",
                         re.sub(quarter, "", text)), text[:500]

    blobs = list(received)
    for f in files:
        data = f.read_bytes()
        blobs.append(data)
        if data[:5] == b"%PDF-" and shutil.which("pdftotext"):
            blobs.append(subprocess.run(["pdftotext", str(f), "-"], capture_output=True, check=True).stdout)
    everything = b"\n".join(blobs)
    assert len(everything) > 100_000  # the capture really holds the session (maps, briefing)
    assert b"Area summary" in everything and b"OFFICIAL-SENSITIVE" in everything
    leaked_ids = [i for i in secrets["ids"] if i.encode() in everything]
    assert not leaked_ids, leaked_ids[:5]
    leaked_xy = [c for c in secrets["coords"] if c.encode() in everything]
    assert not leaked_xy, leaked_xy[:5]
    leaked_loc = [s for s in secrets["locations"] if s.encode() in everything]
    assert not leaked_loc, leaked_loc[:5]
    assert b"On or near" not in everything
    network_log.assert_offline()
