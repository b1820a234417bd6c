"""Benchmark police.uk crime import (geo.io.read_police_uk + GpkgStore.append_incidents).

Run ``python benchmarks/bench_import.py`` (``--rows N`` to size the synthetic file,
default 1,000,000; ``--quick`` for 100,000 rows; ``--profile`` to cProfile our import of
the synthetic file). Every measured import runs in its own child process, so each wall
time and peak memory (RSS high-water mark) is isolated from the others and from data
generation.

Measured, on the same data in one run (4 real months, then the synthetic file):

* ours: ``Workspace.import_crime`` into a fresh workspace with BCU and force boundaries;
  its parse-and-validate step (``geo.io.read_police_uk``) is timed on its own too.
* fair baseline: the same rows through the libraries' fast settings, no checks:
  ``pandas.read_csv(engine="pyarrow")`` -> ``geopandas.points_from_xy`` -> ``to_crs(27700)``
  -> ``pyogrio.write_dataframe(..., driver="GPKG", use_arrow=True)``.
* floor: ``pyarrow.csv.read_csv`` -> ``pyarrow.parquet.write_table`` (nothing else).
* ours again: a second import of the synthetic file into the same workspace (every row a
  duplicate; ``new`` must be 0).

The synthetic file is a police.uk-format CSV sampled (fixed seed) from the real rows:
whole real rows drawn with replacement, so months, categories, outcomes, LSOA codes/names,
Location strings and the anonymous map points (about 4.6% blank) keep their joint
distribution; anti-social behaviour rows get a blank Crime ID (de-duplicated on a content
hash), other rows a fresh unique 64-hex Crime ID. Written to a temp dir outside the repo;
generation is not timed (``--csv FILE`` re-uses one kept with ``--keep``).

Reported: wall and CPU seconds (user + system, all threads) per million rows, and the
ratios ours / fair and ours / floor. On a shared machine compare the CPU columns and the
ratios within one run; the load average is printed.

Targets (printed PASS/MISS, never asserted): faster than the fair baseline and within 3x
of the floor (CPU, issue 11); 1M rows imported and stored in under 20 s with under 2 GB
peak RSS on 2 cores. Results go to ``benchmarks/results/import.json``.
"""
from __future__ import annotations

import argparse
from contextlib import contextmanager
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SY_ARCHIVE = ROOT / "data" / "south-yorkshire" / "crime" / "south-yorkshire-street-2024-01-to-2025-06.zip"
#: The four real months the synthetic files are sampled from (members of the demo archive).
REAL_MONTHS = [f"2024-0{m}/2024-0{m}-south-yorkshire-street.csv" for m in (1, 2, 3, 4)]
BOUNDARIES = ROOT / "data" / "boundaries" / "south-yorkshire" / "districts-and-neighbours-2013.geojson"
RESULTS = ROOT / "benchmarks" / "results" / "import.json"
SEED = 20240401
TARGET_S = 20.0
TARGET_MB = 2048.0
TARGET_ROWS = 1_000_000

OURS_EXTRA = ("validation of every row (month, coordinates, category, swapped/projected file check), "
              "outcome accounting (mapped / no_location / outside_area / rejected with reasons), "
              "outside-area flag (point-in-polygon against the force area), "
              "stable row ids and de-duplication against the workspace (Crime ID or content hash), "
              "import history + rejected rows in the same atomic SQLite transaction (synchronous=FULL)")


# --------------------------------------------------------------------- child side
# Each measured import runs as ``python bench_import.py --child MODE SRC OUT``; the child
# prints one ``RESULT {json}`` line. Heavy imports happen inside the child only.


def _rss_peak_mb() -> float:
    """This process's peak RSS in MB.

    Linux: ``VmHWM`` from /proc/self/status. (``ru_maxrss`` is not used there: Linux
    carries the parent's RSS high-water mark across fork+exec into the child's
    ``ru_maxrss``, so a child started by a big parent would report the parent's peak.)
    """
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    import resource
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kB on Linux, bytes on macOS
    return kb / 1024.0 if sys.platform != "darwin" else kb / 1024.0 / 1024.0


def _cpu_s() -> float:
    """User + system CPU seconds of this process (all threads)."""
    import resource
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


@contextmanager
def _measured(res: dict, profile: str | None):
    """Time the block (wall and CPU), note the memory before it, and profile it if asked."""
    res["rss_before_mb"] = _rss_peak_mb()
    cpu0 = _cpu_s()
    prof = None
    if profile:
        import cProfile
        prof = cProfile.Profile()
        prof.enable()
    t = time.perf_counter()
    yield
    res["seconds"] = time.perf_counter() - t
    res["cpu_s"] = _cpu_s() - cpu0
    if prof:
        prof.disable()
        prof.dump_stats(profile)


def _child(mode: str, src: str, out: str, profile: str | None) -> None:
    import warnings
    warnings.filterwarnings("ignore")
    res: dict = {"mode": mode}
    if mode == "gen":  # data generation, in a child so the parent stays small
        res.update(generate(int(src), Path(out)))
    elif mode in ("ours_new", "ours_again"):
        from geo.workspace import Workspace
        if mode == "ours_new":
            ws = Workspace.create(out, name="bench", crs="EPSG:27700", force="South Yorkshire")
            ws.import_boundaries(str(BOUNDARIES), level="bcu", name_field="LAD13NM", code_field="LAD13CD",
                                 force_field="police_force")
            ws.derive_force_level()
        else:
            ws = Workspace.open(out)
        ws.area()  # cached; reading boundaries is workspace setup, not import
        import geo.io
        reader = geo.io.read_police_uk

        def timed_reader(*a, **k):  # parse-and-validate timed on its own; the rest is the store write
            with _measured(res.setdefault("read", {}), None):
                return reader(*a, **k)
        geo.io.read_police_uk = timed_reader  # Workspace.import_crime looks it up at call time
        with _measured(res, profile):
            rep = ws.import_crime(src)
        geo.io.read_police_uk = reader
        res.update(rows_read=rep.rows_read, outcomes=dict(rep.outcomes), new=rep.new,
                   duplicates=rep.duplicates, reasons=dict(rep.reasons), balanced=rep.balanced,
                   warnings=len(rep.warnings))
        ws.close()
    elif mode == "fair":  # the same rows through the libraries' fast settings, no checks
        import geopandas as gpd
        import pandas as pd
        import pyogrio
        src_path = Path(src)
        files = sorted(src_path.glob("*.csv")) if src_path.is_dir() else [src_path]
        with _measured(res, profile):
            with _measured(res.setdefault("read", {}), None):
                df = pd.concat([pd.read_csv(f, engine="pyarrow") for f in files], ignore_index=True) \
                    if len(files) > 1 else pd.read_csv(files[0], engine="pyarrow")
                g = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["Longitude"], df["Latitude"]),
                                     crs="EPSG:4326").to_crs(27700)
            pyogrio.write_dataframe(g, out, layer="incidents", driver="GPKG", use_arrow=True)
        res["rows_read"] = len(df)
    elif mode == "floor":  # the floor: Arrow's CSV reader and Parquet writer, nothing else
        import pyarrow as pa
        import pyarrow.csv as pacsv
        import pyarrow.parquet as pq
        src_path = Path(src)
        files = sorted(src_path.glob("*.csv")) if src_path.is_dir() else [src_path]
        with _measured(res, profile):
            with _measured(res.setdefault("read", {}), None):
                table = pa.concat_tables([pacsv.read_csv(f) for f in files]) if len(files) > 1 \
                    else pacsv.read_csv(files[0])
            pq.write_table(table, out)
        res["rows_read"] = table.num_rows
    else:
        raise SystemExit(f"unknown child mode {mode}")
    res["peak_rss_mb"] = _rss_peak_mb()
    print("RESULT " + json.dumps(res), flush=True)


def run_child(mode: str, src, out: Path, profile: Path | None = None) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", mode, str(src), str(out)]
    if profile:
        cmd += ["--profile-out", str(profile)]
    t = time.perf_counter()
    # the child imports geo from this checkout (a script's own folder, not the current one, comes first
    # on its path, so without this a shared editable install would be measured instead)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env)
    process_s = time.perf_counter() - t
    line = next((ln for ln in p.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if p.returncode != 0 or line is None:
        sys.stderr.write(p.stdout + p.stderr)
        raise RuntimeError(f"child {mode} on {src} failed (exit {p.returncode})")
    res = json.loads(line[len("RESULT "):])
    res["process_s"] = process_s
    return res


# --------------------------------------------------------------------- data


def generate(n: int, path: Path, seed: int = SEED) -> dict:
    """A police.uk street CSV of ``n`` rows sampled from the four real months (see docstring)."""
    import numpy as np
    import pandas as pd

    import zipfile
    with zipfile.ZipFile(SY_ARCHIVE) as zf:
        real = pd.concat([pd.read_csv(zf.open(f), dtype=str, keep_default_na=False) for f in REAL_MONTHS],
                         ignore_index=True)
    rng = np.random.default_rng(seed)
    out = real.iloc[rng.integers(0, len(real), n)].reset_index(drop=True)
    out = out.sort_values("Month", kind="stable", ignore_index=True)  # like monthly files concatenated
    asb = (out["Crime type"] == "Anti-social behaviour").to_numpy()
    m = int((~asb).sum())
    hexes = rng.bytes(32 * m).hex()
    ids = np.full(n, "", dtype=object)
    ids[~asb] = [hexes[i:i + 64] for i in range(0, 64 * m, 64)]
    out["Crime ID"] = ids
    assert len(set(ids[~asb])) == m, "crime ids must be unique"
    out.to_csv(path, index=False)
    return {
        "rows": n, "seed": seed, "real_rows": len(real), "bytes": path.stat().st_size,
        "blank_coordinates": float((out["Longitude"] == "").mean()),
        "asb_blank_crime_id": float(asb.mean()),
        "distinct_points": int(out[["Longitude", "Latitude"]].drop_duplicates().shape[0]),
        "months": sorted(out["Month"].unique().tolist()),
    }


# --------------------------------------------------------------------- report


def _per_m(r: dict, key: str, sub: str | None = None) -> float:
    """Seconds per million rows of row ``r`` (``sub``: the read phase)."""
    v = (r.get(sub) or {}).get(key) if sub else r.get(key)
    return float("nan") if v is None else v / r["rows"] * 1e6


def _fmt_row(r: dict) -> str:
    return (f"{r['task']:<40} {r['rows']:>10,} {r['seconds']:>8.2f} {r['cpu_s']:>7.1f} "
            f"{_per_m(r, 'seconds'):>8.2f} {_per_m(r, 'cpu_s'):>8.2f} {_per_m(r, 'cpu_s', 'read'):>9.2f} "
            f"{r['peak_rss_mb']:>8.0f}  {r.get('note', '')}")


def print_table(rows: list[dict]) -> None:
    head = (f"{'task':<40} {'rows':>10} {'wall s':>8} {'cpu s':>7} {'wall s/M':>8} {'cpu s/M':>8} "
            f"{'read cpu/M':>9} {'peak MB':>8}  note")
    print(head)
    print("-" * len(head))
    for r in rows:
        print(_fmt_row(r))
    print("wall s / cpu s = the import call only (module imports and workspace setup excluded; cpu = user+system "
          "of all threads); s/M = per million rows; read cpu/M = the parse-and-validate step alone (ours: "
          "geo.io.read_police_uk; fair: read_csv + points + to_crs; floor: pyarrow.csv.read_csv); "
          "peak MB = child RSS high-water mark (VmHWM).")


def _ratios(ours: dict, fair: dict, floor: dict) -> dict:
    return {
        "ours_over_fair_wall": ours["seconds"] / fair["seconds"],
        "ours_over_fair_cpu": ours["cpu_s"] / fair["cpu_s"],
        "ours_over_floor_wall": ours["seconds"] / floor["seconds"],
        "ours_over_floor_cpu": ours["cpu_s"] / floor["cpu_s"],
        "ours_read_over_arrow_read_cpu": ours["read"]["cpu_s"] / floor["read"]["cpu_s"],
        "ours_read_over_fair_read_cpu": ours["read"]["cpu_s"] / fair["read"]["cpu_s"],
    }


def _load() -> float | None:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=None, help=f"rows in the synthetic file (default {TARGET_ROWS:,})")
    ap.add_argument("--quick", action="store_true", help="100,000 synthetic rows (about 30 s)")
    ap.add_argument("--profile", action="store_true",
                    help="also run a cProfiled import of the synthetic file (stats to benchmarks/results/import.prof; "
                         "not used in the ratios)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (generated CSV, workspaces)")
    ap.add_argument("--csv", help="use this police.uk CSV as the synthetic file (e.g. one kept by --keep)")
    ap.add_argument("--child", nargs=3, metavar=("MODE", "SRC", "OUT"), help=argparse.SUPPRESS)
    ap.add_argument("--profile-out", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        _child(*args.child, profile=args.profile_out)
        return 0

    n = args.rows or (100_000 if args.quick else TARGET_ROWS)
    tmp = Path(tempfile.mkdtemp(prefix="bench_import_"))
    print(f"bench_import: {n:,} synthetic rows, temp dir {tmp}, {os.cpu_count()} CPU(s), "
          f"Python {platform.python_version()}", flush=True)
    rows: list[dict] = []
    load0 = _load()
    if load0 is not None and load0 > 0.5 * (os.cpu_count() or 1):
        print(f"warning: load average {load0:.1f} on {os.cpu_count()} CPU(s) before starting; wall times "
              "will be inflated by other work (compare the cpu s columns)", flush=True)
    try:
        months_dir = tmp / "sy-2024-01-to-04"
        months_dir.mkdir()
        import zipfile
        with zipfile.ZipFile(SY_ARCHIVE) as zf:
            for f in REAL_MONTHS:
                (months_dir / Path(f).name).write_bytes(zf.read(f))
        real_rows = sum(sum(1 for _ in open(p, encoding="utf-8")) - 1 for p in sorted(months_dir.glob("*.csv")))

        if args.csv:
            synth = Path(args.csv)
            n = sum(1 for _ in open(synth, encoding="utf-8")) - 1
            gen = {"rows": n, "file": str(synth), "bytes": synth.stat().st_size}
            print(f"using {synth} ({n:,} rows)", flush=True)
        else:
            synth = tmp / f"synthetic-{n}-street.csv"
            t = time.perf_counter()
            gen = run_child("gen", n, synth)
            gen["seconds"] = time.perf_counter() - t
            print(f"generated {synth.name}: {gen['bytes'] / 1e6:.0f} MB in {gen['seconds']:.1f} s (not timed below); "
                  f"blank coordinates {gen['blank_coordinates']:.2%}, ASB/blank Crime ID "
                  f"{gen['asb_blank_crime_id']:.2%}, {gen['distinct_points']:,} distinct map points", flush=True)

        def measure(task, mode, src, out, nrows, note="", profile=None):
            print(f"  running: {task} ... (load {_load():.1f})", flush=True)
            r = run_child(mode, src, out, profile)
            r.update(task=task, rows=nrows, note=note, load_after=_load())
            rows.append(r)
            return r

        o4 = measure("ours, 4 real months", "ours_new", months_dir, tmp / "ours4.gpkg", real_rows)
        f4 = measure("fair baseline, 4 real months", "fair", months_dir, tmp / "fair4.gpkg", real_rows)
        fl4 = measure("floor (Arrow CSV+Parquet), 4 real months", "floor", months_dir, tmp / "floor4.parquet", real_rows)
        o1 = measure(f"ours, synthetic {n:,}", "ours_new", synth, tmp / "ours1.gpkg", n)
        f1 = measure(f"fair baseline, synthetic {n:,}", "fair", synth, tmp / "fair1.gpkg", n)
        fl1 = measure(f"floor (Arrow CSV+Parquet), synthetic {n:,}", "floor", synth, tmp / "floor1.parquet", n)
        oa = measure(f"ours again (all duplicates), {n:,}", "ours_again", synth, tmp / "ours1.gpkg", n)
        for r in (o4, o1, oa):
            r["note"] = f"new {r['new']:,} dup {r['duplicates']:,}"
        for r in (f4, f1, fl4, fl1):
            r["note"] = "no validation/dedup/accounting"
        prof = RESULTS.with_suffix(".prof") if args.profile else None
        if prof:
            prof.parent.mkdir(parents=True, exist_ok=True)
            measure(f"ours, synthetic {n:,}, cProfiled", "ours_new", synth, tmp / "ours_prof.gpkg", n, profile=prof)
            rows[-1]["note"] = "profiled (slower; not in the ratios)"

        print()
        print_table(rows)
        print(f"load average: {load0:.1f} at the start, {_load():.1f} at the end (uptime: "
              f"{subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()})")
        print()
        print("outcomes (ours):")
        for r in (o4, o1):
            o = r["outcomes"]
            print(f"  {r['task']:<32} read {r['rows_read']:,}: mapped {o['mapped']:,}, no_location "
                  f"{o['no_location']:,}, outside_area {o['outside_area']:,}, rejected {o['rejected']:,}; "
                  f"new {r['new']:,}, duplicates {r['duplicates']:,}; balanced={r['balanced']}")
        print()
        ratios = {"4_months": _ratios(o4, f4, fl4), "synthetic": _ratios(o1, f1, fl1)}
        for label, q in (("4 real months", ratios["4_months"]), (f"synthetic {n:,}", ratios["synthetic"])):
            print(f"{label}: ours / fair {q['ours_over_fair_wall']:.2f}x wall, {q['ours_over_fair_cpu']:.2f}x cpu; "
                  f"ours / floor {q['ours_over_floor_wall']:.2f}x wall, {q['ours_over_floor_cpu']:.2f}x cpu; "
                  f"our parse-and-validate / Arrow read {q['ours_read_over_arrow_read_cpu']:.2f}x cpu "
                  f"(/ fair read {q['ours_read_over_fair_read_cpu']:.2f}x)")
        print(f"  ours also does: {OURS_EXTRA}.")
        q = ratios["synthetic"]
        fair_ok, floor_ok = q["ours_over_fair_cpu"] < 1.0, q["ours_over_floor_cpu"] <= 3.0
        print(f"target faster than the fair baseline (cpu): {'PASS' if fair_ok else 'MISS'}; "
              f"within 3x of the floor (cpu): {'PASS' if floor_ok else 'MISS'}")
        print()
        idem_ok = oa["new"] == 0 and oa["duplicates"] == oa["rows_read"] - oa["outcomes"]["rejected"]
        print(f"idempotence: second import of the same {n:,} rows: new == {oa['new']} "
              f"({'OK' if idem_ok else 'NOT IDEMPOTENT'}), {oa['duplicates']:,} duplicates, {oa['seconds']:.2f} s")
        scaled = f" (measured on {n:,} rows; the target is for {TARGET_ROWS:,})" if n != TARGET_ROWS else ""
        t_ok, m_ok = o1["seconds"] < TARGET_S, o1["peak_rss_mb"] < TARGET_MB
        def verdict(ok):  # the targets are for 1M rows; a smaller run can only miss them
            return ("PASS" if ok else "MISS") if n >= TARGET_ROWS or not ok else "n/a"
        print(f"target time   < {TARGET_S:.0f} s : {o1['seconds']:.2f} s  {verdict(t_ok)}{scaled}")
        print(f"target memory < {TARGET_MB / 1024:.0f} GB : {o1['peak_rss_mb']:.0f} MB  {verdict(m_ok)}{scaled}")

        if prof:
            import pstats
            print(f"\nprofile of our synthetic import ({prof}), top 25 by cumulative time:")
            pstats.Stats(str(prof)).sort_stats("cumulative").print_stats(25)

        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps({
            "benchmark": "import", "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "machine": {"cpus": os.cpu_count(), "load_before": load0, "load_after": _load(),
                        "python": platform.python_version(), "platform": platform.platform()},
            "synthetic": gen, "real_rows": real_rows,
            "results": rows,
            "ratios": ratios,
            "idempotent": idem_ok,
            "targets": {"rows": TARGET_ROWS, "seconds": TARGET_S, "peak_rss_mb": TARGET_MB,
                        "measured_rows": n, "time_pass": t_ok, "memory_pass": m_ok,
                        "faster_than_fair_cpu": fair_ok, "within_3x_floor_cpu": floor_ok},
            "ours_also_does": OURS_EXTRA,
        }, indent=2, default=str))
        print(f"\nresults written to {RESULTS.relative_to(ROOT)}")
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
