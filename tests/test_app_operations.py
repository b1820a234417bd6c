"""AppTest of the Operations page's results analysis on the demo workspaces: the numbers are geo's.

The page file is run on its own (with the workspace and a signed-in analyst in the session),
so the test does not depend on the router's page list.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from geo import Workspace
from geo.displacement import analyse_operation
from geo.report_tables import STANDARD_TITLE, fmt_alpha, standard_measures
from geo.safe import md

ROOT = Path(__file__).resolve().parents[1]
PAGE = str(ROOT / "dashboard" / "app_pages" / "operations.py")


@pytest.fixture(scope="module")
def workspaces(demo_workspaces, tmp_path_factory):
    folder = tmp_path_factory.mktemp("ops-app")
    for p in demo_workspaces.values():
        shutil.copy(p, folder / p.name)
    return {k: folder / p.name for k, p in demo_workspaces.items()}


def page(workspace: Path, monkeypatch) -> AppTest:
    monkeypatch.setenv("GEO_WORKSPACES", str(workspace.parent))
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state["workspace"] = str(workspace)
    try:
        from geo.auth import User
        at.session_state["auth_user"] = User("test-analyst", "analyst").to_dict()
    except ImportError:  # sign-in not built yet
        pass
    return at


def complete(at: AppTest, *, tries: int = 240) -> AppTest:
    """Rerun ``at`` until the page shows the whole analysis, not its verdict stage (the page polls
    with a fragment in a browser; AppTest does not run timers)."""
    import time
    for _ in range(tries):
        if not any("Still computing" in e.value for e in (*at.info, *at.caption)):
            return at
        time.sleep(0.5)
        at.run()
    raise AssertionError("the analysis did not complete")


def _fmt(x, d=0):
    return f"{x:,.{d}f}"


def test_pick_a_demo_operation_and_see_geos_verdict_and_numbers(workspaces, monkeypatch):
    sy = workspaces["south-yorkshire"]
    at = page(sy, monkeypatch).run()
    assert not at.exception, at.exception
    box = at.selectbox(key="res_op")
    assert box.options == ["Op Central (demo)", "Op Beighton (demo)"]
    box.set_value("demo-sy-beighton").run()
    assert not at.exception, at.exception
    complete(at)
    assert not at.exception, at.exception

    ws = Workspace.open(sy)
    try:
        res = analyse_operation(ws, "Op Beighton (demo)")
    finally:
        ws.close()
    shown = [e.value for e in (*at.success, *at.warning, *at.info)]
    for c in res.summary.clauses:     # the verdict, clause by clause with its status, comes first
        assert f"{c.status.upper()}: {md(c.text)}" in shown
    metrics = {m.label: m.value for m in at.metric}
    t = res.assessment.target
    assert metrics["Target drug-market harm, before → after"] == f"{_fmt(t.harm_before)} → {_fmt(t.harm_after)}"
    assert metrics["Change against the comparison"] == _fmt(t.estimate)
    tests = next(d.value for d in at.dataframe if "Change vs control" in d.value.columns and "Test" in d.value.columns)
    assert tests.iloc[0]["Test"] == "Target" and tests.iloc[0]["Status"] == t.status
    assert any("BCU" in n or "Derbyshire" in n for n in tests["Test"])      # pieces carry names, not codes
    assert not any(str(n).startswith("E0") for n in tests["Test"])
    # each level exactly as tested ("0.0075", not "0.007")
    assert list(tests["Tested at α"]) == [fmt_alpha(x.alpha) for x in [t] + res.assessment.family()]
    # the standard WDQ/WDD measures: under the report's appendix title and note, the WDQ not read without an effect
    std = standard_measures(res)
    assert STANDARD_TITLE in [e.label for e in at.expander]
    assert md(std.note) in [c.value for c in at.caption]
    keyt = next(d.value for d in at.dataframe if "WDQ" in d.value.columns and len(d.value) == len(std.key))
    assert keyt.equals(std.key)
    assert t.status != "evidence" and set(keyt["WDQ"]) == {"not interpretable"}
    assert "p (local)" not in keyt.columns and "Poisson p (local)" in keyt.columns
    texts = [m.value for m in at.markdown]
    sz = res.checks["seasonal"]                 # the checks: same months a year earlier, and the pre-period fit
    assert f"**Seasonality** ({md(sz['status'])}): {md(sz['reading'])}" in texts
    assert md(res.checks["pre_fit"]["reading"]) in texts
    labels = [b.label for b in at.get("download_button")]
    assert "Download the report (HTML)" in labels and "Download the tables (CSV)" in labels
    assert "Download the map (HTML, works offline)" in labels and "Download the map (PNG)" in labels


def test_windows_not_covered_show_the_fix(workspaces, monkeypatch):
    at = page(workspaces["south-yorkshire"], monkeypatch)
    at.session_state["res_op"] = "demo-sy-central"
    at.session_state["res_own_windows"] = True
    at.session_state["res_after"] = "2025-04:2025-07"  # the data end in 2025-06
    at.run()
    assert not at.exception
    assert any("not covered by the data" in e.value and md("Fix:") in e.value for e in at.error)
    assert not at.metric


def test_portland_week_uses_day_windows(workspaces, monkeypatch):
    at = page(workspaces["portland"], monkeypatch).run()
    assert not at.exception, at.exception
    assert at.selectbox(key="res_op").options == ["Op Old Town (demo)"]
    at.selectbox(key="res_op").set_value("demo-pdx-oldtown").run()
    assert not at.exception, at.exception
    complete(at)
    assert any("8 Aug 2016 – 14 Aug 2016" in c.value and "day windows" in c.value for c in at.caption)
    tem = next(d.value for d in at.dataframe if "Distribution" in d.value.columns)   # temporal displacement
    hours = tem[(tem["Area"] == "Target") & (tem["Distribution"] == "time of day")]
    assert list(hours["Status"]) == ["no times in the data"]      # the NIJ extract holds dates only


def test_register_and_form_read_as_names_not_codes(workspaces, monkeypatch):
    """Issue 12: the register's target is the ward's name; a new operation starts in the latest months."""
    sy = workspaces["south-yorkshire"]
    at = page(sy, monkeypatch).run()
    assert not at.exception, at.exception
    register = at.dataframe[0].value
    ws = Workspace.open(sy)
    wards = ws.boundaries("ward")
    ops = {o.name: o for o in ws.operations()}
    months = ws.store.months()
    ws.close()
    central = register[register["name"] == "Op Central (demo)"].iloc[0]
    code = ops["Op Central (demo)"].target_unit.split(":")[1]
    assert central["target"] == f"{wards.set_index('code').loc[code, 'name']} (ward)"
    assert not register["target"].str.contains(r"ward:|E0\d{7}").any()
    start = at.date_input(key="ops_new_start").value
    assert start.strftime("%Y-%m") == months[-3]  # two months after it remain for results analysis
    assert at.date_input(key="ops_new_end").value.strftime("%Y-%m") == months[-3]


def test_portland_units_are_named_not_repeated(workspaces, monkeypatch):
    at = page(workspaces["portland"], monkeypatch).run()
    at.radio(key="ops_new_kind").set_value("unit").run()
    shown = at.selectbox(key="ops_new_unit").options  # the labels shown, as the browser gets them
    assert shown and all(s.startswith("Neighbourhood ") for s in shown), shown[:5]  # not "711 (711)"


def test_the_verdict_shows_first_and_the_rest_fills_in(demo_workspaces, tmp_path, monkeypatch):
    """The verdict stage is on the page while the supporting sections compute (held here until the
    test lets them go), with a "still computing" note where they go; then the whole analysis."""
    import threading

    import geo.displacement.analysis as analysis
    sy = tmp_path / "south-yorkshire.gpkg"
    shutil.copy(demo_workspaces["south-yorkshire"], sy)   # a fresh copy: nothing analysed or stored yet
    gate, real = threading.Event(), analysis.planted_power

    def held(*args, **kwargs):
        gate.wait(120)
        return real(*args, **kwargs)

    monkeypatch.setattr(analysis, "planted_power", held)
    try:
        at = page(sy, monkeypatch).run()
        at.selectbox(key="res_op").set_value("demo-sy-beighton").run()
        assert not at.exception, at.exception
        shown = [e.value for e in (*at.success, *at.warning, *at.info)]
        assert any(s.startswith("NO EVIDENCE: " + md("Displacement: no evidence")) and
                   md("power to detect a 50% move: still computing") in s or
                   s.startswith("EVIDENCE: " + md("Displacement:")) for s in shown)
        assert any(s.startswith(("NO EVIDENCE: ", "EVIDENCE: ")) and md("Harm: drug-market harm") in s for s in shown)
        assert any(s.startswith("Verdict ready. Still computing: the power") for s in shown)
        assert "Target drug-market harm, before → after" in [m.label for m in at.metric]
        captions = [c.value for c in at.caption]
        assert any("Still computing the buffer-width sensitivity" in c for c in captions)
        assert not any(m.value.startswith("**Seasonality**") for m in at.markdown)   # not there yet
    finally:
        gate.set()
    complete(at)
    assert not at.exception, at.exception
    shown = [e.value for e in (*at.success, *at.warning, *at.info)]
    assert not any("still computing" in s.lower() for s in shown)
    assert any(m.value.startswith("**Seasonality**") for m in at.markdown)
