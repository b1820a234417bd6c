"""The batch command line: python -m geo import ..."""
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd

from geo import Workspace
from tests.conftest import sy_street_csv

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
JAN = sy_street_csv("2024-01")
DISTRICTS = DATA / "boundaries" / "south-yorkshire" / "districts-and-neighbours-2013.geojson"


def geo_cli(*args):
    return subprocess.run([sys.executable, "-m", "geo", *map(str, args)], cwd=ROOT, capture_output=True, text=True)


def test_import_prints_the_report_and_is_idempotent(tmp_path):
    ws = tmp_path / "sy.gpkg"
    r = geo_cli("import", "--workspace", ws, "--force", "South Yorkshire", "--boundaries", DISTRICTS,
                "--level", "bcu", "--name-field", "LAD13NM", "--code-field", "LAD13CD",
                "--force-field", "police_force", "--crime", JAN)
    assert r.returncode == 0, r.stderr
    assert "rows read         14,451" in r.stdout
    assert "no location          711" in r.stdout
    again = geo_cli("import", "--workspace", ws, "--crime", JAN)
    assert again.returncode == 0
    assert "stored new             0" in again.stdout and "already held      14,451" in again.stdout
    w = Workspace.open(ws)
    assert len(w.store.read_incidents()) == 14451
    w.close()


def test_refused_file_exits_2_and_changes_nothing(tmp_path):
    ws = tmp_path / "sy.gpkg"
    bad = tmp_path / "bad.csv"
    bad.write_text("Crime ID;Month;Longitude\n1;2024-01;-1.4\n")
    r = geo_cli("import", "--workspace", ws, "--crime", bad)
    assert r.returncode == 2
    assert "semicolons" in r.stderr and str(bad) in r.stderr and "Fix:" in r.stderr
    assert not ws.exists()  # no half-made workspace left behind
    assert geo_cli("import", "--workspace", ws, "--crime", JAN).returncode == 0
    before = ws.stat().st_size, Workspace.open(ws).store.import_history().shape
    r = geo_cli("import", "--workspace", ws, "--crime", bad)
    assert r.returncode == 2
    assert Workspace.open(ws).store.import_history().shape == before[1]


def test_calls_through_a_mapping_file_then_by_name(tmp_path):
    ws = tmp_path / "pdx.gpkg"
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"name": "pdx", "category": "CALL GROUPS", "subcategory": "CASE DESC",
                                   "timestamp": "occ_date", "x": "x_coordinate", "y": "y_coordinate",
                                   "crs": "EPSG:2913"}))
    calls = DATA / "portland" / "calls-for-service-2016-08.csv"
    r = geo_cli("import", "--workspace", ws, "--crs", "EPSG:26910", "--calls", calls, "--mapping", mapping,
                "--rejected-out", tmp_path / "rej.csv")
    assert r.returncode == 0, r.stderr
    assert "rows read         19,375" in r.stdout
    assert len(pd.read_csv(tmp_path / "rej.csv")) == 0
    r = geo_cli("import", "--workspace", ws, "--calls", calls, "--mapping", "pdx")
    assert r.returncode == 0 and "already held      19,375" in r.stdout
    r = geo_cli("import", "--workspace", ws, "--calls", calls, "--mapping", "nope")
    assert r.returncode == 2 and "No column mapping called 'nope'" in r.stderr
