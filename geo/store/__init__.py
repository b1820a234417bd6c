"""Workspace stores behind one protocol (:class:`Store`, ``base.py``).

``gpkg.py``: :class:`GpkgStore`, one GeoPackage file per workspace (the embedded
default). ``postgis.py``: :class:`PostgisStore`, one schema per workspace in a shared
PostgreSQL/PostGIS database, chosen by a ``postgresql://`` workspace location or the
``GEO_STORE`` setting (:func:`open_store`). ``tests/store_contract.py`` is the behaviour
every backend shows.
"""
from __future__ import annotations

from .base import SCHEMA_VERSION, Store, StoreError, uid_keys
from .gpkg import INSERT_CHUNK, GpkgStore

__all__ = ["SCHEMA_VERSION", "INSERT_CHUNK", "Store", "StoreError", "GpkgStore", "uid_keys"]


def store_url(location) -> str | None:
    """The PostGIS URL a workspace location names, or ``None`` for a GeoPackage file.

    A ``postgresql://`` location is used as it is. Otherwise, with the setting
    ``GEO_STORE=postgresql://...`` (the environment variable), a file path names the
    workspace of that name (the file's stem) on that server, so ``make run-postgis``
    and the command line reach the shared database with the usual paths.
    """
    import os
    from pathlib import Path

    from .postgis import is_url
    if is_url(location):
        return str(location)
    server = os.environ.get("GEO_STORE", "").strip()
    if not server or server.lower() in ("gpkg", "geopackage"):
        return None
    if not is_url(server):
        from ..errors import GeoInputError
        raise GeoInputError(f"GEO_STORE must be a postgresql:// URL or 'gpkg', got {server!r}",
                            where="the GEO_STORE setting", fix="e.g. GEO_STORE=postgresql://geo@localhost:5432/geo")
    sep = "&" if "?" in server else "?"
    from urllib.parse import quote
    return f"{server}{sep}workspace={quote(Path(str(location)).stem)}"


def open_store(location, *, crs: str | None = None, create: bool = False) -> Store:
    """The store a workspace location names: PostGIS for a URL (or with ``GEO_STORE``), else a GeoPackage.

    Parameters
    ----------
    location : str or Path
        A ``.gpkg`` path or ``postgresql://user@host:port/db?workspace=NAME``.
    crs : str, optional
        Analysis CRS, needed with ``create``.
    create : bool
        Make a new workspace (refused where one exists); otherwise open an existing one.
    """
    from pathlib import Path

    from ..errors import GeoInputError
    url = store_url(location)
    if url is not None:
        from .postgis import PostgisStore
        return PostgisStore(url, crs, create=create)
    path = Path(location)
    if create and path.exists():
        raise GeoInputError("A workspace file already exists there", where=str(path),
                            fix="open it instead, or choose another file name")
    return GpkgStore(path, crs=crs if create else None)


__all__ += ["open_store", "store_url"]
