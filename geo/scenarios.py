"""Validation by simulation: planted operations and displacement on the real South Yorkshire map.

A scenario takes a real South Yorkshire ward as the target of a one-month operation and
draws drug-market activity for the month before and the month after from the real map:
every location where police.uk recorded basket crime (in South Yorkshire and the
neighbouring forces) is a Poisson source with its real monthly rate, times a common
after-period trend drawn for the scenario (crime rising or falling everywhere, 0.9-1.1).
Optionally the operation removes a fraction (`effect`) of the target's activity in the
after month, and a fraction (`disp_frac`) of what it removed reappears as a cluster of
points (sd 100 m) at a planted destination: a `distance` beyond the target's edge in a
direction chosen so that the destination does or does not lie in another BCU
(`cross_bcu`). With ``effect=0`` and ``disp_frac=0`` it is a null scenario.

Each scenario is analysed with the same areas and tests as :func:`geo.displacement.analyse`
(equal-area buffer, the rest of the BCU as control, counts scaling; cross-boundary pieces
with Holm adjustment), vectorised over scenarios. ``python -m geo.scenarios --null 500
--out docs/POWER.md`` writes the false-alarm rates and the power table.

Counting a Poisson draw per real location and summing by area is the same, in
distribution, as planting individual points from the real intensity and counting them
in polygons; planted displacement points are real points, counted in the polygons.
"""
from __future__ import annotations

import argparse
import logging
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from scipy.special import ndtr

from .displacement import cross_units, study_areas, wdd_arrays
from .displacement.areas import points_inside
from .stats import holm

logger = logging.getLogger(__name__)

__all__ = ["Geography", "TargetGeo", "load_geography", "simulate", "false_alarm_rates", "power_table",
           "power_markdown", "main"]

AREAS = ("target", "buffer", "control")
SPREAD_M = 100.0


@dataclass
class TargetGeo:
    """One candidate target ward: its areas and which real locations fall in each."""

    code: str
    name: str
    bcu: str
    geom: object
    areas: object
    member: np.ndarray          # (n_areas, n_locations) bool: target, buffer, control, pieces, piece controls
    names: list                 # area names in `member` order
    pieces: list                # (level, code, name, force, piece, control)
    bcu_geoms: dict             # code -> geometry of every BCU (for planting)
    near_other_bcu: bool


@dataclass
class Geography:
    x: np.ndarray
    y: np.ndarray
    rate: np.ndarray            # expected basket crimes per month at each location
    targets: list
    own_force: str


def load_geography(workspace=None, *, min_per_month: float = 40.0, max_targets: int = 30) -> Geography:
    """Real locations and rates of basket crime, and candidate target wards, from the demo workspace.

    Parameters
    ----------
    workspace : path, optional
        A South Yorkshire workspace; ``None`` uses (and if needed builds) the demo one.
    min_per_month : float
        Only wards with at least this many basket crimes a month are targets (so that an
        effect can be measured at all).
    max_targets : int
        At most this many wards (the busiest), half of them next to another BCU.
    """
    from .demo import WORKSPACES, build_south_yorkshire
    from .workspace import Workspace
    path = Path(workspace) if workspace else WORKSPACES / "south-yorkshire.gpkg"
    if not path.exists():
        build_south_yorkshire(path, progress=lambda s: None)
    ws = Workspace.open(path)
    try:
        inc = ws.incidents(layer="crime", statuses=("mapped", "outside_area"))
        bcus = ws.boundaries("bcu")
        wards = ws.boundaries("ward")
        own_force = ws.force
    finally:
        ws.close()
    b = inc[inc["in_basket"]]
    n_months = max(1, b["month"].nunique())
    loc = b.groupby(["x", "y"]).size().reset_index(name="n")
    x, y = loc["x"].to_numpy(float), loc["y"].to_numpy(float)
    rate = loc["n"].to_numpy(float) / n_months
    bcu_geoms = dict(zip(bcus["code"], bcus.geometry.values))
    own = bcus[bcus["force"] == own_force]
    cands = []
    for geom, code, name, parent in zip(wards.geometry.values, wards["code"], wards["name"], wards["parent_code"]):
        if parent not in bcu_geoms:
            continue
        per_month = rate[points_inside(geom, x, y)].sum()
        if per_month >= min_per_month:
            others = shapely.union_all([g for c, g in bcu_geoms.items() if c != parent])
            cands.append((per_month, code, name, parent, geom, geom.distance(others)))
    cands.sort(key=lambda r: -r[0])
    near = [c for c in cands if c[5] < 1500][: max_targets // 2]
    far = [c for c in cands if c[5] >= 1500][: max_targets - len(near)]
    targets = []
    for _, code, name, parent, geom, dist in near + far:
        areas = study_areas(geom, bcu=bcu_geoms[parent])
        pieces = cross_units(areas, bcus, own_force=own_force)
        geoms = [areas.target, areas.buffer, areas.control] + [p[4] for p in pieces] + [p[5] for p in pieces]
        names = list(AREAS) + [f"p{i}" for i in range(len(pieces))] + [f"c{i}" for i in range(len(pieces))]
        member = np.vstack([points_inside(g, x, y) for g in geoms])
        targets.append(TargetGeo(code, name, parent, geom, areas, member, names, pieces, bcu_geoms, dist < 1500))
    return Geography(x, y, rate, targets, own_force)


def _destination(tg: TargetGeo, distance_m: float, cross_bcu: bool | None, rng) -> tuple[float, float] | None:
    """A point `distance_m` beyond the target's edge, in or out of the target's BCU."""
    c = tg.geom.centroid
    own = tg.bcu_geoms[tg.bcu]
    for theta in rng.permutation(np.linspace(0, 2 * math.pi, 72, endpoint=False)):
        ray = shapely.LineString([(c.x, c.y), (c.x + 50_000 * math.cos(theta), c.y + 50_000 * math.sin(theta))])
        edge = ray.intersection(tg.geom.boundary)
        if edge.is_empty:
            continue
        pts = [edge] if edge.geom_type == "Point" else list(getattr(edge, "geoms", [edge]))
        far = max(pts, key=lambda p: p.distance(c))
        r = far.distance(c) + distance_m
        px, py = c.x + r * math.cos(theta), c.y + r * math.sin(theta)
        p = shapely.Point(px, py)
        if tg.geom.distance(p) < 0.8 * distance_m:
            continue
        inside_own = own.contains(p)
        in_any = any(g.contains(p) for g in tg.bcu_geoms.values())
        if not in_any:
            continue
        if cross_bcu is None or (cross_bcu and not inside_own) or (cross_bcu is False and inside_own):
            return px, py
    return None


def simulate(geo: Geography, n: int, *, effect: float = 0.0, disp_frac: float = 0.0, distance: str = "buffer",
             cross_bcu: bool | None = None, trend=(0.9, 1.1), dispersion: float | None = None,
             alpha: float = 0.05, seed: int = 0) -> pd.DataFrame:
    """Run `n` scenarios and test each one; one row per scenario.

    Parameters
    ----------
    geo : Geography
    n : int
    effect : float
        Fraction of the target's after-month activity removed by the operation.
    disp_frac : float
        Fraction of the removed activity planted at the destination.
    distance : {"buffer", "ring"} or float
        Destination's distance beyond the target's edge: the middle of the buffer, the
        middle of the wider ring, or metres.
    cross_bcu : bool, optional
        Destination in another BCU (True), in the target's BCU (False) or anywhere (None).
        Targets where it cannot be placed are skipped in favour of others.
    trend : (float, float)
        Range of the common after/before multiplier.
    dispersion : float, optional
        Gamma shape of a per-location, per-month rate multiplier (over-dispersed counts);
        ``None``: pure Poisson.
    alpha : float
    seed : int

    Returns
    -------
    pandas.DataFrame
        ``target``, ``local_est``, ``local_p``, ``disp_est``, ``disp_p``, ``total_est``,
        ``total_p``, ``cross_any`` (any piece flagged), ``dest_area`` (target/buffer/ring/
        outside), ``dest_piece_flagged`` (the piece holding the destination flagged),
        ``dest_other_bcu``, ``displaced`` (points planted).
    """
    rng = np.random.default_rng(seed)
    pool = geo.targets
    if disp_frac > 0 and effect > 0:   # only targets where the destination can be planted
        pool = [t for t in pool if _destination(t, float(_distance(t, distance)), cross_bcu,
                                                np.random.default_rng(0)) is not None]
        if not pool:
            raise ValueError(f"no target ward can hold a destination at {distance!r} with cross_bcu={cross_bcu}")
    assign = rng.integers(0, len(pool), n)
    out = []
    for gi in np.unique(assign):
        tg = pool[gi]
        m = int((assign == gi).sum())
        use = tg.member.any(axis=0)
        lam = geo.rate[use]
        mem = tg.member[:, use].astype(np.float64)
        in_target = tg.member[0, use]
        r = rng.uniform(trend[0], trend[1], m)
        base0 = np.broadcast_to(lam[:, None], (lam.size, m))
        base1 = lam[:, None] * r[None, :] * np.where(in_target, 1.0 - effect, 1.0)[:, None]
        if dispersion:
            base0 = base0 * rng.gamma(dispersion, 1 / dispersion, base0.shape)
            base1 = base1 * rng.gamma(dispersion, 1 / dispersion, base1.shape)
        x0 = mem @ rng.poisson(base0)           # (n_areas, m)
        x1 = mem @ rng.poisson(base1)
        removed_mean = effect * lam[in_target].sum() * r
        dest_area = np.full(m, "none", dtype=object)
        dest_piece = np.full(m, -1)
        dest_other = np.zeros(m, dtype=bool)
        n_disp = np.zeros(m, dtype=int)
        if disp_frac > 0 and effect > 0:
            d = _distance(tg, distance)
            for s in range(m):
                dest = _destination(tg, float(d), cross_bcu, rng)
                if dest is None:
                    continue
                k = rng.poisson(disp_frac * removed_mean[s])
                px = rng.normal(dest[0], SPREAD_M, k)
                py = rng.normal(dest[1], SPREAD_M, k)
                n_disp[s] = k
                for ai, name in enumerate(tg.names):
                    geom = _geom_of(tg, name)
                    x1[ai, s] += points_inside(geom, px, py).sum()
                p = shapely.Point(dest)
                dest_area[s] = ("target" if tg.areas.target.contains(p) else "buffer" if tg.areas.buffer.contains(p)
                                else "ring" if tg.areas.ring.contains(p) else "outside")
                dest_other[s] = not tg.bcu_geoms[tg.bcu].contains(p)
                for pi, piece in enumerate(tg.pieces):
                    if piece[0] == "bcu" and piece[4].contains(p):
                        dest_piece[s] = pi
        res = _tests(x0, x1, tg, alpha)
        res.update(target=tg.name, dest_area=dest_area, dest_other_bcu=dest_other, displaced=n_disp)
        flagged = res.pop("_flags")
        res["dest_piece_flagged"] = np.array([flagged[dp, s] if dp >= 0 else False
                                              for s, dp in enumerate(dest_piece)])
        out.append(pd.DataFrame(res))
    return pd.concat(out, ignore_index=True)


def _distance(tg: TargetGeo, distance) -> float:
    return float({"buffer": tg.areas.buffer_m / 2, "ring": tg.areas.buffer_m + tg.areas.ring_m / 2}.get(
        distance, distance))


def _geom_of(tg: TargetGeo, name: str):
    if name in AREAS:
        return getattr(tg.areas, name)
    i = int(name[1:])
    return tg.pieces[i][4] if name[0] == "p" else tg.pieces[i][5]


def _p(est, se):
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, est / np.where(se > 0, se, 1), np.nan)
    return 2 * ndtr(-np.abs(z))


def _tests(x0, x1, tg: TargetGeo, alpha: float) -> dict:
    ti, bi, ci = 0, 1, 2
    a_t, a_b, a_c = tg.areas.target.area, tg.areas.buffer.area, tg.areas.control.area
    le, ls = wdd_arrays(x0[ci], x1[ci], x0[ti], x1[ti], size_ratio=a_c / a_t)
    de, ds = wdd_arrays(x0[ci], x1[ci], x0[bi], x1[bi], size_ratio=a_c / a_b)
    te, ts = wdd_arrays(x0[ci], x1[ci], x0[ti] + x0[bi], x1[ti] + x1[bi], size_ratio=a_c / (a_t + a_b))
    k = len(tg.pieces)
    m = x0.shape[1]
    flags = np.zeros((k, m), dtype=bool)
    if k:
        pe = np.zeros((k, m))
        pp = np.ones((k, m))
        for i, piece in enumerate(tg.pieces):
            pi, cj = tg.names.index(f"p{i}"), tg.names.index(f"c{i}")
            e, s = wdd_arrays(x0[cj], x1[cj], x0[pi], x1[pi], size_ratio=piece[5].area / piece[4].area)
            pe[i], pp[i] = e, np.nan_to_num(_p(e, s), nan=1.0)
        ph = np.vstack([holm(pp[:, s]) for s in range(m)]).T
        flags = (ph < alpha) & (pe > 0)
    return {"local_est": le, "local_p": _p(le, ls), "disp_est": de, "disp_p": _p(de, ds),
            "total_est": te, "total_p": _p(te, ts), "cross_any": flags.any(axis=0), "_flags": flags}


def false_alarm_rates(null: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Share of null scenarios in which each test fired, with a binomial 95% interval."""
    tests = {
        "WDD local (target vs control), two-sided": null["local_p"] < alpha,
        "WDD displacement (buffer vs control), two-sided": null["disp_p"] < alpha,
        "WDD total (target + buffer), two-sided": null["total_p"] < alpha,
        "Cross-boundary flag, any piece (Holm, rises only)": null["cross_any"],
    }
    n = len(null)
    rows = []
    for name, hit in tests.items():
        rate = float(hit.mean())
        half = 1.96 * math.sqrt(max(rate * (1 - rate), 1e-12) / n)
        rows.append({"test": name, "scenarios": n, "false_alarm_rate": rate, "ci_low": max(0.0, rate - half),
                     "ci_high": rate + half, "nominal": alpha if "Cross" not in name else alpha / 2})
    return pd.DataFrame(rows)


def power_table(geo: Geography, *, per_cell: int = 200, effects=(0.1, 0.2, 0.3, 0.5), disp_frac: float = 0.5,
                alpha: float = 0.05, seed: int = 1) -> pd.DataFrame:
    """Detection power against effect size, destination and boundary crossing."""
    rows = []
    i = 0
    for effect in effects:
        for distance in ("buffer", "ring"):
            for cross in (False, True):
                i += 1
                sims = simulate(geo, per_cell, effect=effect, disp_frac=disp_frac, distance=distance,
                                cross_bcu=cross, alpha=alpha, seed=seed * 1000 + i)
                planted = sims[sims["displaced"] > 0]
                rows.append({
                    "effect": effect, "displaced_share": disp_frac, "destination": distance,
                    "crosses_bcu": cross, "scenarios": len(sims),
                    "mean_displaced": float(sims["displaced"].mean()),
                    "power_local": float(((sims["local_p"] < alpha) & (sims["local_est"] < 0)).mean()),
                    "power_buffer": float(((planted["disp_p"] < alpha) & (planted["disp_est"] > 0)).mean())
                    if distance == "buffer" and len(planted) else np.nan,
                    "power_cross": float(planted["dest_piece_flagged"].mean()) if cross and len(planted) else np.nan,
                })
    return pd.DataFrame(rows)


def power_markdown(fa: pd.DataFrame, power: pd.DataFrame, *, fa_od: pd.DataFrame | None = None, command: str,
                   seconds: float, geo: Geography) -> str:
    def pct(v):
        return "–" if v is None or (isinstance(v, float) and not np.isfinite(v)) else f"{100 * v:.1f}%"
    lines = [
        "# Power and false alarms of the results analysis (simulation)",
        "",
        f"Generated by `{command}` in {seconds:,.0f} s (see `geo/scenarios.py`).",
        "",
        f"Real South Yorkshire geography: {len(geo.targets)} target wards (the busiest for drug-market basket "
        f"crime, at least 40 a month; {sum(t.near_other_bcu for t in geo.targets)} of them within 1.5 km of another "
        f"BCU), {len(geo.x):,} real locations of basket crime in South Yorkshire and the neighbouring forces, each a "
        "Poisson source with its real monthly rate. One-month operation, one month before and one after, a common "
        "trend of 0.9-1.1 drawn per scenario, equal-area buffer, the rest of the BCU as control (counts "
        "scaling), α = 0.05.",
        "",
        "## False-alarm rate (null scenarios: no effect, no displacement)",
        "",
        "| test | scenarios | false alarms | 95% interval | nominal |",
        "|---|---:|---:|---|---:|",
    ]
    for _, r in fa.iterrows():
        lines.append(f"| {r['test']} | {r['scenarios']} | {pct(r['false_alarm_rate'])} | "
                     f"{pct(r['ci_low'])} – {pct(r['ci_high'])} | {pct(r['nominal'])} |")
    lines += ["",
              "The WDD tests are two-sided at α = 0.05. The cross-boundary flag fires only for a significant "
              "*rise* in a piece after Holm adjustment over all pieces of the buffer and wider ring, so its "
              "nominal family-wise rate is at most α/2.", ""]
    if fa_od is not None:
        lines += ["### The same null with over-dispersed counts", "",
                  "Real crime counts vary more than Poisson. With a gamma(shape 2) multiplier on every "
                  "location's rate each month, the Poisson-based tests fire more often than α:", "",
                  "| test | scenarios | false alarms | 95% interval |", "|---|---:|---:|---|"]
        for _, r in fa_od.iterrows():
            lines.append(f"| {r['test']} | {r['scenarios']} | {pct(r['false_alarm_rate'])} | "
                         f"{pct(r['ci_low'])} – {pct(r['ci_high'])} |")
        lines += ["", "Read a single significant result with this in mind; longer windows help.", ""]
    lines += [
        "## Power against effect size",
        "",
        "`effect`: share of the target's basket crime removed in the after month; half of it "
        "(`displaced share` 0.5) reappears as a cluster (sd 100 m) in the middle of the buffer or of the wider "
        "ring, in the target's own BCU or across a BCU boundary.",
        "",
        "| effect | destination | crosses BCU | scenarios | mean points displaced | reduction detected in "
        "target | displacement detected in buffer | flagged in the neighbouring BCU |",
        "|---:|---|---|---:|---:|---:|---:|---:|",
    ]
    for _, r in power.iterrows():
        lines.append(f"| {r['effect']:.0%} | {r['destination']} | {'yes' if r['crosses_bcu'] else 'no'} | "
                     f"{r['scenarios']} | {r['mean_displaced']:.1f} | {pct(r['power_local'])} | "
                     f"{pct(r['power_buffer'])} | {pct(r['power_cross'])} |")
    lines += ["",
              "Reduction detected: WDD local estimate negative with p < 0.05. Displacement detected in buffer: "
              "WDD displacement part positive with p < 0.05 (destination in the buffer). Flagged in the "
              "neighbouring BCU: the piece of buffer + ring in the BCU that holds the destination is flagged "
              "(Holm-adjusted). One month of police.uk data per window gives little power for small effects: "
              "a 10-20% fall in a ward is usually not detectable; plan longer windows where possible.", ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m geo.scenarios", description=__doc__.splitlines()[0])
    ap.add_argument("--null", type=int, default=500, help="number of null scenarios (default 500)")
    ap.add_argument("--per-cell", type=int, default=200, help="scenarios per cell of the power table")
    ap.add_argument("--workspace", default=None, help="South Yorkshire workspace (default: the demo)")
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--out", default=None, help="write the tables as Markdown here (e.g. docs/POWER.md)")
    args = ap.parse_args(argv)
    t = time.perf_counter()
    geo = load_geography(args.workspace)
    null = simulate(geo, args.null, seed=args.seed)
    fa = false_alarm_rates(null)
    od = false_alarm_rates(simulate(geo, args.null, seed=args.seed + 1, dispersion=2.0))
    power = power_table(geo, per_cell=args.per_cell, seed=args.seed)
    secs = time.perf_counter() - t
    cmd = "python -m geo.scenarios " + " ".join(argv if argv is not None else sys.argv[1:])
    md = power_markdown(fa, power, fa_od=od, command=cmd.strip(), seconds=secs, geo=geo)
    print(md)
    if args.out:
        Path(args.out).write_text(md, encoding="utf-8")
        print(f"written to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
