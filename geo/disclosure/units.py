"""The base units and periods of the published table: complete calendar quarters
(:func:`complete_quarters`, :func:`quarters_for_months`), the base units (LSOA, else
neighbourhood or ward, else a fixed hexagon grid: :func:`base_units`, :func:`hex_units`).
"""
from __future__ import annotations

import geopandas as gpd
import numpy as np

from ..errors import GeoInputError
from ..periods import quarter_months, quarter_of, quarter_run


# quarter_of, quarter_months, quarter_label, quarters_label and quarter_run are geo.periods'.
def complete_quarters(months) -> list[str]:
    """Calendar quarters all three of whose months are in ``months``, oldest first.

    Partners see these only. A quarter with a month missing is not offered: its figures
    would change when the month arrives, and the change would be that month alone.
    """
    held = set(months)
    qs = sorted({quarter_of(m) for m in held})
    return [q for q in qs if all(m in held for m in quarter_months(q))]


def quarters_for_months(m0: str, m1: str, available=None) -> list[str]:
    """The whole quarters a partner period ``m0..m1`` consists of.

    Raises
    ------
    GeoInputError
        If ``m0`` does not start a quarter or ``m1`` does not end one, or (with
        ``available``) a quarter of the period is not a complete quarter of the data.
    """
    q0, q1 = quarter_of(m0), quarter_of(m1)
    if quarter_months(q0)[0] != m0 or quarter_months(q1)[-1] != m1:
        raise GeoInputError(f"Partner products cover whole calendar quarters; {m0} to {m1} is not one",
                            fix=f"start on the first month of a quarter and end on the last, e.g. "
                                f"{quarter_months(q0)[0]} to {quarter_months(q1)[-1]}")
    qs = quarter_run(q0, q1)
    if available is not None:
        missing = [q for q in qs if q not in set(available)]
        if missing:
            have = ", ".join(available) if len(available) else "none yet"
            raise GeoInputError(f"{', '.join(missing)} is not a complete quarter of the data",
                                fix=f"choose among the complete quarters: {have}")
    return qs


BASE_LEVELS = ("lsoa", "neighbourhood", "ward")
HEX_SIZE_M = 500.0
#: Each hidden small count stands for this many in "about" figures (small counts are mostly 1 or 2).
SMALL_CELL_ESTIMATE = 2.0


def base_units(boundaries: gpd.GeoDataFrame, *, area=None, force: str | None = None,
               crs=None) -> tuple[str, gpd.GeoDataFrame]:
    """The base units of the partner table: the finest published boundary level.

    LSOAs where the workspace has them, else neighbourhoods, else wards (this force's
    units only); without any, a fixed 500 m hexagon grid over ``area``.

    Returns
    -------
    (level, GeoDataFrame)
        ``code``, ``name``, ``geometry`` and ``px``, ``py``: the unit's representative
        point (inside the polygon), which decides which areas the unit belongs to.
    """
    for level in BASE_LEVELS:
        b = boundaries[boundaries["level"] == level] if "level" in boundaries else boundaries.iloc[:0]
        if force and "force" in b:
            b = b[b["force"].fillna(force) == force]
        if len(b):
            units = b[["code", "name", "geometry"]].reset_index(drop=True)
            break
    else:
        if area is None:
            raise GeoInputError("The workspace has no boundaries and no area for a partner table",
                                fix="import LSOA, neighbourhood or ward boundaries")
        level, units = "hex", hex_units(area, cell_size=HEX_SIZE_M, crs=crs)
    units = gpd.GeoDataFrame(units, geometry="geometry", crs=crs or units.crs).reset_index(drop=True)
    units["code"] = units["code"].astype(str)
    units["name"] = units["name"].astype(str)
    rp = units.geometry.representative_point()
    units["px"], units["py"] = rp.x.to_numpy(), rp.y.to_numpy()
    return level, units


def hex_units(area, *, cell_size: float = 500.0, crs=None) -> gpd.GeoDataFrame:
    """A fixed hexagon grid (anchored at the CRS origin) over ``area``: ``code``, ``name``, ``geometry``.

    The same cells for every request of the same size, so two partner maps never
    offset against each other.
    """
    from ..hotspots.grid import GridSpec
    import shapely
    geom = area.union_all() if hasattr(area, "union_all") else area
    crs = crs or getattr(area, "crs", None)
    xmin, ymin, xmax, ymax = geom.bounds
    spec = GridSpec.covering([xmin, xmax, xmin, xmax], [ymin, ymin, ymax, ymax], cell_size, "hex", pad=1)
    rows, cols = np.divmod(np.arange(spec.size), spec.ncols)
    polys = spec.polygons(rows, cols)
    shapely.prepare(geom)
    keep = shapely.intersects(geom, polys) & ~shapely.touches(geom, polys)
    ids = spec.cell_ids(rows[keep], cols[keep])
    return gpd.GeoDataFrame({"code": ids, "name": [f"hexagon {i}" for i in ids]},
                            geometry=polys[keep], crs=crs)
