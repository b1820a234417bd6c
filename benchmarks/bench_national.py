"""Benchmark the national pipeline (geo.national on dask.distributed) against the single-process path.

Run ``python benchmarks/bench_national.py`` (``--rows 1000000 6000000`` by default;
``--quick`` for 100,000 rows; ``--years 3`` for three years of the same yearly size;
``--archive DIR`` to time an archive already written, e.g. by ``scale_national_archive.py``;
``--single-max-rows N`` to skip the single-process path above N rows, as it holds every
row in memory). For each size a synthetic national archive is written to a temp folder by
``benchmarks/make_national_archive.py`` (43 forces x 12 months in police.uk's layout,
sampled from the real South Yorkshire rows; not timed, never kept in the repo), then each
measured run is its own child process:

* national, panels: ``run_national(..., hotspots=False)`` on a ``LocalCluster`` of 2 worker
  processes (1 thread each) limited to 2 GB each: every file read, validated, weighted
  and written as GeoParquet by force and month (one task per batch of a month's files),
  then the force / BCU / LSOA panels; then ``geo.national.bcu_year`` for the largest BCU
  of 8 forces, each read 3 times (p50 and max).
* national, + hot spots: a second run on the same output folder with hot spots on: every
  file is already finished (resumed), so this times the per-force Gi* and emerging hot
  spots (500 m national grid) alone.
* single process: ``geo.io.read_police_uk`` of the whole archive -> ``geo.harm.add_harm``
  -> ``geo.aggregate.monthly`` per force, per (force, BCU) and per (force, LSOA): the same
  panels with everything in one process's memory.

Reported: wall time, and peak RSS (VmHWM) of the driver and of each worker. The two panel
paths must give the same totals (checked and printed). Results go to
``benchmarks/results/national.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "national.json"


def rss_peak_mb() -> float:
    """This process's peak RSS in MB (VmHWM, Linux)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def cpu_s() -> float:
    """CPU seconds (user + system) of this process and its finished children: less sensitive to a shared
    machine's load than wall time."""
    import resource
    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


# ------------------------------------------------------------------------------ children
def child_national(archive: str, out: str, workers: int, memory_limit: str, hotspots: bool) -> dict:
    sys.path.insert(0, str(ROOT))
    from geo.national import connect, run_national
    with connect(workers=workers, memory_limit=memory_limit) as client:
        cpu0, c0 = client.run(cpu_s), cpu_s()
        t = time.perf_counter()
        res = run_national(archive, out, client=client, hotspots=hotspots, progress=False)
        wall = time.perf_counter() - t
        cpu1, c1 = client.run(cpu_s), cpu_s()
        peaks = client.run(rss_peak_mb)
    import pandas as pd
    force = pd.read_parquet(Path(out) / "panels" / "force.parquet")
    rec = {"wall_s": wall, "driver_peak_mb": rss_peak_mb(), "worker_peak_mb": sorted(peaks.values()),
           "rows": res.rows, "files": res.files, "done_now": res.done_now,
           "cpu_s": (c1 - c0) + sum(cpu1[w] - cpu0.get(w, 0.0) for w in cpu1),
           "count": float(force["count"].sum()), "harm": float(force["harm"].sum())}
    if not hotspots:
        rec["bcu_year"] = time_bcu_years(out)
    return rec


def time_bcu_years(out: str, n_bcus: int = 8, repeat: int = 3) -> dict:
    """Time ``geo.national.bcu_year`` for the largest BCU of ``n_bcus`` forces, every year held.

    Each BCU-year is read ``repeat`` times (the first is a cold read of its files, as far as
    the OS cache allows); p50 and max over every read are reported, with the rows returned.
    """
    import numpy as np
    import pandas as pd

    from geo.national import bcu_year
    from geo.national.archive import force_slug
    bcu = pd.read_parquet(Path(out) / "panels" / "bcu.parquet")
    bcu = bcu[bcu["bcu"] != ""]
    bcu["year"] = bcu["month"].str[:4]
    sizes = bcu.groupby(["force", "bcu", "year"])["count"].sum().reset_index()
    picks = (sizes.sort_values("count", ascending=False).drop_duplicates("force")
             .head(n_bcus).sort_values(["force", "year"]))
    times, rows = [], []
    for _, r in picks.iterrows():
        for _ in range(repeat):
            t = time.perf_counter()
            g = bcu_year(out, force_slug(r["force"]), r["bcu"], r["year"])
            times.append(time.perf_counter() - t)
        assert len(g) == int(r["count"]), (r.to_dict(), len(g))  # every row of the panel, no more
        rows.append(len(g))
    return {"reads": len(times), "bcus": len(picks), "p50_s": float(np.median(times)),
            "max_s": float(max(times)), "rows_min": min(rows), "rows_max": max(rows)}


def child_single(archive: str) -> dict:
    sys.path.insert(0, str(ROOT))
    from geo.aggregate import monthly
    from geo.harm import add_harm, read_harm_weights
    from geo.io import read_police_uk
    from geo.national.archive import bcu_of
    from geo.workspace import DEFAULT_HARM_TABLE
    t, c0 = time.perf_counter(), cpu_s()
    f = add_harm(read_police_uk(archive).frame, read_harm_weights(DEFAULT_HARM_TABLE))
    f["bcu"] = bcu_of(f["lsoa_name"])
    f["force_bcu"] = f["force"] + "|" + f["bcu"]
    f["force_lsoa"] = f["force"] + "|" + f["lsoa_code"]
    force = monthly(f, by="force")
    monthly(f, by="force_bcu")
    monthly(f, by="force_lsoa")
    wall = time.perf_counter() - t
    return {"wall_s": wall, "cpu_s": cpu_s() - c0, "peak_mb": rss_peak_mb(), "rows": len(f),
            "count": float(force["count"].sum()), "harm": float(force["harm"].sum())}


def _child(args: list[str]) -> dict:
    load0 = os.getloadavg()[0]
    r = subprocess.run([sys.executable, __file__, "--child", *args], cwd=ROOT, capture_output=True, text=True)
    line = [x for x in r.stdout.splitlines() if x.startswith("RESULT ")]
    if r.returncode != 0 or not line:
        return {"error": (r.stderr or r.stdout)[-2000:]}
    res = json.loads(line[-1][7:])
    res["load_avg_1min"] = [round(load0, 1), round(os.getloadavg()[0], 1)]  # before, after
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 6_000_000])
    ap.add_argument("--years", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="100,000 rows only")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--memory-limit", default="2GB")
    ap.add_argument("--single-max-rows", type=int, default=6_000_000)
    ap.add_argument("--no-hotspots", action="store_true")
    ap.add_argument("--archive", type=Path, help="an archive already written by make_national_archive.py "
                    "(its row count is measured; --rows and --years are ignored)")
    ap.add_argument("--results", type=Path, default=RESULTS)
    ap.add_argument("--time-bcu", type=Path, metavar="OUT",
                    help="only time BCU-year reads from an existing national output folder")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        kind, *rest = args.child
        if kind == "national":
            res = child_national(rest[0], rest[1], int(rest[2]), rest[3], rest[4] == "1")
        else:
            res = child_single(rest[0])
        print("RESULT " + json.dumps(res))
        return 0
    if args.time_bcu:
        sys.path.insert(0, str(ROOT))
        print(json.dumps({"load_avg_1min": round(os.getloadavg()[0], 1), **time_bcu_years(str(args.time_bcu))}))
        return 0
    sizes = [100_000] if args.quick else args.rows
    if args.archive:
        sizes = [None]
    results = []
    for rows in sizes:
        tmp = Path(tempfile.mkdtemp(prefix="bench-national-"))
        try:
            archive, out = tmp / "archive", tmp / "out"
            if rows is None:
                archive = args.archive
                months = sorted(p.name for p in archive.iterdir() if p.is_dir())
                args.years = max(1, len(months) // 12)
                rows = sum(max(0, sum(1 for _ in open(f, "rb")) - 1) for f in archive.rglob("*.csv")) // args.years
                print(f"\n{archive}: {rows * args.years:,} rows in {len(months)} months", flush=True)
            else:
                t = time.perf_counter()
                subprocess.run([sys.executable, str(HERE / "make_national_archive.py"), str(archive),
                                "--rows", str(rows * args.years), "--years", str(args.years)], check=True, cwd=ROOT,
                               stdout=subprocess.DEVNULL)
                print(f"\n{rows:,} rows x {args.years} year(s): archive written in {time.perf_counter() - t:.0f} s "
                      f"(not timed)", flush=True)
            rec = {"rows_per_year": rows, "years": args.years, "workers": args.workers,
                   "memory_limit": args.memory_limit}
            rec["national"] = _child(["national", str(archive), str(out), str(args.workers), args.memory_limit, "0"])
            print("  national, panels:", rec["national"], flush=True)
            if not args.no_hotspots:
                rec["hotspots"] = _child(["national", str(archive), str(out), str(args.workers),
                                          args.memory_limit, "1"])
                print("  national, + hot spots (resumed):", rec["hotspots"], flush=True)
            if rows * args.years <= args.single_max_rows:
                rec["single"] = _child(["single", str(archive)])
                print("  single process:", rec["single"], flush=True)
                n, s = rec["national"], rec["single"]
                if "error" not in n and "error" not in s:
                    same = n["count"] == s["count"] and abs(n["harm"] - s["harm"]) <= 1e-9 * abs(s["harm"])
                    print(f"  same totals: {same}; wall national/single = {n['wall_s'] / s['wall_s']:.2f}; "
                          f"peak worker {max(n['worker_peak_mb']):,.0f} MB vs single {s['peak_mb']:,.0f} MB")
            results.append(rec)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps({"machine": {"cpus": os.cpu_count()}, "results": results}, indent=1))
    print(f"\nresults: {args.results}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
