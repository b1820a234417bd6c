"""The Area summary's "Harm over time" (AppTest): monthly control charts inside the force, published quarters for partners."""
import re
import shutil
from pathlib import Path

import geopandas as gpd
import pytest
from streamlit.testing.v1 import AppTest

from geo import Workspace, disclosure
from geo.briefing import inside_area
from tests.conftest import sign_in_for_test

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "dashboard" / "app.py")
MONTH = re.compile(r"\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) 20\d\d\b")


@pytest.fixture()
def workspaces(demo_workspaces, tmp_path, monkeypatch):
    p = demo_workspaces["south-yorkshire"]
    shutil.copy(p, tmp_path / p.name)
    monkeypatch.setenv("GEO_WORKSPACES", str(tmp_path))
    monkeypatch.setenv("GEO_ACCOUNTS", str(tmp_path / "accounts.db"))
    return tmp_path / p.name


def areas_page(role, **kw):
    at = sign_in_for_test(AppTest.from_file(APP, default_timeout=240), role, **kw).run()
    at.switch_page("app_pages/areas.py").run()
    assert not at.exception
    return at


def lines(at):
    """The bullet sentences, without the Markdown escapes of ``geo.safe.md``."""
    return [re.sub(r"\\(.)", r"\1", m.value) for m in at.markdown if m.value.startswith("- ")]


def test_analyst_sees_a_monthly_trend_with_the_change_in_words(workspaces):
    at = areas_page("analyst")
    assert list(at.radio(key="areas_t_level").options) == ["Force", "BCU", "Ward", "Neighbourhood"]
    at.radio(key="areas_t_level").set_value("bcu").run()
    at.selectbox(key="areas_t_area").set_value("E08000019").run()
    assert not at.exception
    ws = Workspace.open(workspaces)
    inc = ws.incidents(layer="crime")
    geom = ws.bcus().set_index("code").loc["E08000019", "geometry"]
    ws.close()
    basket = inside_area(inc[inc["in_basket"]], geom)
    now = basket.loc[basket["month"].between("2025-04", "2025-06"), "harm"].sum()
    year_ago = basket.loc[basket["month"].between("2024-04", "2024-06"), "harm"].sum()
    pct = (now - year_ago) / year_ago * 100
    said = lines(at)
    assert said[0] == (f"- Drug-market harm in Sheffield, Apr–Jun 2025: {abs(pct):.0f}% "
                       f"{'above' if pct > 0 else 'below'} the same months of 2024 ({now:,.0f} days against "
                       f"{year_ago:,.0f}).")
    assert any("control limits" in s for s in said)
    assert any("long-run mean and control limits" in re.sub(r"\\(.)", r"\1", c.value) for c in at.caption)
    for level in ("force", "ward", "neighbourhood"):
        at.radio(key="areas_t_level").set_value(level).run()
        assert not at.exception, level


def test_inspector_charts_only_areas_inside_their_bcu(workspaces):
    at = areas_page("inspector", bcus=("E08000019",))
    at.radio(key="areas_t_level").set_value("force").run()
    assert any("No area of this level" in i.value for i in at.info)
    at.radio(key="areas_t_level").set_value("bcu").run()
    assert list(at.selectbox(key="areas_t_area").options) == ["Sheffield"]
    at.radio(key="areas_t_level").set_value("ward").run()
    ws = Workspace.open(workspaces)
    wards = ws.boundaries("ward")
    ws.close()
    sheffield = set(wards.loc[wards["parent_code"] == "E08000019", "name"])
    offered = set(at.selectbox(key="areas_t_area").options)
    assert offered and offered <= sheffield


def test_partner_gets_published_quarters_never_a_month(workspaces):
    at = sign_in_for_test(AppTest.from_file(APP, default_timeout=240), "partner").run()
    assert not at.exception
    assert not [r for r in at.radio if r.key == "areas_t_level"]  # no monthly chart for partners
    ws = Workspace.open(workspaces)
    quarters = disclosure.complete_quarters(ws.store.months())
    ws.close()
    table = next(d.value for d in at.dataframe if "quarter" in d.value.columns)
    assert list(table["quarter"]) == [disclosure.quarter_label(q) for q in quarters]
    said = lines(at)
    assert any("the same quarter a year earlier" in s for s in said)
    shown = " ".join(said + [str(v) for v in table["quarter"]] + [c.value for c in at.caption])
    assert "Apr–Jun 2025" in shown
    assert not MONTH.search(re.sub(r"\b[A-Z][a-z]{2}–[A-Z][a-z]{2} 20\d\d", "", shown))  # quarters only


def _fit_bounds(at) -> list[tuple[float, float, float, float]]:
    """``(south, west, north, east)`` of every folium map's ``fitBounds`` on the page (AppTest sees the
    ``st_folium`` component's arguments only)."""
    import json
    found = []

    def walk(node):
        proto = getattr(node, "proto", None)
        if proto is not None and "folium" in str(getattr(proto, "component_name", "")):
            script = str(json.loads(proto.json_args).get("script", ""))
            for m in re.finditer(r"fitBounds\(\s*\[\[([-\d.e]+),\s*([-\d.e]+)\],\s*\[([-\d.e]+),\s*([-\d.e]+)\]\]",
                                 script):
                found.append(tuple(float(v) for v in m.groups()))
        for child in (getattr(node, "children", None) or {}).values():
            walk(child)

    walk(at._tree)
    return found


def test_inspectors_area_summary_is_their_bcu_from_the_published_cells(workspaces):
    """Issue 12: Sheffield's inspector gets Sheffield's units, totals, crime types and map frame,
    each from the published table (the same cells as the force's), not South Yorkshire's."""
    from geo import services
    from geo.auth import User
    at = areas_page("inspector", bcus=("E08000019",))
    assert not at.exception
    pub = services.partner_published(workspaces, user=User("a", "analyst"))
    ws = Workspace.open(workspaces)
    sheffield = ws.bcus().set_index("code").loc["E08000019", "geometry"]
    lon0, lat0, lon1, lat1 = gpd.GeoSeries([sheffield], crs=ws.crs).to_crs(4326).total_bounds
    ws.close()
    q = (pub.quarters[-1],)  # the page's default: the last complete quarter, basket only, base units
    codes = pub.units_in(sheffield)
    with_incidents = {c for c in codes if pub.figure(units=[c], quarters=q, basket=True).hi > 0}
    table = next(d.value for d in at.dataframe if "incidents" in d.value.columns and "code" in d.value.columns)
    assert set(table["code"]) == with_incidents and len(with_incidents) < len(pub.units) / 2
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Incidents"] == pub.figure(units=codes, quarters=q, basket=True).label
    assert metrics["Incidents"] != pub.figure(quarters=q, basket=True).label  # not the force's
    assert metrics["Areas with incidents"] == f"{len(with_incidents):,}"
    cats = next(d.value for d in at.dataframe if "category" in d.value.columns)
    assert cats["count_label"].tolist() == pub.table("category", units=codes, quarters=q)["count_label"].tolist()
    assert any("Limited to your BCU(s): Sheffield" in c.value for c in at.caption)
    (south, west, north, east), = _fit_bounds(at)
    slack = 0.001  # ~100 m: the units' polygons against the BCU's generalised polygon
    assert lat0 - slack <= south < north <= lat1 + slack and lon0 - slack <= west < east <= lon1 + slack
    # a partner keeps the whole force
    partner = areas_page("partner")
    assert {m.label: m.value for m in partner.metric}["Incidents"] == pub.figure(quarters=q, basket=True).label
    (ps, pw, pn, pe), = _fit_bounds(partner)
    assert ps < south and pn > north or pw < west and pe > east
