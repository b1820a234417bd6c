"""Build the bundled demo workspaces from the real data in ``data/``.

South Yorkshire: 18 months of police.uk street crime (2024-01 … 2025-06) plus the
neighbouring forces' crime (2024-01 … 04 and 2025-01 … 06 only), all in one police.uk-style
zip archive (:data:`SY_CRIME_ARCHIVE`); the four districts as BCUs (neighbouring districts
carry their force), wards, Sheffield neighbourhoods and LSOAs, schools and health sites.
The neighbours' missing months are not covered (see :mod:`geo.coverage`), never zero.

Portland: one month of calls for service (NIJ), the 60 police districts as
neighbourhoods within the three precincts, which are the command units (BCUs). Portland
is analysed in NAD83 / UTM zone 10N (EPSG:26910), a metric CRS; the calls' own
coordinates are Oregon North State Plane in feet (EPSG:2913) and are read through the
column mapping. Their date is the spreadsheet serial ``occ_date``: about 1,000 rows lack
a census tract and are shifted one column left, leaving ``occ_date_iso`` blank.
"""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd

from .io import ColumnMapping
from .operations import Operation
from .workspace import ROOT, Workspace

DATA = ROOT / "data"
WORKSPACES = ROOT / "workspaces"
#: The South Yorkshire demo's crime: one zip laid out like a police.uk download
#: (``YYYY-MM/YYYY-MM-south-yorkshire-street.csv`` and
#: ``YYYY-MM/YYYY-MM-neighbouring-forces-street.csv``); built by
#: ``scripts/pack_crime_archive.py``.
SY_CRIME_ARCHIVE = DATA / "south-yorkshire" / "crime" / "south-yorkshire-street-2024-01-to-2025-06.zip"

PORTLAND_MAPPING = ColumnMapping(
    name="portland-cfs", category="CALL GROUPS", subcategory="CASE DESC", timestamp="occ_date",
    x="x_coordinate", y="y_coordinate", crs="EPSG:2913", layer="calls",
)


def build_south_yorkshire(path=WORKSPACES / "south-yorkshire.gpkg", data=DATA, progress=print) -> Path:
    path = Path(path)
    tmp = path.with_suffix(".building.gpkg")
    tmp.unlink(missing_ok=True)
    b = data / "boundaries" / "south-yorkshire"
    ws = Workspace.create(tmp, name="South Yorkshire", crs="EPSG:27700", force="South Yorkshire")
    progress("  boundaries: districts (BCUs) and neighbouring districts")
    ws.import_boundaries(b / "districts-and-neighbours-2013.geojson", level="bcu", name_field="LAD13NM",
                         code_field="LAD13CD", force_field="police_force")
    ws.derive_force_level()
    for lad in ("E08000016", "E08000017", "E08000018", "E08000019"):
        progress(f"  boundaries: wards and LSOAs of {lad}")
        ws.import_boundaries(b / f"wards_{lad}.geojson", level="ward", name_field="WD13NM", code_field="WD13CD",
                             force="South Yorkshire")
        ws.import_boundaries(b / f"lsoa_{lad}.geojson", level="lsoa", name_field="LSOA11NM",
                             code_field="LSOA11CD", force="South Yorkshire")
    _set_parent(ws, "ward")
    _set_parent(ws, "lsoa")
    progress("  boundaries: Sheffield neighbourhoods")
    _import_neighbourhoods(ws, b / "sheffield-neighbourhoods.geojson")
    archive = data / "south-yorkshire" / "crime" / SY_CRIME_ARCHIVE.name
    progress(f"  crime: {archive.name}")
    r = ws.import_crime(archive)
    progress(f"    {len(r.files)} files, {r.rows_read:,} rows: "
             + ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in r.outcomes.items()))
    progress("  sites: schools and health sites")
    ws.import_sites(data / "south-yorkshire" / "sites" / "schools-2019.csv")
    ws.import_sites(data / "south-yorkshire" / "sites" / "health-sites-2014.csv")
    progress("  operations: demo operations for results analysis")
    add_demo_operations(ws, "south-yorkshire")
    ws.close()
    tmp.replace(path)
    return path


def _set_parent(ws: Workspace, level: str) -> None:
    """Give each unit of ``level`` the code of the BCU containing its centre."""
    units = ws.store.read_boundaries(level)
    bcu = ws.bcus()
    pts = gpd.GeoDataFrame(units.drop(columns="geometry"), geometry=units.representative_point(), crs=units.crs)
    joined = gpd.sjoin(pts, bcu[["code", "geometry"]].rename(columns={"code": "bcu_code"}), how="left",
                       predicate="within")
    units["parent_code"] = joined["bcu_code"].fillna("").to_numpy()
    ws.import_boundaries(units.reset_index(drop=True), level=level, name_field="name", code_field="code",
                         parent_field="parent_code", force_field="force", layer=f"{level} units with their BCU")


def _import_neighbourhoods(ws: Workspace, path: Path) -> None:
    g = gpd.read_file(path)
    g["code"] = ["SHF-" + "".join(ch for ch in n.upper() if ch.isalnum())[:24] + f"-{i}" for i, n in enumerate(g["name"])]
    g["bcu"] = "E08000019"
    ws.import_boundaries(g, level="neighbourhood", name_field="name", code_field="code", parent_field="bcu",
                         force="South Yorkshire", layer=path.name)


def build_portland(path=WORKSPACES / "portland.gpkg", data=DATA, progress=print) -> Path:
    path = Path(path)
    tmp = path.with_suffix(".building.gpkg")
    tmp.unlink(missing_ok=True)
    ws = Workspace.create(tmp, name="Portland", crs="EPSG:26910", force="Portland Police Bureau")
    shp = data / "boundaries" / "portland" / "police-districts.shp"
    progress("  boundaries: precincts (command units) and districts")
    d = gpd.read_file(shp)
    d["PRECINCT"] = d["PRECINCT"].astype(str)
    precincts = d.dissolve(by="PRECINCT", as_index=False)
    names = {"NO": "North Precinct", "CE": "Central Precinct", "EA": "East Precinct"}
    precincts["name"] = precincts["PRECINCT"].map(names).fillna(precincts["PRECINCT"])
    precincts["force"] = "Portland Police Bureau"
    ws.import_boundaries(precincts, level="bcu", name_field="name", code_field="PRECINCT", force_field="force",
                         layer="precincts dissolved from police-districts.shp")
    ws.derive_force_level()
    ws.import_boundaries(shp, level="neighbourhood", name_field="DISTRICT", code_field="DISTRICT",
                         parent_field="PRECINCT", force="Portland Police Bureau")
    progress("  calls for service: August 2016")
    r = ws.import_calls(data / "portland" / "calls-for-service-2016-08.csv", PORTLAND_MAPPING)
    progress("    " + ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in r.outcomes.items()))
    progress("  operations: demo operation for results analysis")
    add_demo_operations(ws, "portland")
    ws.close()
    tmp.replace(path)
    return path


#: Demo operations (results analysis): two one-month operations in March 2025 in South
#: Yorkshire (default windows: before = Feb 2025, after = Apr 2025), one in Sheffield
#: city centre and one on the Sheffield / Rotherham / Derbyshire boundary. March 2025
#: leaves 14 months of history before (2024-01 … 2025-02, for pre-trends and the same
#: months a year earlier) and three after (2025-04 … 06); the neighbouring forces are
#: covered for 2025-01 … 06. One week in mid-August 2016 in Portland
#: (day windows: 8-14 Aug before, 22-28 Aug after). They are illustrations, not real
#: operations.
DEMO_OPERATIONS = {
    "south-yorkshire": (
        Operation(name="Op Central (demo)", bcu="E08000019", tactic="Crackdown / high-visibility patrol",
                  start="2025-03-01", end="2025-03-31", target_kind="unit", target_unit="ward:E05001045",
                  targeted_harms=["Violence and sexual offences", "Anti-social behaviour"],
                  notes="Demo: Sheffield city-centre ward, March 2025.", op_id="demo-sy-central"),
        Operation(name="Op Beighton (demo)", bcu="E08000019", tactic="Warrant or closure order",
                  start="2025-03-01", end="2025-03-31", target_kind="unit", target_unit="ward:E05001041",
                  targeted_harms=[], notes="Demo: ward on the Rotherham and Derbyshire boundaries, March 2025.",
                  op_id="demo-sy-beighton"),
    ),
    "portland": (
        Operation(name="Op Old Town (demo)", bcu="CE", tactic="Test purchase", start="2016-08-15",
                  end="2016-08-21", target_kind="point_radius", lon=-122.6735, lat=45.5230, radius_m=600.0,
                  targeted_harms=[], notes="Demo: one week in mid-August 2016, day windows.",
                  op_id="demo-pdx-oldtown"),
    ),
}


def add_demo_operations(ws: Workspace, which: str) -> int:
    """Save the demo operations of `which` that the register does not hold yet; returns how many."""
    have = {o.name for o in ws.operations()}
    added = 0
    for op in DEMO_OPERATIONS.get(which, ()):
        if op.name not in have:
            ws.save_operation(op)
            added += 1
    return added


def ensure_demo_workspaces(folder=WORKSPACES, progress=print) -> list[Path]:
    """Build any bundled demo workspace that is not there yet."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for name, build in (("south-yorkshire.gpkg", build_south_yorkshire), ("portland.gpkg", build_portland)):
        p = folder / name
        if not p.exists():
            progress(f"Building demo workspace {p} ...")
            build(p, progress=progress)
            progress(f"  done: {p}")
        out.append(p)
    return out
