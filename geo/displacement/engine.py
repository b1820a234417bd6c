"""Prepare an operation's windows once and run the calibrated tests (:mod:`.flags`) on any target.

:func:`prepare` bins the windows' basket incidents (points and a raster) and marks the cells
where placebo centres may go; :func:`run` builds the catchment of one target, estimates the
over-dispersion from placebos (:func:`geo.displacement.null.dispersion`) and runs
:func:`geo.displacement.flags.assess`. The results analysis (:func:`analyse`) and the
calibration study (:mod:`geo.calibration`) both go through :func:`run`, so the calibration
measures exactly what the verdict uses.
"""
from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely

from .areas import COMPASS, Catchment, catchment, union_geoms, wedge
from .flags import MIN_BEFORE, MIN_TOTAL, Assessment, WindowPoints, area_sums, assess, window_points
from .null import Raster, dispersion, raster

__all__ = ["Prepared", "prepare", "run", "force_forces", "uncovered_forces", "covered_pairs", "CELL_M", "N_PLACEBOS"]

#: Grid cell for the placebo rasters, metres.
CELL_M = 100.0
#: Placebo copies drawn to estimate an operation's over-dispersion (the verdict's and the calibration's).
N_PLACEBOS = 400


def _norm_force(name) -> str:
    s = str(name or "").strip()
    for suffix in (" Police", " Constabulary"):
        if s.endswith(suffix):
            s = s[: -len(suffix)]
    return s


def covered_pairs(incidents) -> set | None:
    """The ``(force, month)`` pairs holding incidents, forces named as :func:`uncovered_forces` compares
    them; ``None`` for frames without ``force`` or ``month`` (simulations: every force covered).

    One pass over the frame: an analysis computes it once for its windows and every shifted design
    (:func:`prepare`'s ``covered``).
    """
    if "force" not in incidents or "month" not in incidents:
        return None
    try:
        from ..coverage import covered_force_months
        return {(_norm_force(f), m) for f, m in covered_force_months(incidents, layer=None)}
    except ImportError:
        return {(_norm_force(f), str(m)) for f, m in
                incidents[["force", "month"]].drop_duplicates().itertuples(index=False)}


def uncovered_forces(incidents, months, forces, *, covered=False) -> set:
    """Forces (as named in the boundaries) lacking incidents in any of `months`.

    Uses :func:`geo.coverage.covered_force_months` when it exists, otherwise derives coverage
    from the incidents' ``force`` column ("South Yorkshire Police" counts for "South
    Yorkshire"). A force with no data in a month is not covered, never zero crime.
    ``covered``: :func:`covered_pairs` of `incidents`, already computed.
    """
    have = covered_pairs(incidents) if covered is False else covered
    if have is None:
        return set()   # frames without a force column (simulations): every force counts as covered
    return {f for f in forces if any((_norm_force(f), m) not in have for m in months)}


def force_forces(bcus: gpd.GeoDataFrame) -> list:
    return sorted(set(bcus["force"].dropna().astype(str)))


@dataclass
class Prepared:
    """One window design's basket incidents, ready for many targets.

    ``cell_bcu`` holds, for every raster cell, the index in ``codes`` of the own-force BCU
    holding its centre (-1 outside the force): placebo centres go in the operation's own
    BCU, which shares its control's trend.
    """

    points: WindowPoints
    raster: Raster
    cell_bcu: np.ndarray
    codes: list
    bcus: gpd.GeoDataFrame
    own_force: str
    uncovered: set


def prepare(incidents, per: np.ndarray, *, tau: float, bcus: gpd.GeoDataFrame, own_force: str, months=None,
            cell: float = CELL_M, covered=False, like: Prepared | None = None) -> Prepared:
    """Bin the windows' basket incidents and mark the placebo cells inside `own_force`.

    Parameters
    ----------
    incidents : DataFrame
        Incidents of all forces with data (``x``, ``y``, ``harm``, ``in_basket``, ``force``, ``month``).
    per : array of int
        :func:`geo.displacement.windows.periods` of the incidents.
    tau : float
        Before window length over the after window's.
    bcus : GeoDataFrame
        All BCUs with ``code``, ``name``, ``force``.
    own_force : str
    months : sequence of str, optional
        The windows' months, to find uncovered forces; ``None``: every force counts as covered.
    covered : set or None, optional
        :func:`covered_pairs` of `incidents`, computed once for several designs; by default
        computed here.
    like : Prepared, optional
        Another design prepared from the same `bcus`, `own_force` and `cell`: its placebo cells
        (``cell_bcu``, the same grid) are reused instead of testing every cell centre again.
    """
    pts = window_points(incidents, per, tau=tau)
    own = bcus[bcus["force"] == own_force]
    minx, miny, maxx, maxy = own.total_bounds
    pad = 3000.0
    r = raster(pts.x, pts.y, pts.period, pts.harm, bounds=(minx - pad, miny - pad, maxx + pad, maxy + pad),
               cell=cell)
    codes = list(own["code"])
    if like is not None and like.bcus is bcus and like.own_force == own_force and like.codes == codes and \
            (like.raster.x0, like.raster.y0, like.raster.cell, like.raster.shape) == (r.x0, r.y0, r.cell, r.shape):
        cell_bcu = like.cell_bcu   # the same grid over the same BCUs (read-only)
    else:
        xs, ys = r.centres()
        cell_bcu = np.full(xs.shape, -1, dtype=np.int16)
        for i, g in enumerate(own.geometry.values):
            cell_bcu[shapely.contains_xy(g, xs, ys)] = i
    unc = uncovered_forces(incidents, months, force_forces(bcus), covered=covered) if months is not None else set()
    return Prepared(pts, r, cell_bcu, codes, bcus, own_force, unc)


def run(prep: Prepared, target, *, own_bcu: str, radius_m: float | None = None, bands=None, other_targets=(),
        sites=None, alpha: float = 0.05, n_placebos: int = N_PLACEBOS, seed: int = 0,
        exclude_extra=None, points: WindowPoints | None = None,
        catch: Catchment | None = None) -> tuple[Catchment, Assessment]:
    """Catchment, over-dispersion and calibrated tests for one target.

    Parameters
    ----------
    prep : Prepared
    target : shapely geometry
    own_bcu : str
    radius_m, bands : see :func:`geo.displacement.areas.catchment`
    other_targets : sequence of geometries
        Other operations' targets (left out of the catchment; no placebo reaches them).
    sites : GeoDataFrame, optional
    alpha : float
    n_placebos : int
        Placebos drawn to estimate the over-dispersion.
    exclude_extra : shapely geometry, optional
        More places no placebo may reach.
    points : WindowPoints, optional
        Points to test instead of ``prep.points`` (planted scenarios); the over-dispersion
        still comes from the real data.
    catch : Catchment, optional
        The catchment an earlier run built for the same `target`, `own_bcu`, `radius_m`, `bands`
        and `other_targets` on a design with the same BCUs, own force and uncovered forces
        (e.g. the same design moved in time): reused instead of built again.

    Returns
    -------
    (Catchment, Assessment)
    """
    if catch is None:
        catch = catchment(target, bcus=prep.bcus, own_bcu=own_bcu, own_force=prep.own_force, radius_m=radius_m,
                          bands=bands, other_targets=other_targets, uncovered_forces=prep.uncovered)
    centre = target.centroid
    shapes = {"target": catch.target}
    prev = catch.target
    for r in catch.rings:   # the rings' full shapes (cuts for other targets are not moved with the placebos)
        disc = catch.target.buffer(r.outer_m, quad_segs=16)
        shapes[f"ring {r.label}"] = disc.difference(prev)
        prev = disc
    if catch.sectors:
        full = {f"ring {r.label}": shapes[f"ring {r.label}"] for r in catch.rings}
        shapes["sector"] = [full[f"ring {s.label.rsplit(' m ', 1)[0]} m"].intersection(
            wedge(centre, COMPASS.index(s.label.rsplit(' m ', 1)[1]), s.outer_m + 10_000)) for s in catch.sectors]
    ctrl = area_sums(prep.points.subset(_bbox(prep.points, catch.control)), catch.control)
    control = (ctrl[0, 1], ctrl[1, 1], ctrl[0, 2], ctrl[1, 2], ctrl[0, 0], ctrl[1, 0])
    excl = union_geoms([catch.target, *other_targets] + ([exclude_extra] if exclude_extra is not None else []))
    reach = float(np.max(np.hypot(*(np.asarray(catch.zone.exterior.coords if hasattr(catch.zone, "exterior")
                                                 else catch.zone.envelope.exterior.coords)
                                    - np.array([centre.x, centre.y])).T)))
    null = dispersion(prep.raster, shapes, centre=(centre.x, centre.y), control=control, tau=prep.points.tau,
                      candidates=prep.cell_bcu == (prep.codes.index(own_bcu) if own_bcu in prep.codes else -2),
                      exclude=excl, reach_m=reach, n_max=n_placebos,
                      min_before=MIN_BEFORE, min_total=MIN_TOTAL, seed=seed)
    res = assess(prep.points if points is None else points, catch, null=null, alpha=alpha, sites=sites)
    return catch, res


def _bbox(pts: WindowPoints, geom) -> np.ndarray:
    minx, miny, maxx, maxy = geom.bounds
    return (pts.x >= minx) & (pts.x <= maxx) & (pts.y >= miny) & (pts.y <= maxy)

