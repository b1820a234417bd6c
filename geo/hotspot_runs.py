"""One entry point for every hot-spot method, as the dashboard and the command line use it.

:func:`run_hotspots` runs Gi* on a grid, kernel density, DBSCAN or HDBSCAN clusters or
emerging hot spots on a set of incidents and returns a :class:`HotspotRun`: one layer of
polygons (cells or cluster hulls) with a ``class`` column, the parameters actually used
(automatic ones marked) and a short summary. Drawing is presentation and lives in
:mod:`geo.render.hotspot_layers` (:func:`add_hotspot_layer`, re-exported here): the classes
on an offline folium map with a legend; hot classes are reds, cold classes blues and
cells that are not significant are left off so the map stays light.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from .errors import GeoInputError
from .grid import auto_cell_size, point_weights, point_xy
from .hotspots import CALLS_CRIME_CLASSES, HOTSPOT_LABELS, auto_eps, gistar, grid_counts, kde
from .hotspots import point_clusters
from .kde import auto_bandwidth
from .render import palette
# re-exported: the layer builder lives in geo.render
from .render.hotspot_layers import add_hotspot_layer, hotspot_layer_data
from .settings import settings
from .spacetime import EHSA_PATTERNS

logger = logging.getLogger(__name__)

__all__ = ["CLASS_COLORS", "HotspotRun", "METHODS", "add_hotspot_layer", "auto_parameters", "default_params",
           "export_layers", "hotspot_layer_data", "hotspot_table", "run_hotspots", "select_incidents"]

#: Method keys and their display names.
METHODS: dict[str, str] = {
    "gistar": "Gi* grid",
    "kde": "Kernel density (KDE)",
    "dbscan": "DBSCAN clusters",
    "hdbscan": "HDBSCAN clusters",
    "emerging": "Emerging hot spots",
}


def default_params(method: str, shape: str = "square") -> tuple:
    """The parameters of ``method`` before the user sets any (automatic values: ``None``), as sorted
    ``(name, value)`` pairs: the key of the run the Hotspots page opens on and its warm-up computes."""
    p: dict = {}
    if method in ("gistar", "emerging"):
        p.update(cell_size=None, shape=shape, alpha=settings.ehsa_alpha if method == "emerging" else settings.alpha)
    if method == "kde":
        p["bandwidth"] = None
    if method == "dbscan":
        p["eps_m"] = None
    if method in ("dbscan", "hdbscan"):
        p["min_samples"] = None
    if method == "emerging":
        p["period"] = None
    return tuple(sorted(p.items()))

KDE_CLASSES: tuple[str, ...] = ("Top 1% of cells", "Top 5% of cells", "Top 10% of cells")
CLUSTER_CLASSES: tuple[str, ...] = ("Cluster: top 5 by harm", "Cluster: 6th–20th by harm",
                                    "Cluster: other")
SIMPLE_LABELS: dict[str, str] = {"persistent": "Persistent", "emerging": "Emerging",
                                 "former": "Former", "intermittent": "Intermittent"}
NOT_SIGNIFICANT = ("Not significant", "No Pattern Detected", "Not hot", "Other", "never", "")

#: Fill colour of every class drawn (hot: reds and oranges; cold: blues): the shared palette.
CLASS_COLORS = palette.CLASS_COLORS



@dataclass(frozen=True)
class HotspotRun:
    """The result of :func:`run_hotspots`.

    Attributes
    ----------
    method : str
        One of :data:`METHODS`.
    layer : geopandas.GeoDataFrame
        Every cell (grid methods) or cluster hull, with a ``class`` column and the
        method's own columns (``n``, ``harm``, ``gistar``, ``p_adj``, ``pattern``...).
    classes : tuple of str
        The classes that count as significant, in legend order (hot first).
    params : dict
        Parameters used: ``cell_size``, ``shape``, ``distance``, ``alpha``,
        ``bandwidth``, ``eps_m``, ``min_samples``, ``period``... and ``auto``, the names
        of those derived from the data.
    summary : dict
        ``n_points``, ``n_units`` (cells or clusters), ``n_hot``, ``n_cold`` and more.
    """

    method: str
    layer: gpd.GeoDataFrame
    classes: tuple[str, ...]
    params: dict = field(default_factory=dict)
    summary: dict = field(default_factory=dict)

    @property
    def significant(self) -> gpd.GeoDataFrame:
        """Rows in a significant class (what the map draws)."""
        return self.layer[self.layer["class"].astype(str).isin(self.classes)]

    @property
    def hot(self) -> gpd.GeoDataFrame:
        """Rows in a hot class (for site exposure and nearest sites)."""
        c = self.layer["class"].astype(str)
        return self.layer[c.isin(self.classes) & ~c.str.contains("Cold")]

    def describe(self) -> str:
        """One paragraph for the command line and captions."""
        p, s = self.params, self.summary
        auto = set(p.get("auto", ()))
        a = lambda k: " (automatic)" if k in auto else ""  # noqa: E731
        parts = [f"{METHODS[self.method]} on {s['n_points']:,} incidents"
                 + (" weighted by harm" if p.get("weight") else "")]
        if self.method in ("gistar", "emerging"):
            parts.append(f"{p['shape']} cells of {p['cell_size']:,.0f} m{a('cell_size')}, "
                         f"neighbourhood {p['distance']:,.0f} m, alpha {p['alpha']:g} "
                         f"({p.get('correction') or 'no'} correction)")
        if self.method == "emerging":
            parts.append(f"{s['n_periods']} {p['period']}s{a('period')} "
                         f"({s['first_period']} to {s['last_period']})")
        if self.method == "kde":
            parts.append(f"{p['kernel']} kernel, bandwidth {p['bandwidth']:,.0f} m"
                         f"{a('bandwidth')}, cells of {p['cell_size']:,.0f} m{a('cell_size')}")
        if self.method in ("dbscan", "hdbscan"):
            eps = p.get("eps_m")
            floor = (f" (never below {settings.dbscan_min_eps_m:,.0f} m: police.uk map points)"
                     if self.method == "dbscan" and "eps_m" in p.get("auto", ()) else "")
            parts.append((f"radius {eps:,.0f} m{a('eps_m')}{floor}, " if eps else "")
                         + f"min_samples {p['min_samples']}{a('min_samples')}"
                         + (f", minimum cluster harm {p['min_harm']:,.0f}" if p.get("min_harm") else ""))
            if p.get("clustered") == "map points":
                parts.append(f"clustered on their {s['n_locations']:,} distinct map points (above "
                             f"{settings.hdbscan_max_points:,} incidents; each map point counts once, whatever "
                             "its number of incidents)")
            parts.append(f"{s['n_units']:,} clusters, {s['n_noise']:,} incidents in none")
        else:
            parts.append(f"{s['n_hot']:,} hot and {s['n_cold']:,} cold of "
                         f"{s['n_units']:,} cells")
        return "; ".join(parts) + "."


def _check_method(method: str) -> str:
    if method not in METHODS:
        raise GeoInputError(f"method must be one of {', '.join(METHODS)}, got {method!r}",
                            fix="pass method='gistar', 'kde', 'dbscan', 'hdbscan' or 'emerging'")
    return method


def auto_parameters(points, method: str, *, weight: str | None = None, area=None,
                    min_samples: int | None = None, kernel: str = "quartic") -> dict:
    """The values :func:`run_hotspots` would choose by itself, to show before a run.

    Returns
    -------
    dict
        ``cell_size`` (gistar, emerging; KDE's grid), ``bandwidth`` (kde), ``eps_m`` and
        ``min_samples`` (dbscan, hdbscan), ``period`` (emerging); metres.
    """
    _check_method(method)
    x, y = point_xy(points)
    out: dict = {}
    if method in ("gistar", "emerging"):
        out["cell_size"] = auto_cell_size(points)
    if method == "emerging":
        from .emerging import auto_period
        out["period"] = auto_period(points)
    if method == "kde":
        w = point_weights(points, weight)
        h = auto_bandwidth(x, y, w)
        out["bandwidth"] = h
        if area is not None:  # kde's own rule: the extent of the area, or of the points
            ext = _area_points(area, points)
        else:                 # plus the kernel's reach
            pad = h if kernel == "quartic" else 3 * h
            ext = gpd.GeoDataFrame(geometry=gpd.points_from_xy(
                [x.min() - pad, x.max() + pad], [y.min() - pad, y.max() + pad]), crs=points.crs)
        auto = auto_cell_size(ext)
        out["cell_size"] = float(max(1.0, math.floor(min(auto, h / 4))))
    if method in ("dbscan", "hdbscan"):
        n = len(x)
        ms = min_samples or (max(5, int(round(math.log(n)))) if n > 1 else 2)
        out["min_samples"] = ms
        if method == "dbscan" and n > ms:
            out["eps_m"] = auto_eps(x, y, ms - 1)
            out["min_eps_m"] = float(settings.dbscan_min_eps_m)
    return out


def _area_points(area, points):
    """Corners of the area's bounding box as points (the extent a grid over it covers)."""
    from .grid import area_geometry
    geom = area_geometry(area, points.crs)
    x0, y0, x1, y1 = geom.bounds
    return gpd.GeoDataFrame(geometry=gpd.points_from_xy([x0, x1], [y0, y1]), crs=points.crs)


def run_hotspots(
    points,
    method: str = "gistar",
    *,
    cell_size: float | None = None,
    shape: str = "square",
    weight: str | None = None,
    area=None,
    alpha: float | None = None,
    distance: float | None = None,
    correction: str | None = "fdr_bh",
    bandwidth: float | None = None,
    kernel: str = "quartic",
    eps_m: float | None = None,
    min_samples: int | None = None,
    period: str | None = None,
    category_col: str | None = None,
) -> HotspotRun:
    """Run one hot-spot method on incidents and return classed polygons.

    Parameters
    ----------
    points : geopandas.GeoDataFrame
        Incidents in a projected CRS in metres (``month``/``date`` for "emerging").
    method : {"gistar", "kde", "dbscan", "hdbscan", "emerging"}
        Gi* with FDR on a grid (:func:`geo.hotspots.gistar`); kernel density
        (:func:`geo.hotspots.kde`, cells classed by the top 1/5/10% of intensity);
        DBSCAN or HDBSCAN clusters (:func:`geo.hotspots.point_clusters`, hulls classed by
        harm rank); emerging hot spots (:func:`geo.emerging.hotspot_emerging`).
    cell_size : float, optional
        Metres; ``None``: automatic (logged and marked in ``params["auto"]``).
    shape : {"square", "hex"}
        Grid cells for "gistar" and "emerging" (KDE is always square).
    weight : str, optional
        Harm-weight column: Gi*, KDE and emerging weigh incidents by it; clusters sum
        it into ``harm``.
    area : polygon, GeoSeries or GeoDataFrame, optional
        Study area: the grid covers it and cells outside are dropped.
    alpha : float, optional
        Significance; ``None``: ``settings.alpha`` for Gi*, ``settings.ehsa_alpha`` for
        emerging.
    distance, correction
        Gi* neighbourhood (metres) and multiple-testing correction.
    bandwidth, kernel
        KDE bandwidth (metres, ``None``: automatic) and kernel.
    eps_m, min_samples
        DBSCAN/HDBSCAN parameters (``None``: automatic).
    period : {"month", "week", "day"}, optional
        Emerging periods; ``None``: automatic.
    category_col : str, optional
        Category column summarised per cluster.

    Returns
    -------
    HotspotRun

    Raises
    ------
    GeoInputError
        For unusable points or parameters (the message says how to fix them).
    """
    _check_method(method)
    x, _ = point_xy(points)
    auto = [k for k, v in (("cell_size", cell_size), ("bandwidth", bandwidth), ("eps_m", eps_m),
                           ("min_samples", min_samples), ("period", period)) if v is None]
    params: dict = {"method": method, "weight": weight}
    summary: dict = {"n_points": int(len(x))}

    if method == "gistar":
        cells = grid_counts(points, cell_size=cell_size, shape=shape, weight=weight, area=area)
        layer = gistar(cells, column="harm" if weight else "n", distance=distance,
                       correction=correction, alpha=alpha)
        layer["class"] = layer["hotspot"].astype(str)
        classes = tuple(HOTSPOT_LABELS[::-1][:3] + HOTSPOT_LABELS[:3][::-1])
        spec = cells.attrs["grid"]
        params.update(cell_size=spec.cell_size, shape=spec.shape,
                      distance=layer.attrs["distance"], alpha=layer.attrs["alpha"],
                      correction=correction)
        summary["n_points"] = int(cells["n"].sum())
        auto = [k for k in auto if k == "cell_size"]
    elif method == "emerging":
        from .emerging import hotspot_emerging
        layer = hotspot_emerging(points, period=period, cell_size=cell_size, shape=shape,
                                 weight=weight, area=area, alpha=alpha, distance=distance,
                                 correction=correction)
        layer["class"] = layer["pattern"].astype(str)
        classes = tuple(p for p in EHSA_PATTERNS if p != "No Pattern Detected")
        for k in ("period", "cell_size", "shape", "distance", "alpha", "correction"):
            params[k] = layer.attrs[k]
        periods = layer.attrs["periods"]
        summary.update(n_points=layer.attrs["n_points"], n_periods=len(periods),
                       first_period=periods[0], last_period=periods[-1],
                       n_undated=layer.attrs["n_undated"], periods=list(periods))
        summary["simple"] = {k: int(v) for k, v in layer["simple_class"].value_counts().items()}
        auto = [k for k in auto if k in ("cell_size", "period")]
    elif method == "kde":
        res = kde(points, bandwidth=bandwidth, kernel=kernel, weight=weight,
                  cell_size=cell_size, area=area)
        layer = res.to_cells()
        layer["class"] = _kde_classes(layer["intensity_km2"].to_numpy())
        classes = KDE_CLASSES
        params.update(bandwidth=res.bandwidth, kernel=kernel, cell_size=res.grid.cell_size,
                      shape="square")
        auto = [k for k in auto if k in ("cell_size", "bandwidth")]
    else:
        layer = point_clusters(points, method=method, eps_m=eps_m, min_samples=min_samples,
                               weight=weight, category_col=category_col)
        rank = layer["cluster_id"].to_numpy()
        layer["class"] = np.select([rank <= 5, rank <= 20], list(CLUSTER_CLASSES[:2]),
                                   CLUSTER_CLASSES[2])
        classes = CLUSTER_CLASSES
        params.update(eps_m=layer.attrs["eps_m"], min_samples=layer.attrs["min_samples"],
                      min_harm=layer.attrs["min_harm"], clustered=layer.attrs["clustered"])
        summary["n_locations"] = layer.attrs["n_locations"]
        summary["n_noise"] = layer.attrs["n_noise"]
        auto = [k for k in auto if k in ("eps_m", "min_samples")
                and not (k == "eps_m" and method == "hdbscan")]
    params["auto"] = tuple(auto)
    cls = layer["class"].astype(str)
    summary.update(
        n_units=int(len(layer)),
        n_hot=int((cls.isin(classes) & ~cls.str.contains("Cold")).sum()),
        n_cold=int(cls.str.contains("Cold").sum()),
        counts={c: int((cls == c).sum()) for c in classes if (cls == c).any()},
    )
    layer.attrs.clear()  # GridSpec etc. stay in params; attrs do not survive every copy
    run = HotspotRun(method, layer, classes, params, summary)
    logger.info(run.describe())
    return run


def _kde_classes(values: np.ndarray) -> np.ndarray:
    """Top 1%, 5% and 10% of cells by intensity (cells with zero intensity excluded)."""
    out = np.full(values.size, "Other", dtype=object)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return out
    for share, label in zip((0.10, 0.05, 0.01), KDE_CLASSES[::-1]):
        k = max(1, int(math.ceil(share * finite.size)))
        threshold = np.sort(finite)[::-1][k - 1]
        out[(values >= threshold) & (values > 0)] = label
    return out


# ------------------------------------------------------------------------ selection
def select_incidents(incidents, *, months: tuple[str, str] | None = None,
                     categories=None, basket_only: bool = False, name: str = "incidents"):
    """The incidents to analyse: a month range and crime types (the page's and CLI's filters).

    Parameters
    ----------
    incidents : geopandas.GeoDataFrame
        From :meth:`geo.workspace.Workspace.incidents` (``month``, ``category``,
        ``in_basket``).
    months : (str, str), optional
        First and last month, ``"YYYY-MM"``, inclusive.
    categories : sequence of str, optional
        Crime types / call groups to keep; empty or ``None`` keeps all.
    basket_only : bool
        Keep only the drug-market harm basket.

    Returns
    -------
    geopandas.GeoDataFrame

    Raises
    ------
    GeoInputError
        If a category is unknown, the month range is reversed, or nothing is left.
    """
    sel = incidents
    cats = list(categories or [])
    if cats:
        known = set(incidents["category"].astype(str))
        unknown = [c for c in cats if c not in known]
        if unknown:
            raise GeoInputError(
                f"unknown crime type {unknown[0]!r}", where=f"{name} categories",
                fix="use one of: " + ", ".join(sorted(known)))
        sel = sel[sel["category"].isin(cats)]
    if months:
        m0, m1 = months
        if m0 and m1 and m0 > m1:
            raise GeoInputError(f"the month range is reversed ({m0} to {m1})",
                                fix="give the earlier month first")
        if m0:
            sel = sel[sel["month"] >= m0]
        if m1:
            sel = sel[sel["month"] <= m1]
    if basket_only:
        sel = sel[sel["in_basket"].astype(bool)]
    if len(sel) == 0:
        have = sorted(set(incidents["month"].astype(str)))
        raise GeoInputError(
            f"no {name} match these filters (months {months or 'all'}, types "
            f"{', '.join(cats) or 'all'})",
            fix="widen the month range" + (f" (data: {have[0]} to {have[-1]})" if have else "")
                + " or clear the crime-type filter")
    return sel


def hotspot_table(run: "HotspotRun", nearest, units, *, word: str):
    """The hot spots of ``run`` as the Hotspots page's table (no geometry).

    ``where`` ("hexagon near <ward>", :func:`geo.labels.near_labels` on ``units``, the finest boundaries,
    or ``None``), most harm (else most intense, else most incidents) first, without the grid's row and
    column and the test's columns, and the nearest site of each kind (``nearest``, from
    :func:`geo.sites.nearest_sites` with ``wide=True``, or ``None``) joined on the hot spot's id.
    ``word``: "hexagon", "square" or "cluster".
    """
    from .labels import near_labels
    id_col = "cluster_id" if run.method in ("dbscan", "hdbscan") else "cell_id"
    hot = run.hot.drop(columns="geometry")
    if len(hot) and id_col in hot:  # names, not a cell id
        hot.insert(0, "where", near_labels(run.hot, units, shape=word))
    sort_col = "harm" if "harm" in hot.columns else ("intensity_km2" if "intensity_km2" in hot.columns else "n")
    hot = hot.sort_values(sort_col, ascending=False)
    hot = hot.drop(columns=[c for c in ("row", "col", "pvalue", "hotspot", "pattern") if c in hot.columns])
    if nearest is not None:
        hot = hot.merge(nearest.rename(columns={"hotspot_id": id_col}), on=id_col, how="left")
    return hot


def export_layers(run: HotspotRun, exposure=None) -> dict:
    """Layers ready to write to a GeoPackage: ``hotspots`` and, if given, ``exposed_sites``.

    Categorical and other non-scalar columns become text, so GDAL can store them.
    """
    out = {"hotspots": _gpkg_safe(run.layer)}
    if exposure is not None and len(exposure):
        out["exposed_sites"] = _gpkg_safe(exposure)
    return out


def _gpkg_safe(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    gdf = gdf.copy()
    gdf.attrs = {}
    for c in gdf.columns:
        if c == gdf.geometry.name:
            continue
        if isinstance(gdf[c].dtype, pd.CategoricalDtype) or gdf[c].dtype == object:
            gdf[c] = gdf[c].astype(str)
        elif pd.api.types.is_bool_dtype(gdf[c]):
            gdf[c] = gdf[c].astype(bool)
    return gdf
