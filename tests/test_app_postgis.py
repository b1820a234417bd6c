"""The dashboard on a shared PostGIS store (GEO_STORE): the Map page reads it, the Operations
page writes to it, and the write is seen by the next run (the cache key is the store's version).

Needs GEO_TEST_PG (scripts/pg_test_server.sh start); skipped without it (CI sets it, and
tests/test_store_contract.py fails in CI without it).
"""
import os
import uuid
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from geo import Workspace
from tests.conftest import DATA, sign_in_for_test, sy_street_csv

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "dashboard" / "app.py")
PG = os.environ.get("GEO_TEST_PG", "").strip()
pytestmark = pytest.mark.skipif(not PG, reason="GEO_TEST_PG is not set")


@pytest.fixture()
def pg_workspace(tmp_path, monkeypatch):
    """A one-month South Yorkshire workspace on the PostGIS server, listed under a .gpkg name."""
    name = f"sy-{uuid.uuid4().hex[:10]}"
    server = PG.split("?")[0]
    url = f"{server}?workspace={name}"
    ws = Workspace.create(url, name="SY on PostGIS", crs="EPSG:27700", force="South Yorkshire")
    ws.import_boundaries(DATA / "boundaries" / "south-yorkshire" / "districts-and-neighbours-2013.geojson",
                         level="bcu", name_field="LAD13NM", code_field="LAD13CD", force_field="police_force")
    ws.import_crime(sy_street_csv("2024-01"))
    crime = ws.incidents(layer="crime")
    ws.close()
    # the app lists workspaces by file; with GEO_STORE the file's stem names the PostGIS workspace
    (tmp_path / f"{name}.gpkg").write_bytes(b"")
    monkeypatch.setenv("GEO_WORKSPACES", str(tmp_path))
    monkeypatch.setenv("GEO_STORE", server)
    yield tmp_path / f"{name}.gpkg", crime
    from geo.store.postgis import PostgisStore
    s = PostgisStore(url)
    s.drop()
    s.close()


def test_map_and_operations_pages_on_postgis(pg_workspace):
    path, crime = pg_workspace
    at = sign_in_for_test(AppTest.from_file(APP, default_timeout=90), "analyst")
    at.session_state["workspace"] = str(path)
    at.run()
    assert not at.exception
    assert at.title[0].value == "Map · SY on PostGIS"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Incidents shown"] == f"{len(crime):,}"
    at.switch_page("app_pages/operations.py").run()
    at.text_input(key="ops_new_name").input("Op Shared Store").run()
    at.selectbox(key="ops_new_tactic").set_value("Test purchase").run()
    at.radio(key="ops_new_kind").set_value("point_radius").run()
    at.number_input(key="ops_new_radius").set_value(400).run()
    at.button(key="ops_new_save").click().run()
    assert not at.exception and not at.error
    assert "Op Shared Store" in set(at.dataframe[0].value["name"])  # the next run saw the write
    ws = Workspace.open(path)  # GEO_STORE: the same PostGIS workspace
    assert [o.name for o in ws.operations()] == ["Op Shared Store"]
    assert "operation saved" in set(ws.store.audit_log()["action"])
    ws.close()
