"""The Area summary's "Harm over time" (AppTest): monthly control charts inside the force, published quarters for partners."""
import re
import shutil
from pathlib import Path

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
