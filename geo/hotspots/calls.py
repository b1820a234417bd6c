"""Calls for service against recorded crime, cell by cell: :func:`calls_vs_crime`.
"""
from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd

from ..errors import GeoInputError
from ..settings import settings
from .grid import grid_counts, point_weights, point_xy
from .gistar import gistar

logger = logging.getLogger(__name__)


#: Classes of :func:`calls_vs_crime`, in legend order.
CALLS_CRIME_CLASSES: tuple[str, ...] = (
    "Hot in calls only (possible hidden demand)", "Hot in both", "Hot in crime only",
    "Not hot",
)


def calls_vs_crime(
    calls,
    crime,
    *,
    cell_size: float | None = None,
    shape: str = "square",
    weight: str | None = None,
    area=None,
    alpha: float | None = None,
    distance: float | None = None,
    correction: str | None = "fdr_bh",
) -> gpd.GeoDataFrame:
    """Gi* hot spots of calls for service and of recorded crime on one grid, side by side.

    Both layers are counted on the same cells (one grid over both, or over ``area``) and
    tested separately with :func:`gistar`. A cell that is a significant hot spot of
    calls but not of recorded crime is flagged ``hidden_demand``: people ask for help
    there, yet little is recorded, which may mean under-recording, or demand the police
    do not see as crime (check before acting on it).

    Parameters
    ----------
    calls, crime : geopandas.GeoDataFrame
        Points in the same projected CRS in metres.
    cell_size : float, optional
        Metres; ``None``: :func:`auto_cell_size` over both layers together (logged).
    shape : {"square", "hex"}
    weight : str, optional
        Harm-weight column present in both layers; Gi* then tests summed harm.
    area : polygon, GeoSeries or GeoDataFrame, optional
        Study area; cells outside it are dropped.
    alpha : float, optional
        Significance level; ``None``: ``settings.alpha``.
    distance, correction
        As :func:`gistar`.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per cell: ``cell_id``, ``row``, ``col``, ``n_calls``, ``n_crime``,
        ``harm_calls``, ``harm_crime``, ``gistar_calls``, ``p_calls`` (adjusted),
        ``hotspot_calls``, ``gistar_crime``, ``p_crime``, ``hotspot_crime`` (labels of
        :data:`HOTSPOT_LABELS`), ``hot_calls``, ``hot_crime``, ``hidden_demand``
        (bools), ``class`` (one of :data:`CALLS_CRIME_CLASSES`) and ``geometry``.
        ``attrs``: ``grid``, ``cell_size``, ``distance``, ``alpha``, ``correction``.

    Raises
    ------
    GeoInputError
        If either layer is unusable, the CRSs differ or a parameter is out of range.

    Examples
    --------
    >>> import geopandas as gpd
    >>> calls = gpd.GeoDataFrame(geometry=gpd.points_from_xy(
    ...     [550.0] * 20 + [50.0, 950.0, 50.0, 950.0], [550.0] * 20 + [50.0, 50.0, 950.0, 950.0]),
    ...     crs="EPSG:27700")
    >>> crime = gpd.GeoDataFrame(geometry=gpd.points_from_xy(
    ...     [50.0, 950.0, 50.0, 950.0, 350.0], [50.0, 50.0, 950.0, 950.0, 750.0]), crs="EPSG:27700")
    >>> out = calls_vs_crime(calls, crime, cell_size=100)
    >>> out.set_index("cell_id").loc["500_500", ["hot_calls", "hot_crime", "hidden_demand"]].tolist()
    [True, False, True]
    """
    xc, yc = point_xy(calls, "calls")
    xr, yr = point_xy(crime, "crime")
    if calls.crs != crime.crs:
        raise GeoInputError(f"calls ({calls.crs}) and crime ({crime.crs}) use different CRSs",
                            fix="reproject one to the other, e.g. calls.to_crs(crime.crs)")
    point_weights(calls, weight, "calls")
    point_weights(crime, weight, "crime")
    keep = [weight] if weight else []
    both = gpd.GeoDataFrame(
        pd.concat([calls[keep], crime[keep]], ignore_index=True) if keep else None,
        geometry=gpd.GeoSeries(np.concatenate([np.asarray(calls.geometry.values),
                                               np.asarray(crime.geometry.values)]),
                               crs=calls.crs),
        crs=calls.crs)
    base = grid_counts(both, cell_size=cell_size, shape=shape, area=area)
    spec = base.attrs["grid"]
    a = settings.alpha if alpha is None else alpha
    cc = grid_counts(calls, grid=spec, weight=weight, area=area)
    cr = grid_counts(crime, grid=spec, weight=weight, area=area)
    column = "harm" if weight else "n"
    gc = gistar(cc, column=column, distance=distance, correction=correction, alpha=a)
    gr = gistar(cr, column=column, distance=gc.attrs["distance"], correction=correction,
                alpha=a)
    hot_c = gc["hotspot"].astype(str).str.startswith("Hot").to_numpy()
    hot_r = gr["hotspot"].astype(str).str.startswith("Hot").to_numpy()
    cls = np.select([hot_c & ~hot_r, hot_c & hot_r, hot_r], list(CALLS_CRIME_CLASSES[:3]),
                    CALLS_CRIME_CLASSES[3])
    out = gpd.GeoDataFrame(
        {
            "cell_id": cc["cell_id"].to_numpy(), "row": cc["row"].to_numpy(),
            "col": cc["col"].to_numpy(),
            "n_calls": cc["n"].to_numpy(), "n_crime": cr["n"].to_numpy(),
            "harm_calls": cc["harm"].to_numpy(), "harm_crime": cr["harm"].to_numpy(),
            "gistar_calls": gc["gistar"].to_numpy(), "p_calls": gc["p_adj"].to_numpy(),
            "hotspot_calls": gc["hotspot"].to_numpy(),
            "gistar_crime": gr["gistar"].to_numpy(), "p_crime": gr["p_adj"].to_numpy(),
            "hotspot_crime": gr["hotspot"].to_numpy(),
            "hot_calls": hot_c, "hot_crime": hot_r, "hidden_demand": hot_c & ~hot_r,
            "class": pd.Categorical(cls, categories=list(CALLS_CRIME_CLASSES)),
        },
        geometry=cc.geometry.values, crs=calls.crs,
    )
    out.attrs.update({"grid": spec, "cell_size": float(spec.cell_size),
                      "distance": gc.attrs["distance"], "alpha": a, "correction": correction})
    logger.info("calls vs crime: %s cell(s) hot in calls only, %s in both, %s in crime only",
                int((hot_c & ~hot_r).sum()), int((hot_c & hot_r).sum()),
                int((~hot_c & hot_r).sum()))
    return out
