"""Benchmark geo.hotspots against esda and KDEpy.

Run ``python benchmarks/bench_hotspots.py`` (``--quick`` for smaller sizes). Prints one
table: our time, the reference library's time, the ratio and the largest difference.

* Gi* (z-scores + Benjamini-Hochberg FDR + labels) on square grids of 10k, 100k and 1M
  cells (queen neighbours, distance 1.5 x cell size) against ``esda.G_Local(...,
  star=True, transform="B", permutations=0)`` + ``scipy.stats.false_discovery_control``
  with ``libpysal.weights.DistanceBand`` weights. esda runs up to 100k cells; its
  weights-building time is reported separately.
* KDE (gaussian, binned + FFT) on 1M points against KDEpy's ``FFTKDE`` (the same
  method: linear binning and an FFT convolution) on the same points, weights, bandwidth
  and grid centres. (An exact KDE such as scikit-learn's ``KernelDensity`` does other
  work, a sum over every point at every cell, so it is no like-for-like reference.)
* The whole pipeline on 1M points over 12 monthly periods: a shared grid, per month grid
  counts, quartic KDE and Gi* with FDR.
* Emerging hot spots on the same 12 months (``geo.emerging.hotspot_emerging``) and the
  exposure of 1,000 sensitive sites (``geo.sites.site_exposure``).
"""
from __future__ import annotations

import argparse
import math
import os
import time
import warnings

import geopandas as gpd
import numpy as np

from geo.hotspots import gistar, grid_counts, kde

CRS = "EPSG:27700"
X0, Y0 = 520_000.0, 175_000.0  # a London-sized box


def synthetic_points(n: int, seed: int = 0, width: float = 20_000, height: float = 15_000):
    """Clustered harm points: 60 gaussian hot spots (60%) over a uniform background."""
    rng = np.random.default_rng(seed)
    n_hot = int(0.6 * n)
    centres = rng.uniform([0, 0], [width, height], size=(60, 2))
    which = rng.integers(0, 60, n_hot)
    spread = rng.uniform(80, 400, 60)[which]
    hx = centres[which, 0] + rng.normal(0, 1, n_hot) * spread
    hy = centres[which, 1] + rng.normal(0, 1, n_hot) * spread
    bx = rng.uniform(0, width, n - n_hot)
    by = rng.uniform(0, height, n - n_hot)
    x = np.clip(np.r_[hx, bx], 0, width) + X0
    y = np.clip(np.r_[hy, by], 0, height) + Y0
    return gpd.GeoDataFrame(
        {"harm_w": rng.gamma(2.0, 1.0, n), "month": rng.integers(1, 13, n)},
        geometry=gpd.points_from_xy(x, y), crs=CRS,
    )


def timed(fn, repeat: int = 1):
    best, out = math.inf, None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def bench_gistar(n_cells: int, with_esda: bool, rows: list):
    side = int(round(math.sqrt(n_cells)))
    cell = 20_000 / side
    pts = synthetic_points(3 * side * side, seed=1, width=20_000, height=20_000)
    cells = grid_counts(pts, cell_size=cell)
    n = len(cells)
    t_ours, out = timed(lambda: gistar(cells, correction="fdr_bh"), repeat=3 if n < 2e5 else 1)
    row = {"task": f"Gi* z+FDR, {n:,} cells", "ours_s": t_ours, "ref": "esda G_Local",
           "ref_s": None, "ratio": None, "max_diff": None, "note": ""}
    if with_esda:
        from esda import G_Local
        from libpysal.weights import DistanceBand
        from scipy.stats import false_discovery_control

        cent = np.column_stack([cells.geometry.centroid.x, cells.geometry.centroid.y])
        d = out.attrs["distance"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t_w, w = timed(lambda: DistanceBand(cent, threshold=d, binary=True,
                                                silence_warnings=True))
            y = cells["n"].to_numpy(float)

            def ref():
                g = G_Local(y, w, transform="B", star=True, permutations=0)
                false_discovery_control(np.minimum(2 * g.p_norm, 1), method="bh")
                return g
            t_ref, g = timed(ref)
        row.update(ref_s=t_ref, ratio=t_ref / t_ours,
                   max_diff=float(np.abs(out["gistar"].to_numpy() - g.Zs).max()),
                   note=f"esda weights build {t_w:.2f} s extra; incl. it ratio "
                        f"{(t_ref + t_w) / t_ours:.0f}x")
    rows.append(row)


def bench_kde(n_points: int, rows: list):
    """Our binned FFT KDE against KDEpy's ``FFTKDE`` (also linear binning + FFT): same
    points, same weights, same gaussian bandwidth, evaluated on the same grid centres."""
    from KDEpy import FFTKDE

    pts = synthetic_points(n_points, seed=2)
    h = 150.0
    w = pts["harm_w"].to_numpy()
    t_ours, res = timed(lambda: kde(pts, bandwidth=h, kernel="gaussian", weight="harm_w"), repeat=3)
    cx, cy = res.centres()
    xs, ys = cx[0, :], cy[:, 0]
    # KDEpy's grid: every (x, y) pair, x varying slowest; its values come back in that order
    grid = np.column_stack([np.repeat(xs, len(ys)), np.tile(ys, len(xs))])
    xy = np.column_stack([pts.geometry.x, pts.geometry.y])

    def ref():
        return FFTKDE(kernel="gaussian", bw=h).fit(xy, weights=w).evaluate(grid)
    t_ref, theirs = timed(ref, repeat=3)
    theirs = theirs.reshape(len(xs), len(ys)).T  # to our (row = y, col = x) layout
    rows.append({
        "task": f"KDE gaussian, {n_points:,} pts, {res.density.size:,} cells "
                f"({res.grid.cell_size:g} m, h={h:g} m)",
        "ours_s": t_ours, "ref": "KDEpy FFTKDE", "ref_s": t_ref,
        "ratio": t_ref / t_ours,
        "max_diff": float(np.abs(res.density - theirs).max() / res.density.max()),
        "note": "both binned + FFT on the same grid (best of 3 each); diff = max |ours - KDEpy| / surface max",
    })


def bench_pipeline(n_points: int, rows: list):
    pts = synthetic_points(n_points, seed=4)

    def run():
        grid = grid_counts(pts, cell_size=None).attrs["grid"]  # shared grid, auto size
        months = pts["month"].to_numpy()
        order = np.argsort(months, kind="stable")
        bounds = np.searchsorted(months[order], np.arange(1, 14))
        out = []
        for m in range(12):
            month_pts = pts.iloc[order[bounds[m]:bounds[m + 1]]]
            cells = grid_counts(month_pts, grid=grid, weight="harm_w")
            surface = kde(month_pts, kernel="quartic", weight="harm_w")
            hot = gistar(cells, column="harm", correction="fdr_bh")
            out.append((cells, surface, hot))
        return out
    t, out = timed(run)
    n_cells = len(out[0][0])
    kde_cells = out[0][1].density.size
    n_hot = sum(int(h["hotspot"].astype(str).str.startswith("Hot").sum()) for *_, h in out)
    rows.append({
        "task": f"pipeline 12 months, {n_points:,} pts", "ours_s": t, "ref": "-",
        "ref_s": None, "ratio": None, "max_diff": None,
        "note": f"grid {n_cells:,} cells ({out[0][0].attrs['grid'].cell_size:g} m), KDE "
                f"{kde_cells:,} cells (h={out[0][1].bandwidth:.0f} m), {n_hot} hot cells",
    })


def bench_emerging_and_sites(n_points: int, n_sites: int, rows: list):
    """Emerging hot spots (12 monthly Gi* + EHSA classes) and site exposure on the same points."""
    from geo.emerging import hotspot_emerging
    from geo.sites import site_exposure

    pts = synthetic_points(n_points, seed=5)
    pts["month"] = [f"2024-{m:02d}" for m in pts["month"]]
    t, out = timed(lambda: hotspot_emerging(pts, weight="harm_w"))
    n_hot = int(out["pattern"].str.contains("Hot Spot").sum())
    rows.append({"task": f"emerging hot spots, 12 months, {n_points:,} pts", "ours_s": t, "ref": "-",
                 "ref_s": None, "ratio": None, "max_diff": None,
                 "note": f"{len(out):,} cells of {out.attrs['cell_size']:g} m, {n_hot:,} in a hot-spot pattern"})
    rng = np.random.default_rng(6)
    sites = gpd.GeoDataFrame({"name": [f"s{i}" for i in range(n_sites)], "kind": "school"},
                             geometry=gpd.points_from_xy(X0 + rng.uniform(0, 20_000, n_sites),
                                                         Y0 + rng.uniform(0, 15_000, n_sites)), crs=CRS)
    hot = out[out["pattern"].str.contains("Hot Spot")]
    t, exp = timed(lambda: site_exposure(sites, pts, weight="harm_w", hotspots=hot))
    rows.append({"task": f"site exposure, {n_sites:,} sites x {n_points:,} pts (200/400 m)", "ours_s": t,
                 "ref": "-", "ref_s": None, "ratio": None, "max_diff": None,
                 "note": f"{int(exp['n_400m'].sum()):,} site-incident pairs within 400 m, monthly trend per site"})


def print_table(rows):
    def f(v, fmt):
        return "-" if v is None else format(v, fmt)
    head = f"{'task':64} {'ours s':>8} {'reference':>22} {'ref s':>9} {'ratio':>8} {'max diff':>9}"
    print("\n" + head + "  note")
    for r in rows:
        ratio = "-" if r["ratio"] is None else (f"{r['ratio']:.0f}x" if r["ratio"] >= 10 else f"{r['ratio']:.2f}x")
        print(f"{r['task']:64} {f(r['ours_s'], '.3f'):>8} {r['ref']:>22} "
              f"{f(r['ref_s'], '.2f'):>9} {ratio:>8} {f(r['max_diff'], '.1e'):>9}  {r['note']}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes (about 30 s)")
    ap.add_argument("--only", choices=["gistar", "kde", "pipeline"], help="run one part only")
    args = ap.parse_args(argv)
    rows: list = []
    if args.quick:
        gi_sizes, esda_max, kde_n, pipe_n = [10_000, 100_000], 10_000, 200_000, 200_000
    else:
        gi_sizes, esda_max, kde_n, pipe_n = [10_000, 100_000, 1_000_000], 100_000, 1_000_000, 1_000_000
    print(f"cores available: {os.cpu_count()}; quick={args.quick}; load average "
          f"{os.getloadavg()[0]:.1f}", flush=True)
    if args.only in (None, "gistar"):
        for n in gi_sizes:
            bench_gistar(n, n <= esda_max, rows)
            print(f"  done Gi* {n:,}", flush=True)
    if args.only in (None, "kde"):
        bench_kde(kde_n, rows)
        print("  done KDE", flush=True)
    if args.only in (None, "pipeline"):
        bench_pipeline(pipe_n, rows)
        bench_emerging_and_sites(pipe_n, 1_000, rows)
        print("  done emerging + sites", flush=True)
    print_table(rows)
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
