"""Workspace store: idempotent re-import, atomic writes under SIGKILL, operations round trip."""
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest

from geo import GeoInputError, Operation, Workspace
from tests.conftest import SY_MONTH_ROWS, sy_street_csv

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
MONTHS = [sy_street_csv(m) for m in ("2024-01", "2024-02")]
DISTRICTS = DATA / "boundaries" / "south-yorkshire" / "districts-and-neighbours-2013.geojson"


def new_workspace(path) -> Workspace:
    ws = Workspace.create(path, name="Test", crs="EPSG:27700", force="South Yorkshire")
    ws.import_boundaries(DISTRICTS, level="bcu", name_field="LAD13NM", code_field="LAD13CD",
                         force_field="police_force")
    return ws


def counts(path):
    con = sqlite3.connect(path)
    try:
        return (con.execute("SELECT count(*) FROM incidents").fetchone()[0],
                con.execute("SELECT count(*) FROM import_history").fetchone()[0],
                con.execute("SELECT count(*) FROM operations").fetchone()[0])
    finally:
        con.close()


def test_importing_the_same_file_twice_does_not_double_count(tmp_path):
    ws = new_workspace(tmp_path / "w.gpkg")
    first = ws.import_crime(MONTHS[0])
    second = ws.import_crime(MONTHS[0])
    assert first.new == first.rows_read == 14451 and first.duplicates == 0
    assert second.new == 0 and second.duplicates == 14451
    stored = ws.store.read_incidents()
    assert len(stored) == 14451
    asb = stored["category"].eq("Anti-social behaviour").sum()
    assert asb == 1830  # every ASB row kept, though 464 of them repeat another row's content
    # a folder holding that month again and the next: only the next is new
    folder = tmp_path / "two-months"
    for p in MONTHS:
        (folder / p.parent.name).mkdir(parents=True)
        (folder / p.parent.name / p.name).write_bytes(p.read_bytes())
    both = ws.import_crime(folder)
    assert both.rows_read == SY_MONTH_ROWS["2024-01"] + SY_MONTH_ROWS["2024-02"]
    assert both.new == SY_MONTH_ROWS["2024-02"] and both.duplicates == 14451
    ws.close()


def test_workspace_is_a_geopackage_qgis_can_open(tmp_path):
    p = tmp_path / "w.gpkg"
    ws = new_workspace(p)
    ws.import_crime(MONTHS[0])
    ws.close()
    layers = dict(pyogrio.list_layers(p))
    assert {"incidents", "boundaries", "sites", "operations"} <= set(layers)
    g = gpd.read_file(p, layer="incidents", engine="pyogrio")
    assert len(g) == 14451 and g.crs.to_epsg() == 27700
    assert g.geometry.notna().sum() == 14451 - 711  # rows without coordinates have no geometry
    b = gpd.read_file(p, layer="boundaries")
    assert len(b) == 19


def test_malformed_file_changes_nothing(tmp_path):
    p = tmp_path / "w.gpkg"
    ws = new_workspace(p)
    ws.import_crime(MONTHS[0])
    before = counts(p)
    bad = tmp_path / "bad.csv"
    bad.write_text("Crime ID;Month\n1;2024-01\n")
    with pytest.raises(GeoInputError, match="semicolons"):
        ws.import_crime(bad)
    assert counts(p) == before
    ws.close()


def _kill_mid_save(tmp_path, code: str, ws_path: Path):
    """Run `code` in a real subprocess that pauses inside its transaction; SIGKILL it there."""
    flag = tmp_path / "in-transaction.flag"
    env = dict(os.environ, GEO_FAULT_PAUSE=str(flag), PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-c", code, str(ws_path)], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while not flag.exists():
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.time() < deadline, "the import never reached its commit"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    return proc


def test_kill_mid_import_leaves_the_previous_state(tmp_path):
    p = tmp_path / "w.gpkg"
    ws = new_workspace(p)
    ws.import_crime(MONTHS[0])
    ws.close()
    before = counts(p)
    code = ("import sys; from geo import Workspace; ws = Workspace.open(sys.argv[1]); "
            f"ws.import_crime({str(MONTHS[1])!r})")
    _kill_mid_save(tmp_path, code, p)
    # the rows were written inside the transaction; a hot journal is left behind
    assert Path(str(p) + "-journal").exists()
    ws = Workspace.open(p)
    assert ws.store.integrity_ok()
    assert counts(p) == before
    # and the workspace still works: the same import now succeeds once
    assert ws.import_crime(MONTHS[1]).new == 13851
    ws.close()


def test_kill_mid_operation_save_keeps_the_old_record(tmp_path):
    p = tmp_path / "w.gpkg"
    ws = new_workspace(p)
    op = Operation(name="Op Alpha", bcu="E08000019", tactic="Test purchase", start="2024-02-01", end="2024-02-29",
                   target_kind="point_radius", lon=-1.47, lat=53.38, radius_m=300, notes="original")
    ws.save_operation(op)
    ws.close()
    code = ("import sys; from geo import Workspace; ws = Workspace.open(sys.argv[1]); o = ws.operations()[0]; "
            "o.notes = 'edited'; o.radius_m = 900; ws.save_operation(o)")
    _kill_mid_save(tmp_path, code, p)
    ws = Workspace.open(p)
    [kept] = ws.operations()
    assert kept.notes == "original" and kept.radius_m == 300
    ws.close()


def test_operations_register_round_trip(tmp_path):
    p = tmp_path / "w.gpkg"
    ws = new_workspace(p)
    ws.import_boundaries(DATA / "boundaries" / "south-yorkshire" / "wards_E08000019.geojson", level="ward",
                         name_field="WD13NM", code_field="WD13CD")
    ward = ws.boundaries("ward").iloc[0]
    polygon = '{"type": "Polygon", "coordinates": [[[-1.48,53.37],[-1.46,53.37],[-1.46,53.39],[-1.48,53.37]]]}'
    made = [
        Operation(name="Op Unit", bcu="E08000019", tactic="Warrant or closure order", start="2024-02-01",
                  end="2024-02-14", target_kind="unit", target_unit=f"ward:{ward['code']}",
                  targeted_harms=["Drugs", "Public order"], notes="closure order on a flat"),
        Operation(name="Op Point", bcu="E08000019", tactic="Crackdown / high-visibility patrol", start="2024-03-01",
                  end="2024-03-31", target_kind="point_radius", lon=-1.47, lat=53.38, radius_m=250),
        Operation(name="Op Drawn", bcu="E08000019", tactic="Partnership or environmental work", start="2024-01-10",
                  end="2024-01-20", target_kind="polygon", target_geojson=polygon),
    ]
    for o in made:
        assert ws.save_operation(o) is None
    ws.close()
    ws = Workspace.open(p)  # survives a restart
    back = {o.name: o for o in ws.operations()}
    assert {o.name: o for o in made} == back
    areas = ws.operation_areas().set_index("name")
    assert areas.loc["Op Point"].geometry.area == pytest.approx(3.14159 * 250**2, rel=0.01)
    assert areas.loc["Op Unit"].geometry.equals(ward.geometry)
    # edit
    o = back["Op Point"]
    o.end = "2024-04-15"
    ws.save_operation(o)
    assert {x.name: x for x in ws.operations()}["Op Point"].end == "2024-04-15"
    assert len(ws.operations()) == 3
    # delete
    ws.delete_operation(back["Op Drawn"].op_id)
    assert sorted(x.name for x in ws.operations()) == ["Op Point", "Op Unit"]
    ws.close()


def test_operation_validation(tmp_path):
    ws = new_workspace(tmp_path / "w.gpkg")
    base = dict(bcu="E08000019", tactic="Test purchase", target_kind="point_radius", lon=-1.47, lat=53.38,
                radius_m=200)
    with pytest.raises(GeoInputError, match=r"end date 2024-01-01 is before the start date 2024-02-01"):
        ws.save_operation(Operation(name="Op Late", start="2024-02-01", end="2024-01-01", **base))
    ws.save_operation(Operation(name="Op One", start="2024-02-01", end="2024-02-02", **base))
    with pytest.raises(GeoInputError, match=r"already exists"):
        ws.save_operation(Operation(name="Op One", start="2024-02-01", end="2024-02-02", **base))
    with pytest.raises(GeoInputError, match=r"Unknown tactic"):
        ws.save_operation(Operation(name="Op Two", start="2024-02-01", end="2024-02-02", **{**base, "tactic": "x"}))
    far = dict(base, lon=-0.12, lat=51.5)  # London
    warning = ws.save_operation(Operation(name="Op Far", start="2024-02-01", end="2024-02-02", **far))
    assert warning == "The target area lies entirely outside the force area."
    assert len(ws.operations()) == 2
    ws.close()


def test_settings_and_mappings_persist(tmp_path):
    from geo.demo import PORTLAND_MAPPING
    p = tmp_path / "w.gpkg"
    ws = new_workspace(p)
    ws.set_setting("tile_url", "http://tiles.internal/{z}/{x}/{y}.png")
    ws.save_mapping(PORTLAND_MAPPING)
    ws.close()
    ws = Workspace.open(p)
    assert ws.setting("tile_url") == "http://tiles.internal/{z}/{x}/{y}.png"
    assert ws.mapping("portland-cfs") == PORTLAND_MAPPING
    with pytest.raises(GeoInputError, match=r"No column mapping called 'nope'.*portland-cfs"):
        ws.mapping("nope")
    ws.close()


def test_analysis_crs_must_be_metric(tmp_path):
    with pytest.raises(GeoInputError, match=r"projected in metres.*EPSG:27700"):
        Workspace.create(tmp_path / "w.gpkg", name="x", crs="EPSG:2913")
    with pytest.raises(GeoInputError, match=r"already exists"):
        new_workspace(tmp_path / "ok.gpkg")
        Workspace.create(tmp_path / "ok.gpkg", name="again")
