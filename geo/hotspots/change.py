"""Change between two periods on the same grid: :func:`change_surface`.
"""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from ..errors import GeoInputError
from .grid import GridSpec


def change_surface(before, after, column: str = "n") -> gpd.GeoDataFrame:
    """Difference and ratio of a grid column between two periods on the same grid.

    Parameters
    ----------
    before, after : geopandas.GeoDataFrame
        Outputs of :func:`grid_counts` with the same ``cell_size`` and ``shape`` (best:
        the second built with ``grid=before.attrs["grid"]``). Cells are matched on
        ``cell_id``; a cell missing from one period counts as 0 there.
    column : str
        Column to compare, e.g. ``"n"`` or ``"harm"``.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``cell_id``, ``before``, ``after``, ``change`` (after - before) and
        ``ratio`` (after / before; NaN where before is 0), ``geometry``; plus ``row`` and
        ``col`` (and ``attrs["grid"]``) when both periods share one grid.

    Raises
    ------
    GeoInputError
        If a column is missing or the grids differ in cell shape or size.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from geo.hotspots import grid_counts
    >>> a = gpd.GeoDataFrame(geometry=gpd.points_from_xy([10, 20, 150], [10, 10, 10]),
    ...                      crs=27700)
    >>> b = gpd.GeoDataFrame(geometry=gpd.points_from_xy([10, 150, 160], [10, 10, 10]),
    ...                      crs=27700)
    >>> ca = grid_counts(a, cell_size=100)
    >>> ch = change_surface(ca, grid_counts(b, grid=ca.attrs["grid"]))
    >>> ch[["change", "ratio"]].to_dict("list")
    {'change': [-1, 1], 'ratio': [0.5, 2.0]}
    """
    for name, frame in (("before", before), ("after", after)):
        if not isinstance(frame, gpd.GeoDataFrame) or not {"cell_id", column} <= set(
                frame.columns):
            raise GeoInputError(
                f"`{name}` needs columns 'cell_id' and {column!r}",
                where=f"{name} columns {list(getattr(frame, 'columns', []))}",
                fix="pass two outputs of grid_counts and an existing column",
            )
    ga, gb = before.attrs.get("grid"), after.attrs.get("grid")
    if isinstance(ga, GridSpec) and isinstance(gb, GridSpec) and not ga.same_lattice(gb):
        raise GeoInputError(
            f"the periods use different grids ({ga.shape} {ga.cell_size:g} m vs "
            f"{gb.shape} {gb.cell_size:g} m)",
            fix="build the second with grid_counts(..., grid=before.attrs['grid'])",
        )
    a = pd.DataFrame({"cell_id": before["cell_id"].to_numpy(),
                      "before": before[column].to_numpy(), "geom_a": before.geometry.values})
    b = pd.DataFrame({"cell_id": after["cell_id"].to_numpy(),
                      "after": after[column].to_numpy(), "geom_b": after.geometry.values})
    m = a.merge(b, on="cell_id", how="outer", sort=False)
    same_grid = ga is not None and ga == gb
    geom = m["geom_a"].where(m["geom_a"].notna(), m["geom_b"])
    m["before"] = m["before"].fillna(0)
    m["after"] = m["after"].fillna(0)
    if pd.api.types.is_integer_dtype(before[column]) and pd.api.types.is_integer_dtype(
            after[column]):
        m["before"] = m["before"].astype(np.int64)
        m["after"] = m["after"].astype(np.int64)
    bef = m["before"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(bef > 0, m["after"].to_numpy(float) / bef, np.nan)
    out = gpd.GeoDataFrame(
        {"cell_id": m["cell_id"].to_numpy(), "before": m["before"], "after": m["after"],
         "change": m["after"] - m["before"], "ratio": ratio},
        geometry=gpd.GeoSeries(geom.to_numpy(), crs=before.crs), crs=before.crs,
    )
    if same_grid:
        rc = before.set_index("cell_id")[["row", "col"]]
        rc2 = after.set_index("cell_id")[["row", "col"]]
        rc = pd.concat([rc, rc2[~rc2.index.isin(rc.index)]])
        out.insert(1, "row", rc.loc[out["cell_id"], "row"].to_numpy())
        out.insert(2, "col", rc.loc[out["cell_id"], "col"].to_numpy())
        out.attrs["grid"] = ga
    return out
