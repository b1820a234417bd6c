"""The dashboard's Map page in a real Chromium on the South Yorkshire demo workspace."""
from __future__ import annotations

import os
import re
from pathlib import Path


from tests.browser import conftest
from tests.browser.conftest import TEST_PASSWORD, assert_offline, wait_for_app, wait_for_map

#: The first Map page after sign-in loads 18 months of incidents and places them in LSOAs
#: (cold caches): on a busy 2-core machine that can take longer than the usual 30 s.
FIRST_PAGE_MS = 120_000


def _sign_in(page, server, username: str, query: str = "") -> None:
    conftest.open_app(page, server, query)
    page.get_by_role("textbox", name="Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.get_by_role("button", name="Sign out").wait_for(timeout=FIRST_PAGE_MS)
    wait_for_app(page, timeout=FIRST_PAGE_MS)


def open_app(page, server, query: str = "") -> None:
    """Open the dashboard signed in as an analyst."""
    _sign_in(page, server, "analyst-user", query=query)

SHOTS = os.environ.get("MAP_SCREENSHOT_DIR")

#: The map's bounds in the page (streamlit-folium keeps the Leaflet map as ``window.map``).
MAP_BOUNDS = """el => { const b = el.ownerDocument.defaultView.map.getBounds();
                        return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]; }"""


def crime_types(page):
    """The Map page's crime-type picker."""
    return page.get_by_test_id("stMultiSelect").filter(has_text="Crime types").get_by_role("combobox")


def choose_robbery(page):
    box = crime_types(page)
    box.click()
    page.get_by_role("option", name="Robbery", exact=True).click()
    page.keyboard.press("Escape")
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", state="attached",
                           timeout=FIRST_PAGE_MS)


def test_map_page_draws_harm_sites_and_boundaries_offline(page, network_log, demo_dashboard, demo_workspaces):
    from geo import Workspace
    ws = Workspace.open(demo_workspaces["south-yorkshire"])
    shown = len(ws.incidents(layer="crime"))  # located in the force area, all 18 months (250,899)
    ws.close()
    open_app(page, demo_dashboard)
    assert page.get_by_text("Map · South Yorkshire").is_visible()
    assert page.get_by_text(f"{shown:,}").first.is_visible()  # incidents shown, Jan 2024 - Jun 2025
    frame = wait_for_map(page)
    frame.locator(".leaflet-overlay-pane canvas").first.wait_for(state="attached")
    control = frame.locator(".leaflet-control-layers-overlays")
    for name in ("Harm (CCHI days) by LSOA", "Schools and drug treatment", "Other sensitive sites", "BCUs",
                 "Wards", "Neighbourhoods", "Ward names", "BCU names"):
        assert control.get_by_text(name, exact=True).is_visible(), name
    legends = frame.locator(".geo-legend")
    assert legends.get_by_text("Harm (CCHI days)").is_visible()
    assert legends.get_by_text("Treatment", exact=True).is_visible()
    assert legends.get_by_text("School", exact=True).is_visible()
    assert frame.locator(".leaflet-tile").count() == 0  # no tile server configured
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / "dashboard_map.png"), full_page=True)
    assert_offline(network_log)


def test_a_single_crime_type_is_drawn_as_points(page, network_log, demo_dashboard):
    open_app(page, demo_dashboard)
    choose_robbery(page)
    frame = wait_for_map(page)
    # the rerun may not have started when the script state is read: wait for the redrawn map itself
    # (a loaded 2-core machine takes longer than Playwright's default 30 s)
    control = frame.locator(".leaflet-control-layers-overlays")
    control.get_by_text("Incidents", exact=True).wait_for(timeout=FIRST_PAGE_MS)
    frame.locator(".geo-legend").get_by_text("Robbery").first.wait_for(timeout=FIRST_PAGE_MS)
    assert frame.locator(".geo-legend").get_by_text("Robbery").first.is_visible()
    assert_offline(network_log)


def test_the_inspectors_map_is_framed_on_their_own_bcu(page, network_log, demo_dashboard, demo_workspaces):
    from geo import Workspace
    ws = Workspace.open(demo_workspaces["south-yorkshire"])
    bcus = ws.bcus().to_crs(4326).set_index("code")
    ws.close()
    _sign_in(page, demo_dashboard, "inspector-user")  # Sheffield (E08000019) only
    frame = wait_for_map(page)
    frame.locator(".leaflet-geo_fill-pane canvas").first.wait_for(state="attached")
    west, south, east, north = frame.locator(".leaflet-container").evaluate(MAP_BOUNDS)
    cx, cy = (west + east) / 2, (south + north) / 2
    x0, y0, x1, y1 = bcus.loc["E08000019"].geometry.bounds
    assert x0 < cx < x1 and y0 < cy < y1, "the map is not centred on Sheffield"
    fx0, fy0, fx1, fy1 = bcus.loc[["E08000016", "E08000017", "E08000018", "E08000019"]].total_bounds
    assert not (west <= fx0 and east >= fx1 and south <= fy0 and north >= fy1), "framed on the whole force"
    doncaster = bcus.loc["E08000017"].geometry.representative_point()
    assert not (west < doncaster.x < east and south < doncaster.y < north), "Doncaster is in view"
    assert_offline(network_log)


def test_crime_points_are_drawn_above_the_sites(page, network_log, demo_dashboard):
    open_app(page, demo_dashboard)
    choose_robbery(page)
    frame = wait_for_map(page)
    frame.locator(".leaflet-geo_crime-pane canvas").first.wait_for(state="attached")
    z = {pane: int(frame.locator(f".leaflet-{pane}-pane").evaluate("el => getComputedStyle(el).zIndex"))
         for pane in ("geo_fill", "geo_lines", "geo_sites", "geo_crime")}
    assert z["geo_crime"] > z["geo_sites"] > z["geo_lines"] > z["geo_fill"]
    assert frame.locator(".leaflet-geo_sites-pane canvas").count() >= 1  # schools and treatment are drawn
    control = frame.locator(".leaflet-control-layers-overlays")
    assert control.get_by_text("Other sensitive sites", exact=True).is_visible()
    boxes = {name: control.locator("label").filter(has_text=re.compile(rf"^\s*{re.escape(name)}\s*$"))
             .locator("input").first.is_checked()
             for name in ("Incidents", "Schools and drug treatment", "Other sensitive sites")}
    assert boxes == {"Incidents": True, "Schools and drug treatment": True, "Other sensitive sites": False}
    assert frame.locator(".leaflet-control-scale").count() == 1
    assert_offline(network_log)


def test_the_map_downloads_as_csv_html_and_png(page, network_log, demo_dashboard):
    open_app(page, demo_dashboard)
    choose_robbery(page)
    # the filters rerun only the map fragment: wait for the robbery points before downloading
    wait_for_map(page).locator(".leaflet-control-layers-overlays").get_by_text("Incidents", exact=True).wait_for()
    got = {}
    for label in ("Download what is shown (CSV)", "Download the map (HTML, works offline)",
                  "Download the map (PNG)"):
        # each click records an audit line and reruns: a click during that rerun can reach a button
        # that is being replaced, so wait for the run to finish first
        wait_for_app(page)
        with page.expect_download() as info:
            page.get_by_role("button", name=label).click()
        got[label] = Path(info.value.path()).read_bytes()
    csv = got["Download what is shown (CSV)"].decode("utf-8")
    assert csv.splitlines()[0].startswith("map layer,")
    assert "\nIncidents," in csv and "\nSchools and drug treatment," in csv
    html = got["Download the map (HTML, works offline)"].decode("utf-8")
    assert "Leaflet 1.9.4" in html and "/app/static/vendor" not in html  # inlined: opens on its own
    assert got["Download the map (PNG)"][:8] == b"\x89PNG\r\n\x1a\n"
    assert_offline(network_log)


def test_the_wheel_scrolls_the_page_until_the_map_is_clicked(page, network_log, demo_dashboard):
    """A map on a long page does not take the page's scrolling over: the wheel zooms it only after a click."""
    open_app(page, demo_dashboard)
    frame = wait_for_map(page)
    frame.locator(".leaflet-overlay-pane canvas").first.wait_for(state="attached")
    container = frame.locator(".leaflet-container").first
    zoom = lambda: container.evaluate("el => el.ownerDocument.defaultView.map.getZoom()")  # noqa: E731
    scrolled = lambda: page.evaluate(  # noqa: E731
        "() => Math.max(...[...document.querySelectorAll('*')].map(e => e.scrollTop))")
    before, top = zoom(), scrolled()
    box = container.bounding_box()
    assert box["y"] < page.viewport_size["height"] - 60, "the map's top is not on the first screen"
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 40)  # over the map, on the screen
    for _ in range(3):
        page.mouse.wheel(0, 300)
        page.wait_for_timeout(300)
    assert zoom() == before, "the wheel zoomed a map nobody had clicked"
    assert scrolled() > top, "the page did not scroll under the wheel"
    container.scroll_into_view_if_needed()  # the page has moved: press the map where it is now
    box = container.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, 300)
    page.wait_for_function("([el, z]) => el.ownerDocument.defaultView.map.getZoom() < z",
                           arg=[container.element_handle(), before], timeout=10_000)
    assert_offline(network_log)
