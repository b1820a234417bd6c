"""Memory bounds: grids are sized before they are allocated, zip archives before they are read."""
import dataclasses
import hashlib
import logging
import tracemalloc
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from geo import GeoInputError, Workspace, io
from geo import grid as grid_mod
from geo.settings import settings as SETTINGS
from geo.emerging import hotspot_emerging
from geo.grid import auto_cell_size, grid_counts
from geo.kde import kde
from tests.conftest import sy_street_csv

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
MONTH = sy_street_csv("2024-01")
DISTRICTS = DATA / "boundaries" / "south-yorkshire" / "districts-and-neighbours-2013.geojson"
#: South Yorkshire's force area is about 63 x 40 km; this box is the same size.
FORCE_BOX = shapely.box(411_000, 378_000, 475_000, 419_000)


def clustered(n=8, months=None):
    """``n`` calls within 30 m of one another (the reported 11.8 m automatic cell)."""
    rng = np.random.default_rng(1)
    x = 440_000 + rng.uniform(0, 30, n)
    y = 395_000 + rng.uniform(0, 30, n)
    cols = {"month": months} if months is not None else {}
    return gpd.GeoDataFrame(cols, geometry=gpd.points_from_xy(x, y), crs="EPSG:27700")


def peak_mb(fn):
    """Run ``fn`` expecting GeoInputError; return the peak Python memory it used (MB)."""
    tracemalloc.start()
    try:
        with pytest.raises(GeoInputError) as err:
            fn()
        return tracemalloc.get_traced_memory()[1] / 1024**2, str(err.value)
    finally:
        tracemalloc.stop()


def test_automatic_cell_size_has_a_lower_bound_and_is_logged(caplog):
    with caplog.at_level(logging.INFO, logger="geo.hotspots.grid"):
        size = auto_cell_size(clustered())
    assert size == SETTINGS.min_auto_cell_m == 50
    assert "below the lower bound; using 50 m" in caplog.text


def test_clustered_points_over_a_force_wide_area_use_a_bounded_grid(monkeypatch):
    """8 clustered calls over the force: the reported case took the server to 19 GB."""
    small = dataclasses.replace(SETTINGS, max_grid_cells=200_000)
    monkeypatch.setattr(grid_mod, "settings", small)
    pts = clustered()
    # 50 m cells over 64 x 41 km is ~1 M cells: refused under this limit, before allocation
    mb, msg = peak_mb(lambda: grid_counts(pts, area=FORCE_BOX))
    assert mb < 20
    assert "1,281 x 821 cells" in msg and "limit of 200,000" in msg
    fits = float(msg.split("use cell_size=")[1].split(" ")[0].replace(",", ""))
    cells = grid_counts(pts, area=FORCE_BOX, cell_size=fits)
    assert len(cells) <= 200_000 and cells["n"].sum() == 8


def test_explicit_tiny_cell_size_is_refused_before_allocating():
    pts = clustered()
    mb, msg = peak_mb(lambda: grid_counts(pts, cell_size=1, area=FORCE_BOX))
    assert mb < 20
    assert "64,001 x 41,001 cells" in msg and "limit of 4,000,000" in msg
    assert "use cell_size=" in msg
    mb, msg = peak_mb(lambda: kde(pts, bandwidth=200, cell_size=1, area=FORCE_BOX))
    assert mb < 20 and msg.startswith("The KDE grid would have")


def test_emerging_cube_counts_cells_times_periods(monkeypatch):
    small = dataclasses.replace(SETTINGS, max_grid_cells=100_000)
    monkeypatch.setattr(grid_mod, "settings", small)
    months = [f"2024-{m:02d}" for m in range(1, 9)]
    pts = clustered(8, months)
    box = shapely.box(440_000, 395_000, 445_000, 400_000)  # 100 x 100 cells of 50 m: fits alone
    assert len(grid_counts(pts, cell_size=50, area=box)) == 10_000
    mb, msg = peak_mb(lambda: hotspot_emerging(pts, cell_size=25, area=box))
    assert "x 8 periods" in msg and "emerging hot-spot cube" in msg and mb < 20


def test_automatic_kde_cell_size_stays_under_the_limit(monkeypatch):
    small = dataclasses.replace(SETTINGS, max_grid_cells=50_000)
    monkeypatch.setattr(grid_mod, "settings", small)
    res = kde(clustered(), bandwidth=50, area=FORCE_BOX)
    assert res.grid.size <= 50_000


# ---------------------------------------------------------------- archives


def zip_bomb(path, mb=20):
    """A small archive that expands about a thousand times."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("2024-01/2024-01-south-yorkshire-street.csv", b"0" * (mb * 1024 * 1024))
    return path


def tree(folder):
    return {p.name: hashlib.sha1(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_zip_bomb_is_refused_before_it_is_read(tmp_path):
    bomb = zip_bomb(tmp_path / "bomb.zip")
    assert bomb.stat().st_size < 100_000
    mb, msg = peak_mb(lambda: io.read_police_uk(bomb))
    assert "expands" in msg and "zip bomb" in msg and mb < 10
    ws_dir = tmp_path / "ws"
    ws_dir.mkdir()
    ws = Workspace.create(ws_dir / "w.gpkg", name="Test", crs="EPSG:27700", force="South Yorkshire")
    ws.close()
    before = tree(ws_dir)
    ws = Workspace.open(ws_dir / "w.gpkg")
    for fn in (lambda: ws.import_crime(bomb),
               lambda: ws.import_calls(bomb, io.ColumnMapping(name="m", category="c", month="m")),
               lambda: ws.import_boundaries(bomb, level="bcu", name_field="n", code_field="c")):
        with pytest.raises(GeoInputError, match="zip bomb"):
            fn()
    ws.close()
    assert tree(ws_dir) == before


def test_archive_size_and_member_limits(tmp_path):
    z = tmp_path / "big.zip"
    with zipfile.ZipFile(z, "w", compression=zipfile.ZIP_STORED) as zf:
        for i in range(30):
            zf.writestr(f"f{i}.csv", b"a,b\n1,2\n" * 100)
    io.check_archive(z)  # within the defaults
    with pytest.raises(GeoInputError, match=r"holds 30 files, more than the limit of 10"):
        io.check_archive(z, max_members=10)
    with pytest.raises(GeoInputError, match=r"expand to 0 MB, above the limit of 0 MB"):
        io.check_archive(z, max_bytes=1000)


def test_a_real_police_uk_zip_passes(tmp_path):
    z = tmp_path / "police.zip"
    with zipfile.ZipFile(z, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.write(MONTH, f"2024-01/{MONTH.name}")
    io.check_archive(z)
    assert io.read_police_uk(z).report.rows_read == 14451


@pytest.mark.parametrize("method", ["gistar", "kde", "emerging"])
def test_every_hotspot_method_refuses_a_tiny_cell_over_the_force(method):
    """The Hotspots page and the CLI call run_hotspots: a 1 m cell must be a message, not bad_alloc."""
    from geo.hotspot_runs import run_hotspots
    pts = clustered(8, [f"2024-{m:02d}" for m in (1, 2, 3, 4, 5, 6, 7, 8)])
    mb, msg = peak_mb(lambda: run_hotspots(pts, method, cell_size=1, area=FORCE_BOX,
                                           **({"bandwidth": 200} if method == "kde" else {})))
    assert "limit of 4,000,000" in msg and "use cell_size=" in msg and mb < 20
