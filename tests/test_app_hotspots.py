"""AppTest of the Hotspots page on the demo workspaces: every method runs, numbers match geo."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from geo import Workspace
from geo.hotspot_runs import run_hotspots, select_incidents
from geo.sites import site_exposure
from tests.conftest import sign_in_for_test

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "dashboard" / "app.py")
PAGE = "app_pages/hotspots.py"


@pytest.fixture(scope="module")
def folder(demo_workspaces, tmp_path_factory):
    """A private copy of the demo workspaces."""
    out = tmp_path_factory.mktemp("hotspot-workspaces")
    for p in demo_workspaces.values():
        shutil.copy(p, out / p.name)
    return out


def hotspots_page(folder: Path, workspace: str, monkeypatch, role: str = "analyst") -> AppTest:
    monkeypatch.setenv("GEO_WORKSPACES", str(folder))
    at = sign_in_for_test(AppTest.from_file(APP, default_timeout=120), role)
    at.session_state["workspace"] = str(folder / f"{workspace}.gpkg")
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def metrics(at) -> dict:
    return {m.label: m.value for m in at.metric}


def test_every_method_runs_and_the_numbers_match_geo(folder, monkeypatch):
    at = hotspots_page(folder, "south-yorkshire", monkeypatch)
    assert at.title[0].value == "Hotspots · South Yorkshire"

    ws = Workspace.open(folder / "south-yorkshire.gpkg")
    crime, area, sites, bcus = ws.incidents(layer="crime"), ws.area(), ws.sites(), ws.bcus()
    ws.close()
    run = run_hotspots(crime, "gistar", weight="harm", area=area, category_col="category")
    got = metrics(at)
    assert got["Incidents analysed"] == f"{run.summary['n_points']:,}"
    assert got["Hot cells"] == f"{run.summary['n_hot']:,}"
    assert got["Cold cells"] == f"{run.summary['n_cold']:,}"
    assert got["Cell size (m)"] == f"{run.params['cell_size']:,.0f}"
    exposure = site_exposure(sites, crime, hotspots=run.hot, bcus=bcus)
    near = int(exposure["in_or_next_to_hotspot"].sum())
    assert any(c.value.startswith(f"{near:,} of {len(sites):,} sites lie in a hot spot") for c in at.caption)
    # the hot-spot table lists the hot cells; the map goes to st_folium
    hot_table = next(d.value for d in at.dataframe if "where" in d.value.columns)
    assert len(hot_table) == run.summary["n_hot"]
    # names, not cell ids: each cell is placed by the ward under it (issue 12)
    assert hot_table["where"].str.fullmatch(r"(square|hexagon) near [A-Z].+").all()
    assert "cell_id" not in hot_table.columns
    if "harm" in run.hot:  # harm in whole days
        assert sorted(hot_table["harm"].astype(int)) == sorted(run.hot["harm"].round().astype(int))
    assert any("folium" in str(getattr(e, "proto", "")) for e in at.main)
    # no calls layer here: the calls-vs-crime section explains why it is empty
    assert any("only recorded crime" in i.value for i in at.info)

    # an override of the automatic cell size
    at.toggle(key="hs_auto_cell_gistar").set_value(False).run()
    at.number_input(key="hs_cell_gistar").set_value(1000.0).run()
    assert not at.exception
    assert metrics(at)["Cell size (m)"] == "1,000"
    assert any("cells of 1,000 m, neighbourhood 1,500 m" in c.value for c in at.caption)

    for method, metric in (("kde", "Bandwidth (m)"), ("dbscan", "Clusters"), ("emerging", "Hot cells")):
        at.selectbox(key="hs_method").set_value(method).run()
        assert not at.exception, (method, at.exception)
        assert metric in metrics(at), method
    # emerging: all 18 months are periods, so no warning about fewer than 10 periods; simple classes too
    assert any("18 months" in c.value for c in at.caption)
    assert not any(c.value.startswith("Only ") for c in at.caption)
    at.radio(key="hs_classes").set_value("simple").run()
    assert not at.exception

    # HDBSCAN on one crime type (it is slow on all 55,000 incidents)
    at.multiselect(key="hs_types").set_value(["Robbery"])
    at.selectbox(key="hs_method").set_value("hdbscan").run()
    assert not at.exception
    robbery = select_incidents(crime, categories=["Robbery"])
    assert metrics(at)["Incidents analysed"] == f"{len(robbery):,}"


def test_portland_calls_emerging_by_day_and_no_sites(folder, monkeypatch):
    at = hotspots_page(folder, "portland", monkeypatch)
    assert not at.exception
    at.selectbox(key="hs_method").set_value("emerging").run()
    assert not at.exception
    assert any("31 days (automatic)" in c.value for c in at.caption)
    infos = " ".join(i.value for i in at.info)
    assert "no sensitive sites" in infos and "only calls for service" in infos


def test_an_inspector_sees_only_their_bcu(folder, monkeypatch):
    at = hotspots_page(folder, "south-yorkshire", monkeypatch, role="inspector")   # Sheffield
    ws = Workspace.open(folder / "south-yorkshire.gpkg")
    crime = ws.incidents(layer="crime")
    sheffield = ws.bcus().query("code == 'E08000019'")
    ws.close()
    inside = crime[crime.within(sheffield.geometry.iloc[0])]
    n = int(metrics(at)["Incidents analysed"].replace(",", ""))
    assert n <= len(inside) + 5 and n < len(crime) / 2


def test_calls_against_crime_maps_hidden_demand(folder, monkeypatch, tmp_path):
    """A workspace with both layers: the calls-vs-crime section's numbers are geo's and its map is drawn."""
    import numpy as np

    from geo import io, services
    mixed = folder / "mixed.gpkg"
    shutil.copy(folder / "south-yorkshire.gpkg", mixed)
    ws = Workspace.open(mixed)
    crime = ws.incidents(layer="crime")
    crime = crime[crime["month"].isin(["2025-04", "2025-05", "2025-06"])]
    # calls where crime is, plus a dense knot of calls in a quiet field east of Sheffield (hidden demand)
    rng = np.random.default_rng(3)
    some = crime.sample(3000, random_state=3).to_crs(4326)
    lon, lat = list(some.geometry.x), list(some.geometry.y)
    months = list(some["month"])
    lon += list(-1.30 + rng.normal(0, 0.0015, 300))
    lat += list(53.40 + rng.normal(0, 0.0010, 300))
    months += list(rng.choice(["2025-04", "2025-05", "2025-06"], 300))
    csv = tmp_path / "calls.csv"
    csv.write_text("ref,type,when,lon,lat\n" + "".join(
        f"C{i},Drugs,{m}-1{i % 9} 12:00,{x:.6f},{y:.6f}\n" for i, (m, x, y) in enumerate(zip(months, lon, lat))))
    report = ws.import_calls(csv, io.ColumnMapping(name="t", category="type", timestamp="when", x="lon", y="lat",
                                                   id="ref"))
    assert report.new == 3300
    ws.close()

    at = hotspots_page(folder, "mixed", monkeypatch)
    assert not at.exception, at.exception
    assert not any("only recorded crime" in i.value for i in at.info)
    got = metrics(at)
    # the page compares the months both layers cover, by harm, with the automatic cell size
    out = services.calls_vs_crime(str(mixed), user=("analyst", ()), months=("2025-04", "2025-06"),
                                  cell_size=None, shape="square", weighted=True)
    hidden = int(out["hidden_demand"].sum())
    assert hidden > 0
    assert got["Possible hidden demand (cells)"] == f"{hidden:,}"
    assert got["Hot in both"] == f"{int((out['hot_calls'] & out['hot_crime']).sum()):,}"
    assert got["Hot in crime only"] == f"{int((~out['hot_calls'] & out['hot_crime']).sum()):,}"
    table = next(d.value for d in at.dataframe if "hidden_demand" in d.value.columns)
    assert len(table) == hidden and table["where"].str.fullmatch(r"square near [A-Z].+").all()
    # two maps: the kept hot-spot map and the calls-vs-crime map
    assert sum("folium" in str(getattr(e, "proto", "")) for e in at.main) >= 2
