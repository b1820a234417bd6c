"""The Hotspots page in a real Chromium on the South Yorkshire demo workspace."""
from __future__ import annotations

import os
from pathlib import Path


from tests.browser.conftest import assert_offline, sign_in, wait_for_app, wait_for_map

SHOTS = os.environ.get("MAP_SCREENSHOT_DIR")

# Polygons drawn by Leaflet in the map's iframe, by fill colour (the canvas renderer keeps no DOM nodes).
COUNT_POLYGONS = """() => {
    const maps = [...new Set(Object.values(window).filter(v => v instanceof L.Map))];
    const out = {};
    maps.forEach(m => m.eachLayer(l => {
        if (l instanceof L.Polygon) { const c = l.options.fillColor; out[c] = (out[c] || 0) + 1; }
    }));
    return out;
}"""


def test_hotspots_page_draws_classes_and_legend_offline(page, network_log, demo_dashboard):
    sign_in(page, demo_dashboard, "analyst-user")
    page.get_by_test_id("stSidebarNav").get_by_text("Hotspots", exact=True).click()
    page.get_by_text("Hotspots · South Yorkshire").wait_for()
    wait_for_app(page)
    frame = wait_for_map(page)
    frame.locator(".leaflet-overlay-pane canvas").first.wait_for(state="attached")

    legends = frame.locator(".geo-legend")
    legends.get_by_text("Gi* hot and cold spots (harm, FDR 5%)").wait_for()
    assert legends.get_by_text("Hot spot 99%", exact=False).first.is_visible()
    assert legends.get_by_text("Most exposed sites (rings: 200 m)").is_visible()
    control = frame.locator(".leaflet-control-layers-overlays")
    for name in ("Hot spots", "Most exposed sites", "BCUs"):
        assert control.get_by_text(name, exact=True).is_visible(), name

    drawn = frame.locator("body").evaluate(COUNT_POLYGONS)
    hot99 = drawn.get("#b2182b", 0)
    assert hot99 > 20, drawn                       # the 99% hot cells, as polygons
    legend_99 = legends.get_by_text("Hot spot 99%", exact=False).first.inner_text()
    assert f"({hot99:,})" in legend_99             # the legend counts what is drawn
    assert frame.locator(".leaflet-tile").count() == 0
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / "dashboard_hotspots.png"), full_page=True)

    # switching to emerging hot spots swaps the hot-spot layer and its legend; the base map stays mounted
    frame.locator("body").evaluate("() => { window.geoKept = 1; }")
    page.get_by_test_id("stSelectbox").filter(has_text="Method").click()
    page.get_by_role("option", name="Emerging hot spots").click()
    wait_for_app(page)
    frame = wait_for_map(page)
    frame.locator(".geo-legend").get_by_text("Emerging hot spots (18 months)").wait_for()
    assert frame.locator(".geo-legend").get_by_text("Persistent Hot Spot", exact=False).first.is_visible()
    assert frame.locator(".geo-legend").get_by_text("Gi* hot and cold spots", exact=False).count() == 0
    assert frame.locator("body").evaluate("() => window.geoKept") == 1  # the same map, not a new frame
    control = frame.locator(".leaflet-control-layers-overlays")
    for name in ("Hot spots", "BCUs"):
        assert control.get_by_text(name, exact=True).count() == 1, name

    # the HTML download is the whole map: base and the swapped layers. The legend arrives before the
    # download buttons are re-sent: wait for the run to finish, or the click reaches the old button.
    wait_for_app(page)
    with page.expect_download() as dl:
        page.get_by_role("button", name="Map (HTML, works offline)").click()
    html = Path(dl.value.path()).read_text(encoding="utf-8")
    assert "Emerging hot spots (18 months)" in html and "BCUs" in html
    assert_offline(network_log)

    # the PNG of the same map: the emerging classes in their colours (no tiles: it works offline)
    wait_for_app(page)
    with page.expect_download() as dl:
        page.get_by_role("button", name="Map (PNG)").click()
    png = Path(dl.value.path()).read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    import io

    import matplotlib.image as mpimg
    import numpy as np

    from geo.render import palette
    img = (mpimg.imread(io.BytesIO(png))[..., :3] * 255).round().astype(int).reshape(-1, 3)
    colours = {"#{:02x}{:02x}{:02x}".format(*c) for c in np.unique(img, axis=0)}
    assert palette.class_color("Persistent Hot Spot") in colours
    assert_offline(network_log)
