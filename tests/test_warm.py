"""dashboard/warm.py: the background warm-ups go through the pages' caches, once per selection, in short
steps that wait while any user's run is under way."""
from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pytest

from dashboard import data, warm
from geo.hotspot_runs import METHODS

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def quick(monkeypatch):
    # a warm-up an earlier app test started (e.g. the Map's Gi* layer, the published figures) ends first
    assert warm.join(120)
    if warm._PUB_THREAD[0] is not None:
        warm._PUB_THREAD[0].join(120)
    monkeypatch.setattr(warm, "SETTLE_S", 0.0)
    monkeypatch.setattr(warm, "_WARMED", {})
    monkeypatch.setattr(warm, "_MAP_WARMED", {})
    yield
    assert warm.join(10)


def test_the_next_method_down_the_list_is_warmed_first():
    assert list(METHODS) == ["gistar", "kde", "dbscan", "hdbscan", "emerging"]
    assert warm.order("gistar", METHODS) == ("kde", "dbscan", "hdbscan", "emerging")
    assert warm.order("dbscan", METHODS) == ("hdbscan", "emerging", "gistar", "kde")
    assert warm.order("emerging", METHODS) == ("gistar", "kde", "dbscan", "hdbscan")


def test_warm_up_runs_every_method_first_then_sites_and_tables_through_the_page_caches(monkeypatch):
    calls, gate = [], threading.Event()

    def recorder(name):
        def f(*args):
            gate.wait(5)  # the first selection is still being warmed while the second asks
            calls.append((name, args))
            if name == "hotspots" and args[6] == "emerging":
                raise ValueError("too few months")  # one method failing does not stop the others
        return f

    for name in ("hotspot_defaults", "hotspots", "hotspot_sites", "hotspot_table", "site_exposure_base"):
        monkeypatch.setattr(data, name, recorder(name))
    monkeypatch.setitem(sys.modules, "sklearn.cluster", sys.modules.get("sklearn.cluster") or object())
    jobs = (("kde", (("bandwidth", None),), "square"), ("emerging", (("period", None),), "square"),
            ("dbscan", (("eps_m", None), ("min_samples", None)), "cluster"))
    sel = ("ws.gpkg", 1.0, ("analyst", ()), "crime", ("2024-01", "2025-06"), ())
    assert warm.hotspots(*sel, True, jobs, (200.0, 400.0), "ward")
    other = ("ws.gpkg", 1.0, ("analyst", ()), "crime", ("2024-02", "2025-06"), ())
    assert warm.hotspots(*other, True, jobs[:1], (200.0, 400.0), "ward")  # queued behind the first
    gate.set()
    assert warm.join(10)
    assert not warm.hotspots(*sel, True, jobs, (200.0, 400.0), "ward")  # this selection is warm already

    names = [(n, a[6] if n != "site_exposure_base" else a[4]) for n, a in calls]
    first = [("hotspot_defaults", "kde"), ("hotspots", "kde"), ("site_exposure_base", ("2024-01", "2025-06")),
             ("hotspot_defaults", "emerging"), ("hotspots", "emerging"),  # failed: its sites are still tried
             ("hotspot_defaults", "dbscan"), ("hotspots", "dbscan"),
             ("hotspot_sites", "kde"), ("hotspot_table", "kde"), ("hotspot_sites", "emerging"),
             ("hotspot_table", "emerging"), ("hotspot_sites", "dbscan"), ("hotspot_table", "dbscan")]
    assert names[:len(first)] == first
    assert [n for n, a in calls[len(first):]] == ["hotspot_defaults", "hotspots", "site_exposure_base",
                                                 "hotspot_sites", "hotspot_table"]  # the queued selection
    assert all(a[4] == ("2024-02", "2025-06") for _, a in calls[len(first):])
    # the same positional arguments the page's calls end up with: the same cache keys, the same scope
    assert calls[1][1] == (*sel, "kde", True, (("bandwidth", None),))
    assert calls[2][1] == (*sel, (200.0, 400.0))
    assert calls[8][1] == (*sel, "kde", True, (("bandwidth", None),), (200.0, 400.0), "square", "ward")


def test_scikit_learn_is_imported_first_when_a_cluster_method_is_warmed(monkeypatch):
    steps = []
    monkeypatch.setattr(warm, "_start", lambda warmed, key, s, name: steps.extend(s) or True)
    monkeypatch.delitem(sys.modules, "sklearn.cluster", raising=False)
    sel = ("ws.gpkg", 1.0, ("analyst", ()), "crime", ("2024-01", "2025-06"), ())
    warm.hotspots(*sel, True, (("dbscan", (), "cluster"),), (200.0,), None)
    assert steps[0][0] == "import scikit-learn"
    steps.clear()
    warm.hotspots(*sel, True, (("kde", (), "square"),), (200.0,), None)
    assert "import scikit-learn" not in [w for w, _ in steps]


def test_a_warm_up_step_waits_while_a_user_run_is_under_way(monkeypatch):
    done = threading.Event()
    monkeypatch.setattr(data, "hotspots", lambda *args: done.set())
    with warm.user_run:  # the page that starts the warm-up is still running
        assert warm.map_gistar("ws.gpkg", 1.0, ("analyst", ()), "crime", ("2024-01", "2024-02"), (), True)
        with warm.user_run:  # nested (a fragment inside the page's run), or another session's
            pass
        time.sleep(0.3)
        assert not done.is_set()  # not beside the user's run
    assert done.wait(10)  # once every run has ended
    assert not warm.wait_idle(settle=60, limit=0.1)  # a run has just ended: not settled yet
    assert warm.wait_idle(settle=0, limit=0.1)


def test_pages_and_the_app_count_as_user_runs():
    app = (ROOT / "dashboard" / "app.py").read_text()
    assert app.count("with warm.user_run:") == 2  # the sign-in page's run and every signed-in page's run
    for page in ("hotspots", "map"):
        text = (ROOT / "dashboard" / "app_pages" / f"{page}.py").read_text()
        assert "@st.fragment\n@warm.user_run" in text  # fragment reruns do not pass through app.py


def test_map_gistar_warms_the_maps_own_cache_key_once_per_selection(monkeypatch):
    calls = []
    monkeypatch.setattr(data, "hotspots", lambda *args: calls.append(args))
    sel = ("ws.gpkg", 1.0, ("inspector", ("E08000019",)), "crime", ("2024-01", "2025-06"), ("Robbery",))
    assert warm.map_gistar(*sel, True)
    assert warm.join(10)
    assert not warm.map_gistar(*sel, True)  # warm already
    assert warm.map_gistar(*sel, False)  # the other measure is another selection
    assert warm.join(10)
    # exactly the Map page's call (dashboard/app_pages/map.py): the same cache key, the same scope
    assert calls == [(*sel, "gistar", True, ()), (*sel, "gistar", False, ())]
    page = (ROOT / "dashboard" / "app_pages" / "map.py").read_text()
    assert 'data.hotspots(key, ver, role_key, main_layer, (m0, m1), cats, "gistar", value_col == "harm", ())' in page
    assert 'warm.map_gistar(key, ver, role_key, main_layer, (m0, m1), cats, value_col == "harm")' in page


def test_hurry_runs_a_warm_up_under_way_at_normal_priority(monkeypatch):
    import os
    gate, started = threading.Event(), threading.Event()

    def slow(*args):
        started.set()
        gate.wait(5)

    monkeypatch.setattr(data, "hotspots", slow)
    assert warm.map_gistar("ws.gpkg", 1.0, ("analyst", ()), "crime", ("2024-01", "2024-02"), (), True)
    started.wait(5)
    tid = warm._WARM_TID[0]
    try:
        assert os.getpriority(os.PRIO_PROCESS, tid) == 10  # warming at low priority
        with warm.user_run:  # a user's run starts while the step is under way
            raised = os.getpriority(os.PRIO_PROCESS, tid) == os.getpriority(os.PRIO_PROCESS, 0)
        if warm.hurry():  # allowed here (root, or RLIMIT_NICE): the user now waits for it
            assert os.getpriority(os.PRIO_PROCESS, tid) == os.getpriority(os.PRIO_PROCESS, 0)
            assert raised  # the user's run had raised it already
    finally:
        gate.set()
        assert warm.join(10)
    assert not warm.hurry()  # nothing under way


def test_published_warms_the_area_summarys_cache_keys_once_per_selection(monkeypatch):
    calls = []

    class Pub:
        level = "lsoa"

    monkeypatch.setattr(data, "partner_published", lambda *args: calls.append(("published", args)) or Pub())
    monkeypatch.setattr(data, "partner_units", lambda *args: calls.append(("units", args)))
    from geo.render import static_maps
    monkeypatch.setattr(static_maps, "pyplot", lambda: calls.append(("matplotlib", ())))
    monkeypatch.setattr(warm, "_PUB_WARMED", {})
    sel = ("ws.gpkg", 1.0, ("partner", ()), 5)
    assert warm.published(*sel, ("2025-Q2",), True, ("ward", "lsoa", "neighbourhood"))
    warm._PUB_THREAD[0].join(10)
    assert not warm.published(*sel, ("2025-Q2",), True, ("ward", "lsoa", "neighbourhood"))  # warm already
    # the positional arguments the Area summary's calls pass on: the same cache keys, the same scope;
    # the table's own level first, each level once
    assert calls == [("published", ("ws.gpkg", 1.0, 5, ("partner", ()))),
                     *[("units", ("ws.gpkg", 1.0, lv, ("2025-Q2",), 5, True, ("partner", ())))
                       for lv in ("lsoa", "ward", "neighbourhood")],
                     ("matplotlib", ())]  # then a briefing's map and chart library, imported ahead
    info = {"months": [f"2025-{m:02d}" for m in range(1, 7)], "settings": {"suppression_threshold": 7},
            "levels": ["bcu", "ward", "lsoa"]}
    calls.clear()
    assert warm.area_summary("ws.gpkg", 2.0, info, ("analyst", ()))
    warm._PUB_THREAD[0].join(10)
    assert calls[0] == ("published", ("ws.gpkg", 2.0, 7, ("analyst", ())))
    assert [c[1][2] for c in calls[1:-1]] == ["lsoa", "ward"] and calls[1][1][3] == ("2025-Q2",)  # the last quarter


def test_kept_runs_are_only_loaded_no_scikit_learn_and_no_site_exposure(monkeypatch):
    from dashboard import data_hotspots
    calls, steps = [], []
    for name in ("hotspot_defaults", "hotspots", "hotspot_sites", "hotspot_table", "site_exposure_base"):
        monkeypatch.setattr(data, name, lambda *a, name=name: calls.append(name))
    monkeypatch.setattr(warm, "_start", lambda warmed, key, s, name: steps.extend(s) or True)
    monkeypatch.delitem(sys.modules, "sklearn.cluster", raising=False)
    jobs = (("kde", (("bandwidth", None),), "square"), ("dbscan", (("eps_m", None), ("min_samples", None)), "cluster"))
    sel = ("ws.gpkg", 1.0, ("analyst", ()), "crime", ("2024-01", "2025-06"), ())
    kept = {"kde", "dbscan"}
    monkeypatch.setattr(data_hotspots, "kept_run", lambda *a: a[6] in kept)
    assert warm.hotspots(*sel, True, jobs, (200.0, 400.0), "ward")
    for _, step in steps:
        step()
    assert "sklearn.cluster" not in sys.modules and "site_exposure_base" not in calls
    assert calls.count("hotspots") == 2 and calls.count("hotspot_table") == 2  # loaded into the caches
    # one cluster method not kept: scikit-learn and the site exposure are made again
    calls.clear()
    kept.discard("dbscan")
    for what, step in steps:
        if what in ("import scikit-learn", "site exposure"):
            step()
    assert "sklearn.cluster" in sys.modules and calls == ["site_exposure_base"]


def test_kept_hotspots_plans_every_scope_once_per_data_version(demo_workspaces, monkeypatch):
    from geo import Workspace, access, services
    monkeypatch.setattr(warm, "_KEPT_WARMED", {})
    path = str(demo_workspaces["south-yorkshire"])
    monkeypatch.setenv(warm.KEEP_ENV, "0")
    assert not warm.kept_hotspots(path)  # switched off (the tests' default)
    monkeypatch.setenv(warm.KEEP_ENV, "1")
    asked, ran = [], []

    def steps(where, *, user, on_saved=None):
        asked.append(user)
        assert callable(on_saved)  # a kept bundle is no data change: the caches keep their version
        return [(f"step {user}", lambda u=user: ran.append(u))]
    monkeypatch.setattr(services.products, "hotspot_default_steps", steps)

    def frame_steps(where, *, on_saved=None):
        assert callable(on_saved)
        return [("keep the frame", lambda: ran.append("frame"))]
    monkeypatch.setattr(services, "incidents_frame_steps", frame_steps)
    assert warm.kept_hotspots(path)
    assert warm.join(30)
    assert not warm.kept_hotspots(path)  # once per data version
    assert ran.pop(0) == "frame"  # the Map's frame first (a new server's first sign-in loads it)
    ws = Workspace.open(path)
    try:
        codes = list(ws.bcus()["code"].astype(str))
    finally:
        ws.close()
    assert asked == ran == access.stored_scopes(codes) and len(codes) == 4


def test_a_change_of_data_queues_the_kept_hotspot_runs_with_the_published_table(demo_workspaces, monkeypatch):
    kept, published = [], []
    monkeypatch.setattr(warm, "kept_hotspots", lambda path: kept.append(path) or True)
    monkeypatch.setattr(warm, "area_summary", lambda *a: published.append(a) or True)
    path = str(demo_workspaces["south-yorkshire"])
    assert data.published_in_background(path, user=("analyst", ()))  # after an import, harm or settings change
    assert kept == [path] and len(published) == 1
