"""Benchmark the workspace stores: GeoPackage (GpkgStore) against PostGIS (PostgisStore).

Run ``python benchmarks/bench_store.py`` (``--rows N``, default 1,000,000; ``--quick``:
100,000). PostGIS: the server in ``--pg URL`` or ``GEO_TEST_PG``; without either, a
throwaway one is started with ``scripts/pg_test_server.sh`` (Debian packages postgresql
and postgresql-15-postgis-3) and stopped afterwards.

Synthetic police.uk-like rows (fixed seed): 12 months x 4 forces, points spread over
a 40 x 40 km square, four categories. Measured on the same rows for both stores, in
one run:

* import: the N rows as 48 force-month imports (``append_incidents(...,
  replace_months=True)``, as a police.uk refresh does);
* one more force-month (N/48 rows) into the full store, against the same into a store
  holding a tenth as much: the cost of a monthly refresh as the store grows (issue 11).
  GeoPackage also without its key and group indexes (the scan path older files take),
  which is what the import did before;
* load one BCU-year: 12 months inside a 10 x 10 km box (``read_incidents(months=,
  bbox=)``, filters pushed down to the database);
* the dashboard's map query for one month (``read_incidents(layer=, months=)``);
* 8 concurrent readers, each with its own connection, each running the month query.

Wall time for every step (``time.perf_counter``); the client's CPU time for imports
(PostgreSQL's own CPU is in the server process and not counted). Results go to
``benchmarks/results/store.json``. Nothing is asserted; the machine is shared, so
compare ratios within one run.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.report import ImportReport
from geo.store import GpkgStore

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "store.json"
CRS = "EPSG:27700"
MONTHS = [f"2024-{m:02d}" for m in range(1, 13)]
FORCES = ["Force A", "Force B", "Force C", "Force D"]
CATS = np.array(["Burglary", "Drugs", "Violence and sexual offences", "Anti-social behaviour"])


def force_month(n: int, month: str, force: str, seed: int) -> gpd.GeoDataFrame:
    """``n`` synthetic rows of one force-month (unique ids)."""
    rng = np.random.default_rng(seed)
    x = 420000.0 + rng.uniform(0, 40000, n).round()
    y = 380000.0 + rng.uniform(0, 40000, n).round()
    ids = [f"crime:{seed}-{i}" for i in range(n)]
    df = pd.DataFrame({
        "uid": ids, "layer": "crime", "source": "synthetic", "crime_id": ids, "month": month, "date": None,
        "category": CATS[rng.integers(0, len(CATS), n)], "subcategory": None, "force": force,
        "location": "On or near Test Street", "lsoa_code": "E01000001", "lsoa_name": "Somewhere 001A",
        "outcome": "Under investigation", "x": x, "y": y, "status": "mapped"})
    return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(x, y), crs=CRS)


def report(frame) -> ImportReport:
    r = ImportReport(source="synthetic", kind="crime", rows_read=len(frame))
    r.outcomes["mapped"] = len(frame)
    return r


def load(store, rows: int, *, seed0: int = 0) -> dict:
    per = rows // (len(MONTHS) * len(FORCES))
    wall = cpu = 0.0
    k = seed0
    for m in MONTHS:
        for f in FORCES:
            frame = force_month(per, m, f, k)
            k += 1
            t, c = time.perf_counter(), time.process_time()
            store.append_incidents(frame, report(frame), replace_months=True)
            wall += time.perf_counter() - t
            cpu += time.process_time() - c
    return {"rows": per * len(MONTHS) * len(FORCES), "wall_s": round(wall, 2), "client_cpu_s": round(cpu, 2)}


def one_more_month(store, per: int, seed: int) -> float:
    frame = force_month(per, "2025-01", "Force A", seed)
    t = time.perf_counter()
    store.append_incidents(frame, report(frame), replace_months=True)
    return round(time.perf_counter() - t, 3)


def timed(fn, repeat: int = 3) -> tuple[float, int]:
    best, n = float("inf"), 0
    for _ in range(repeat):
        t = time.perf_counter()
        n = len(fn())
        best = min(best, time.perf_counter() - t)
    return round(best, 3), n


def queries(open_conn, store) -> dict:
    box = (430000.0, 390000.0, 440000.0, 400000.0)
    year, rows = timed(lambda: store.read_incidents(layer="crime", months=("2024-01", "2024-12"), bbox=box))
    month, mrows = timed(lambda: store.read_incidents(layer="crime", months=("2024-06", "2024-06")))
    conns = [open_conn() for _ in range(8)]
    out: list[int] = []
    threads = [threading.Thread(target=lambda c=c: out.append(len(c.read_incidents(
        layer="crime", months=("2024-06", "2024-06"))))) for c in conns]
    t = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    eight = round(time.perf_counter() - t, 3)
    for c in conns:
        c.close()
    assert out == [mrows] * 8
    return {"bcu_year_s": year, "bcu_year_rows": rows, "month_map_s": month, "month_rows": mrows,
            "eight_readers_s": eight, "eight_readers_vs_one": round(eight / max(month, 1e-9), 2)}


def bench_gpkg(rows: int, tmp: Path) -> dict:
    per = rows // (len(MONTHS) * len(FORCES))
    small = GpkgStore(tmp / "small.gpkg", crs=CRS)
    load(small, rows // 10, seed0=10_000)
    s = GpkgStore(tmp / "full.gpkg", crs=CRS)
    res = {"import": load(s, rows)}
    res["one_month_into_tenth_s"] = one_more_month(small, per, 90_001)
    res["one_month_into_full_s"] = one_more_month(s, per, 90_002)
    # the scan path (a file without the key/group indexes: how every import ran before)
    s._key_index = False
    res["one_month_into_full_scan_path_s"] = one_more_month(s, per, 90_003)
    s._key_index = True
    res.update(queries(lambda: GpkgStore(tmp / "full.gpkg"), s))
    res["size_mb"] = round((tmp / "full.gpkg").stat().st_size / 1e6, 1)
    s.close()
    small.close()
    return res


def bench_postgis(rows: int, url: str) -> dict:
    from geo.store.postgis import PostgisStore
    per = rows // (len(MONTHS) * len(FORCES))
    sep = "&" if "?" in url else "?"
    names = [f"{url}{sep}workspace=bench-{w}-{uuid.uuid4().hex[:8]}" for w in ("small", "full")]
    small = PostgisStore(names[0], CRS, create=True)
    s = PostgisStore(names[1], CRS, create=True)
    try:
        load(small, rows // 10, seed0=10_000)
        res = {"import": load(s, rows)}
        res["one_month_into_tenth_s"] = one_more_month(small, per, 90_001)
        res["one_month_into_full_s"] = one_more_month(s, per, 90_002)
        s._db.execute("ANALYZE incidents")
        res.update(queries(lambda: PostgisStore(names[1]), s))
    finally:
        for st in (small, s):
            st.drop()
            st.close()
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--quick", action="store_true", help="100,000 rows")
    ap.add_argument("--pg", default=os.environ.get("GEO_TEST_PG", ""), help="postgresql:// URL (else one is started)")
    args = ap.parse_args(argv)
    rows = 100_000 if args.quick else args.rows
    started = None
    url = args.pg
    if not url:
        d = tempfile.mkdtemp(prefix="geo-bench-pg.")
        try:
            url = subprocess.run([str(ROOT / "scripts" / "pg_test_server.sh"), "start", d], check=True,
                                 capture_output=True, text=True).stdout.strip()
            started = d
        except (subprocess.CalledProcessError, OSError) as err:
            print(f"no PostGIS server ({err}); GeoPackage only")
    out: dict = {"rows": rows, "cpus": os.cpu_count(), "load_avg_at_start": os.getloadavg()[0]}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            print(f"GeoPackage, {rows:,} rows ...", flush=True)
            out["gpkg"] = bench_gpkg(rows, Path(tmp))
            print(json.dumps(out["gpkg"], indent=1), flush=True)
        if url:
            print(f"PostGIS, {rows:,} rows ...", flush=True)
            out["postgis"] = bench_postgis(rows, url)
            print(json.dumps(out["postgis"], indent=1), flush=True)
    finally:
        if started:
            subprocess.run([str(ROOT / "scripts" / "pg_test_server.sh"), "stop", started], check=False)
    g, p = out["gpkg"], out.get("postgis")
    print(f"\n{'':<38}{'GeoPackage':>12}{'PostGIS':>12}{'PostGIS/GPKG':>14}")
    rows_ = [("import N rows (wall s)", g["import"]["wall_s"], p and p["import"]["wall_s"]),
             ("one force-month into N/10 (s)", g["one_month_into_tenth_s"], p and p["one_month_into_tenth_s"]),
             ("one force-month into N (s)", g["one_month_into_full_s"], p and p["one_month_into_full_s"]),
             ("  same, GeoPackage scan path (s)", g["one_month_into_full_scan_path_s"], None),
             ("BCU-year load (s)", g["bcu_year_s"], p and p["bcu_year_s"]),
             ("one-month map query (s)", g["month_map_s"], p and p["month_map_s"]),
             ("8 concurrent readers (s)", g["eight_readers_s"], p and p["eight_readers_s"])]
    for name, a, b in rows_:
        ratio = f"{b / a:14.2f}" if (b is not None and a) else f"{'':>14}"
        print(f"{name:<38}{a:>12}{(b if b is not None else '-'):>12}{ratio}")
    out["load_avg_at_end"] = os.getloadavg()[0]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=1))
    print(f"results: {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
