"""An analyst walks through the results analysis of a demo operation in a real Chromium, offline."""
from __future__ import annotations

import os
import re
from pathlib import Path


from tests.browser.conftest import assert_offline, sign_in, wait_for_app, wait_for_map

SHOTS = os.environ.get("MAP_SCREENSHOT_DIR")


def test_analyst_walks_through_the_results_of_an_operation(page, network_log, demo_dashboard):
    sign_in(page, demo_dashboard, "analyst-user")
    page.get_by_test_id("stSidebarNav").get_by_text("Operations", exact=True).click()
    wait_for_app(page)
    page.get_by_role("heading", name="Results analysis").wait_for()

    page.get_by_test_id("stSelectbox").filter(has_text="Analyse operation").click()
    page.get_by_role("option", name="Op Beighton (demo)").click()
    wait_for_app(page)
    page.get_by_text("Op Beighton (demo): before Feb 2025").wait_for(timeout=60_000)
    wait_for_app(page)
    # the verdict is read aloud first: harm, displacement, diffusion, activity, each with its status
    for clause in ("Harm: drug-market harm in the target went from", "Displacement:", "Diffusion:", "Activity:"):
        assert page.get_by_text(clause).first.is_visible(), clause
    assert page.get_by_text("Target drug-market harm, before → after").is_visible()
    assert page.get_by_text("Spread of placebo z-scores").first.is_visible()

    # the supporting sections fill in on the same page (polled; no click): no "still computing" note is left
    page.get_by_text("Still computing").first.wait_for(state="detached", timeout=120_000)
    page.get_by_text("Sensitivity: the buffer reading against its width").first.wait_for(timeout=120_000)
    wait_for_app(page)
    frame = wait_for_map(page)
    control = frame.locator(".leaflet-control-layers-overlays")
    for name in ("Target", "Ring 0–250 m", "Ring 250–500 m", "Ring 500–1,000 m", "Comparison (rest of the BCU)",
                 "BCUs and neighbouring forces"):
        assert control.get_by_text(name, exact=True).is_visible(), name
    frame.locator(".leaflet-overlay-pane canvas").first.wait_for(state="attached")
    assert frame.locator(".geo-legend").get_by_text("Results analysis").is_visible()

    button = page.get_by_role("button", name="Download the report (HTML)")
    assert button.is_visible()
    assert page.get_by_role("button", name="Download the tables (CSV)").is_visible()
    with page.expect_download() as info:
        button.click()
    html = Path(info.value.path()).read_text(encoding="utf-8")
    assert "Results analysis: Op Beighton (demo)" in html and "data:image/png;base64," in html
    # the results map on its own: an offline page with the same layers, and a PNG
    for name in ("Download the map (HTML, works offline)", "Download the map (PNG)"):
        wait_for_app(page)  # each download reruns (audit): the next click waits for that run to end
        with page.expect_download() as info:
            page.get_by_role("button", name=name).click()
        got = Path(info.value.path()).read_bytes()
        if name.endswith("(PNG)"):
            assert got[:8] == b"\x89PNG\r\n\x1a\n" and len(got) > 20_000
        else:
            text = got.decode("utf-8")
            assert "Ring 250" in text and "Comparison (rest of the BCU)" in text and "BCUs and neighbouring forces" in text and "Results analysis" in text
            assert "BCU names" in text and "geo-label" in text   # the BCU names near the catchment, as text
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / "operations_results.png"))
        page.locator('iframe[title="streamlit_folium.st_folium"]').first.scroll_into_view_if_needed()
        page.screenshot(path=str(Path(SHOTS) / "operations_results_map.png"))
    # the other demo operation, then back: each verdict is read aloud in order, every clause with its status
    status = r"(EVIDENCE|NO EVIDENCE|TOO FEW TO TELL): "
    for name in ("Op Central (demo)", "Op Beighton (demo)"):
        # open the list and pick; a rerun that lands while the list is open closes it, so open it again
        for attempt in range(3):
            wait_for_app(page)
            page.get_by_test_id("stSelectbox").filter(has_text="Analyse operation").click()
            option = page.get_by_role("option", name=name)
            try:
                option.wait_for(timeout=10_000)
            except Exception:
                if attempt == 2:
                    raise
                page.keyboard.press("Escape")
                continue
            option.click()
            break
        page.get_by_text(f"{name}: before ").wait_for(timeout=120_000)
        wait_for_app(page)
        shown = page.get_by_test_id("stMain").inner_text()
        found = [re.search(status + topic, shown) for topic in
                 ("Harm: drug-market harm in the target went from", "Displacement:", "Diffusion:", "Activity:")]
        assert all(found), (name, shown[:2000])
        assert [m.start() for m in found] == sorted(m.start() for m in found), name  # harm first
    assert_offline(network_log)
