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
