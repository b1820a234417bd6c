"""Offline basemaps: a raster MBTiles file unpacked into tiles the dashboard serves itself.

A force that wants streets under its maps, with no tile server reachable, exports a
raster MBTiles file for its area (from QGIS: *Generate XYZ tiles (MBTiles)*, or a file a
GIS team already has) and installs it::

    python -m geo tiles install streets.mbtiles --workspace workspaces/south-yorkshire.gpkg

:func:`install_mbtiles` checks the file (an SQLite MBTiles 1.x file of PNG, JPEG or WebP
tiles; vector ``pbf`` tiles are refused, since the maps draw raster tiles), checks its size
before anything is written, and unpacks the tiles into
``dashboard/static/tiles/<name>/{z}/{x}/{y}.<ext>`` (Streamlit serves ``dashboard/static``
at ``/app/static``), under a name made from letters and digits only (never a path from the
file). The folder is written beside the old one and swapped in whole, so a kill mid-install
leaves the old tiles. The workspace's ``tile_url`` and ``tile_attribution`` settings then
point the maps at them; nothing leaves the machine.

References
----------
MBTiles 1.3 specification, https://github.com/mapbox/mbtiles-spec (rows are TMS:
``tile_row`` counts from the south, so the XYZ ``y`` is ``2**z - 1 - tile_row``).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import uuid
from dataclasses import dataclass
from pathlib import Path

from .errors import GeoInputError

#: Where Streamlit serves the tiles from (``enableStaticServing`` serves ``dashboard/static``).
STATIC_TILES = Path(__file__).resolve().parents[1] / "dashboard" / "static" / "tiles"
#: The URL prefix of :data:`STATIC_TILES` in the browser.
URL_PREFIX = "/app/static/tiles"
#: Most tiles and bytes one file may unpack to (a force at zoom 8-16 is ~100,000 tiles).
MAX_TILES = 1_000_000
MAX_BYTES = 4 * 1024**3

_MAGIC = {"png": (b"\x89PNG\r\n\x1a\n",), "jpg": (b"\xff\xd8\xff",), "webp": (b"RIFF",)}
_FORMATS = {"png": "png", "jpg": "jpg", "jpeg": "jpg", "webp": "webp"}


@dataclass(frozen=True)
class TileSet:
    """An installed basemap: its folder, URL template, attribution and size."""

    name: str
    folder: Path
    url: str
    attribution: str
    tiles: int
    zooms: tuple[int, int]


def slug(text: str) -> str:
    """A folder name from ``text``: lower-case letters, digits and hyphens only (at most 40)."""
    out = re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")[:40].strip("-")
    return out or "basemap"


def _connect(path: Path) -> sqlite3.Connection:
    path = Path(path)
    if not path.is_file():
        raise GeoInputError(f"No MBTiles file at {path}", where=str(path), fix="give the path of a .mbtiles file")
    with open(path, "rb") as fh:
        head = fh.read(16)
    if head != b"SQLite format 3\x00":
        raise GeoInputError("This is not an MBTiles file (an MBTiles file is an SQLite database)",
                            where=str(path), fix="export the basemap as MBTiles (QGIS: Generate XYZ tiles (MBTiles))")
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
    missing = {"metadata", "tiles"} - names
    if missing:
        con.close()
        raise GeoInputError(f"This SQLite file has no {' or '.join(sorted(missing))} table, so it is not MBTiles",
                            where=str(path), fix="export the basemap as MBTiles (tables 'metadata' and 'tiles')")
    return con


def mbtiles_info(path) -> dict:
    """Read and check an MBTiles file's metadata and size, writing nothing.

    Returns
    -------
    dict
        ``name``, ``format`` (``png``/``jpg``/``webp``), ``attribution``, ``tiles``,
        ``bytes``, ``zooms`` (min, max).

    Raises
    ------
    GeoInputError
        Not MBTiles; vector tiles; an unknown format; more than :data:`MAX_TILES` tiles or
        :data:`MAX_BYTES` bytes; a tile outside its zoom level's grid.
    """
    path = Path(path)
    con = _connect(path)
    try:
        meta = dict(con.execute("SELECT name, value FROM metadata").fetchall())
        fmt = str(meta.get("format", "png")).strip().lower()
        if fmt == "pbf":
            raise GeoInputError("This MBTiles file holds vector tiles (format 'pbf'); the maps draw raster tiles",
                                where=str(path), fix="render it to a raster MBTiles (PNG or JPEG) first, e.g. with "
                                                     "QGIS Generate XYZ tiles (MBTiles)")
        if fmt not in _FORMATS:
            raise GeoInputError(f"Unknown tile format {fmt!r} in the MBTiles metadata", where=f"{path}: metadata.format",
                                fix="use PNG, JPEG or WebP tiles")
        n, size, zmin, zmax = con.execute(
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(tile_data)), 0), MIN(zoom_level), MAX(zoom_level) FROM tiles"
        ).fetchone()
        if not n:
            raise GeoInputError("The MBTiles file holds no tiles", where=str(path), fix="export the area again")
        if n > MAX_TILES or size > MAX_BYTES:
            raise GeoInputError(f"The MBTiles file holds {n:,} tiles ({size / 1024**2:,.0f} MB): more than this "
                                f"install takes ({MAX_TILES:,} tiles, {MAX_BYTES / 1024**3:.0f} GB)", where=str(path),
                                fix="export fewer zoom levels (e.g. 8-16) or a smaller area")
        bad = con.execute("SELECT zoom_level, tile_column, tile_row FROM tiles WHERE zoom_level < 0 OR zoom_level > 24 "
                          "OR tile_column < 0 OR tile_row < 0 OR tile_column >= (1 << zoom_level) "
                          "OR tile_row >= (1 << zoom_level) OR typeof(zoom_level) != 'integer' "
                          "OR typeof(tile_column) != 'integer' OR typeof(tile_row) != 'integer' LIMIT 1").fetchone()
        if bad:
            raise GeoInputError(f"A tile lies outside its zoom level's grid: zoom {bad[0]!r}, column {bad[1]!r}, "
                                f"row {bad[2]!r}", where=f"{path}: tiles", fix="export the basemap again")
    finally:
        con.close()
    return {"name": str(meta.get("name") or path.stem), "format": _FORMATS[fmt],
            "attribution": str(meta.get("attribution") or ""), "tiles": int(n), "bytes": int(size),
            "zooms": (int(zmin), int(zmax))}


def install_mbtiles(path, *, name: str | None = None, dest: Path | None = None) -> TileSet:
    """Unpack a raster MBTiles file into ``dest/<name>/{z}/{x}/{y}.<ext>`` (whole, or not at all).

    Parameters
    ----------
    path : path-like
        The MBTiles file (checked by :func:`mbtiles_info` first).
    name : str, optional
        The basemap's name (default: the file's ``name`` metadata); its folder is
        :func:`slug` of it.
    dest : Path, optional
        Folder of basemaps, default :data:`STATIC_TILES`.

    Returns
    -------
    TileSet
        With the URL template to store as the workspace's ``tile_url``.
    """
    path = Path(path)
    info = mbtiles_info(path)
    dest = Path(dest) if dest is not None else STATIC_TILES
    folder_name = slug(name or info["name"])
    ext = info["format"]
    dest.mkdir(parents=True, exist_ok=True)
    tmp = dest / f".{folder_name}.{uuid.uuid4().hex}.part"
    con = _connect(path)
    written = 0
    try:
        cur = con.execute("SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles")
        made: set[tuple[int, int]] = set()
        for z, x, row, blob in cur:
            blob = bytes(blob or b"")
            if not blob.startswith(_MAGIC[ext]):
                raise GeoInputError(f"Tile zoom {z}, column {x}, row {row} is not a {ext.upper()} image",
                                    where=f"{path}: tiles", fix="export the basemap again as PNG or JPEG")
            y = (1 << z) - 1 - row  # TMS row -> XYZ y
            if (z, x) not in made:
                (tmp / str(z) / str(x)).mkdir(parents=True, exist_ok=True)
                made.add((z, x))
            (tmp / str(z) / str(x) / f"{y}.{ext}").write_bytes(blob)
            written += 1
        con.close()
        (tmp / "tileset.json").write_text(json.dumps(
            {"format": ext, "attribution": info["attribution"], "tiles": written, "zooms": list(info["zooms"])}))
        final = dest / folder_name
        old = dest / f".{folder_name}.{uuid.uuid4().hex}.old"
        if final.exists():
            os.replace(final, old)
        os.replace(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        con.close()
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return TileSet(name=folder_name, folder=final, url=f"{URL_PREFIX}/{folder_name}/{{z}}/{{x}}/{{y}}.{ext}",
                   attribution=info["attribution"], tiles=written, zooms=info["zooms"])


def installed(dest: Path | None = None) -> list[TileSet]:
    """The basemaps installed under ``dest`` (default :data:`STATIC_TILES`), by name."""
    dest = Path(dest) if dest is not None else STATIC_TILES
    if not dest.is_dir():
        return []
    out = []
    for folder in sorted(dest.iterdir()):
        meta = folder / "tileset.json"
        if folder.name.startswith(".") or not meta.is_file():
            continue  # a half-written install (".name.part") or not ours
        try:
            m = json.loads(meta.read_text())
            ext = _FORMATS[str(m["format"])]
            out.append(TileSet(name=folder.name, folder=folder, url=f"{URL_PREFIX}/{folder.name}/{{z}}/{{x}}/{{y}}.{ext}",
                               attribution=str(m.get("attribution", "")), tiles=int(m.get("tiles", 0)),
                               zooms=tuple(int(z) for z in m.get("zooms", (0, 0)))))
        except (ValueError, KeyError, TypeError):
            continue
    return out
