"""An installed offline basemap (geo.tiles) under the dashboard's map, served by the dashboard itself."""
from __future__ import annotations

import io
import math
import shutil
import sqlite3
import uuid

import pytest

from geo import Workspace, tiles
from tests.browser.conftest import REPO_ROOT, assert_offline, make_accounts, sign_in, wait_for_app, wait_for_map


def tile_xy(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 1 << z
    return (int((lon + 180) / 360 * n),
            int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n))


@pytest.fixture(scope="module")
def basemap(demo_workspaces, tmp_path_factory):
    """An MBTiles file covering Portland at zoom 8-13, installed into dashboard/static/tiles, removed after."""
    from PIL import Image
    out = io.BytesIO()
    Image.new("RGB", (256, 256), (250, 240, 200)).save(out, format="PNG")
    tile = out.getvalue()
    ws = Workspace.open(demo_workspaces["portland"])
    minx, miny, maxx, maxy = ws.incidents().to_crs(4326).total_bounds
    ws.close()
    rows = []
    for z in range(8, 14):
        x0, y0 = tile_xy(minx - 0.2, maxy + 0.2, z)
        x1, y1 = tile_xy(maxx + 0.2, miny - 0.2, z)
        rows += [(z, x, (1 << z) - 1 - y, tile) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
    path = tmp_path_factory.mktemp("mbtiles") / "portland.mbtiles"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
    con.execute("CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB)")
    con.executemany("INSERT INTO metadata VALUES (?, ?)", [("format", "png"), ("attribution", "Test <b>tiles</b>")])
    con.executemany("INSERT INTO tiles VALUES (?, ?, ?, ?)", rows)
    con.commit()
    con.close()
    got = tiles.install_mbtiles(path, name=f"test-{uuid.uuid4().hex[:8]}")
    assert got.folder.parent == REPO_ROOT / "dashboard" / "static" / "tiles"
    yield got
    shutil.rmtree(got.folder, ignore_errors=True)


def test_the_map_draws_the_installed_basemap_from_the_dashboard(page, network_log, streamlit_app, demo_workspaces,
                                                                 basemap, tmp_path_factory):
    folder = tmp_path_factory.mktemp("basemap-workspaces")
    shutil.copy(demo_workspaces["portland"], folder / "portland.gpkg")
    ws = Workspace.open(folder / "portland.gpkg")
    ws.set_setting("tile_url", basemap.url)
    ws.set_setting("tile_attribution", basemap.attribution)
    ws.close()
    accounts = make_accounts(folder / "accounts.db")
    server = streamlit_app("dashboard/app.py", env={"GEO_WORKSPACES": str(folder), "GEO_ACCOUNTS": str(accounts)})
    sign_in(page, server, "analyst-user")
    wait_for_app(page)
    frame = wait_for_map(page)
    frame.locator("img.leaflet-tile-loaded").first.wait_for(state="attached", timeout=30_000)
    loaded = frame.locator("img.leaflet-tile-loaded").evaluate_all("els => els.map(e => e.src)")
    assert loaded and all(f"/app/static/tiles/{basemap.name}/" in src for src in loaded), loaded[:3]
    # the attribution is shown as text, not markup
    attribution = frame.locator(".leaflet-control-attribution")
    assert "Test <b>tiles</b>" in attribution.inner_text()
    assert attribution.locator("b").count() == 0
    assert_offline(network_log)
