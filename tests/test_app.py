"""AppTest of the foundation pages on the real demo workspaces: Map, Data, Operations, Harm weights."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from geo import Workspace
from tests.conftest import sign_in_for_test

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "dashboard" / "app.py")


@pytest.fixture()
def workspaces(demo_workspaces, tmp_path, monkeypatch):
    """A private copy of the demo workspaces (pages may write to them)."""
    for p in demo_workspaces.values():
        shutil.copy(p, tmp_path / p.name)
    monkeypatch.setenv("GEO_WORKSPACES", str(tmp_path))
    return {k: tmp_path / p.name for k, p in demo_workspaces.items()}


def app(workspace: Path | None = None) -> AppTest:
    at = sign_in_for_test(AppTest.from_file(APP, default_timeout=90), "analyst")
    if workspace is not None:
        at.session_state["workspace"] = str(workspace)
    return at


def test_core_never_imports_streamlit():
    code = "import sys, geo, geo.maps, geo.io, geo.store, geo.hotspots; sys.exit('streamlit' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0


def test_map_page_headline_numbers_match_geo(workspaces):
    sy = workspaces["south-yorkshire"]
    at = app(sy).run()
    assert not at.exception
    assert at.title[0].value == "Map · South Yorkshire"
    ws = Workspace.open(sy)
    crime = ws.incidents(layer="crime")
    ws.close()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Incidents shown"] == f"{len(crime):,}"
    assert metrics["Harm (CCHI days)"] == f"{crime['harm'].sum():,.0f}"
    assert metrics["Drug-market harm basket"] == f"{crime.loc[crime['in_basket'], 'harm'].sum():,.0f}"
    assert metrics["Drug offences"] == f"{(crime['category'] == 'Drugs').sum():,}"
    assert "enforcement activity" in at.metric[3].help
    # the map is handed to st_folium (a custom component AppTest cannot open)
    assert any(getattr(e, "type", "") == "unknown" or "folium" in str(getattr(e, "proto", "")) for e in at.main)


def test_map_filters_change_the_numbers(workspaces):
    sy = workspaces["south-yorkshire"]
    at = app(sy).run()
    at.multiselect(key="map_types").set_value(["Robbery"]).run()
    at.select_slider(key="map_months").set_value(("2024-02", "2024-03")).run()
    assert not at.exception
    ws = Workspace.open(sy)
    robbery = ws.incidents(layer="crime", months=("2024-02", "2024-03"), categories=["Robbery"])
    ws.close()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Incidents shown"] == f"{len(robbery):,}"
    assert metrics["Harm (CCHI days)"] == f"{robbery['harm'].sum():,.0f}"
    # "what changed" compares the last month with the one before
    assert any("Mar 2024 against Feb 2024" in c.value for c in at.caption)


def test_map_page_on_portland_calls(workspaces):
    at = app(workspaces["portland"]).run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Calls shown"] == "19,296"
    assert "Drug offences" not in metrics  # no police.uk crime in Portland
    # the call groups have no harm weights: nothing counts calls as "harm" (issue 12)
    assert not any("harm" in label.lower() for label in metrics)
    assert [r for r in at.radio if r.key == "map_measure"] == []  # no Harm/Count choice
    assert any("counted, not weighed" in c.value for c in at.caption)  # the filters sit in the Map fragment


def test_data_page_shows_reconciled_reports_and_rejected_rows(workspaces):
    at = app(workspaces["portland"]).run()
    at.switch_page("app_pages/data.py").run()
    assert not at.exception
    hist = at.dataframe[1].value
    assert (hist["balanced"] == "✓").all()
    calls = hist[hist["kind"] == "calls"].iloc[0]
    assert calls["rows_read"] == 19375
    at.selectbox(key="data_import").set_value(int(calls["id"])).run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Rows read"] == "19,375"
    assert metrics["Outside area"] == "79"


def test_data_page_lists_rejected_rows_for_download(workspaces, tmp_path):
    sy = workspaces["south-yorkshire"]
    bad = tmp_path / "messy.csv"
    header = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
              "Crime type,Last outcome category,Context\n")
    bad.write_text(header + "x1,2024-05,SYP,SYP,-1.47,53.38,On or near A,E1,N,Burglary,,\n"
                            "x2,May 2024,SYP,SYP,-1.47,53.38,On or near A,E1,N,Burglary,,\n")
    ws = Workspace.open(sy)
    ws.import_crime(bad)
    ws.close()
    at = app(sy).run()
    at.switch_page("app_pages/data.py").run()
    assert not at.exception
    # the newest import is selected by default
    assert any("Rejected rows of this import:** 1" in m.value for m in at.markdown)
    rejected = at.dataframe[-1].value
    assert list(rejected["reason"]) == ["bad date (Month is not YYYY-MM)"]
    assert list(rejected["row"]) == [3]


def test_operations_page_creates_and_lists_an_operation(workspaces):
    sy = workspaces["south-yorkshire"]
    at = app(sy).run()
    at.switch_page("app_pages/operations.py").run()
    assert not at.exception
    at.text_input(key="ops_new_name").input("Op Test Purchase").run()
    at.selectbox(key="ops_new_tactic").set_value("Test purchase").run()
    at.radio(key="ops_new_kind").set_value("point_radius").run()
    at.number_input(key="ops_new_radius").set_value(400).run()
    at.button(key="ops_new_save").click().run()
    assert not at.exception and not at.error
    ws = Workspace.open(sy)
    names = [o.name for o in ws.operations()]
    log = ws.store.audit_log()
    ws.close()
    assert "Op Test Purchase" in names
    saved = log[log["action"] == "operation saved"]
    assert list(saved["detail"]) == ["Op Test Purchase"] and list(saved["user"]) == ["test-analyst"]
    assert any("Saved Op Test Purchase" in s.value for s in at.success)
    register = at.dataframe[0].value
    assert "Op Test Purchase" in set(register["name"])


def test_operations_page_refuses_end_before_start(workspaces):
    import datetime as dt
    sy = workspaces["south-yorkshire"]
    at = app(sy).run()
    at.switch_page("app_pages/operations.py").run()
    at.text_input(key="ops_new_name").input("Op Backwards").run()
    at.date_input(key="ops_new_start").set_value(dt.date(2024, 3, 10)).run()
    at.date_input(key="ops_new_end").set_value(dt.date(2024, 3, 1)).run()
    at.button(key="ops_new_save").click().run()
    assert any("before the start date" in e.value for e in at.error)
    ws = Workspace.open(sy)
    assert "Op Backwards" not in [o.name for o in ws.operations()]
    ws.close()


def test_harm_page_saves_an_edited_weight(workspaces):
    sy = workspaces["south-yorkshire"]
    at = app(sy).run()
    at.switch_page("app_pages/harm.py").run()
    assert not at.exception
    assert "Cambridge Crime Harm Index" in at.caption[-1].value
    ws = Workspace.open(sy)
    table = ws.harm_table()
    ws.close()
    table.loc[table["category"] == "Shoplifting", "weight"] = 3.5
    # the data editor is driven through its session state (AppTest has no editor API)
    at.session_state["harm_editor"] = {"edited_rows": {int(table.index[table["category"] == "Shoplifting"][0]):
                                                       {"weight": 3.5}}, "added_rows": [], "deleted_rows": []}
    at.button(key="harm_save").click().run()
    assert not at.exception
    ws = Workspace.open(sy)
    saved = ws.harm_table().set_index("category")["weight"]
    ws.close()
    assert saved["Shoplifting"] == 3.5


def test_empty_workspace_folder_gives_a_helpful_message(tmp_path, monkeypatch):
    monkeypatch.setenv("GEO_WORKSPACES", str(tmp_path))
    at = sign_in_for_test(AppTest.from_file(APP, default_timeout=60), "analyst").run()
    assert not at.exception
    assert any("No workspace found" in w.value for w in at.sidebar.warning)
