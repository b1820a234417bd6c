"""``python -m geo operations add|list|remove`` on a copy of the South Yorkshire demo."""
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import shapely
from pyproj import Transformer

from geo import Workspace
from geo.cli import main

ROOT = Path(__file__).resolve().parents[1]
CENTRAL = "E05001045"    # Sheffield's Central ward (there are two other wards called Central)
BEIGHTON = "E05001041"


@pytest.fixture
def ws_path(demo_workspaces, tmp_path):
    p = tmp_path / "sy.gpkg"
    shutil.copy(demo_workspaces["south-yorkshire"], p)
    return p


def run(capsys, *args):
    rc = main(["operations", *map(str, args)])
    out = capsys.readouterr()
    return rc, out.out, out.err


def register(path):
    ws = Workspace.open(path)
    try:
        return {o.name: o for o in ws.operations()}, ws.operation_areas(), ws.store.audit_log()
    finally:
        ws.close()


def add(capsys, path, name, *target, start="2025-03-01", end="2025-03-31", tactic="warrant"):
    return run(capsys, "add", "--workspace", path, "--name", name, "--start", start, "--end", end,
               "--tactic", tactic, *target)


def test_add_a_ward_by_code_with_targeted_harms(ws_path, capsys):
    rc, out, err = add(capsys, ws_path, "Op Sycamore", "--unit", f"ward:{CENTRAL}", "--harm", "drugs",
                       "--harm", "ROBBERY", tactic="Crackdown / high-visibility patrol")
    assert rc == 0, err
    assert "Added 'Op Sycamore' (Crackdown / high-visibility patrol, 2025-03-01 to 2025-03-31) in Sheffield BCU" \
        in out
    ops, areas, audit = register(ws_path)
    op = ops["Op Sycamore"]
    assert (op.target_kind, op.target_unit, op.bcu) == ("unit", f"ward:{CENTRAL}", "E08000019")
    assert op.targeted_harms == ["Drugs", "Robbery"]  # the workspace's spelling
    ws = Workspace.open(ws_path)
    ward = ws.boundaries("ward").set_index("code").geometry[CENTRAL]
    ws.close()
    saved = areas.set_index("op_id").geometry[op.op_id]
    assert saved.symmetric_difference(ward).area < 1e-6 * ward.area
    assert f"area {ward.area / 1e4:,.1f} ha" in out
    assert (audit["action"].eq("operation saved") & audit["detail"].eq("Op Sycamore")
            & audit["user"].str.startswith("cli:")).any()  # the local operator, cli:<os user>
    rc, out, _ = run(capsys, "list", "--workspace", ws_path)
    assert rc == 0 and "Op Sycamore\n  2025-03-01 to 2025-03-31 · Crackdown / high-visibility patrol · Sheffield BCU" \
        in out and "targeted harms: Drugs; Robbery" in out and out.rstrip().endswith("3 operations.")
    rc, out, _ = run(capsys, "list", "--workspace", ws_path, "--json")
    assert {d["name"] for d in json.loads(out)} == {"Op Central (demo)", "Op Beighton (demo)", "Op Sycamore"}


def test_a_unique_unit_name_is_resolved_to_its_code(ws_path, capsys):
    rc, out, err = add(capsys, ws_path, "Op B", "--unit", "ward:beighton")
    assert rc == 0, err
    assert register(ws_path)[0]["Op B"].target_unit == f"ward:{BEIGHTON}"


def test_a_point_and_radius_in_degrees_or_metres(ws_path, capsys):
    rc, out, err = add(capsys, ws_path, "Op Dot", "--lonlat", -1.4708, 53.3805, "--radius", 400, tactic="test")
    assert rc == 0, err
    assert "BCU set automatically" in out
    e, n = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True).transform(-1.2, 53.55)  # Doncaster
    rc, out, err = add(capsys, ws_path, "Op EN", "--en", round(e), round(n), "--radius", 300, tactic="Test purchase")
    assert rc == 0, err
    ops, areas, _ = register(ws_path)
    dot, en = ops["Op Dot"], ops["Op EN"]
    assert (dot.target_kind, dot.lon, dot.lat, dot.radius_m, dot.tactic) == (
        "point_radius", -1.4708, 53.3805, 400.0, "Test purchase")
    assert en.bcu == "E08000017"  # Doncaster, chosen from the target
    geom = areas.set_index("op_id").geometry
    assert geom[dot.op_id].area == pytest.approx(math.pi * 400 ** 2, rel=0.01)
    c = geom[en.op_id].centroid
    assert (c.x, c.y) == (pytest.approx(round(e), abs=0.5), pytest.approx(round(n), abs=0.5))


def test_a_geojson_polygon_file(ws_path, capsys, tmp_path):
    square = [[-1.475, 53.378], [-1.465, 53.378], [-1.465, 53.384], [-1.475, 53.384], [-1.475, 53.378]]
    f = tmp_path / "target.geojson"
    f.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "x"}, "geometry": {"type": "Polygon", "coordinates": [square]}}]}))
    rc, out, err = add(capsys, ws_path, "Op Square", "--geojson", f, "--bcu", "Sheffield")
    assert rc == 0, err
    ops, areas, _ = register(ws_path)
    op = ops["Op Square"]
    assert op.target_kind == "polygon" and op.bcu == "E08000019"
    want = shapely.transform(shapely.Polygon(square), lambda xy: __import__("numpy").column_stack(
        Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True).transform(xy[:, 0], xy[:, 1])))
    assert areas.set_index("op_id").geometry[op.op_id].area == pytest.approx(want.area, rel=1e-6)


@pytest.mark.parametrize("content, message", [
    ("{not json", r"not valid GeoJSON"),
    (json.dumps({"type": "Point", "coordinates": [-1.47, 53.38]}), r"is a Point, not a polygon.*--lonlat"),
    (json.dumps({"type": "Polygon", "coordinates": [[[435000, 387000], [436000, 387000], [436000, 388000],
                                                     [435000, 387000]]]}), r"not longitude/latitude.*WGS84"),
    (json.dumps({"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "EPSG:27700"}},
                 "features": []}), r"in EPSG:27700, not WGS84"),
    (json.dumps({"type": "FeatureCollection", "features": []}), r"holds no geometry"),
])
def test_bad_geojson_is_refused_and_nothing_saved(ws_path, capsys, tmp_path, content, message):
    f = tmp_path / "bad.geojson"
    f.write_text(content)
    rc, out, err = add(capsys, ws_path, "Op Bad", "--geojson", f)
    assert rc == 2
    assert __import__("re").search(message, err), err
    assert str(f) in err and "Fix:" in err and "Nothing was changed" in err
    assert "Op Bad" not in register(ws_path)[0]


@pytest.mark.parametrize("args, message", [
    ((), r"Give exactly one target.*--geojson FILE, --unit LEVEL:CODE"),
    (("--unit", f"ward:{CENTRAL}", "--lonlat", "-1.47", "53.38", "--radius", "300"),
     r"exactly one target; got --unit and --lonlat"),
    (("--unit", f"ward:{CENTRAL}", "--radius", "300"), r"--radius only goes with a point target"),
    (("--lonlat", "-1.47", "53.38"), r"point target needs a radius above 0 m"),
    (("--lonlat", "-1.47", "53.38", "--radius", "-5"), r"radius above 0 m"),
    (("--lonlat", "53.38", "-1.47", "--radius", "300"), r"more than 50 km .*swapped"),
    (("--lonlat", "-147", "253.38", "--radius", "300"), r"not longitude and latitude in degrees"),
    (("--en", "-1.47", "53.38", "--radius", "300"), r"look like longitude and latitude.*--lonlat -1.47 53.38"),
    (("--unit", "ward:Central"), r"Several ward units are called 'Central'.*ward:E05001045 \(Central\)"),
    (("--unit", "ward:Nowhere"), r"No ward with code or name 'Nowhere'"),
    (("--unit", "parish:X"), r"no 'parish' boundaries.*bcu"),
    (("--unit", CENTRAL), r"is not LEVEL:CODE"),
    (("--unit", f"ward:{CENTRAL}", "--harm", "Shoplifting", "--harm", "Crack"),
     r"'Crack' is not a crime type.*Anti-social behaviour"),
    (("--unit", f"ward:{CENTRAL}", "--bcu", "Leeds"), r"'Leeds' is not one of this force's BCUs.*E08000019"),
])
def test_bad_targets_say_how_to_fix(ws_path, capsys, args, message):
    rc, out, err = add(capsys, ws_path, "Op Bad", *args)
    assert rc == 2
    assert __import__("re").search(message, err), err
    assert "Fix:" in err
    assert "Op Bad" not in register(ws_path)[0]


@pytest.mark.parametrize("kw, message", [
    ({"start": "2025-3-1"}, r"'2025-3-1' is not a date.*--start.*YYYY-MM-DD"),
    ({"end": "2025-02-30"}, r"'2025-02-30' is not a date.*--end"),
    ({"start": "2025-04-01", "end": "2025-03-01"}, r"end date 2025-03-01 is before the start date"),
    ({"tactic": "raid"}, r"'raid' is not a tactic.*'Warrant or closure order'"),
    ({"tactic": ""}, r"'' is not a tactic"),
])
def test_bad_dates_and_tactics(ws_path, capsys, kw, message):
    rc, out, err = add(capsys, ws_path, "Op Bad", "--unit", f"ward:{CENTRAL}", **kw)
    assert rc == 2
    assert __import__("re").search(message, err), err
    assert "Op Bad" not in register(ws_path)[0]


def test_names_are_unique_and_remove_needs_the_exact_name(ws_path, capsys, tmp_path, monkeypatch):
    from geo.auth import AccountStore
    monkeypatch.setenv("GEO_ACCOUNTS", str(tmp_path / "accounts.db"))
    with AccountStore() as store:
        store.add("a.analyst", "Tt-a-long-test-password-1", "analyst")
    rc, _, err = add(capsys, ws_path, "Op Central (demo)", "--unit", f"ward:{CENTRAL}")
    assert rc == 2 and "already exists" in err
    rc, _, err = run(capsys, "remove", "--workspace", ws_path, "--name", "Op Centra")
    assert rc == 2 and "No operation called 'Op Centra'" in err and "Op Central (demo); Op Beighton (demo)" in err
    assert len(register(ws_path)[0]) == 2
    rc, out, _ = run(capsys, "remove", "--workspace", ws_path, "--name", "Op Central (demo)", "--as", "a.analyst")
    assert rc == 0 and out.startswith("Removed 'Op Central (demo)'")
    ops, areas, audit = register(ws_path)
    assert set(ops) == {"Op Beighton (demo)"} and len(areas) == 1
    assert (audit["action"].eq("operation deleted") & audit["user"].eq("a.analyst")).any()


def test_missing_workspace_and_help(tmp_path, capsys):
    rc, _, err = run(capsys, "list", "--workspace", tmp_path / "none.gpkg")
    assert rc == 2 and "does not exist" in err
    assert not (tmp_path / "none.gpkg").exists()
    r = subprocess.run([sys.executable, "-m", "geo", "operations", "add", "--help"], cwd=ROOT, capture_output=True,
                       text=True)
    assert r.returncode == 0 and "--lonlat LON LAT" in r.stdout and "--en EASTING NORTHING" in r.stdout
