"""dashboard/warm.py: the Hotspots page's background warm-up goes through the page's caches, once per selection."""
from __future__ import annotations

import threading
from pathlib import Path

from dashboard import data, warm

ROOT = Path(__file__).resolve().parents[1]


def test_warm_up_calls_the_cached_functions_once_per_selection(monkeypatch):
    calls, gate = [], threading.Event()

    def recorder(name):
        def f(*args):
            gate.wait(5)  # the first selection is still being warmed while the second asks
            calls.append((name, args))
            if name == "hotspots" and args[6] == "emerging":
                raise ValueError("too few months")  # one method failing does not stop the others
        return f

    for name in ("hotspot_defaults", "hotspots", "hotspot_sites", "hotspot_table"):
        monkeypatch.setattr(data, name, recorder(name))
    monkeypatch.setattr(warm, "_WARMED", {})
    jobs = (("kde", (("bandwidth", None),), "square"), ("emerging", (("period", None),), "square"),
            ("dbscan", (("eps_m", None), ("min_samples", None)), "cluster"))
    sel = ("ws.gpkg", 1.0, ("analyst", ()), "crime", ("2024-01", "2025-06"), ())
    assert warm.hotspots(*sel, True, jobs, (200.0, 400.0), "ward")
    assert not warm.hotspots(*sel[:4], ("2024-02", "2025-06"), (), True, jobs, (200.0, 400.0), "ward")  # busy
    gate.set()
    warm._WARM_THREAD[0].join(10)
    assert not warm.hotspots(*sel, True, jobs, (200.0, 400.0), "ward")  # this selection is warm already

    names = [(n, a[6]) for n, a in calls]
    assert names == [("hotspot_defaults", "kde"), ("hotspots", "kde"), ("hotspot_sites", "kde"),
                     ("hotspot_table", "kde"), ("hotspot_defaults", "emerging"), ("hotspots", "emerging"),
                     ("hotspot_defaults", "dbscan"), ("hotspots", "dbscan"), ("hotspot_sites", "dbscan"),
                     ("hotspot_table", "dbscan")]
    # the same positional arguments the page's calls end up with: the same cache keys, the same scope
    assert calls[1][1] == (*sel, "kde", True, (("bandwidth", None),))
    assert calls[3][1] == (*sel, "kde", True, (("bandwidth", None),), (200.0, 400.0), "square", "ward")


def test_map_gistar_warms_the_maps_own_cache_key_once_per_selection(monkeypatch):
    calls = []
    monkeypatch.setattr(data, "hotspots", lambda *args: calls.append(args))
    monkeypatch.setattr(warm, "_MAP_WARMED", {})
    sel = ("ws.gpkg", 1.0, ("inspector", ("E08000019",)), "crime", ("2024-01", "2025-06"), ("Robbery",))
    assert warm.map_gistar(*sel, True)
    warm._WARM_THREAD[0].join(10)
    assert not warm.map_gistar(*sel, True)  # warm already
    assert warm.map_gistar(*sel, False)  # the other measure is another selection
    warm._WARM_THREAD[0].join(10)
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
    monkeypatch.setattr(warm, "_MAP_WARMED", {})
    assert warm.map_gistar("ws.gpkg", 1.0, ("analyst", ()), "crime", ("2024-01", "2024-02"), (), True)
    started.wait(5)
    tid = warm._WARM_TID[0]
    try:
        assert os.getpriority(os.PRIO_PROCESS, tid) == 10  # warming at low priority
        if warm.hurry():  # allowed here (root, or RLIMIT_NICE): the user now waits for it
            assert os.getpriority(os.PRIO_PROCESS, tid) == os.getpriority(os.PRIO_PROCESS, 0)
    finally:
        gate.set()
        warm._WARM_THREAD[0].join(10)
    assert not warm.hurry()  # nothing under way


def test_published_warms_the_area_summarys_cache_keys_once_per_selection(monkeypatch):
    calls = []

    class Pub:
        level = "lsoa"

    monkeypatch.setattr(data, "partner_published", lambda *args: calls.append(("published", args)) or Pub())
    monkeypatch.setattr(data, "partner_units", lambda *args: calls.append(("units", args)))
    monkeypatch.setattr(warm, "_PUB_WARMED", {})
    sel = ("ws.gpkg", 1.0, ("partner", ()), 5)
    assert warm.published(*sel, ("2025-Q2",), True, ("ward", "lsoa", "neighbourhood"))
    warm._PUB_THREAD[0].join(10)
    assert not warm.published(*sel, ("2025-Q2",), True, ("ward", "lsoa", "neighbourhood"))  # warm already
    # the positional arguments the Area summary's calls pass on: the same cache keys, the same scope;
    # the table's own level first, each level once
    assert calls == [("published", ("ws.gpkg", 1.0, 5, ("partner", ()))),
                     *[("units", ("ws.gpkg", 1.0, lv, ("2025-Q2",), 5, True, ("partner", ())))
                       for lv in ("lsoa", "ward", "neighbourhood")]]
    info = {"months": [f"2025-{m:02d}" for m in range(1, 7)], "settings": {"suppression_threshold": 7},
            "levels": ["bcu", "ward", "lsoa"]}
    calls.clear()
    assert warm.area_summary("ws.gpkg", 2.0, info, ("analyst", ()))
    warm._PUB_THREAD[0].join(10)
    assert calls[0] == ("published", ("ws.gpkg", 2.0, 7, ("analyst", ())))
    assert [c[1][2] for c in calls[1:]] == ["lsoa", "ward"] and calls[1][1][3] == ("2025-Q2",)  # the last quarter
