"""The power levers study behind docs/POWER_LEVERS.md: raw z-scores of placebos and planted moves, rules compared offline.

Records, for placebo operations (circles and wards, as ``geo.calibration.run_null``) and
planted moves (as ``geo.calibration.run_power``), every ring and sector's standardised z,
the placebo copies' largest signed and absolute z, and the pieces' and sites' p-values,
then applies each multiple-testing rule to the same records::

    PYTHONPATH=. python scripts/power_levers.py null  /tmp/null.pkl            # calibration designs
    PYTHONPATH=. python scripts/power_levers.py null  /tmp/null_late0.pkl 0    # 5 designs in 2025
    PYTHONPATH=. python scripts/power_levers.py null  /tmp/null_late12.pkl 12  # the same, 12-month before window
    PYTHONPATH=. python scripts/power_levers.py power /tmp/power.pkl
    PYTHONPATH=. python scripts/power_levers.py power /tmp/power_late0.pkl 0
    PYTHONPATH=. python scripts/power_levers.py power /tmp/power_late12.pkl 12
    PYTHONPATH=. python scripts/power_levers.py report /tmp   # the tables

Each record run takes 10-15 minutes on a loaded 2-core machine (150 placebos or 304 plants).
"""
import math, os, pickle, sys, time
import numpy as np, pandas as pd, shapely
from geo import stats
from geo.displacement.power import wilson
from geo.workspace import Workspace
from geo import calibration as cal
from geo.displacement import engine
from geo.displacement.windows import month_add, op_windows, periods, window_months

def prep_design(inc, bcus, own_force, m, oplen, wb, wa):
    end = month_add(m, oplen - 1)
    w = op_windows(f"{m}-01", f"{end}-28", before=(month_add(m, -wb), month_add(m, -1)),
                   after=(month_add(end, 1), month_add(end, wa)))
    per = periods(inc, w)
    return engine.prepare(inc, per, tau=w.time_weights[0], bcus=bcus, own_force=own_force, months=window_months(w))

LATE_NULL = (("1m 2025-01", "2025-01", 1, 1), ("1m 2025-03", "2025-03", 1, 1), ("1m 2025-04", "2025-04", 1, 1),
             ("3m 2025-02", "2025-02", 1, 3), ("3m 2025-03", "2025-03", 1, 3))
LATE_POWER = (("3m 2025-02", "2025-02", 1, 3), ("3m 2025-03", "2025-03", 1, 3))

def rec(res, **kw):
    fam = []
    for t in res.rings:
        z = t.estimate / t.se if t.status != "too few to tell" and np.isfinite(t.se) and t.se > 0 else np.nan
        fam.append((t.kind, z))
    pieces = [(t.p if t.status != "too few to tell" else np.nan) for t in res.pieces]
    sites = None if res.sites is None else (res.sites.p if res.sites.status != "too few to tell" else np.nan)
    return dict(kw, members=fam, pieces=pieces, sites=sites, maxz=dict(res.null.maxz),
                target_p=res.target.p, target_status=res.target.status, cur_any=res.any_flag(),
                cur_disp=any(t.reading == "displacement" for t in res.family()))

def main(what, out, n_null=150, per_bcu=6, wb_power=None):
    ws = Workspace.open(os.environ.get("GEO_WS", "workspaces/south-yorkshire.gpkg"))
    inc = ws.incidents(layer="crime", statuses=("mapped", "outside_area"))
    boundaries = ws.boundaries(); sites = ws.sites(); own_force = ws.force
    bcus = boundaries[boundaries["level"] == "bcu"]; own = bcus[bcus["force"] == own_force]
    rows = []; t0 = time.time()
    if what == "null":
        designs = [d for d in cal.DESIGNS] if wb_power is None else LATE_NULL
        wards = cal.ward_placebos(boundaries, bcus, own_force=own_force)
        per_design = math.ceil(n_null / len(designs)); n_wards = min(len(wards), per_design // 3); n_circ = per_design - n_wards
        circles = cal.hot_circles(inc, own, own_force=own_force, per_bcu=math.ceil(n_circ / len(own)), seed=0)
        rng = np.random.default_rng(0)
        for d, (label, m, oplen, wlen) in enumerate(designs):
            wb = wlen if wb_power in (None, 0) else wb_power
            prep = prep_design(inc, bcus, own_force, m, oplen, wb, wlen)
            pick = [wards[i] for i in rng.choice(len(wards), n_wards, replace=False)]
            for i, pl in enumerate(circles[:n_circ] + pick):
                _, res = engine.run(prep, pl.geometry, own_bcu=pl.bcu, sites=sites, alpha=0.05, n_placebos=200, seed=1000 * d + i)
                rows.append(rec(res, design=label, kind=pl.kind))
            print(label, len(rows), time.time() - t0, flush=True)
    else:
        circles = cal.hot_circles(inc, own, own_force=own_force, per_bcu=per_bcu, seed=1)
        schools = sites[sites["kind"] == "school"]
        school_xy = shapely.get_coordinates(schools.geometry.values)
        rng = np.random.default_rng(1)
        for (label, m, oplen, wlen) in ((cal.DESIGNS[3], cal.DESIGNS[4]) if wb_power is None else LATE_POWER):
            wb = wlen if wb_power in (None, 0) else wb_power
            prep = prep_design(inc, bcus, own_force, m, oplen, wb, wlen)
            for pl in circles:
                for dk, xy in cal.destinations(pl.geometry, pl.bcu, own, school_xy, rng).items():
                    for frac in (0.3, 0.5):
                        pts, k = cal.plant(prep, pl.geometry, xy, frac_removed=0.5, frac_moved=frac, rng=rng)
                        catch, res = engine.run(prep, pl.geometry, own_bcu=pl.bcu, sites=sites, alpha=0.05, n_placebos=200, seed=1, points=pts)
                        rows.append(rec(res, design=label, dest=dk, frac=frac, moved=k, oracle=cal.oracle_sector(catch, res, xy)))
            print(label, len(rows), time.time() - t0, flush=True)
    pickle.dump(rows, open(out, "wb"))


def p1(z, m):
    m = np.sort(m[np.isfinite(m)]); z = np.asarray(z, float)
    ge = m.size - np.searchsorted(m, z, side="left")
    return np.where(np.isfinite(z), (1.0 + ge) / (1.0 + m.size), np.nan)

def decide(r, a_up, a_down, a_p, a_s, mode):
    z = np.array([x[1] for x in r["members"]], float)
    if mode == "two":
        p = p1(np.abs(z), r["maxz"]["rings"]); fl = p <= a_up + a_down
        up = bool(np.any(fl & (z > 0))); down = bool(np.any(fl & (z < 0)))
    else:
        up = bool(np.any(p1(z, r["maxz"]["rings+"]) <= a_up)) if a_up > 0 else False
        down = bool(np.any(p1(-z, r["maxz"]["rings-"]) <= a_down)) if a_down > 0 else False
    ps = np.array([p for p in r["pieces"]], float); ps = ps[np.isfinite(ps)]
    pc = bool(ps.size and (np.asarray(stats.holm(ps)) < a_p).any()) if a_p > 0 else False
    st = bool(r["sites"] is not None and np.isfinite(r["sites"]) and r["sites"] < a_s) if a_s > 0 else False
    return up, down, pc, st


RULES = {
    "two-sided maxT, rings 0.4 / pieces 0.3 / sites 0.3 (before)": (0.01, 0.01, 0.015, 0.015, "two"),
    "one-sided maxT, rises 0.4 / falls 0.2 / pieces 0.2 / sites 0.2": (0.02, 0.01, 0.01, 0.01, "one"),
    "one-sided maxT, rises 0.5 / falls 0.2 / pieces 0.15 / sites 0.15 (adopted)": (0.025, 0.01, 0.0075, 0.0075, "one"),
    "one-sided maxT, rises 0.6 / falls 0.2 / pieces 0.1 / sites 0.1": (0.03, 0.01, 0.005, 0.005, "one"),
}
NULL_SETS = {"5 designs of the calibration (2024–25, 1 and 3 months)": "null.pkl",
             "5 designs in 2025 (1 and 3 months)": "null_late0.pkl",
             "the same 5 designs in 2025 with a 12-month before window": "null_late12.pkl"}
POWER_SETS = {"3 vs 3 months (Jul 2024, Feb 2025)": "power.pkl", "3 vs 3 months (Feb, Mar 2025)": "power_late0.pkl",
              "12 months before, 3 after (Feb, Mar 2025)": "power_late12.pkl"}


def report(folder):
    import os
    print("| placebos | rule | n | rises | falls | pieces | sites | any flag |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for sl, f in NULL_SETS.items():
        null = pickle.load(open(os.path.join(folder, f), "rb"))
        for rl, rule in RULES.items():
            d = np.array([decide(r, *rule) for r in null])
            print(f"| {sl} | {rl} | {len(null)} | {d[:, 0].mean():.1%} | {d[:, 1].mean():.1%} | {d[:, 2].mean():.1%} | "
                  f"{d[:, 3].mean():.1%} | {d.any(axis=1).mean():.1%} |")
    for frac in (0.5, 0.3):
        print()
        print(f"Power, {frac:.0%} of the removed incidents moved (plants):")
        print()
        first = True
        for sl, f in POWER_SETS.items():
            pw = pickle.load(open(os.path.join(folder, f), "rb"))
            dests = sorted({r["dest"] for r in pw})
            if first:
                print("| design | rule | " + " | ".join(dests) + " |")
                print("|---|---|" + "---:|" * len(dests))
                first = False
            for rl, rule in list(RULES.items()) + [("destination sector alone, uncorrected (reference)", None)]:
                cells = []
                for dest in dests:
                    sel = [r for r in pw if r["dest"] == dest and r["frac"] == frac]
                    d = [r["oracle"] if rule is None else any(np.take(decide(r, *rule), [0, 2, 3])) for r in sel]
                    cells.append(f"{np.mean(d):.0%} ({len(d)})")
                print(f"| {sl} | {rl} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    if sys.argv[1] == "report":
        report(sys.argv[2])
        sys.exit(0)
    what, out = sys.argv[1], sys.argv[2]
    wb = int(sys.argv[3]) if len(sys.argv) > 3 else None
    main(what, out, wb_power=wb)
