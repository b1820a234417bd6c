"""Bad files and bad moments get a message, not a traceback: the reported cases, one test each."""
import hashlib
import json
import sqlite3
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from geo import GeoInputError, Workspace, io
from geo.store import GpkgStore, StoreError
from tests.conftest import sy_street_csv

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
MONTH = sy_street_csv("2024-01")
DISTRICTS = DATA / "boundaries" / "south-yorkshire" / "districts-and-neighbours-2013.geojson"
HEADER = ",".join(io.POLICE_UK_STREET_COLUMNS)
ROW = ",2024-01,South Yorkshire Police,South Yorkshire Police,-1.470000,53.380000,On or near X,E01,Sheffield 001A,{cat},,"


def sha(path):
    return hashlib.sha1(Path(path).read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def sy_workspace(tmp_path_factory):
    """A workspace with the South Yorkshire BCUs (its area) and one month of crime."""
    p = tmp_path_factory.mktemp("ws") / "w.gpkg"
    ws = Workspace.create(p, name="Test", crs="EPSG:27700", force="South Yorkshire")
    ws.import_boundaries(DISTRICTS, level="bcu", name_field="LAD13NM", code_field="LAD13CD",
                         force_field="police_force")
    ws.import_crime(MONTH)
    ws.close()
    return p


@pytest.fixture
def ws_copy(sy_workspace, tmp_path):
    p = tmp_path / "w.gpkg"
    p.write_bytes(sy_workspace.read_bytes())
    return p


# ---------------------------------------------------------------- CSV shape


def test_cr_only_line_endings_are_refused_with_the_fix(tmp_path):
    f = tmp_path / "mac.csv"
    f.write_bytes((HEADER + "\r" + ROW.format(cat="Burglary") + "\r").encode())
    with pytest.raises(GeoInputError, match=r"carriage return only.*Fix: save it again as 'CSV UTF-8'"):
        io.read_police_uk(f)
    g = tmp_path / "calls.csv"
    g.write_bytes(b"type,when,lon,lat\rDrugs,2024-01-02,-1.47,53.38\r")
    with pytest.raises(GeoInputError, match="carriage return only"):
        io.read_incidents(g, io.ColumnMapping(name="m", category="type", timestamp="when", x="lon", y="lat"))


def test_rejected_rows_after_a_quoted_newline_report_the_physical_line(tmp_path):
    f = tmp_path / "multi.csv"
    lines = [HEADER,
             ROW.format(cat="Burglary").replace("On or near X", '"On or near\nTwo Lines"'),  # lines 2-3
             ROW.format(cat="Burglary"),                                                       # line 4
             "",                                                                               # line 5 blank
             ROW.format(cat="Not a crime type")]                                               # line 6
    f.write_text("\n".join(lines) + "\n")
    r = io.read_police_uk(f)
    assert r.report.rows_read == 3
    assert r.report.rejected["row"].tolist() == [6]
    assert "Not a crime type" in f.read_text().splitlines()[6 - 1]


def test_a_csv_given_as_boundaries_is_refused(tmp_path, ws_copy):
    f = tmp_path / "units.csv"
    f.write_text("name,code\nSheffield,E08000019\n")
    with pytest.raises(GeoInputError, match=r"not a boundary file.*polygon geometry"):
        io.read_boundaries(f, level="bcu", name_field="name", code_field="code")
    before = sha(ws_copy)
    ws = Workspace.open(ws_copy)
    with pytest.raises(GeoInputError, match="not a boundary file"):
        ws.import_boundaries(f, level="ward", name_field="name", code_field="code")
    ws.close()
    assert sha(ws_copy) == before


# ---------------------------------------------------------------- boundary geometry and CRS


def _feature(name, code, ring):
    return {"type": "Feature", "properties": {"name": name, "code": code},
            "geometry": {"type": "Polygon", "coordinates": [ring]}}


GOOD = [[-1.50, 53.36], [-1.45, 53.36], [-1.45, 53.40], [-1.50, 53.36]]
OPEN = [[-1.50, 53.36], [-1.45, 53.36], [-1.45, 53.40], [-1.48, 53.41]]


def test_one_unclosed_ring_names_the_feature_and_repair_lists_it(tmp_path):
    f = tmp_path / "wards.geojson"
    f.write_text(json.dumps({"type": "FeatureCollection", "features": [
        _feature("Good Ward", "E05000001", GOOD), _feature("Open Ward", "E05000002", OPEN)]}))
    with pytest.raises(GeoInputError, match=r"1 feature\(s\).*LinearRing.*feature 2 name 'Open Ward' code "
                                            r"'E05000002'.*Fix: repair them in QGIS.*--repair"):
        io.read_boundaries(f, level="ward", name_field="name", code_field="code")
    r = io.read_boundaries(f, level="ward", name_field="name", code_field="code", repair=True)
    assert r.frame["code"].tolist() == ["E05000001", "E05000002"] and r.frame.geometry.is_valid.all()
    assert any("repaired feature 2 name 'Open Ward'" in w for w in r.report.warnings)


def test_geojson_declaring_bng_but_holding_degrees_is_refused(tmp_path):
    f = tmp_path / "wards.geojson"
    f.write_text(json.dumps({"type": "FeatureCollection",
                             "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::27700"}},
                             "features": [_feature("Good Ward", "E05000001", GOOD)]}))
    with pytest.raises(GeoInputError, match=r"says its CRS is EPSG:27700.*degrees.*Fix: remove the wrong 'crs'"):
        io.read_boundaries(f, level="ward", name_field="name", code_field="code")


def test_shapefile_without_prj_is_not_placed_in_africa(tmp_path):
    far = gpd.GeoDataFrame({"name": ["A"], "code": ["X1"]},
                           geometry=[shapely.box(20.0, 5.0, 20.1, 5.1)], crs="EPSG:4326")
    far.to_file(tmp_path / "far.shp")
    (tmp_path / "far.prj").unlink()
    with pytest.raises(GeoInputError, match=r"no CRS \(for a Shapefile: no \.prj file\).*Fix: put the \.prj file"):
        io.read_boundaries(tmp_path / "far.shp", level="ward", name_field="name", code_field="code")
    # degrees inside Great Britain without a .prj: read as WGS84, and said so
    near = far.set_geometry([shapely.box(-1.5, 53.36, -1.45, 53.40)], crs="EPSG:4326")
    near.to_file(tmp_path / "near.shp")
    (tmp_path / "near.prj").unlink()
    r = io.read_boundaries(tmp_path / "near.shp", level="ward", name_field="name", code_field="code")
    assert any("no CRS" in w and "WGS84" in w for w in r.report.warnings)


def test_boundaries_far_from_the_workspace_are_refused(tmp_path, ws_copy):
    f = tmp_path / "london.geojson"
    f.write_text(json.dumps({"type": "FeatureCollection", "features": [
        _feature("Westminster", "E09000033", [[-0.15, 51.49], [-0.12, 51.49], [-0.12, 51.51], [-0.15, 51.49]])]}))
    before = sha(ws_copy)
    ws = Workspace.open(ws_copy)
    with pytest.raises(GeoInputError, match=r"None of the boundaries lies in or within 20 km.*km away"):
        ws.import_boundaries(f, level="ward", name_field="name", code_field="code")
    ws.close()
    assert sha(ws_copy) == before


# ---------------------------------------------------------------- points in the area


def test_swapped_x_and_y_in_a_mapping_are_refused(tmp_path, ws_copy):
    """Both columns fit longitude ranges (53.38 and -1.47), so only the area can tell."""
    f = tmp_path / "calls.csv"
    f.write_text("type,when,lon,lat\n" + "".join(f"Drugs,2024-01-0{i},-1.4{i},53.3{i}\n" for i in range(1, 6)))
    swapped = io.ColumnMapping(name="swapped", category="type", timestamp="when", x="lat", y="lon")
    before = sha(ws_copy)
    ws = Workspace.open(ws_copy)
    with pytest.raises(GeoInputError, match=r"5 of 5 located rows.*look swapped.*swap x and y in mapping 'swapped'"):
        ws.import_calls(f, swapped)
    ws.close()
    assert sha(ws_copy) == before
    ok = io.read_incidents(f, io.ColumnMapping(name="ok", category="type", timestamp="when", x="lon", y="lat"),
                           area=Workspace.open(ws_copy).area())
    assert ok.report.outcomes["rejected"] == 0 and ok.report.outcomes["mapped"] >= 1  # near: kept


def test_points_for_another_area_name_the_likely_cause(tmp_path, ws_copy):
    f = tmp_path / "london.csv"
    f.write_text("type,when,lon,lat\n" + "".join(f"Drugs,2024-01-0{i},-0.1{i},51.5{i}\n" for i in range(1, 6)))
    ws = Workspace.open(ws_copy)
    with pytest.raises(GeoInputError, match=r"CRS \(EPSG:4326\) is probably wrong, or the file is for another area"):
        ws.import_calls(f, io.ColumnMapping(name="m", category="type", timestamp="when", x="lon", y="lat"))
    ws.close()


# ---------------------------------------------------------------- store errors


def test_disk_full_says_disk_full_and_changes_nothing(ws_copy):
    before = sha(ws_copy)
    ws = Workspace.open(ws_copy)
    pages = ws.store._conn.execute("PRAGMA page_count").fetchone()[0]
    ws.store._conn.execute(f"PRAGMA max_page_count = {pages + 2}")  # a nearly full disk
    months = [sy_street_csv(m) for m in ("2024-01", "2024-02", "2024-03", "2024-04")]
    with pytest.raises(StoreError, match=r"disk .* is full; nothing was changed.*Fix: free disk space") as err:
        ws.import_crime(months[1])
    assert "cannot rollback" not in str(err.value)
    assert isinstance(err.value, GeoInputError)  # pages and the CLI show it as a message
    ws.close()
    assert sha(ws_copy) == before
    assert GpkgStore(ws_copy).integrity_ok()


def test_a_lock_held_past_the_timeout_is_a_message(ws_copy):
    other = sqlite3.connect(ws_copy, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another writer holds the workspace
    try:
        ws = Workspace(GpkgStore(ws_copy, timeout=0.05))
        with pytest.raises(StoreError, match=r"workspace is busy.*Fix: try again in a minute"):
            ws.import_crime(MONTH)
        with pytest.raises(StoreError, match="busy"):
            ws.store.audit("someone", "sign-in")
        ws.close()
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_a_file_that_is_not_a_workspace_is_a_message(tmp_path):
    f = tmp_path / "x.gpkg"
    f.write_bytes(b"this is not a GeoPackage" * 100)
    with pytest.raises(StoreError, match=r"damaged.*Fix: restore it from the last backup"):
        Workspace.open(f)


def test_store_errors_are_still_sqlite_errors_for_existing_handlers(ws_copy):
    other = sqlite3.connect(ws_copy, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        store = GpkgStore(ws_copy, timeout=0.05)
        with pytest.raises(sqlite3.OperationalError, match="busy"):
            store.audit("someone", "sign-in")
        store.close()
    finally:
        other.execute("ROLLBACK")
        other.close()
