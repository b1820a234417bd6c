"""Calibration of the results-analysis flags on real data: false alarms and power.

``python -m geo calibrate --workspace WS --placebos N --out docs/CALIBRATION.md``

Placebo operations are placed where nothing happened: circles of 300-500 m at the hottest
basket-crime locations of every BCU of the force, and whole wards, each analysed under
several window designs spread over the data (:data:`DESIGNS`). Every placebo goes through
exactly the calibrated tests of the verdict (:func:`geo.displacement.engine.run`); the
placebos that estimate its over-dispersion never reach the checked placebo's catchment,
so checking and estimating placebos are distinct. For each flag the share of placebos it
fires on is reported with a 95% Wilson interval, against its nominal rate.

Power: the same hot circles get a planted operation (half of the target's after-window
basket incidents removed) and 30% or 50% of the removed incidents, with their harm,
moved 300 m-1.5 km from the target's edge: into the buffer, across a BCU line, or to a
school. Power is the share of plants on which the verdict reports displacement.
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from scipy.stats import norm

from .displacement import engine
from .displacement import power as power_mod
from .displacement.flags import SHARES, targeted_table, targeted_tests
from .displacement.null import MAXT_MIN_ROOM
from .displacement.power import wilson
from .displacement.windows import month_add, op_windows, periods, window_months

logger = logging.getLogger(__name__)

__all__ = ["DESIGNS", "POWER_DESIGNS", "Placebo", "wilson", "hot_circles", "ward_placebos", "run_null", "run_power",
           "rates", "power_table", "markdown", "calibrate", "plant", "destinations", "prepare_design",
           "oracle_sector", "VERDICT_DEST", "CAL_TARGETED", "design_windows", "ACROSS", "BORDER_CIRCLES",
           "across_point", "border_circles"]

#: Window designs ``(label, operation month, operation months, window months[, before-window months])``.
DESIGNS = (
    ("1 month either side, Mar 2024", "2024-03", 1, 1),
    ("1 month either side, Sep 2024", "2024-09", 1, 1),
    ("1 month either side, Mar 2025", "2025-03", 1, 1),
    ("3 months either side, Jul 2024", "2024-07", 1, 3),
    ("3 months either side, Feb 2025", "2025-02", 1, 3),
    ("12 months before, 3 after, Mar 2025", "2025-03", 1, 3, 12),
)
#: Window designs of the power study: two with 3 months either side and one whose before window is the 12
#: months before the operation (a longer baseline halves the noise of the before term).
POWER_DESIGNS = (DESIGNS[3], DESIGNS[4], ("12 months before, 3 after, Feb 2025", "2025-02", 1, 3, 12))


#: The destination drawn as the verdict's power draws them (:mod:`geo.displacement.power`).
VERDICT_DEST = "anywhere 300 m–1 km (as the verdict's power)"


@dataclass(frozen=True)
class Placebo:
    kind: str
    name: str
    bcu: str
    geometry: object


def hot_circles(incidents, bcus, *, own_force: str, per_bcu: int, seed: int = 0, spacing_m: float = 1500.0):
    """Circles of 300-500 m at the hottest basket locations of each own-force BCU (400 m cells)."""
    rng = np.random.default_rng(seed)
    basket = incidents[incidents["in_basket"].to_numpy(bool)]
    x, y = basket["x"].to_numpy(float), basket["y"].to_numpy(float)
    out = []
    for geom, code, name in zip(bcus.geometry.values, bcus["code"], bcus["name"]):
        inside = shapely.contains_xy(geom, x, y)
        key = pd.Series(list(zip((x[inside] // 400).astype(int), (y[inside] // 400).astype(int))))
        counts = key.value_counts()
        chosen = []
        for (i, j), _ in counts.items():
            cx, cy = (i + 0.5) * 400, (j + 0.5) * 400
            if not geom.contains(shapely.Point(cx, cy)) or any(math.hypot(cx - a, cy - b) < spacing_m
                                                                for a, b in chosen):
                continue
            chosen.append((cx, cy))
            if len(chosen) >= per_bcu:
                break
        for k, (cx, cy) in enumerate(chosen):
            r = float(rng.choice([300.0, 400.0, 500.0]))
            out.append(Placebo("circle", f"{name} hot spot {k + 1} ({r:.0f} m)", code,
                               shapely.Point(cx, cy).buffer(r, quad_segs=16)))
    return out


def ward_placebos(boundaries, bcus, *, own_force: str):
    """Every ward of the force as a placebo target, with the BCU holding its centre."""
    wards = boundaries[boundaries["level"] == "ward"]
    own = bcus[bcus["force"] == own_force]
    out = []
    for geom, name in zip(wards.geometry.values, wards["name"]):
        c = geom.representative_point()
        hit = [code for g, code in zip(own.geometry.values, own["code"]) if g.contains(c)]
        if hit:
            out.append(Placebo("ward", str(name), hit[0], geom))
    return out


def _before_months(design) -> int:
    return design[4] if len(design) > 4 else design[3]


def design_windows(design):
    """The :class:`~geo.displacement.windows.Windows` of a design of :data:`DESIGNS`."""
    label, m, oplen, wlen = design[:4]
    end = month_add(m, oplen - 1)
    last = f"{end}-28"
    return op_windows(f"{m}-01", last, before=(month_add(m, -_before_months(design)), month_add(m, -1)),
                      after=(month_add(end, 1), month_add(end, wlen)))


def prepare_design(incidents, bcus, own_force, design, *, per=None):
    w = design_windows(design)
    per = periods(incidents, w) if per is None else per
    return engine.prepare(incidents, per, tau=w.time_weights[0], bcus=bcus, own_force=own_force,
                          months=window_months(w))


#: The targeted harms every placebo operation declares (the demo's Op Central's: typical of drug-market work).
CAL_TARGETED = ("Violence and sexual offences", "Anti-social behaviour")


def _targeted(incidents, per, windows, catch, res, alpha) -> bool:
    """Whether the targeted-harms test of the verdict (Holm over :data:`CAL_TARGETED`) finds evidence."""
    tab = targeted_table(incidents, per, catch, CAL_TARGETED, time_weights=windows.time_weights)
    t = targeted_tests(tab, CAL_TARGETED, phi=res.null.phi["target|count"], alpha=alpha)
    return bool((t["status"] == "evidence").any())


def _row(design, pl, res):
    fam = res.family()
    ev = lambda ts: any(t.status == "evidence" for t in ts)  # noqa: E731
    return {"design": design, "kind": pl.kind, "name": pl.name,
            "target": res.target.status == "evidence",
            "rings": ev(res.rings), "pieces": ev(res.pieces),
            "rises": any(t.reading == "displacement" for t in res.rings),
            "falls": any(t.reading == "diffusion" for t in res.rings),
            "sites": res.sites is not None and res.sites.status == "evidence",
            "any": ev(fam), "target_tested": res.target.status != "too few to tell",
            "phi_target": res.null.phi["target|harm"], "phi_rings": res.null.phi["catchment|count"],
            "room": res.null.room,
            "n_pieces": len(res.pieces)}


def run_null(incidents, boundaries, sites, *, own_force: str, n: int, alpha: float = 0.05, seed: int = 0,
             all_wards: bool = False, progress=None) -> pd.DataFrame:
    """At least `n` placebo operations (circles and wards over :data:`DESIGNS`); one row each.

    Each design gets two thirds of its share of `n` as hot circles and a third as wards drawn
    at random; ``all_wards=True`` (the published calibration) checks every ward of the force
    in every design instead, so the rates of whole-ward operations are measured on their own.
    """
    bcus = boundaries[boundaries["level"] == "bcu"]
    own = bcus[bcus["force"] == own_force]
    wards = ward_placebos(boundaries, bcus, own_force=own_force)
    per_design = math.ceil(n / len(DESIGNS))
    sampled = min(len(wards), per_design // 3)   # the wards' share of a design; the rest are circles
    n_circ = per_design - sampled
    n_wards = len(wards) if all_wards else sampled
    circles = hot_circles(incidents, own, own_force=own_force, per_bcu=math.ceil(n_circ / max(len(own), 1)),
                          seed=seed)
    rng = np.random.default_rng(seed)
    rows = []
    for d, design in enumerate(DESIGNS):
        w = design_windows(design)
        per = periods(incidents, w)
        prep = prepare_design(incidents, bcus, own_force, design, per=per)
        # the declared types' incidents, once per design (targeted_table keeps only these rows, in this order)
        declared = incidents["category"].astype(str).isin(CAL_TARGETED).to_numpy()
        t_inc, t_per = incidents[declared], per[declared]
        pick = [wards[i] for i in rng.choice(len(wards), n_wards, replace=False)] if n_wards else []
        for i, pl in enumerate(circles[:n_circ] + pick):
            catch, res = engine.run(prep, pl.geometry, own_bcu=pl.bcu, sites=sites, alpha=alpha, n_placebos=engine.N_PLACEBOS,
                                    seed=seed + 1000 * d + i)
            rows.append({**_row(design[0], pl, res),
                         "targeted": _targeted(t_inc, t_per, w, catch, res, alpha)})
        if progress:
            progress(f"  {design[0]}: {len(rows)} placebos so far")
    return pd.DataFrame(rows)


def plant(prep, target, dest_xy, *, frac_removed: float, frac_moved: float, rng):
    """Remove `frac_removed` of the target's after-window points and move `frac_moved` of them to `dest_xy`.

    The same planting as the verdict's power (:func:`geo.displacement.power.plant`).
    """
    return power_mod.plant(prep.points, target, dest_xy, frac_removed=frac_removed, frac_moved=frac_moved, rng=rng)


#: The destination across a BCU line.
ACROSS = "across a BCU line"
#: Extra hot circles near a BCU line planted only across it (the force's hot circles seldom have another
#: BCU within 1.5 km: 4-8 plants of that kind otherwise).
BORDER_CIRCLES = 16


def across_point(target, bcu_code, bcus):
    """The nearest point of another BCU 300 m-1.5 km from the target's edge (100 m inside it), or ``None``."""
    c = target.centroid
    ring = target.buffer(1500).difference(target.buffer(300))
    others = bcus[(bcus["code"] != bcu_code)]
    cand = ring.intersection(shapely.union_all(others.geometry.values)) if len(others) else shapely.Polygon()
    if cand.is_empty or cand.area <= 1e4:
        return None
    near = shapely.get_coordinates(cand.buffer(-100).boundary if not cand.buffer(-100).is_empty else cand.boundary)
    d = np.hypot(near[:, 0] - c.x, near[:, 1] - c.y)
    return tuple(near[np.argmin(d)]) if d.size else None


def border_circles(incidents, bcus, circles, *, own_force: str, n: int = BORDER_CIRCLES, seed: int = 0):
    """Up to `n` more hot circles (the hottest of each BCU first, 1 km apart) with another BCU 300 m-1.5 km
    from their edge, away from `circles` (1.5 km): the across-a-BCU-line plants' targets."""
    taken = [pl.geometry.centroid for pl in circles]
    out = []
    by_bcu: dict = {}
    for pl in hot_circles(incidents, bcus, own_force=own_force, per_bcu=6 * n, seed=seed + 7, spacing_m=1000.0):
        by_bcu.setdefault(pl.bcu, []).append(pl)
    # each BCU's hottest in turn, so every BCU's borders are planted
    order = [q[i] for i in range(max(map(len, by_bcu.values()), default=0)) for q in by_bcu.values() if i < len(q)]
    for pl in order:
        c = pl.geometry.centroid
        if any(c.distance(t) < 1500 for t in taken) or across_point(pl.geometry, pl.bcu, bcus) is None:
            continue
        out.append(pl)
        taken.append(c)
        if len(out) >= n:
            break
    return out


def destinations(target, bcu_code, bcus, school_xy, rng):
    """Buffer, across-a-BCU-line and towards-a-school destinations 300 m-1.5 km from the target's edge."""
    c = target.centroid
    out = {}
    ang = rng.uniform(0, 2 * math.pi)
    edge = target.exterior.distance(c) if hasattr(target, "exterior") else 0.0
    r = edge + 375.0
    out["into the buffer (250–500 m)"] = (c.x + r * math.sin(ang), c.y + r * math.cos(ang))
    across = across_point(target, bcu_code, bcus)
    if across is not None:
        out[ACROSS] = across
    if school_xy is not None and len(school_xy):
        d = np.hypot(school_xy[:, 0] - c.x, school_xy[:, 1] - c.y) - edge
        ok = np.flatnonzero((d >= 300) & (d <= 1500))
        if ok.size:
            out["towards a school"] = tuple(school_xy[ok[np.argmin(d[ok])]])
    out[VERDICT_DEST] = tuple(power_mod.random_destinations(target, 1, rng, max_m=1000.0)[0])
    return out


def run_power(incidents, boundaries, sites, *, own_force: str, per_bcu: int = 6, alpha: float = 0.05,
              seed: int = 1, fracs=(0.3, 0.5), progress=None) -> pd.DataFrame:
    """Planted displacement at hot circles (3-month windows), one row per plant."""
    bcus = boundaries[boundaries["level"] == "bcu"]
    own = bcus[bcus["force"] == own_force]
    circles = hot_circles(incidents, own, own_force=own_force, per_bcu=per_bcu, seed=seed)
    schools = sites[sites["kind"] == "school"] if sites is not None and len(sites) else None
    school_xy = shapely.get_coordinates(schools.geometry.values) if schools is not None else None
    border = border_circles(incidents, own, circles, own_force=own_force, seed=seed)
    rng = np.random.default_rng(seed)
    rows = []
    for design in POWER_DESIGNS:
        prep = prepare_design(incidents, bcus, own_force, design)
        baseline = f"{_before_months(design)} months"
        for pl in circles:
            for dest_kind, xy in destinations(pl.geometry, pl.bcu, own, school_xy, rng).items():
                for frac in fracs:
                    pts, k = plant(prep, pl.geometry, xy, frac_removed=0.5, frac_moved=frac, rng=rng)
                    catch, res = engine.run(prep, pl.geometry, own_bcu=pl.bcu, sites=sites, alpha=alpha,
                                            n_placebos=engine.N_PLACEBOS, seed=seed, points=pts)
                    rows.append(_plant_row(design, baseline, dest_kind, frac, k, catch, res, xy))
        border_rng = np.random.default_rng(seed + 11)   # its own draws: the plants above stay the same
        for pl in border:
            xy = across_point(pl.geometry, pl.bcu, own)
            for frac in fracs:
                pts, k = plant(prep, pl.geometry, xy, frac_removed=0.5, frac_moved=frac, rng=border_rng)
                catch, res = engine.run(prep, pl.geometry, own_bcu=pl.bcu, sites=sites, alpha=alpha,
                                        n_placebos=engine.N_PLACEBOS, seed=seed, points=pts)
                rows.append(_plant_row(design, baseline, ACROSS, frac, k, catch, res, xy))
        if progress:
            progress(f"  power, {design[0]}: {len(rows)} plants so far")
    return pd.DataFrame(rows)


def _plant_row(design, baseline, dest_kind, frac, k, catch, res, xy) -> dict:
    disp = [t for t in res.family() if t.reading == "displacement"]
    return {"design": design[0], "baseline": baseline, "destination": dest_kind, "moved_share": frac, "moved": k,
            "target_before": res.target.n_before, "detected": bool(disp),
            "piece": any(t.kind == "piece" for t in disp), "sites": any(t.kind == "sites" for t in disp),
            "oracle": oracle_sector(catch, res, xy)}


FLAGS = (("target", "Target effect (harm), two-sided", 1.0),
         ("rises", "Rings and ring sectors: displacement (max-statistic over rings + sectors, rises)",
          SHARES["rises"]),
         ("falls", "Rings and ring sectors: diffusion (max-statistic over rings + sectors, falls)", SHARES["falls"]),
         ("rings", "Rings and ring sectors: either", SHARES["rises"] + SHARES["falls"]),
         ("pieces", "Displacement into another BCU or force (Holm over pieces, rises)", SHARES["pieces"]),
         ("sites", "Displacement towards sensitive sites (rises)", SHARES["sites"]),
         ("any", "Any displacement or diffusion flag (rings, pieces, sites)", 1.0),
         ("targeted", "Targeted harms in the target (" + " and ".join(CAL_TARGETED) + " declared; Holm, two-sided)",
          1.0))


def rates(null: pd.DataFrame, *, alpha: float = 0.05) -> pd.DataFrame:
    """False-alarm rate of each flag with n, Wilson 95% interval and nominal rate."""
    rows = []
    for key, label, share in FLAGS:
        if key not in null:
            continue
        k, n = int(null[key].sum()), len(null)
        lo, hi = wilson(k, n)
        rows.append({"flag": label, "key": key, "n": n, "fired": k, "rate": k / n if n else float("nan"),
                     "ci_low": lo, "ci_high": hi, "nominal": alpha * share,
                     "nominal_kind": "at most" if key in ("rings", "pieces", "sites", "any", "targeted")
                     else "exactly"})
    return pd.DataFrame(rows)


def oracle_sector(catch, res, xy, *, alpha: float = 0.05) -> bool:
    """A reference: the sector holding the destination, tested alone (one-sided at `alpha`, no multiplicity).

    A sector with too few incidents before to be tested (e.g. a park) counts as not found.
    """
    pt = shapely.Point(*xy)
    tests = [t for t in res.rings if t.kind == "sector"]
    for t, sec in zip(tests, catch.sectors):
        if sec.geometry.contains(pt):
            return bool(t.status != "too few to tell" and np.isfinite(t.se) and t.se > 0
                        and t.estimate / t.se > norm.ppf(1 - alpha))
    return False


def power_table(power: pd.DataFrame) -> pd.DataFrame:
    g = power.groupby(["baseline", "destination", "moved_share"])
    out = g.agg(n=("detected", "size"), detected=("detected", "sum"), mean_moved=("moved", "mean"),
                mean_target_before=("target_before", "mean"), oracle=("oracle", "mean")).reset_index()
    out["power"] = out["detected"] / out["n"]
    out[["ci_low", "ci_high"]] = [wilson(int(k), int(n)) for k, n in zip(out["detected"], out["n"])]
    return out


def _pct(v) -> str:
    return "–" if v is None or not np.isfinite(v) else f"{100 * v:.1f}%"


def _range(v) -> str:
    v = pd.Series(v, dtype=float).dropna()
    return f"{v.min():,.0f}–{v.max():,.0f} (median {v.median():,.0f})" if len(v) else "–"


def _group_rates(r: pd.DataFrame, groups) -> list:
    """Rows of a Markdown table: each flag's rate and Wilson interval in each ``(name, rows)`` group, and
    the flags whose whole interval lies above nominal."""
    lines = ["| flag | nominal | " + " | ".join(f"{name} (n = {len(g)})" for name, g in groups) + " |",
             "|---|---:|" + "---|" * len(groups)]
    over = {name: [] for name, _ in groups}
    for _, x in r.iterrows():
        nom = ("≤ " if x["nominal_kind"] == "at most" else "") + _pct(x["nominal"])
        cells = []
        for name, g in groups:
            k = int(g[x["key"]].sum())
            lo, hi = wilson(k, len(g))
            cells.append(f"{_pct(k / len(g))} ({_pct(lo)} – {_pct(hi)})")
            if lo > x["nominal"]:
                over[name].append(x["flag"].split(" (")[0])
        lines.append(f"| {x['flag']} | {nom} | " + " | ".join(cells) + " |")
    return lines + ["", "Above nominal with the whole 95% interval: " + "; ".join(
        f"{name}: " + (", ".join(flags) if flags else "none") for name, flags in over.items()) + "."]


def markdown(null: pd.DataFrame, power: pd.DataFrame, *, command: str, seconds: float, workspace_note: str,
             alpha: float = 0.05) -> str:
    """``docs/CALIBRATION.md`` from the placebo and power runs."""
    r = rates(null, alpha=alpha)
    lines = ["# Calibration of the results-analysis flags on real data", "",
             f"Generated by `{command}` in {seconds:,.0f} s ({workspace_note}). Method: "
             "`geo/displacement/null.py` and `geo/displacement/flags.py`; harness: `geo/calibration.py`.", "",
             "## Method", "",
             "Every flag of the verdict is a test of basket crime (harm for the target effect, counts for "
             "displacement and diffusion) against the rest of the operation's BCU (or of the neighbouring BCU or "
             "force for pieces across a boundary): the counts-scaled weighted displacement difference, whose "
             "Poisson (compound-Poisson for harm) variance is multiplied by the over-dispersion φ. φ is measured "
             f"for each operation, its windows and each of its shapes: up to {engine.N_PLACEBOS} placebo copies of the target and "
             "of each catchment ring (and, pooled, of the ring sectors) are placed at cells of the same BCU with a "
             "similar before-window count, never reaching a real target, and φ = max(1, (q90|z| / 1.645)², "
             "(q95|z| / 1.96)²) over their z-scores (the \"spread of placebo z-scores\" is √φ). Areas with fewer "
             "than 3 basket incidents before, or 10 before and after, are \"too few to tell\" and never flagged. "
             "The catchment is rings 0–250, 250–500 and 500–1,000 m from the target's edge, each cut into eight "
             "compass sectors and by BCU and force; force-months without data are left out and said so. The rings and "
             "sectors are tested as two one-sided families, rises (displacement, the direction the question is "
             "about) and falls (diffusion of benefits), each corrected by the max-statistic (single-step maxT; "
             "Westfall & Young 1993): the same placebo copies give, each, the largest standardised z = z / √φ (and "
             "−z) over their rings and sectors, and a real ring or sector is flagged when at most its direction's α "
             "share of those maxima (counting the real one) reach its own z. This respects the correlation of "
             "overlapping rings and sectors, so it is less conservative than Holm; pieces across a BCU or force line "
             "(each with its own control) keep Holm. Copies of a large operation overlap, so they may amount to few "
             "independent ones (its \"room\": the catchment-sized areas their union covers): every φ is widened by the "
             f"factor Student's t with room − 1 degrees of freedom applies at the two-sided 5% point, and below a "
             f"room of {MAXT_MIN_ROOM:,.0f} the rings and sectors are corrected by Holm instead of the max-statistic "
             "(an empirical correction, checked by the rates below, not a derivation). The targeted harms an operation declares are tested in the "
             "target the same way, as counts of each declared crime type against the control with the target's φ, "
             "Holm-corrected across the declared types; every placebo declares " + " and ".join(CAL_TARGETED) +
             ".", "",
             "## False alarms: placebo operations where nothing happened", "",
             f"{len(null)} placebo operations: {int((null['kind'] == 'circle').sum())} circles of 300–500 m at the "
             f"hottest basket-crime locations of the four BCUs and {int((null['kind'] == 'ward').sum())} whole wards, "
             f"over {null['design'].nunique()} window designs ({'; '.join(null['design'].unique())}). Each is analysed "
             "by the same code as the verdict; the placebos that estimate its over-dispersion are drawn in its own "
             "BCU and never reach its catchment, so they are distinct from the checked placebo.", "",
             "| flag | n | fired | rate | 95% interval (Wilson) | nominal |",
             "|---|---:|---:|---:|---|---:|"]
    for _, x in r.iterrows():
        nom = ("≤ " if x["nominal_kind"] == "at most" else "") + _pct(x["nominal"])
        lines.append(f"| {x['flag']} | {x['n']} | {x['fired']} | {_pct(x['rate'])} | "
                     f"{_pct(x['ci_low'])} – {_pct(x['ci_high'])} | {nom} |")
    kinds = [(f"{kind}s", g) for kind, g in null.groupby("kind")]
    lines += ["", "By kind of placebo (rate, with its 95% Wilson interval):", ""] + _group_rates(r, kinds)
    if "room" in null:
        small = null["room"] < MAXT_MIN_ROOM
        rooms = [(f"room under {MAXT_MIN_ROOM:,.0f}", null[small]),
                 (f"room {MAXT_MIN_ROOM:,.0f} or more", null[~small])]
        lines += ["", "By room: how many independent copies the placebo copies of the checked placebo's catchment "
                  "amount to (the catchment-sized areas their union covers). Below "
                  f"{MAXT_MIN_ROOM:,.0f} the rings and sectors are corrected by Holm instead of the max-statistic; "
                  "every φ is widened by Student's t factor with room − 1 degrees of freedom. Circles' room: "
                  + _range(null.loc[null["kind"] == "circle", "room"]) + "; wards': "
                  + _range(null.loc[null["kind"] == "ward", "room"]) + ".", ""]
        lines += _group_rates(r, [(k, g) for k, g in rooms if len(g)])
    lines += ["", "By window design:", "", "| design | n | target effect | any flag | median spread of placebo z "
              "(target harm) |", "|---|---:|---:|---:|---:|"]
    for d, g in null.groupby("design", sort=False):
        lines.append(f"| {d} | {len(g)} | {_pct(g['target'].mean())} | {_pct(g['any'].mean())} | "
                     f"{np.sqrt(g['phi_target']).median():.2f} |")
    sp = np.sqrt(null["phi_target"])
    sr = np.sqrt(null["phi_rings"])
    lines += ["", f"Spread of placebo z-scores as the tests use it (sqrt φ, widened where the copies overlap; 1.00 under "
              f"Poisson): target harm median {sp.median():.2f} "
              f"(range {sp.min():.2f}–{sp.max():.2f}); catchment basket counts median {sr.median():.2f} "
              f"(range {sr.min():.2f}–{sr.max():.2f}). Real counts are over-dispersed, and every test divides "
              "its z by this spread.", "",
              f"The displacement/diffusion family splits α = {alpha:g} into {SHARES['rises']:g} (rises in rings and "
              f"sectors), {SHARES['falls']:g} (falls in rings and sectors), {SHARES['pieces']:g} (pieces by BCU/force) "
              f"and {SHARES['sites']:g} (sensitive sites), so by Bonferroni the whole family fires on at most "
              f"{alpha:.0%} of operations that did nothing; each direction's max-statistic aims at its share exactly, "
              "the pieces' Holm and the single sites test are upper bounds. Most of α goes to rises in the rings and "
              "sectors because that is where planted moves are found (the power below); pieces and sites remain "
              "tests with a stated α.", "",
              "## Power: planted displacement at real hot locations", "",
              "Half of the target's after-window basket incidents removed (the operation's effect) and 30% or 50% of "
              "the removed incidents, with their harm, planted 300 m–1.5 km from the target's edge (sd 80 m), "
              "3-month after windows (two designs with the 3 months before as the before window, one with the 12 "
              "months before). Detected: the verdict reports displacement (any ring, sector, piece or "
              "sites flag at the family's α shares). Across a BCU line: the nearest point of another BCU of the force "
              "300 m–1.5 km from the target's edge, for the hot circles that have one and for "
              f"{BORDER_CIRCLES} more hot circles near BCU lines (each BCU's hottest in turn, planted across the "
              "line only); towards a school: the nearest "
              "school 300 m–1.5 km away; anywhere 300 m–1 km: a random direction and distance, drawn exactly as the "
              "verdict draws the plants behind its own \"power to detect a 50% move\" (`geo/displacement/power.py`, "
              "40 plants on the operation's own data with its own over-dispersion).", "",
              "| before window | destination | share moved | plants | mean incidents moved | mean target basket before | "
              "power | 95% interval | destination sector alone, uncorrected |",
              "|---|---|---:|---:|---:|---:|---:|---|---:|"]
    for _, x in power_table(power).iterrows():
        lines.append(f"| {x['baseline']} | {x['destination']} | {x['moved_share']:.0%} | {x['n']} | "
                     f"{x['mean_moved']:.0f} | "
                     f"{x['mean_target_before']:.0f} | {_pct(x['power'])} | {_pct(x['ci_low'])} – "
                     f"{_pct(x['ci_high'])} | {_pct(x['oracle'])} |")
    pt = power_table(power)
    at50 = pt[np.isclose(pt["moved_share"], 0.5)]
    best = at50.loc[at50["power"].idxmax()] if len(at50) else None
    reach = ("" if best is None else
             f"The highest power at a 50% move is {_pct(best['power'])} ({best['destination']}, {best['baseline']} "
             "before); " + ("80% at a 50% move is out of reach at these volumes, and even the destination sector "
                            "alone, uncorrected, stays below it. " if at50["oracle"].max() < 0.8 else
                            "80% at a 50% move is out of reach for the verdict at these volumes. "
                            if at50["power"].max() < 0.8 else "the aim of 80% at a 50% move is met there. "))
    lines += ["", "The last column is a reference, not part of the verdict: the one sector that holds the destination, "
              "chosen with hindsight and tested alone (one-sided, α = 5%, no multiple-testing correction; a sector with "
              "too few incidents before to be tested, such as a park, counts as not found). It is not an upper bound "
              "(the plant's 80 m spread crosses sector lines, and the ring, piece and site tests can find it too), but "
              "where it is also far below 80% the limit is the noise of real counts at these volumes rather than the "
              "multiple-testing correction.", "",
              "Read the power with the volumes: a hot location with ~100 basket crimes a month that loses half "
              "and sends half of that loss 1 km away adds ~25 crimes to a ring that already holds ~100–200; with "
              "over-dispersed counts that is often within ordinary variation. A 12-month before window (the "
              "analyst's `--before`) estimates each area's expected count from four times as many months, so the "
              "before term's share of the Poisson noise falls from a half to a fifth (the table compares it with the "
              "3-month before window). " + reach + "The levers tried on the way, with their power and "
              "false-alarm rates, are in [POWER_LEVERS.md](POWER_LEVERS.md).", ""]
    return "\n".join(lines)


def calibrate(ws, *, placebos: int = 500, alpha: float = 0.05, seed: int = 0, progress=print) -> str:
    """Run the placebo and power studies on a workspace and return the Markdown report."""
    t0 = time.time()
    inc = ws.incidents(layer="crime", statuses=("mapped", "outside_area"))
    boundaries = ws.boundaries()
    sites = ws.sites()
    own_force = ws.force
    months = sorted(inc["month"].dropna().astype(str).unique())
    progress(f"  {len(inc):,} incidents, {months[0]} … {months[-1]}")
    null = run_null(inc, boundaries, sites, own_force=own_force, n=placebos, alpha=alpha, seed=seed,
                    all_wards=True, progress=progress)
    power = run_power(inc, boundaries, sites, own_force=own_force, alpha=alpha, seed=seed + 1, progress=progress)
    note = f"workspace with {len(months)} months, {months[0]} … {months[-1]}"
    return markdown(null, power, command=f"python -m geo calibrate --workspace WS --placebos {placebos} "
                    "--out docs/CALIBRATION.md", seconds=time.time() - t0, workspace_note=note, alpha=alpha)
