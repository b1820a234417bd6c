"""Server seconds of the Hotspots page's first switch to a method, computed by the page itself.

Usage: ``python benchmarks/first_switch.py METHOD [--workspace PATH] [--sklearn] [--kept]`` (a fresh process per
method; ``--sklearn`` imports scikit-learn first, as a server that ran a cluster method before has it;
``--kept``: the page's default runs kept in the workspace, :mod:`geo.stored_hotspots`, are loaded instead of
computed, the map layer drawn from the kept layer data where the bundle has it: they are kept first, untimed, if missing; give a copy of the workspace and ``GEO_SESSION_KEY_FILE``).

As the analyst, on all months of the crime layer, weighted by harm: the page opened on Gi* (its inputs, run
and, where the code has it, the site exposure of the selection are made first, untimed), then what the page
computes for METHOD on its first switch: automatic parameters, the run, the site exposure and nearest sites,
the table's "near <ward>" names, the layer drawn and rendered (one line, seconds per part, the layer's HTML
size, the load average). Not a test: compare two checkouts with ``PYTHONPATH=<checkout>``.
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def params(method: str) -> dict:
    """The parameters the page opens ``method`` with (:func:`geo.hotspot_runs.default_params`)."""
    from geo.hotspot_runs import default_params
    return dict(default_params(method))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("method", choices=("gistar", "kde", "dbscan", "hdbscan", "emerging"))
    ap.add_argument("--workspace", default=str(ROOT / "workspaces" / "south-yorkshire.gpkg"))
    ap.add_argument("--sklearn", action="store_true", help="import scikit-learn before timing")
    ap.add_argument("--kept", action="store_true", help="load the kept default run instead of computing it")
    args = ap.parse_args(argv)
    from geo import labels, maps, services  # noqa: F401 - maps and the layer code imported before timing
    from geo.hotspot_runs import add_hotspot_layer  # noqa: F401
    path, method, role = args.workspace, args.method, ("analyst", ())
    if args.kept:
        return kept(path, method, role)
    with services.opened(path) as ws:
        inc = ws.incidents(layer="crime")
        wards = ws.boundaries("ward")
    months = sorted(inc["month"].unique())
    inputs = services.hotspot_inputs(path, user=role, layer="crime", months=(months[0], months[-1]), incidents=inc)
    has_base = "base" in services.hotspot_site_exposure.__code__.co_varnames
    services.find_hotspots(path, user=role, layer="crime", method="gistar", weighted=True, params=params("gistar"),
                           inputs=inputs)  # the page opened on Gi*
    kw = {}
    if has_base:
        kw["base"] = services.hotspot_site_exposure(path, user=role, run=None, layer="crime", buffers=(200.0, 400.0),
                                                    inputs=inputs)[0]
    if args.sklearn:
        import sklearn.cluster  # noqa: F401
    parts: dict[str, float] = {}
    t0 = t = time.perf_counter()
    services.hotspot_defaults(path, user=role, layer="crime", method=method, weighted=True, inputs=inputs)
    parts["defaults"], t = time.perf_counter() - t, time.perf_counter()
    run = services.find_hotspots(path, user=role, layer="crime", method=method, weighted=True, params=params(method),
                                 inputs=inputs)
    parts["run"], t = time.perf_counter() - t, time.perf_counter()
    services.hotspot_site_exposure(path, user=role, run=run, layer="crime", buffers=(200.0, 400.0), inputs=inputs,
                                   **kw)
    parts["sites"], t = time.perf_counter() - t, time.perf_counter()
    labels.near_labels(run.hot, wards, shape="cluster")
    parts["names"], t = time.perf_counter() - t, time.perf_counter()
    _draw_and_report(method, run, parts, t, t0, "")
    return 0


def _draw_and_report(method: str, run, parts: dict, t: float, t0: float, tag: str, layer=None) -> None:
    """The layer (``layer``: its kept data, else the run's frame) drawn on a base map and rendered (timed from
    ``t``), then one line of every part."""
    from geo import maps
    from geo.hotspot_runs import add_hotspot_layer
    m = maps.base_map((-1.5, 53.3, -1.2, 53.5))
    add_hotspot_layer(m, run.layer if layer is None else layer, classes=run.classes, method=method,
                      name="Hot spots", title="Hot spots")
    maps.dynamic_layers(m)
    html = m.get_root().render()
    parts["layer"] = time.perf_counter() - t
    parts["total"] = time.perf_counter() - t0
    print(f"{method:9s}{tag}", " ".join(f"{k} {v:.2f}" for k, v in parts.items()), f"| {len(html) / 1e6:.2f} MB",
          f"| load {os.getloadavg()[0]:.1f}", flush=True)


def kept(path: str, method: str, role: tuple) -> int:
    """``--kept``: the bundle loaded (after the access check) and the layer drawn and rendered."""
    from geo import maps, services  # noqa: F401 - imported before timing
    from geo.hotspot_runs import add_hotspot_layer  # noqa: F401
    services.keep_hotspot_defaults(path, user=role)  # untimed; nothing to do when kept already
    with services.opened(path) as ws:
        from geo.stored_hotspots import page_defaults
        sel = page_defaults(ws)
    parts: dict[str, float] = {}
    t0 = t = time.perf_counter()
    bundle = services.stored_hotspots(path, user=role, layer=sel["layer"], months=sel["months"],
                                      categories=sel["categories"], method=method, weighted=sel["weighted"])
    if bundle is None:
        raise SystemExit(f"no kept bundle of {method} in {path}")
    parts["load"], t = time.perf_counter() - t, time.perf_counter()
    _draw_and_report(method, bundle["run"], parts, t, t0, " kept", layer=bundle.get("layer"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
