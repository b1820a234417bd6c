"""The Area summary and Briefings pages for partners and analysts (AppTest): quarters only, drawn areas snapped."""
import json
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from geo import Workspace, briefing, disclosure
from tests.conftest import sign_in_for_test

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "dashboard" / "app.py")
DRAWN = {"type": "Polygon", "coordinates": [[[-1.48, 53.37], [-1.46, 53.37], [-1.46, 53.39], [-1.48, 53.39],
                                             [-1.48, 53.37]]]}
TINY = {"type": "Polygon", "coordinates": [[[-1.470, 53.380], [-1.4698, 53.380], [-1.4698, 53.3801],
                                            [-1.470, 53.3801], [-1.470, 53.380]]]}


@pytest.fixture()
def workspaces(demo_workspaces, tmp_path, monkeypatch):
    p = demo_workspaces["south-yorkshire"]
    shutil.copy(p, tmp_path / p.name)
    monkeypatch.setenv("GEO_WORKSPACES", str(tmp_path))
    monkeypatch.setenv("GEO_ACCOUNTS", str(tmp_path / "accounts.db"))
    return tmp_path / p.name


def briefings_page(role, username):
    at = sign_in_for_test(AppTest.from_file(APP, default_timeout=180), role, username=username).run()
    at.switch_page("app_pages/briefings.py").run()
    assert not at.exception
    return at


def test_area_summary_offers_whole_quarters_and_published_levels(workspaces):
    at = sign_in_for_test(AppTest.from_file(APP, default_timeout=120), "partner").run()
    assert not at.exception
    months = Workspace.open(workspaces).store.months()
    quarters = disclosure.complete_quarters(months)
    slider = [s for s in at.select_slider if s.key == "areas_quarters"]
    box = [s for s in at.selectbox if s.key == "areas_quarter"]
    offered = slider[0].options if slider else box[0].options
    assert list(offered) == [disclosure.quarter_label(q) for q in quarters]
    level = at.radio(key="areas_level")
    assert list(level.options) == ["LSOAs", "Wards", "Neighbourhoods"]  # no hexagons beside the LSOAs
    base = at.session_state["memo"]["areas_base"][1]  # the kept base map (ui.kept_map), built once
    for option in ("ward", "neighbourhood", "lsoa"):
        at.radio(key="areas_level").set_value(option).run()
        assert not at.exception
    incidents = {m.label: m.value for m in at.metric}["Incidents"]
    assert "–" in incidents or incidents.replace(",", "").isdigit()
    # a level change swapped the layer only: the same base map object; each level's layer kept for a switch back
    assert at.session_state["memo"]["areas_base"][1] is base
    kept = at.session_state["kept_layers"]["areas_base"][1]
    assert {k[1] for k in kept} == {"lsoa", "ward", "neighbourhood"}


def test_partner_drawn_area_is_snapped_refused_when_tiny_and_audited(workspaces):
    at = briefings_page("partner", "pat")
    at.radio(key="brief_kind").set_value("polygon").run()
    at.text_area(key="brief_geojson").set_value(json.dumps(TINY)).run()
    at.button(key="brief_go").click().run()
    assert not at.exception
    assert any("partner figures need at least 3" in e.value for e in at.error)
    at.text_area(key="brief_geojson").set_value(json.dumps(DRAWN)).run()
    at.button(key="brief_go").click().run()
    assert not at.exception and not at.error
    ws = Workspace.open(workspaces)
    log = ws.store.audit_log()
    pub = disclosure.published_for(ws)
    codes = sorted(pub.units_in(briefing.polygon_area(DRAWN, crs=ws.crs).geometry))
    ws.close()
    row = log[(log["user"] == "pat") & (log["action"] == "viewed area")].iloc[-1]
    assert "partner briefing" in row["detail"]
    assert f"{len(codes)} lsoa units: {' '.join(codes)}" in row["detail"]


def test_analyst_keeps_monthly_internal_briefings_and_gets_quarters_for_partners(workspaces):
    at = briefings_page("analyst", "ann")
    assert at.radio(key="brief_audience").value == "internal"
    assert [s.key for s in at.select_slider] == ["brief_months"]
    at.button(key="brief_go").click().run()
    assert not at.exception and not at.error
    at.radio(key="brief_audience").set_value("partner").run()
    keys = [s.key for s in at.select_slider] + [s.key for s in at.selectbox]
    assert "brief_months" not in keys and ("brief_quarters" in keys or "brief_quarter" in keys)
    at.button(key="brief_go").click().run()
    assert not at.exception and not at.error
