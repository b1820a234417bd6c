"""Calibrated tests behind every flag the verdict can raise, each with a stated alpha.

All tests use the drug-market harm basket (declared before the analysis) and the
counts-scaled WDD of harm against a control (:func:`geo.displacement.null.wdd_z`), with
the Poisson variance inflated by the over-dispersion ``phi`` estimated from placebos
(:mod:`geo.displacement.null`):

``target``
    the operation's effect in the target against the rest of its BCU; two-sided at
    ``alpha``. Not part of the displacement family.
``rings``
    each distance ring (0-250, 250-500, 500-1,000 m), and each ring's eight compass
    sectors, against the rest of the BCU, as two one-sided families: rises (possible
    displacement, the direction the question is about) at ``alpha * 0.5`` and falls (a
    diffusion of benefits) at ``alpha * 0.2``. Each family is adjusted by the
    max-statistic (single-step maxT, Westfall & Young 1993): a ring or sector is flagged
    when its standardised ``z`` (``-z`` for falls) is reached by the largest over the rings
    and sectors of at most that share of the placebo copies
    (:func:`geo.displacement.null.maxt_adjust`), which uses the correlation of overlapping
    rings and sectors; Holm when there are too few placebos, or when their copies amount to
    fewer than :data:`~geo.displacement.null.MAXT_MIN_ROOM` independent ones. Sectors use one pooled
    ``phi`` from the placebos' sectors.
``pieces``
    each ring cut by every other BCU of the force and every other force, against the rest
    of that BCU or force; one-sided (rises); Holm across pieces at ``alpha * 0.15``.
``sites``
    harm within 400 m of sensitive sites (schools, treatment centres) inside the
    catchment against its expected change; one-sided; ``alpha * 0.15``.

The shares add up to ``alpha``, so by Bonferroni "any displacement or diffusion flag"
fires on at most ``alpha`` of operations that did nothing. An area with fewer than 3
basket incidents before, or fewer than 10 before and after, is "too few to tell" and
never flagged. Crime types are tested only as exploratory results (Benjamini-Hochberg),
outside the verdict.

References
----------
Westfall, P. H., & Young, S. S. (1993). Resampling-Based Multiple Testing: Examples and
Methods for p-Value Adjustment. Wiley.
Wheeler, A. P., & Ratcliffe, J. H. (2018). A simple weighted displacement difference test
to evaluate place based crime interventions. Crime Science 7(11).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import shapely
from scipy.special import ndtr, ndtri
from scipy.stats import norm

from .. import stats
from .areas import Catchment, band_label, points_inside, union_geoms, xy_of
from .null import MAXT_FAMILY, MIN_PLACEBOS, NullModel, maxt_adjust, wdd_z

__all__ = ["SHARES", "MIN_BEFORE", "MIN_TOTAL", "SITE_KINDS", "SITE_BUFFER_M", "WindowPoints", "AreaTest",
           "Assessment", "window_points", "area_sums", "area_test", "sites_zone", "assess", "sensitivity",
           "type_tests", "targeted_table", "targeted_tests", "UNCORRECTED"]

#: Shares of alpha given to each family of displacement/diffusion flags (they add up to 1).
SHARES = {"rises": 0.5, "falls": 0.2, "pieces": 0.15, "sites": 0.15}
MIN_BEFORE = 3
MIN_TOTAL = 10
#: Site kinds whose buffers form the "sensitive sites" zone.
SITE_KINDS = ("school", "treatment")
SITE_BUFFER_M = 400.0
TOO_FEW = "too few to tell"
#: Status of a buffer in :func:`sensitivity` whose test alone, without the family's correction, is below alpha.
UNCORRECTED = "uncorrected: would be evidence alone"


@dataclass(frozen=True)
class WindowPoints:
    """Basket incidents of the before (``period`` 0) and after (1) windows: ``x``, ``y``, ``harm``.

    ``inside``: optional, which of these points lie in given areas, ``{id(geom): (geom, mask)}``
    (:meth:`with_inside`), so that the many assessments of the planted power test each point
    against each area once instead of once per plant; :func:`area_sums` uses a mask when it has
    one, which is exactly :func:`points_inside` of the same points.
    """

    x: np.ndarray
    y: np.ndarray
    period: np.ndarray
    harm: np.ndarray
    tau: float
    inside: dict | None = field(default=None, compare=False, repr=False)

    def subset(self, mask) -> "WindowPoints":
        inside = None if self.inside is None else {k: (g, m[mask]) for k, (g, m) in self.inside.items()}
        return WindowPoints(self.x[mask], self.y[mask], self.period[mask], self.harm[mask], self.tau, inside)

    def with_inside(self, geoms) -> "WindowPoints":
        """These points, with their membership of each of `geoms` worked out once."""
        inside = {id(g): (g, points_inside(g, self.x, self.y)) for g in geoms if g is not None}
        return WindowPoints(self.x, self.y, self.period, self.harm, self.tau, inside)

    def mask_of(self, geom):
        """The membership mask of `geom` if worked out (:meth:`with_inside`), else ``None``."""
        hit = self.inside.get(id(geom)) if self.inside else None
        return hit[1] if hit is not None and hit[0] is geom else None


def window_points(incidents, per: np.ndarray, *, tau: float) -> WindowPoints:
    """Basket rows of `incidents` in the windows (``per`` from :func:`geo.displacement.windows.periods`)."""
    sel = (per >= 0) & incidents["in_basket"].to_numpy(bool)
    x = incidents["x"].to_numpy(float)[sel] if "x" in incidents else shapely.get_x(incidents.geometry.values)[sel]
    y = incidents["y"].to_numpy(float)[sel] if "y" in incidents else shapely.get_y(incidents.geometry.values)[sel]
    return WindowPoints(x, y, per[sel].astype(np.int8), incidents["harm"].to_numpy(float)[sel], float(tau))


def area_sums(pts: WindowPoints, geom) -> np.ndarray:
    """``[[n0, h0, v0], [n1, h1, v1]]``: count, harm and squared harm before and after in `geom`."""
    inside = pts.mask_of(geom)
    if inside is None:
        inside = points_inside(geom, pts.x, pts.y)
    out = np.zeros((2, 3))
    for p in (0, 1):
        s = inside & (pts.period == p)
        h = pts.harm[s]
        out[p] = (s.sum(), h.sum(), (h * h).sum())
    return out


@dataclass(frozen=True)
class AreaTest:
    """One calibrated test of harm in one area.

    ``estimate`` is the harm (CCHI days, ``unit="harm"``) or the basket incidents
    (``unit="count"``) above the control's prediction over the after window (positive: a
    rise), ``expected_after`` that prediction, ``harm_estimate`` the harm point estimate, ``ci_low``/``ci_high`` its interval at the family's level, ``p`` the
    calibrated p-value, ``p_adj`` after the family's adjustment (maxT or Holm), ``alpha`` the level it
    is tested at, ``phi`` the variance inflation used. ``status`` is "evidence", "no evidence"
    or "too few to tell"; ``reading`` is "displacement", "diffusion", "reduction", "increase" or "".
    """

    name: str
    kind: str
    n_before: float
    n_after: float
    harm_before: float
    harm_after: float
    expected_after: float
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    p: float
    p_adj: float
    alpha: float
    phi: float
    sides: str
    status: str
    reading: str = ""
    unit: str = "harm"
    harm_estimate: float = float("nan")
    ring: str = ""
    direction: str = ""
    code: str = ""

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    @property
    def ci_level(self) -> float:
        """Coverage of ``ci_low``-``ci_high``: ``1 - alpha`` (two-sided) or ``1 - 2 alpha`` (one-sided rises or falls, whose lower or upper bound is the test)."""
        return 1 - self.alpha if self.sides == "two-sided" else 1 - 2 * self.alpha


def area_test(name: str, kind: str, sums: np.ndarray, control: np.ndarray, *, tau: float, phi: float,
              alpha: float, sides: str = "two-sided", unit: str = "harm", **extra) -> AreaTest:
    """Calibrated test of one area (``sums``, ``control``: :func:`area_sums`); not yet adjusted.

    ``unit="harm"`` tests basket harm (compound-Poisson variance), ``"count"`` basket
    incidents (Poisson variance); either way the variance is multiplied by `phi`.
    ``harm_estimate`` is always the harm point estimate.
    """
    n0, n1 = sums[0, 0], sums[1, 0]
    q, v = (1, 2) if unit == "harm" else (0, 0)
    c = (control[0, q], control[1, q], control[0, v], control[1, v])
    too_few = n0 < MIN_BEFORE or n0 + n1 < MIN_TOTAL or control[0, 0] < MIN_TOTAL
    est, se, _ = wdd_z(sums[0, q], sums[1, q], sums[0, v], sums[1, v], c, tau=tau)
    h_est, _, _ = wdd_z(sums[0, 1], sums[1, 1], sums[0, 2], sums[1, 2],
                        (control[0, 1], control[1, 1], control[0, 2], control[1, 2]), tau=tau)
    est, se, h_est = float(est), float(se) * math.sqrt(phi), float(h_est)
    expected = float(sums[1, q] - est) if np.isfinite(est) else float("nan")
    nan = float("nan")
    if too_few or not (np.isfinite(se) and se > 0):
        return AreaTest(name, kind, n0, n1, sums[0, 1], sums[1, 1], expected, nan, nan, nan, nan, nan, nan, alpha,
                        phi, sides, TOO_FEW, unit=unit, harm_estimate=nan, **extra)
    z = est / se
    # scipy's norm.sf(x) is ndtr(-x) and norm.ppf(q) is ndtri(q): called directly (the same numbers; the
    # distribution object's argument checks cost more than the test itself, thousands of times a verdict)
    p = float(2 * ndtr(-abs(z))) if sides == "two-sided" else float(ndtr(-z))
    qn = ndtri(1 - alpha / 2) if sides == "two-sided" else ndtri(1 - alpha)   # one-sided: the lower bound
    return AreaTest(name, kind, n0, n1, sums[0, 1], sums[1, 1], expected, est, se, est - qn * se, est + qn * se,
                    p, p, alpha, phi, sides, "no evidence", unit=unit, harm_estimate=h_est, **extra)


def _family(tests: list, alpha: float, null_max=None) -> list:
    """Flag the tested members whose family-wise adjusted p is within `alpha`.

    With ``null_max`` (placebo maxima of the standardised ``|z|``, at least
    :data:`~geo.displacement.null.MIN_PLACEBOS` of them) the adjustment is single-step
    maxT (:func:`~geo.displacement.null.maxt_adjust`, flag where ``p_adj <= alpha``);
    otherwise Holm (flag where ``p_adj < alpha``).
    """
    idx = [i for i, t in enumerate(tests) if t.status != TOO_FEW]
    out = list(tests)
    if not idx:
        return out
    maxt = null_max is not None and np.isfinite(np.asarray(null_max, float)).sum() >= MIN_PLACEBOS
    if maxt:
        adj = maxt_adjust([tests[i].estimate / tests[i].se for i in idx], null_max)
    else:
        adj = stats.holm([tests[i].p for i in idx])
    for i, pa in zip(idx, adj):
        t = tests[i]
        ev = pa <= alpha if maxt else pa < alpha
        if t.sides == "two-sided":
            reading = ("displacement" if t.estimate > 0 else "diffusion") if ev else ""
        else:
            reading = "displacement" if ev else ""
        out[i] = _replace(t, p_adj=float(pa), status="evidence" if ev else "no evidence", reading=reading)
    return out


def _directional(tests: list, alpha_rise: float, alpha_fall: float, null_rise=None, null_fall=None) -> list:
    """Rings and sectors as two one-sided families: rises (displacement) and falls (diffusion).

    A member whose count rose more than the control predicts (``z >= 0``) is tested for a
    rise at `alpha_rise`, one that fell for a fall at `alpha_fall`; each family is adjusted
    by the single-step maxT against the placebos' largest signed ``z`` (``null_rise``) or
    ``-z`` (``null_fall``), or by Holm when there are too few placebos. The family-wise error
    of the pair is at most ``alpha_rise + alpha_fall`` (Bonferroni over the two directions).
    ``p`` is the member's one-sided p, ``alpha`` its direction's level, ``sides`` "rise" or
    "fall" and the interval ``estimate +- z(1 - alpha) * se`` (coverage ``1 - 2 alpha``).
    """
    out = list(tests)
    for sign, a, null_max, sides, word in ((1, alpha_rise, null_rise, "rise", "displacement"),
                                           (-1, alpha_fall, null_fall, "fall", "diffusion")):
        idx = [i for i, t in enumerate(tests) if t.status != TOO_FEW and sign * t.estimate >= 0
               and not (sign < 0 and t.estimate == 0)]
        if not idx:
            continue
        z = np.array([sign * tests[i].estimate / tests[i].se for i in idx])
        p = norm.sf(z)
        maxt = null_max is not None and np.isfinite(np.asarray(null_max, float)).sum() >= MIN_PLACEBOS
        if a <= 0:
            adj = np.ones(len(idx))
        elif maxt:
            adj = maxt_adjust(z, null_max, two_sided=False)
        else:
            adj = np.asarray(stats.holm(list(p)), float)
        qn = norm.ppf(1 - a) if a > 0 else float("inf")
        for i, pi, pa in zip(idx, p, adj):
            t = tests[i]
            ev = a > 0 and (pa <= a if maxt else pa < a)
            out[i] = _replace(t, p=float(pi), p_adj=float(pa), alpha=a, sides=sides,
                              ci_low=t.estimate - qn * t.se, ci_high=t.estimate + qn * t.se,
                              status="evidence" if ev else "no evidence", reading=word if ev else "")
    return out


def _replace(t: AreaTest, **kw) -> AreaTest:
    d = t.as_dict()
    d.update(kw)
    return AreaTest(**d)


def sites_zone(sites, catch: Catchment, *, kinds=SITE_KINDS, buffer_m: float = SITE_BUFFER_M):
    """The union of the sites' buffers inside the catchment (target left out), and the sites in it.

    Returns
    -------
    (geometry, GeoDataFrame)
        The zone (empty if no site reaches the catchment) and the sites whose buffer meets it.
    """
    if sites is None or len(sites) == 0:
        return shapely.Polygon(), None
    zone = union_geoms([r.geometry for r in catch.rings])
    s = sites[sites["kind"].isin(kinds)] if "kind" in sites else sites
    if s.empty:
        return shapely.Polygon(), s
    bufs = shapely.buffer(s.geometry.values, buffer_m, quad_segs=8)
    hit = shapely.intersects(bufs, zone)
    if not hit.any():
        return shapely.Polygon(), s.iloc[0:0]
    return union_geoms(list(bufs[hit])).intersection(zone), s[hit]


@dataclass(frozen=True)
class Assessment:
    """Every calibrated test of one operation (:func:`assess`).

    ``target`` is the target test; ``rings``, ``pieces`` and ``sites`` the displacement and
    diffusion family (``sites`` is ``None`` when no sensitive site reaches the catchment);
    ``near_sites`` the sites in the zone; ``shares`` the alpha shares; ``power`` the
    :class:`geo.displacement.power.PlantedPower` of the displacement tests (planted moves on
    this operation's data; set by :func:`geo.displacement.analyse`, ``None`` in the
    calibration study) and ``power50`` its share detected.
    """

    target: AreaTest
    rings: tuple
    pieces: tuple
    sites: AreaTest | None
    near_sites: object
    null: NullModel
    alpha: float
    shares: dict = field(default_factory=dict)
    power50: float = float("nan")
    power: object = None

    def family(self) -> list:
        """The displacement/diffusion tests, in order (rings, pieces, sites)."""
        return list(self.rings) + list(self.pieces) + ([self.sites] if self.sites is not None else [])

    def any_flag(self) -> bool:
        return any(t.status == "evidence" for t in self.family())

    def table(self) -> pd.DataFrame:
        """All tests as rows (names, not codes)."""
        rows = [t.as_dict() for t in [self.target] + self.family()]
        return pd.DataFrame(rows)


def assess_areas(catch: Catchment, zone_sites=None) -> list:
    """Every area :func:`assess` counts points in (for :meth:`WindowPoints.with_inside`)."""
    geoms = [catch.control, catch.target] + [r.geometry for r in catch.rings] + [x.geometry for x in catch.sectors]
    geoms += [g for pc in catch.pieces for g in (pc.control, pc.geometry)]
    if zone_sites is not None and not zone_sites[0].is_empty:
        geoms.append(zone_sites[0])
    return geoms


def assess(pts: WindowPoints, catch: Catchment, *, null: NullModel, alpha: float, sites=None,
           site_kinds=SITE_KINDS, site_buffer_m: float = SITE_BUFFER_M, shares=None,
           zone_sites=None) -> Assessment:
    """Run the target test and the displacement/diffusion family for one operation.

    Parameters
    ----------
    pts : WindowPoints
        Basket incidents of the windows (all forces with data).
    catch : Catchment
    null : NullModel
        ``phi`` per statistic (:func:`geo.displacement.null.dispersion`).
    alpha : float
        Level of the target test and of the whole displacement/diffusion family.
    sites : GeoDataFrame, optional
        Sensitive sites (``kind``, ``name``).
    shares : dict, optional
        Alpha shares of ``rises`` and ``falls`` (rings and sectors), ``pieces``, ``sites``;
        ``None``: :data:`SHARES`.
    zone_sites : (geometry, GeoDataFrame), optional
        :func:`sites_zone` of ``sites`` already worked out for this catchment (it does not
        depend on the points), to skip redoing it.

    Returns
    -------
    Assessment
    """
    shares = dict(SHARES if shares is None else shares)
    tau = pts.tau
    minx, miny, maxx, maxy = catch.reach_bounds
    near = (pts.x >= minx) & (pts.x <= maxx) & (pts.y >= miny) & (pts.y <= maxy)
    pts = pts.subset(near)
    ctrl = area_sums(pts, catch.control)
    phi = null.phi
    target = area_test("Target", "target", area_sums(pts, catch.target), ctrl, tau=tau, phi=phi["target|harm"],
                       alpha=alpha)
    if target.status != TOO_FEW:
        ev = target.p < alpha
        target = _replace(target, status="evidence" if ev else "no evidence",
                          reading=("reduction" if target.estimate < 0 else "increase") if ev else "")
    a_up, a_down, a_p, a_s = (alpha * shares[k] for k in ("rises", "falls", "pieces", "sites"))
    a_r = a_up + a_down
    rings = [area_test(f"Ring {r.label}", "ring", area_sums(pts, r.geometry), ctrl, tau=tau,
                       phi=phi.get(f"ring {r.label}|count", phi["catchment|count"]), alpha=a_r, unit="count",
                       ring=r.label)
             for r in catch.rings]
    rings += [area_test(f"Sector {x.label}", "sector", area_sums(pts, x.geometry), ctrl, tau=tau,
                        phi=phi.get("sector|count", phi["catchment|count"]), alpha=a_r, unit="count",
                        ring=x.label.rsplit(" m ", 1)[0] + " m", direction=x.label.rsplit(" m ", 1)[1])
              for x in catch.sectors]
    rings = _directional(rings, a_up, a_down, null.maxz.get(MAXT_FAMILY + "+"), null.maxz.get(MAXT_FAMILY + "-"))
    pieces = []
    for pc in catch.pieces:
        pc_ctrl = area_sums(pts, pc.control)
        pieces.append(area_test(f"{pc.name}, {pc.ring} {pc.direction}", "piece", area_sums(pts, pc.geometry),
                                pc_ctrl, tau=tau, phi=phi["catchment|count"], alpha=a_p, sides="rise", ring=pc.ring, unit="count",
                                direction=pc.direction, code=str(pc.code)))
    pieces = _family(pieces, a_p)
    zone_s, near_sites = zone_sites if zone_sites is not None else sites_zone(sites, catch, kinds=site_kinds,
                                                                              buffer_m=site_buffer_m)
    site_test = None
    if not zone_s.is_empty:
        site_test = _family([area_test(f"Within {site_buffer_m:,.0f} m of sensitive sites in the catchment", "sites",
                                       area_sums(pts, zone_s), ctrl, tau=tau, phi=phi["catchment|count"], alpha=a_s,
                                       sides="rise", unit="count")], a_s)[0]
    return Assessment(target, tuple(rings), tuple(pieces), site_test, near_sites, null, alpha, shares)


def sensitivity(pts: WindowPoints, catch: Catchment, *, null: NullModel, alpha: float,
                widths=(250.0, 500.0, 1000.0, 1500.0)) -> pd.DataFrame:
    """How the buffer reading changes with its width: one buffer ``0-w`` m per row.

    Each buffer's basket count is tested alone, two-sided at the rings' share of alpha with the
    catchment's ``phi``, WITHOUT the correction for the many rings and sectors the verdict's
    family uses: a descriptive check of how the reading moves with the width, not a flag. Its
    status says so ("uncorrected: would be evidence alone" or "no evidence"), so it never reads
    as evidence the verdict's corrected tests did not find. Columns: ``buffer``, ``before``,
    ``after`` (counts), ``harm_before``, ``harm_after``, ``estimate``, ``ci_low``, ``ci_high``, ``p``
    (uncorrected), ``status``, ``reading``.
    """
    ctrl = area_sums(pts, catch.control)
    a = alpha * (SHARES["rises"] + SHARES["falls"])
    rows = []
    for w in widths:
        g = catch.target.buffer(w, quad_segs=16).difference(catch.target)
        t = area_test(f"Buffer {band_label(0, w)}", "band", area_sums(pts, g), ctrl, tau=pts.tau,
                      phi=null.phi["catchment|count"], alpha=a, unit="count")
        t = _family([t], a)[0]
        status = UNCORRECTED if t.status == "evidence" else t.status
        reading = f"{t.reading} (uncorrected)" if t.reading else ""
        rows.append({"buffer": band_label(0, w), "before": t.n_before, "after": t.n_after,
                     "harm_before": t.harm_before, "harm_after": t.harm_after, "estimate": t.estimate, "ci_low": t.ci_low, "ci_high": t.ci_high, "p": t.p,
                     "status": status, "reading": reading})
    return pd.DataFrame(rows)


def _too_few(r) -> bool:
    """A crime type's count row (``target_before``, ``target_after``, ``control_before``) too small to test:
    fewer than :data:`MIN_BEFORE` before in the target, :data:`MIN_TOTAL` in all, or :data:`MIN_TOTAL` before
    in the control (what :func:`targeted_tests` and :func:`type_tests` call "too few to tell")."""
    return bool(r["target_before"] < MIN_BEFORE or r["target_before"] + r["target_after"] < MIN_TOTAL
                or r.get("control_before", MIN_TOTAL) < MIN_TOTAL)


def targeted_table(incidents, per: np.ndarray, catch: Catchment, types, *, time_weights=(1.0, 1.0)) -> pd.DataFrame:
    """Counts of each targeted crime type in the target and the control (the rest of the BCU outside the
    catchment, as every calibrated test uses) and the counts-scaled local WDD, for :func:`targeted_tests`.

    Parameters
    ----------
    incidents : DataFrame
        With ``category`` and ``x``/``y`` (or point geometry).
    per : array of int
        :func:`geo.displacement.windows.periods` of `incidents` (0 before, 1 after).
    catch : Catchment
    types : sequence of str
        The declared crime types.
    time_weights : (float, float)
        The windows' lengths (:attr:`geo.displacement.windows.Windows.time_weights`).

    Returns
    -------
    DataFrame
        ``measure``, ``unit`` ("count"), ``target_before``, ``target_after``, ``control_before``,
        ``control_after``, ``local_estimate``, ``local_se``; a type with no incident is left out.
    """
    from .measures import scaled_wdd
    cols = ["measure", "unit", "target_before", "target_after", "control_before", "control_after",
            "local_estimate", "local_se"]
    names = list(dict.fromkeys(str(x) for x in (types or ())))
    if not names or not len(incidents):
        return pd.DataFrame(columns=cols)
    cat = incidents["category"].astype(str).to_numpy()
    keep = (np.asarray(per) >= 0) & np.isin(cat, names)
    x, y = xy_of(incidents)
    x, y, cat, p = x[keep], y[keep], cat[keep], np.asarray(per)[keep]
    in_t, in_c = points_inside(catch.target, x, y), points_inside(catch.control, x, y)
    rows = []
    for name in names:
        m = cat == name
        if not m.any():
            continue
        t = (float((m & in_t & (p == 0)).sum()), float((m & in_t & (p == 1)).sum()))
        c = (float((m & in_c & (p == 0)).sum()), float((m & in_c & (p == 1)).sum()))
        r = scaled_wdd(c, t, time_weights=time_weights)
        rows.append({"measure": name, "unit": "count", "target_before": t[0], "target_after": t[1],
                     "control_before": c[0], "control_after": c[1],
                     "local_estimate": r.local_estimate if r is not None else np.nan,
                     "local_se": r.local_se if r is not None else np.nan})
    return pd.DataFrame(rows, columns=cols)


def targeted_tests(table: pd.DataFrame, targeted, *, phi: float, alpha: float) -> pd.DataFrame:
    """The operation's targeted harms (declared before the analysis), each tested in the target.

    Each declared crime type's count WDD against the control (``local_z`` of
    :func:`geo.displacement.measures.measures`) divided by ``sqrt(phi)`` (the target's
    over-dispersion), two-sided, Holm-corrected across the declared types at `alpha`; a type
    with fewer than 3 incidents before, or 10 before and after, is "too few to tell".

    Returns
    -------
    DataFrame
        ``crime_type``, ``before``, ``after``, ``estimate`` (incidents against the control over the
        after window), ``ci_low``, ``ci_high`` (at ``1 - alpha``, inflated), ``p``, ``p_holm``,
        ``status`` ("evidence", "no evidence", "too few to tell" or "not recorded") and ``reading``
        ("reduction", "increase" or "").

    References
    ----------
    Holm, S. (1979). A simple sequentially rejective multiple test procedure. Scandinavian
    Journal of Statistics 6(2), 65-70.
    """
    cols = ["crime_type", "before", "after", "estimate", "ci_low", "ci_high", "p", "p_holm", "status", "reading"]
    rows = []
    counts = table[table["unit"] == "count"] if len(table) else table
    qn = float(ndtri(1 - alpha / 2))
    for name in dict.fromkeys(str(x) for x in (targeted or ())):
        hit = counts[counts["measure"] == name]
        if hit.empty:
            rows.append({"crime_type": name, "status": "not recorded", "reading": ""})
            continue
        r = hit.iloc[0]
        few = _too_few(r)
        se = r["local_se"] * math.sqrt(phi) if np.isfinite(r.get("local_se", np.nan)) else np.nan
        ok = not few and np.isfinite(se) and se > 0 and np.isfinite(r["local_estimate"])
        z = r["local_estimate"] / se if ok else np.nan
        rows.append({"crime_type": name, "before": float(r["target_before"]), "after": float(r["target_after"]),
                     "estimate": float(r["local_estimate"]) if ok else np.nan,
                     "ci_low": float(r["local_estimate"] - qn * se) if ok else np.nan,
                     "ci_high": float(r["local_estimate"] + qn * se) if ok else np.nan,
                     "p": float(2 * ndtr(-abs(z))) if ok else np.nan, "status": "" if ok else TOO_FEW, "reading": ""})
    out = pd.DataFrame(rows, columns=cols)
    out["p_holm"] = out["p_holm"].astype(float)
    out["reading"] = out["reading"].astype(object)
    ok = out["p"].notna().to_numpy()
    if ok.any():
        out.loc[ok, "p_holm"] = stats.holm(list(out.loc[ok, "p"]))
        ev = out.loc[ok, "p_holm"].to_numpy(float) < alpha
        out.loc[ok, "status"] = np.where(ev, "evidence", "no evidence")
        out.loc[ok, "reading"] = np.where(ev, np.where(out.loc[ok, "estimate"].to_numpy(float) < 0, "reduction",
                                                       "increase"), "")
    return out


def type_tests(table: pd.DataFrame, *, phi: float, alpha: float) -> pd.DataFrame:
    """Exploratory per-crime-type results in the target (count WDD), Benjamini-Hochberg corrected.

    Parameters
    ----------
    table : DataFrame
        :func:`geo.displacement.measures.measures` (count rows per category are used).
    phi : float
        The target's over-dispersion; each z is divided by ``sqrt(phi)``.

    Returns
    -------
    DataFrame
        ``crime_type``, ``before``, ``after``, ``estimate``, ``p``, ``q`` (FDR), ``status``;
        types with too few incidents are "too few to tell" and get no p.
    """
    from ..hotspots import fdr_bh
    t = table[(table["unit"] == "count") & ~table["measure"].str.contains("basket|All incidents|enforcement",
                                                                          regex=True)]
    rows = []
    for _, r in t.iterrows():
        few = _too_few(r)
        z = r["local_z"] / math.sqrt(phi) if np.isfinite(r["local_z"]) else np.nan
        rows.append({"crime_type": r["measure"], "before": r["target_before"], "after": r["target_after"],
                     "estimate": r["local_estimate"], "p": np.nan if few or not np.isfinite(z) else 2 * norm.sf(abs(z)),
                     "status": TOO_FEW if few else ""})
    out = pd.DataFrame(rows, columns=["crime_type", "before", "after", "estimate", "p", "status"])
    out["q"] = np.nan
    ok = out["p"].notna().to_numpy()
    if ok.any():
        out.loc[ok, "q"] = fdr_bh(out.loc[ok, "p"].to_numpy())
    out.loc[ok, "status"] = np.where(out.loc[ok, "q"] < alpha, "evidence (exploratory)", "no evidence")
    return out
