"""The Hotspots page's default runs kept in the workspace (``geo.stored_hotspots``, ``services.stored_hotspots``).

A kept bundle equals what the page computes for every method (frames equal); a change of harm weights
or settings gives a new key (the stale bundle is never found); a bundle is found only under its own
scope (an inspector never loads another BCU's or the force's); one not signed by this server is
never used. On one inspector's BCU (Barnsley) of the South Yorkshire demo, to stay quick.
"""
from __future__ import annotations

import shutil

import pandas as pd
import pytest

from geo import Workspace, services
from geo import stored_hotspots as sh
from geo.auth import AccessDenied
from geo.hotspot_runs import METHODS, default_params, hotspot_layer_data, hotspot_table

BARNSLEY = ("inspector", ("E08000016",))


@pytest.fixture(scope="module")
def kept(demo_workspaces, tmp_path_factory):
    """A copy of the demo with Barnsley's bundles kept (a module-wide server secret); ``(path, key file, selection)``."""
    folder = tmp_path_factory.mktemp("kept-hotspots")
    p = folder / "south-yorkshire.gpkg"
    shutil.copy(demo_workspaces["south-yorkshire"], p)
    key_file = folder / "session.key"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GEO_SESSION_KEY_FILE", str(key_file))
        saved = []
        n = services.keep_hotspot_defaults(p, user=BARNSLEY, on_saved=lambda b, a: saved.append((b, a)))
        assert n == len(METHODS) and len(saved) == n  # one write per method, its mtimes reported
        assert services.keep_hotspot_defaults(p, user=BARNSLEY) == 0  # kept: not computed again
    ws = Workspace.open(p)
    try:
        sel = sh.page_defaults(ws)
    finally:
        ws.close()
    return p, key_file, sel


@pytest.fixture(autouse=True)
def _secret(kept, monkeypatch):
    monkeypatch.setenv("GEO_SESSION_KEY_FILE", str(kept[1]))


def _load(p, sel, method, user=BARNSLEY):
    return services.stored_hotspots(p, user=user, layer=sel["layer"], months=sel["months"],
                                    categories=sel["categories"], method=method, weighted=sel["weighted"])


def _frames_equal(a, b):
    if a is None or b is None:
        assert a is None and b is None
        return
    pd.testing.assert_frame_equal(pd.DataFrame(a), pd.DataFrame(b))


def test_the_page_default_selection_is_what_the_page_opens_with(kept):
    _, _, sel = kept
    ws = Workspace.open(kept[0])
    try:
        months = ws.store.months("crime")
    finally:
        ws.close()
    assert sel == {"layer": "crime", "months": (months[0], months[-1]), "categories": (), "weighted": True,
                   "shape": "square", "buffers": (200.0, 400.0), "level": "ward"}


@pytest.mark.parametrize("method", list(METHODS))
def test_a_kept_bundle_equals_the_computation_the_page_makes(kept, method):
    p, _, sel = kept
    got = _load(p, sel, method)
    assert got is not None
    # the page's own sequence (dashboard/data_hotspots.py), computed now
    kw = dict(user=BARNSLEY, layer=sel["layer"], months=sel["months"], categories=sel["categories"])
    inputs = services.hotspot_inputs(p, **kw)
    params = default_params(method, "square")
    auto = services.hotspot_defaults(p, **kw, method=method, weighted=True, inputs=inputs)
    run = services.find_hotspots(p, **kw, method=method, weighted=True, params=dict(params), inputs=inputs)
    base = services.hotspot_site_exposure(p, **kw, run=None, buffers=(200.0, 400.0), inputs=inputs)[0]
    exposure, nearest = services.hotspot_site_exposure(p, **kw, run=run, buffers=(200.0, 400.0), inputs=inputs,
                                                       base=base)
    word = "cluster" if method in ("dbscan", "hdbscan") else "square"
    table = hotspot_table(run, nearest, services.boundaries(p, user=BARNSLEY, level="ward"), word=word)

    assert got["params"] == params and got["buffers"] == (200.0, 400.0)
    assert (got["word"], got["level"]) == (word, "ward")
    assert got["auto"] == auto
    assert (got["run"].method, got["run"].classes, got["run"].params, got["run"].summary) == (
        run.method, run.classes, run.params, run.summary)
    _frames_equal(got["run"].layer, run.layer)
    assert len(got["run"].layer) > 0
    _frames_equal(got["exposure"], exposure)
    _frames_equal(got["nearest"], nearest)
    _frames_equal(got["table"], table)
    # the map layer's data, stored and loaded, is the one made now from the computed run (its GeoJSON text too)
    made = hotspot_layer_data(run.layer, classes=run.classes, method=method)
    assert got["layer"] == made and got["layer"].geojson == made.geojson


def test_a_change_of_harm_weights_or_settings_gives_a_new_key_and_no_stale_bundle(kept, tmp_path):
    p0, _, sel = kept
    p = tmp_path / "south-yorkshire.gpkg"
    shutil.copy(p0, p)
    key = dict(scope=("E08000016",), layer=sel["layer"], months=sel["months"], categories=(), weighted=True,
               method="gistar")
    ws = Workspace.open(p)
    try:
        k0 = sh.bundle_key(ws.store, **key)
        ws.store.audit("someone", "viewed hot spot map", "")  # no data change: the same key
        assert sh.bundle_key(ws.store, **key) == k0
        assert sh.bundle_key(ws.store, **{**key, "weighted": False}) != k0
        assert sh.bundle_key(ws.store, **{**key, "method": "kde"}) != k0
        assert sh.bundle_key(ws.store, **{**key, "months": (sel["months"][0], sel["months"][0])}) != k0
        harm = ws.harm_table()
        harm.loc[harm.index[0], "weight"] = float(harm["weight"].iloc[0]) + 1.0
        ws.set_harm_table(harm)
        k1 = sh.bundle_key(ws.store, **key)
        ws.set_setting("site_buffers_m", [150, 300])
        k2 = sh.bundle_key(ws.store, **key)
    finally:
        ws.close()
    assert len({k0, k1, k2}) == 3
    assert _load(p, sel, "gistar") is None  # the kept bundle is of the old data: never found
    assert _load(p0, sel, "gistar") is not None


def test_an_inspector_never_loads_another_scopes_bundle(kept):
    p, _, sel = kept
    assert _load(p, sel, "kde") is not None
    assert _load(p, sel, "kde", user=("inspector", ("E08000019",))) is None  # Sheffield: not Barnsley's
    assert _load(p, sel, "kde", user=("inspector", ("E08000016", "E08000019"))) is None
    assert _load(p, sel, "kde", user=("analyst", ())) is None  # the force's is another scope
    with pytest.raises(AccessDenied):
        _load(p, sel, "kde", user=("partner", ()))


def test_a_bundle_not_signed_by_this_server_is_never_used(kept, tmp_path, monkeypatch):
    p, _, sel = kept
    monkeypatch.setenv("GEO_SESSION_KEY_FILE", str(tmp_path / "another.key"))
    assert _load(p, sel, "gistar") is None


def test_the_page_shows_the_kept_runs_without_computing_them(kept, monkeypatch):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from tests.conftest import sign_in_for_test
    p, _, sel = kept

    def no_run(*_a, **_k):
        raise AssertionError("computed, although a bundle is kept")
    monkeypatch.setattr(services, "find_hotspots", no_run)
    monkeypatch.setattr(services, "hotspot_defaults", no_run)
    import geo.hotspot_runs
    import geo.render.hotspot_layers
    for module in (geo.hotspot_runs, geo.render.hotspot_layers):  # the map layer too: only drawn
        monkeypatch.setattr(module, "hotspot_layer_data", no_run)
    monkeypatch.setenv("GEO_WORKSPACES", str(p.parent))
    app = str(Path(__file__).resolve().parents[1] / "dashboard" / "app.py")
    at = sign_in_for_test(AppTest.from_file(app, default_timeout=120), *BARNSLEY)
    at.session_state["workspace"] = str(p)
    at.switch_page("app_pages/hotspots.py").run()
    assert not at.exception, at.exception
    for method in ("gistar", "dbscan"):
        if method != "gistar":
            at.selectbox(key="hs_method").set_value(method).run()
            assert not at.exception, at.exception
        bundle = _load(p, sel, method)
        shown = {m.label: m.value for m in at.metric}
        assert shown["Incidents analysed"] == f"{bundle['run'].summary['n_points']:,}"
    # a selection that is not the default is computed as before
    at.selectbox(key="hs_method").set_value("kde").run()
    at.toggle(key="hs_auto_bw_kde").set_value(False).run()
    assert at.exception and "computed, although a bundle is kept" in str(at.exception[0].message)


def test_a_harm_change_during_the_plan_keeps_no_bundle_of_the_old_inputs(kept, tmp_path):
    """The steps share the selection's inputs; a harm change between two steps must not keep a bundle
    computed from the inputs read before it under the key of the data after it (the next plan would
    find it and never recompute)."""
    p0, _, sel = kept
    p = tmp_path / "south-yorkshire.gpkg"
    shutil.copy(p0, p)
    steps = dict((what.split()[1], run) for what, run in services.hotspot_default_steps(
        p, user=BARNSLEY, methods=("gistar", "kde")))
    ws = Workspace.open(p)
    try:  # a copy of a kept workspace: nothing to do until the data changes
        harm = ws.harm_table()
        harm["weight"] = harm["weight"].astype(float) * 3.0  # every weight: any harm-weighted figure moves
        ws.set_harm_table(harm)
    finally:
        ws.close()
    steps = dict((what.split()[1], run) for what, run in services.hotspot_default_steps(
        p, user=BARNSLEY, methods=("gistar", "kde")))
    assert steps["gistar"]() is True  # reads the inputs of the new weights, keeps gistar
    ws = Workspace.open(p)
    try:
        harm = ws.harm_table()
        harm["weight"] = harm["weight"].astype(float) * 2.0
        ws.set_harm_table(harm)  # between two steps of one plan
    finally:
        ws.close()
    assert steps["kde"]() is True  # ... so kde re-reads them: its bundle is of the data it is kept under
    got = _load(p, sel, "kde")
    kw = dict(user=BARNSLEY, layer=sel["layer"], months=sel["months"], categories=sel["categories"])
    run = services.find_hotspots(p, **kw, method="kde", weighted=True, params=dict(default_params("kde", "square")))
    _frames_equal(got["run"].layer, run.layer)
