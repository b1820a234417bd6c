"""The dashboard's Map page in a real Chromium on the South Yorkshire demo workspace."""
from __future__ import annotations

import os
from pathlib import Path


from tests.browser.conftest import assert_offline, wait_for_map
from tests.browser.conftest import sign_in as _sign_in


def open_app(page, server, query: str = "") -> None:
    """Open the dashboard signed in as an analyst."""
    _sign_in(page, server, "analyst-user", query=query)

SHOTS = os.environ.get("MAP_SCREENSHOT_DIR")


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
    for name in ("Harm (CCHI days) by LSOA", "Sensitive sites", "BCUs (neighbours grey)", "Wards",
                 "Neighbourhoods"):
        assert control.get_by_text(name, exact=True).is_visible(), name
    legends = frame.locator(".geo-legend")
    assert legends.get_by_text("Harm (CCHI days)").is_visible()
    assert legends.get_by_text("Treatment").is_visible()
    assert legends.get_by_text("School").is_visible()
    assert frame.locator(".leaflet-tile").count() == 0  # no tile server configured
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / "dashboard_map.png"), full_page=True)
    assert_offline(network_log)


def test_a_single_crime_type_is_drawn_as_points(page, network_log, demo_dashboard):
    open_app(page, demo_dashboard)
    box = page.get_by_test_id("stSidebar").get_by_role("combobox").nth(1)  # crime types
    box.click()
    page.get_by_role("option", name="Robbery", exact=True).click()
    page.keyboard.press("Escape")
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", state="attached")
    frame = wait_for_map(page)
    control = frame.locator(".leaflet-control-layers-overlays")
    control.get_by_text("Incidents", exact=True).wait_for()
    assert frame.locator(".geo-legend").get_by_text("Robbery").first.is_visible()
    assert_offline(network_log)
