"""``python -m geo operations add|list|remove``: the operations register from the command line.

The target of an operation is exactly one of:

``--geojson FILE``
    a polygon in a GeoJSON file in WGS84 longitude/latitude (a bare geometry, a Feature,
    or a FeatureCollection whose polygons are joined into one target);
``--unit LEVEL:CODE`` or ``--unit LEVEL:NAME``
    a boundary unit of the workspace, e.g. ``ward:E05001045`` or ``ward:Central``;
``--lonlat LON LAT --radius M`` or ``--en EASTING NORTHING --radius M``
    a circle of ``M`` metres around a point given in degrees (WGS84) or in the workspace's
    projected CRS (e.g. British National Grid eastings and northings).

Every read and write goes through :mod:`geo.services` with the command line's identity
(``--as USERNAME``, or the local operator ``cli:<os user>``; see :func:`geo.services.cli_user`):
an inspector lists, adds and removes operations of their own BCU(s) only. The operation is
validated and saved by :func:`geo.services.save_operation`, the same code the Operations
page uses, which writes the audit entry with the user.
"""
from __future__ import annotations

import json
import math
import re
from pathlib import Path

from .errors import GeoInputError

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def add_operations_parser(sub) -> None:
    """Add the ``operations`` command and its ``add``, ``list`` and ``remove`` sub-commands.

    Imports nothing heavy, so that ``python -m geo --help`` stays quick.
    """
    from .cli import add_identity
    ops = sub.add_parser("operations", help="the operations register: add, list or remove operations")
    osub = ops.add_subparsers(dest="operations_command", required=True)

    add = osub.add_parser("add", help="add an operation to the register",
                          description="Add an operation. Give exactly one target: --geojson, --unit, or a point "
                                      "(--lonlat or --en) with --radius.")
    add.add_argument("--workspace", required=True, help="workspace GeoPackage")
    add.add_argument("--name", required=True, help="unique name, e.g. 'Op Sycamore'")
    add.add_argument("--start", required=True, help="first day, YYYY-MM-DD")
    add.add_argument("--end", required=True, help="last day, YYYY-MM-DD")
    add.add_argument("--tactic", required=True,
                     help="the tactic, e.g. 'Warrant or closure order' or 'Test purchase' (case-insensitive; "
                          "a unique start such as 'warrant' is enough; a wrong one lists them all)")
    add.add_argument("--bcu", help="the BCU the operation belongs to, code or name (default: the BCU holding "
                                   "most of the target)")
    add.add_argument("--geojson", help="target polygon: a GeoJSON file in WGS84 longitude/latitude")
    add.add_argument("--unit", metavar="LEVEL:CODE_OR_NAME", help="target boundary unit, e.g. ward:E05001045")
    add.add_argument("--lonlat", nargs=2, type=float, metavar=("LON", "LAT"), help="target centre in degrees")
    add.add_argument("--en", nargs=2, type=float, metavar=("EASTING", "NORTHING"),
                     help="target centre in the workspace's CRS (metres)")
    add.add_argument("--radius", type=float, metavar="METRES", help="radius of a point target in metres")
    add.add_argument("--harm", action="append", default=[], metavar="CRIME_TYPE",
                     help="a targeted harm (crime type or call group); repeatable")
    add.add_argument("--notes", default="", help="free-text notes")
    add_identity(add)

    ls = osub.add_parser("list", help="list the operations in the register")
    ls.add_argument("--workspace", required=True, help="workspace GeoPackage")
    ls.add_argument("--json", action="store_true", help="print the records as JSON")
    add_identity(ls)

    rm = osub.add_parser("remove", help="remove an operation from the register")
    rm.add_argument("--workspace", required=True, help="workspace GeoPackage")
    rm.add_argument("--name", required=True, help="the operation's name (or its id)")
    add_identity(rm)


def run_operations(args) -> int:
    """Run ``python -m geo operations ...``; raises :class:`GeoInputError` on bad input."""
    from . import services
    from .cli import identity
    path = Path(args.workspace)
    if not path.exists():
        raise GeoInputError("The workspace file does not exist", where=str(path),
                            fix="give the path of a .gpkg workspace (python -m geo import creates one)")
    user = identity(args)
    with services.opened(path) as ws:
        return {"add": _add, "list": _list, "remove": _remove}[args.operations_command](ws, args, user)


# ---------------------------------------------------------------------------- add


def _add(ws, args, user) -> int:
    from . import services
    from .operations import Operation, target_geometry
    info = services.workspace_info(ws, user=user)
    name = args.name.strip()
    start, end = _date(args.start, "--start"), _date(args.end, "--end")
    tactic = _tactic(args.tactic)
    target = _target(ws, args, user, info)
    harms = _harms(ws, args.harm, user, info)
    op = Operation(name=name, bcu="", tactic=tactic, start=start, end=end, notes=args.notes,
                   targeted_harms=harms, **target)
    bcus = services.bcus(ws, user=user)
    if args.bcu:
        op.bcu = _bcu(bcus, args.bcu)
        bcu_note = ""
    else:
        if op.target_kind == "unit":
            geom = target_geometry(op, crs=info["crs"], boundaries=services.boundaries(ws, user=user))
        else:
            geom = target_geometry(op, crs=info["crs"])
        op.bcu, bcu_note = _bcu_of(bcus, geom)
    warning = services.save_operation(ws, op, user=user)  # checked by geo.access, audited with the user
    bcu_name = dict(zip(bcus["code"], bcus["name"])).get(op.bcu, op.bcu)
    print(f"Added '{op.name}' ({op.tactic}, {op.start} to {op.end}) in {bcu_name} BCU{bcu_note}.")
    print(f"Target: {_describe(op)}; area {_area_ha(ws, op, user):,.1f} ha.")
    print("Targeted harms: " + ("; ".join(op.targeted_harms) if op.targeted_harms else
                                "none declared (the analysis uses the drug-market basket)"))
    if warning:
        print(f"Warning: {warning}")
    months = info["months"]
    if months and (op.start[:7] < months[0] or op.end[:7] > months[-1]):
        print(f"Note: the workspace holds {months[0]} to {months[-1]}; the operation's months are not all "
              "covered yet, so results analysis waits for that data.")
    return 0


def _date(text: str, option: str) -> str:
    import datetime as dt
    s = (text or "").strip()
    try:
        if not _DATE.fullmatch(s):
            raise ValueError
        dt.date.fromisoformat(s)
    except ValueError:
        raise GeoInputError(f"'{text}' is not a date", where=option,
                            fix="give the date as YYYY-MM-DD, e.g. 2025-03-01") from None
    return s


def _tactic(text: str) -> str:
    from .operations import TACTICS
    t = " ".join(text.split()).lower()
    exact = [x for x in TACTICS if x.lower() == t]
    hits = exact or [x for x in TACTICS if t and x.lower().startswith(t)]
    if len(hits) == 1:
        return hits[0]
    what = "matches several tactics" if hits else "is not a tactic"
    raise GeoInputError(f"'{text}' {what}", where="--tactic",
                        fix="give one of: " + "; ".join(f"'{x}'" for x in (hits or TACTICS)))


def _target(ws, args, user, info: dict) -> dict:
    given = [o for o, v in (("--geojson", args.geojson), ("--unit", args.unit), ("--lonlat", args.lonlat),
                            ("--en", args.en)) if v is not None]
    if len(given) != 1:
        raise GeoInputError(
            "Give exactly one target" + (f"; got {' and '.join(given)}" if given else ""), where="target",
            fix="use --geojson FILE, --unit LEVEL:CODE, or --lonlat LON LAT / --en EASTING NORTHING with "
                "--radius METRES")
    if args.radius is not None and given[0] in ("--geojson", "--unit"):
        raise GeoInputError(f"--radius only goes with a point target, not with {given[0]}", where="--radius",
                            fix="leave out --radius, or give the target as a point (--lonlat or --en)")
    if given[0] == "--geojson":
        return {"target_kind": "polygon", "target_geojson": _read_polygon(Path(args.geojson))}
    if given[0] == "--unit":
        return {"target_kind": "unit", "target_unit": _unit(ws, args.unit, user, info)}
    if args.radius is None or not math.isfinite(args.radius) or args.radius <= 0:
        raise GeoInputError("A point target needs a radius above 0 m", where="--radius",
                            fix="add --radius METRES, e.g. --radius 300")
    if given[0] == "--lonlat":
        lon, lat = args.lonlat
        if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
            raise GeoInputError(f"{lon:g} {lat:g} are not longitude and latitude in degrees", where="--lonlat",
                                fix="give LON LAT in degrees (e.g. --lonlat -1.47 53.38), or eastings and "
                                    "northings with --en")
    else:
        lon, lat = _en_to_lonlat(info["crs"], *args.en)
    _check_in_reach(ws, user, info["crs"], lon, lat, given[0])
    return {"target_kind": "point_radius", "lon": round(lon, 7), "lat": round(lat, 7), "radius_m": args.radius}


def _en_to_lonlat(crs: str, e: float, n: float) -> tuple[float, float]:
    from pyproj import CRS, Transformer
    if not (math.isfinite(e) and math.isfinite(n)):
        raise GeoInputError("Eastings and northings must be numbers", where="--en", fix="e.g. --en 435300 387200")
    if abs(e) <= 180 and abs(n) <= 90 and CRS(crs).is_projected:
        raise GeoInputError(f"{e:g} {n:g} look like longitude and latitude, not eastings and northings",
                            where="--en", fix=f"use --lonlat {e:g} {n:g}, or give metres in {crs}")
    lon, lat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(e, n)
    return float(lon), float(lat)


def _check_in_reach(ws, user, crs: str, lon: float, lat: float, option: str) -> None:
    """Refuse a point far from the workspace (e.g. swapped coordinates); near the edge is fine."""
    import shapely
    from pyproj import Transformer
    from . import services
    area = services.force_area(ws, user=user)
    if area is None:
        return
    x, y = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(lon, lat)
    if not (math.isfinite(x) and math.isfinite(y)) or area.distance(shapely.Point(x, y)) > 50_000:
        swap = " (are the two numbers swapped?)" if option == "--lonlat" else ""
        raise GeoInputError(f"The point ({lon:.5f}, {lat:.5f}) is more than 50 km from the workspace's area{swap}",
                            where=option, fix="check the coordinates: --lonlat takes longitude first, then latitude")


def _read_polygon(path: Path) -> str:
    import shapely
    if not path.exists():
        raise GeoInputError("The GeoJSON file does not exist", where=str(path), fix="check the path")
    try:
        doc = json.loads(path.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise GeoInputError(f"The file is not valid GeoJSON: {err}", where=str(path),
                            fix="export the polygon again as GeoJSON (WGS84)") from None
    if not isinstance(doc, dict):
        raise GeoInputError("The file is not a GeoJSON object", where=str(path),
                            fix="give a GeoJSON Polygon, Feature or FeatureCollection")
    crs = ((doc.get("crs") or {}).get("properties") or {}).get("name", "") if isinstance(doc.get("crs"), dict) else ""
    if crs and not re.search(r"(CRS84|EPSG::?4326)$", crs):
        raise GeoInputError(f"The GeoJSON is in {crs}, not WGS84 longitude/latitude", where=str(path),
                            fix="save it in WGS84 (EPSG:4326), e.g. in QGIS: Export > Save Features As, CRS EPSG:4326")
    if doc.get("type") == "FeatureCollection":
        geoms = [f.get("geometry") for f in doc.get("features") or [] if isinstance(f, dict)]
    elif doc.get("type") == "Feature":
        geoms = [doc.get("geometry")]
    else:
        geoms = [doc]
    geoms = [g for g in geoms if g]
    if not geoms:
        raise GeoInputError("The GeoJSON holds no geometry", where=str(path), fix="draw or export the target polygon")
    shapes = []
    for i, g in enumerate(geoms):
        try:
            s = shapely.from_geojson(json.dumps(g))
        except Exception:
            raise GeoInputError(f"Geometry {i + 1} cannot be read", where=str(path),
                                fix="export the polygon again as GeoJSON") from None
        if s.geom_type not in ("Polygon", "MultiPolygon") or s.is_empty:
            raise GeoInputError(f"Geometry {i + 1} is a {s.geom_type}, not a polygon", where=str(path),
                                fix="give the target area as a polygon; for a point use --lonlat with --radius")
        shapes.append(s)
    target = shapely.union_all(shapes)
    x0, y0, x1, y1 = target.bounds
    if not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
        raise GeoInputError(f"The coordinates (e.g. {x0:g}, {y0:g}) are not longitude/latitude in degrees",
                            where=str(path), fix="save the GeoJSON in WGS84 (EPSG:4326); GeoJSON is WGS84 by "
                                                 "definition")
    if not target.is_valid:
        target = shapely.make_valid(target)
    return shapely.to_geojson(target)


def _unit(ws, spec: str, user, info: dict) -> str:
    from . import services
    level, sep, key = spec.partition(":")
    level, key = level.strip().lower(), key.strip()
    levels = list(info["levels"])
    if not sep or not key:
        raise GeoInputError(f"'{spec}' is not LEVEL:CODE", where="--unit",
                            fix=f"e.g. --unit ward:E05001045 or --unit ward:Central (levels: {', '.join(levels)})")
    if level not in levels:
        raise GeoInputError(f"The workspace has no '{level}' boundaries", where="--unit",
                            fix=f"use one of the levels it holds: {', '.join(levels) or '(none: import boundaries)'}")
    b = services.boundaries(ws, user=user, level=level)
    hit = b[b["code"] == key]
    if hit.empty:
        hit = b[b["name"].str.casefold() == key.casefold()]
    if len(hit) == 1:
        return f"{level}:{hit['code'].iloc[0]}"
    if len(hit) > 1:
        raise GeoInputError(f"Several {level} units are called '{key}'", where="--unit",
                            fix="give the code instead: " + ", ".join(f"{level}:{c} ({n})" for c, n in
                                                                      zip(hit["code"], hit["name"])))
    near = b[b["name"].str.casefold().str.contains(re.escape(key.casefold()))]["name"].head(5).tolist()
    raise GeoInputError(f"No {level} with code or name '{key}'", where="--unit",
                        fix=("did you mean: " + ", ".join(near)) if near else
                        f"python -m geo operations list shows operations; the {level} names are in the workspace's "
                        "boundaries (QGIS or the Area summary page)")


def _harms(ws, harms: list[str], user, info: dict) -> list[str]:
    from . import services
    held = set(info["crime_categories"]) | set(info["calls_categories"])
    known = sorted(held | set(services.harm_table(ws, user=user)["category"]))
    by_fold = {k.casefold(): k for k in known}
    out = []
    for h in harms:
        k = by_fold.get(" ".join(h.split()).casefold())
        if k is None:
            raise GeoInputError(f"'{h}' is not a crime type or call group of this workspace", where="--harm",
                                fix="use one of: " + "; ".join(known))
        if k not in out:
            out.append(k)
    return out


def _bcu(bcus, key: str) -> str:
    hit = bcus[(bcus["code"] == key.strip()) | (bcus["name"].str.casefold() == key.strip().casefold())]
    if len(hit) != 1:
        raise GeoInputError(f"'{key}' is not one of this force's BCUs", where="--bcu",
                            fix="give one of: " + ", ".join(f"{c} ({n})" for c, n in zip(bcus["code"], bcus["name"])))
    return str(hit["code"].iloc[0])


def _bcu_of(bcus, geom) -> tuple[str, str]:
    """The BCU holding most of ``geom``, and a note saying it was chosen automatically."""
    shares = [(g.intersection(geom).area, c, n) for g, c, n in zip(bcus.geometry, bcus["code"], bcus["name"])]
    shares = [s for s in shares if s[0] > 0]
    if not shares:
        raise GeoInputError("The target lies outside every BCU of this force", where="target",
                            fix="check the target, or give --bcu CODE")
    share, code, _ = max(shares)
    note = " (BCU set automatically: it holds "
    note += f"{share / geom.area:.0%} of the target)" if geom.area else "the target)"
    return str(code), note


def _describe(op) -> str:
    if op.target_kind == "unit":
        return f"boundary unit {op.target_unit}"
    if op.target_kind == "point_radius":
        return f"{op.radius_m:,.0f} m around {op.lon:.5f}, {op.lat:.5f}"
    return "a polygon"


def _area_ha(ws, op, user) -> float:
    from . import services
    row = services.operation_areas(ws, user=user)
    row = row[row["op_id"] == op.op_id]
    return float(row.geometry.area.iloc[0]) / 1e4 if len(row) else float("nan")


# ---------------------------------------------------------------------- list, remove


def _list(ws, args, user) -> int:
    from . import services
    ops = services.list_operations(ws, user=user)  # an inspector: their BCUs' operations only
    if args.json:
        print(json.dumps([o.to_dict() for o in ops], indent=2, ensure_ascii=False))
        return 0
    if not ops:
        print("No operations in the register. Add one: python -m geo operations add --workspace ... --name ...")
        return 0
    bcus = services.bcus(ws, user=user, all_forces=True)
    names = dict(zip(bcus["code"], bcus["name"]))
    areas = services.operation_areas(ws, user=user).set_index("op_id").geometry.area / 1e4
    for o in ops:
        print(f"{o.name}")
        print(f"  {o.start} to {o.end} · {o.tactic} · {names.get(o.bcu, o.bcu)} BCU")
        print(f"  target: {_describe(o)}, {areas.get(o.op_id, float('nan')):,.1f} ha")
        print("  targeted harms: " + ("; ".join(o.targeted_harms) if o.targeted_harms else "none declared"))
        if o.notes:
            print(f"  notes: {o.notes}")
    print(f"{len(ops)} operation{'s' if len(ops) != 1 else ''}.")
    return 0


def _remove(ws, args, user) -> int:
    from . import services
    ops = services.list_operations(ws, user=user)
    key = args.name.strip()
    hit = [o for o in ops if o.name == key or o.op_id == key]
    if not hit:
        raise GeoInputError(f"No operation called '{args.name}'", where=str(args.workspace),
                            fix="give the exact name; the register holds: " +
                                ("; ".join(o.name for o in ops) or "(no operations)"))
    op = hit[0]
    services.delete_operation(ws, op.op_id, user=user)  # checked by geo.access, audited with the user
    print(f"Removed '{op.name}' from the register.")
    return 0
