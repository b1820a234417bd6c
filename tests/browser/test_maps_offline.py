"""geo.maps in a real browser: layers drawn, legends shown, nothing fetched from the internet."""
from __future__ import annotations

import os
import time
from pathlib import Path

from tests.browser.conftest import assert_offline, open_app, wait_for_map

LAYERS = ["Harm (grid)", "Operation areas", "Beats", "Crimes", "Sensitive sites"]
SCREENSHOT_DIR = os.environ.get("MAP_SCREENSHOT_DIR")  # set to keep screenshots


def _screenshot(page, name: str) -> None:
    if SCREENSHOT_DIR:
        Path(SCREENSHOT_DIR).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOT_DIR) / name), full_page=True)


def test_map_draws_all_layers_offline(page, network_log, map_demo_app):
    open_app(page, map_demo_app)
    frame = wait_for_map(page)

    # Canvas renderer (prefer_canvas): polygons and circles are drawn on a canvas.
    assert frame.locator(".leaflet-overlay-pane canvas").count() >= 1
    control = frame.locator(".leaflet-control-layers-overlays")
    for name in LAYERS:
        assert control.get_by_text(name, exact=True).is_visible(), name
    legends = frame.locator(".geo-legend")
    assert legends.get_by_text("Harm (CCHI days)").is_visible()
    assert legends.get_by_text("Sensitive sites (rings: 200, 400 m)").is_visible()
    assert legends.get_by_text("Bail hostel").is_visible()
    assert frame.locator(".leaflet-draw-draw-polygon").is_visible()  # leaflet-draw loaded
    assert frame.locator(".leaflet-control-scale").is_visible()
    assert frame.locator(".leaflet-tile").count() == 0  # no basemap configured
    _screenshot(page, "map_demo.png")

    # A legend follows its layer in the layer control.
    control.get_by_text("Harm (grid)", exact=True).click()
    assert legends.get_by_text("Harm (CCHI days)").count() == 0
    control.get_by_text("Harm (grid)", exact=True).click()
    assert legends.get_by_text("Harm (CCHI days)").is_visible()

    assert any("/app/static/vendor/leaflet/leaflet.js" in u for u in network_log.requests)
    assert not [f for f in network_log.failed if "/app/static/" in f], network_log.failed
    assert_offline(network_log)


def test_many_points_are_clustered_offline(page, network_log, map_demo_app):
    open_app(page, map_demo_app, "points=3000")  # the app's max_points is 500
    frame = wait_for_map(page)
    clusters = frame.locator(".marker-cluster")
    clusters.first.wait_for()

    # After the fit-bounds zoom markercluster animates: for a moment the old clusters
    # (fading, opacity 0) and the new ones are both in the page. Count once the map is
    # still (no zoom or cluster animation) and two readings agree.
    settled = """body => {
        const busy = body.querySelector('.leaflet-zoom-anim, .leaflet-cluster-anim') !== null;
        const shown = [...body.querySelectorAll('.marker-cluster')]
            .filter(c => getComputedStyle(c).opacity !== '0');
        return {busy, n: shown.length,
                points: shown.reduce((a, c) => a + (parseInt(c.innerText, 10) || 0), 0)};
    }"""
    previous, deadline = None, time.monotonic() + 15
    while time.monotonic() < deadline:
        now = frame.locator("body").evaluate(settled)
        if not now["busy"] and now == previous:
            break
        previous = now
        time.sleep(0.3)
    assert not now["busy"], "the map was still animating after 15 s"
    assert now["n"] >= 2
    assert 2000 < now["points"] <= 3000  # the rest are lone points, drawn as circles
    _screenshot(page, "map_demo_clusters.png")
    assert_offline(network_log)


def test_standalone_export_works_offline(page, network_log, tmp_path):
    """The exported single-file map draws with nothing but itself."""
    import geopandas as gpd
    from shapely.geometry import box

    from geo import maps

    x0, y0 = 429_000, 433_000
    cells = gpd.GeoDataFrame(
        {"harm": [1.0, 5.0, 9.0]},
        geometry=[box(x0 + i * 250, y0, x0 + (i + 1) * 250, y0 + 250) for i in range(3)],
        crs="EPSG:27700")
    m = maps.base_map(maps.wgs84_bounds(cells))
    maps.add_choropleth(m, cells, "harm", name="Harm (grid)", label="Harm (CCHI days)")
    path = tmp_path / "map.html"
    path.write_text(maps.render_standalone(maps.finish(m)), encoding="utf-8")

    page.goto(path.as_uri())
    page.locator(".leaflet-overlay-pane canvas").wait_for(state="attached")
    assert page.locator(".geo-legend").get_by_text("Harm (CCHI days)").is_visible()
    assert page.evaluate("() => L.version") == "1.9.4"
    assert [u for u in network_log.requests if not u.startswith("data:")] == [path.as_uri()]
