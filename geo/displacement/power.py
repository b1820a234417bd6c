"""Power of the displacement verdict, by planting displacement in the operation's own data.

The verdict's "power to detect a 50% move" is measured the way the calibration study
(:mod:`geo.calibration`, docs/CALIBRATION.md) measures power, on the real incidents around
this operation rather than from a formula:

1. :func:`plant` removes half of the target's after-window basket incidents (a planted
   operation effect) and moves a share of them, with their harm, to one destination
   (spread with a standard deviation of 80 m).
2. Destinations (:func:`random_destinations`) lie in random directions, 300 m from the
   target's edge out to the catchment's reach (1,000 m by default, at most 1.5 km), so the
   move is one the catchment is meant to catch.
3. Every plant goes through exactly the verdict's tests (:func:`geo.displacement.flags.assess`)
   with the operation's own over-dispersion; the power is the share of plants on which the
   verdict reports displacement, with its Wilson interval and the number of plants.

A closed-form power (the removed count against one sector's standard error) ignores the
spread of the planted incidents over sectors, the family-wise step across 27 rings and sectors and
the background variation of the destination, and overstated the power (it printed 100% for
the demo's Op Central, whose plants are found about 40% of the time).

References
----------
Wheeler, A. P., & Ratcliffe, J. H. (2018). A simple weighted displacement difference test
to evaluate place based crime interventions. Crime Science 7(11) (power by simulation).
Wilson, E. B. (1927). Probable inference, the law of succession, and statistical inference.
JASA 22(158), 209-212.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely

from .areas import points_inside
from .flags import WindowPoints, assess, assess_areas, sites_zone

__all__ = ["PlantedPower", "plant", "random_destinations", "planted_power", "detected", "wilson",
           "N_PLANTS", "MIN_MOVE_M", "MAX_MOVE_M"]

#: Plants per verdict (the interval is about +-15 points at 40).
N_PLANTS = 40
MIN_MOVE_M = 300.0
MAX_MOVE_M = 1500.0


def wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """95% Wilson score interval of a proportion ``k / n``.

    Examples
    --------
    >>> [round(v, 3) for v in wilson(5, 100)]
    [0.022, 0.112]
    """
    if n == 0:
        return float("nan"), float("nan")
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return max(0.0, c - h), min(1.0, c + h)


def plant(pts: WindowPoints, target, dest_xy, *, frac_removed: float, frac_moved: float, rng,
          sd_m: float = 80.0) -> tuple[WindowPoints, int]:
    """Remove `frac_removed` of the target's after-window points and move `frac_moved` of them to `dest_xy`.

    Returns
    -------
    (WindowPoints, int)
        The planted points and the number of incidents moved.
    """
    known = pts.mask_of(target)  # worked out once for every plant (the same as contains_xy here)
    inside = (known if known is not None else shapely.contains_xy(target, pts.x, pts.y)) & (pts.period == 1)
    idx = np.flatnonzero(inside)
    gone = rng.choice(idx, int(round(frac_removed * idx.size)), replace=False) if idx.size else idx
    moved = gone[: int(round(frac_moved * gone.size))]
    keep = np.ones(pts.x.size, bool)
    keep[gone] = False
    k = moved.size
    nx, ny = rng.normal(dest_xy[0], sd_m, k), rng.normal(dest_xy[1], sd_m, k)
    x = np.r_[pts.x[keep], nx]
    y = np.r_[pts.y[keep], ny]
    inside = None if pts.inside is None else {  # the kept points' memberships, and the moved points' own
        key: (g, np.r_[m[keep], points_inside(g, nx, ny)]) for key, (g, m) in pts.inside.items()}
    return WindowPoints(x, y, np.r_[pts.period[keep], np.ones(k, np.int8)],
                        np.r_[pts.harm[keep], pts.harm[moved]], pts.tau, inside), k


def edge_radius(target) -> float:
    """Largest distance from the target's centroid to its boundary (a circle's radius)."""
    c = target.centroid
    xy = shapely.get_coordinates(target.boundary)
    return float(np.max(np.hypot(xy[:, 0] - c.x, xy[:, 1] - c.y))) if len(xy) else 0.0


def random_destinations(target, n: int, rng, *, min_m: float = MIN_MOVE_M, max_m: float = MAX_MOVE_M) -> np.ndarray:
    """`n` points in random directions, `min_m`-`max_m` beyond the target's farthest edge point (uniform in area)."""
    c = target.centroid
    r0 = edge_radius(target)
    ang = rng.uniform(0, 2 * math.pi, n)
    lo, hi = (r0 + min_m) ** 2, (r0 + max_m) ** 2
    d = np.sqrt(rng.uniform(lo, hi, n))
    return np.c_[c.x + d * np.sin(ang), c.y + d * np.cos(ang)]


def detected(res) -> bool:
    """Whether an assessment reports displacement (any ring, sector, piece or sites flag reading "displacement")."""
    return any(t.reading == "displacement" for t in res.family())


@dataclass(frozen=True)
class PlantedPower:
    """Share of planted moves the verdict detects.

    ``power`` = ``detected / n``; ``ci_low``/``ci_high`` its 95% Wilson interval;
    ``moved`` the mean incidents moved per plant; ``min_m``/``max_m`` the distances from the
    target's edge; ``frac_moved`` the share of the removed incidents moved.
    """

    power: float
    detected: int
    n: int
    ci_low: float
    ci_high: float
    moved: float
    frac_moved: float
    min_m: float
    max_m: float

    def text(self) -> str:
        if self.n == 0 or not np.isfinite(self.power):
            return f"power to detect a {self.frac_moved:.0%} move: not available"
        return (f"power to detect a {self.frac_moved:.0%} move {self.min_m:,.0f}–{self.max_m:,.0f} m away: "
                f"{self.power:.0%}, 95% CI {self.ci_low:.0%}–{self.ci_high:.0%}, from {self.n} plants of "
                f"~{self.moved:.0f} incidents")

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def planted_power(pts: WindowPoints, catch, *, null, alpha: float, sites=None, n: int = N_PLANTS,
                  frac_removed: float = 0.5, frac_moved: float = 0.5, seed: int = 0,
                  max_m: float | None = None) -> PlantedPower:
    """Power of the verdict's displacement tests to find a planted move, on this operation's data.

    Parameters
    ----------
    pts : WindowPoints
        The operation's basket incidents (:attr:`geo.displacement.engine.Prepared.points`).
    catch : Catchment
        Its catchment.
    null : NullModel
        Its over-dispersion (the same as the verdict's).
    alpha : float
    sites : GeoDataFrame, optional
    n : int
        Plants.
    frac_removed, frac_moved : float
        Share of the target's after-window basket incidents removed, and of those moved.
    seed : int
    max_m : float, optional
        Farthest destination from the target's edge; ``None``: the catchment's reach, at
        most :data:`MAX_MOVE_M`.

    Returns
    -------
    PlantedPower
    """
    rng = np.random.default_rng(seed)
    if max_m is None:
        outer = max((r.outer_m for r in catch.rings), default=MAX_MOVE_M)
        max_m = min(float(outer), MAX_MOVE_M)
    max_m = max(max_m, MIN_MOVE_M + 1)
    # only points near the catchment matter to the tests: subset once
    minx, miny, maxx, maxy = catch.reach_bounds
    near = (pts.x >= minx) & (pts.x <= maxx) & (pts.y >= miny) & (pts.y <= maxy)
    # the sites' zone does not depend on the points, and each kept point's area memberships do not
    # change from plant to plant: both worked out once (the same numbers as working them out per plant)
    zone_sites = sites_zone(sites, catch)
    pts = pts.subset(near).with_inside(assess_areas(catch, zone_sites))
    dests = random_destinations(catch.target, n, rng, max_m=max_m)
    hits, moved = 0, []
    for xy in dests:
        p, k = plant(pts, catch.target, xy, frac_removed=frac_removed, frac_moved=frac_moved, rng=rng)
        moved.append(k)
        if detected(assess(p, catch, null=null, alpha=alpha, sites=sites, zone_sites=zone_sites)):
            hits += 1
    lo, hi = wilson(hits, n)
    return PlantedPower(hits / n if n else float("nan"), hits, n, lo, hi, float(np.mean(moved)) if moved else 0.0,
                        frac_moved, MIN_MOVE_M, float(max_m))
