"""The operations register: what was done, where and when.

An operation's target area is one of: a drawn polygon (GeoJSON in WGS84, as drawn on the
map), a boundary unit chosen from the workspace (level and code), or a point and radius.
The resolved target polygon (in the analysis CRS) is stored with the record, so the
GeoPackage shows operations in QGIS.
"""
from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import asdict, dataclass, field

import shapely
from pyproj import Transformer

from .errors import GeoInputError

TACTICS = (
    "Crackdown / high-visibility patrol",
    "Warrant or closure order",
    "Test purchase",
    "Focused deterrence",
    "Partnership or environmental work",
    "Diversion",
    "Other",
)
TARGET_KINDS = ("polygon", "unit", "point_radius")


@dataclass
class Operation:
    """One operation in the register.

    Attributes
    ----------
    name : str
        Unique name, e.g. "Op Sycamore".
    bcu : str
        Code of the Basic Command Unit the operation belongs to.
    tactic : str
        One of :data:`TACTICS`.
    start, end : str
        ISO dates (``YYYY-MM-DD``); ``end`` is on or after ``start``.
    target_kind : {'polygon', 'unit', 'point_radius'}
    target_geojson : str, optional
        A drawn polygon as GeoJSON geometry in WGS84 (``polygon``).
    target_unit : str, optional
        ``level:code`` of a boundary unit (``unit``), e.g. ``ward:E05000976``.
    lon, lat, radius_m : float, optional
        Centre and radius in metres (``point_radius``).
    targeted_harms : list of str
        Crime types or call categories the operation aims to reduce.
    notes : str
    op_id : str
        Stable identifier (generated).
    """

    name: str
    bcu: str
    tactic: str
    start: str
    end: str
    target_kind: str
    target_geojson: str | None = None
    target_unit: str | None = None
    lon: float | None = None
    lat: float | None = None
    radius_m: float | None = None
    targeted_harms: list[str] = field(default_factory=list)
    notes: str = ""
    op_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Operation":
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})

    @property
    def start_date(self) -> dt.date:
        return dt.date.fromisoformat(self.start)

    @property
    def end_date(self) -> dt.date:
        return dt.date.fromisoformat(self.end)


def validate(op: Operation, *, existing_names: set[str] = frozenset()) -> None:
    """Raise :class:`GeoInputError` for an operation that cannot be saved."""
    where = f"operation '{op.name or '(no name)'}'"
    if not op.name or not op.name.strip():
        raise GeoInputError("The operation has no name", where=where, fix="give it a name, e.g. 'Op Sycamore'")
    if op.name.strip() in existing_names:
        raise GeoInputError(f"An operation called '{op.name}' already exists", where=where,
                            fix="choose another name, or edit the existing operation")
    if op.tactic not in TACTICS:
        raise GeoInputError(f"Unknown tactic '{op.tactic}'", where=f"{where}, tactic",
                            fix=f"choose one of: {'; '.join(TACTICS)}")
    try:
        start, end = op.start_date, op.end_date
    except (TypeError, ValueError):
        raise GeoInputError(f"Dates '{op.start}' / '{op.end}' are not valid dates", where=f"{where}, dates",
                            fix="use YYYY-MM-DD") from None
    if end < start:
        raise GeoInputError(f"The end date {end} is before the start date {start}", where=f"{where}, end date",
                            fix="set an end date on or after the start date")
    if op.target_kind not in TARGET_KINDS:
        raise GeoInputError(f"Unknown target kind '{op.target_kind}'", where=f"{where}, target",
                            fix="draw a polygon, choose a boundary unit, or give a point and radius")
    if op.target_kind == "polygon" and not op.target_geojson:
        raise GeoInputError("No target polygon was drawn", where=f"{where}, target",
                            fix="draw the target area on the map (polygon tool), then save")
    if op.target_kind == "unit" and not op.target_unit:
        raise GeoInputError("No boundary unit was chosen", where=f"{where}, target", fix="choose a ward, LSOA or BCU")
    if op.target_kind == "point_radius":
        if op.lon is None or op.lat is None or not op.radius_m or op.radius_m <= 0:
            raise GeoInputError("A point target needs a location and a radius above 0 m", where=f"{where}, target",
                                fix="give longitude, latitude and a radius in metres, e.g. 300")


def target_geometry(op: Operation, *, crs: str, boundaries=None):
    """The operation's target polygon in the analysis CRS.

    Parameters
    ----------
    boundaries : GeoDataFrame, optional
        The workspace boundaries (needed for a ``unit`` target).
    """
    to_crs = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    if op.target_kind == "polygon":
        try:
            g = shapely.from_geojson(op.target_geojson if isinstance(op.target_geojson, str)
                                     else json.dumps(op.target_geojson))
        except Exception:
            raise GeoInputError("The drawn target is not valid GeoJSON", where=f"operation '{op.name}', target",
                                fix="draw the polygon again") from None
        if g.geom_type not in ("Polygon", "MultiPolygon"):
            raise GeoInputError(f"The drawn target is a {g.geom_type}, not a polygon",
                                where=f"operation '{op.name}', target", fix="use the polygon or rectangle tool")
        return shapely.make_valid(shapely.transform(g, lambda xy: _tx(to_crs, xy)))
    if op.target_kind == "point_radius":
        x, y = to_crs.transform(op.lon, op.lat)
        return shapely.Point(x, y).buffer(float(op.radius_m), quad_segs=16)
    level, _, code = (op.target_unit or "").partition(":")
    if boundaries is None or boundaries.empty:
        raise GeoInputError("The workspace has no boundaries to choose a unit from", where=f"operation '{op.name}'",
                            fix="import boundaries first, or draw the target")
    hit = boundaries[(boundaries["level"] == level) & (boundaries["code"] == code)]
    if hit.empty:
        raise GeoInputError(f"Boundary unit '{op.target_unit}' is not in the workspace",
                            where=f"operation '{op.name}', target", fix="choose a unit from the list")
    return hit.geometry.iloc[0]


def _tx(transformer, xy):
    import numpy as np
    x, y = transformer.transform(xy[:, 0], xy[:, 1])
    return np.column_stack([x, y])


def outside_warning(geom, force_area) -> str | None:
    """A warning when the target lies wholly or partly outside the force area."""
    if force_area is None or geom is None:
        return None
    if not geom.intersects(force_area):
        return "The target area lies entirely outside the force area."
    share = geom.difference(force_area).area / geom.area if geom.area else 0
    if share > 0.01:
        return f"{share:.0%} of the target area lies outside the force area."
    return None
