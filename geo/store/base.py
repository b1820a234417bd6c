"""The :class:`Store` protocol: everything callers need from a workspace store.

Two backends implement it: :class:`~geo.store.gpkg.GpkgStore` (one GeoPackage file, the
embedded default) and :class:`~geo.store.postgis.PostgisStore` (a schema in a shared
PostgreSQL/PostGIS database). ``tests/store_contract.py`` is the behaviour both must
show; a new backend passes it before anything else uses it.

Also here: what the backends share and that is not tied to one database, i.e. the
64-bit incident keys (:func:`uid_keys`), the one error type (:class:`StoreError`), the
columns of each table and the kill-mid-save test hook (:func:`fault_point`).
"""
from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from typing import Iterable, Protocol, runtime_checkable

import geopandas as gpd
import numpy as np
import pandas as pd

from ..errors import GeoInputError

SCHEMA_VERSION = 2

#: Stored incident columns (besides the geometry), in table order.
INCIDENT_FIELDS = ("uid", "uid_key", "layer", "source", "import_id", "crime_id", "month", "date", "category",
                   "subcategory", "force", "location", "lsoa_code", "lsoa_name", "outcome", "x", "y", "status")
#: What ``read_incidents`` returns (besides the geometry), in order.
INCIDENT_READ = tuple(c for c in INCIDENT_FIELDS if c != "uid_key")
SITE_FIELDS = ("uid", "kind", "name", "detail", "source", "status")
BOUNDARY_FIELDS = ("level", "code", "name", "parent_code", "force")
OPERATION_FIELDS = ("op_id", "name", "record", "updated_at")
#: Columns compared to tell an updated police.uk row from an unchanged one.
CONTENT_FIELDS = ("crime_id", "month", "category", "force", "location", "lsoa_code", "lsoa_name", "outcome", "status")
HISTORY_FIELDS = ("id", "imported_at", "kind", "source", "rows_read", "mapped", "no_location", "outside_area",
                  "rejected", "new", "duplicates")


class StoreError(GeoInputError, sqlite3.OperationalError):
    """The workspace could not be written or read (disk full, locked, read-only, server down).

    A :class:`~geo.errors.GeoInputError`, so that pages and the command line show its
    message, and an ``sqlite3.OperationalError``, so that code catching SQLite's own
    error still does. The transaction has been rolled back and the store is unchanged.
    """


@runtime_checkable
class Store(Protocol):
    """What analysis code, the services and the pages need from a workspace store.

    Every write is one transaction: it commits whole or leaves the previous state.
    Errors a user can act on are :class:`StoreError`. Frames come back in the analysis
    CRS (``crs``).
    """

    crs: str
    #: Where the store lives, for messages: a file path or a URL without its password.
    location: str

    # lifecycle
    def close(self) -> None: ...
    def version(self) -> str:
        """Changes whenever any write commits (cache key for readers in other processes)."""
        ...
    def integrity_ok(self) -> bool: ...

    # incidents
    def append_incidents(self, frame: gpd.GeoDataFrame, report, *,
                         replace_months: bool = False) -> tuple[int, int]: ...
    def read_incidents(self, *, layer: str | None = None, months: tuple[str, str] | None = None,
                       categories: Iterable[str] | None = None, statuses: Iterable[str] | None = None,
                       bbox: tuple[float, float, float, float] | None = None,
                       bcus: Iterable[str] | None = None) -> gpd.GeoDataFrame: ...
    def incident_summary(self) -> pd.DataFrame: ...
    def layer_id_style(self, layer: str) -> str | None: ...
    def layers(self) -> list[str]: ...
    def months(self, layer: str | None = None) -> list[str]: ...
    def categories(self, layer: str | None = None) -> list[str]: ...

    # sites, boundaries
    def upsert_sites(self, frame: gpd.GeoDataFrame, report) -> tuple[int, int]: ...
    def read_sites(self, *, with_import_id: bool = False) -> gpd.GeoDataFrame: ...
    def replace_boundaries(self, frame: gpd.GeoDataFrame, report) -> None: ...
    def read_boundaries(self, level: str | None = None, *, with_import_id: bool = False) -> gpd.GeoDataFrame: ...
    def boundary_levels(self) -> list[str]: ...

    # settings, harm weights
    def get_setting(self, key: str, default=None): ...
    def set_setting(self, key: str, value) -> None: ...
    def settings(self) -> dict: ...
    def harm_weights(self) -> pd.DataFrame: ...
    def set_harm_weights(self, table: pd.DataFrame) -> None: ...

    # operations
    def save_operation(self, op_id: str, name: str, record: dict, geometry) -> None: ...
    def delete_operation(self, op_id: str) -> None: ...
    def read_operations(self) -> gpd.GeoDataFrame: ...

    # history, audit
    def import_history(self) -> pd.DataFrame: ...
    def import_report(self, import_id: int) -> dict: ...
    def rejected_rows(self, import_id: int | None = None) -> pd.DataFrame: ...
    def audit(self, user: str, action: str, detail: str = "", *,
              busy_timeout_s: float | None = None) -> tuple[int, int] | None:
        """Append one audit entry. A file store returns its modification time (ns) before and after the
        write (an audit entry changes no data, so caches keyed by the file's time may keep theirs); else None."""
    def audit_log(self) -> pd.DataFrame: ...


def uid_keys(uids) -> np.ndarray:
    """64-bit keys of incident ids (FNV-1a over their UTF-8 bytes), for the unique index.

    FNV-1a is a fixed, published algorithm, so keys are stable across versions and
    platforms (unlike Python's or pandas' hashes), and it vectorises: a million ids take
    well under a second. With 64 bits, two different ids share a key with probability
    about n^2 / 2^65 (3e-8 for a million rows).

    Examples
    --------
    >>> int(uid_keys(["a"])[0]) == int.from_bytes((0xaf63dc4c8601ec8c).to_bytes(8, "little"), "little", signed=True)
    True
    """
    enc = np.array([u.encode("utf-8") for u in uids] if len(uids) else [b""], dtype=bytes)
    n, width = len(uids), enc.dtype.itemsize
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    data = enc.view(np.uint8).reshape(n, width)
    lengths = np.char.str_len(enc)
    h = np.full(n, 0xCBF29CE484222325, dtype=np.uint64)
    prime = np.uint64(0x100000001B3)
    with np.errstate(over="ignore"):
        for i in range(width):
            live = lengths > i
            h = np.where(live, (h ^ data[:, i].astype(np.uint64)) * prime, h)
    return h.view(np.int64)


def first_of_each(keys: np.ndarray) -> np.ndarray:
    """Boolean mask: True at the first occurrence of each key (repeats within one import)."""
    first = np.zeros(len(keys), dtype=bool)
    first[np.unique(keys, return_index=True)[1]] = True
    return first


def now_text() -> str:
    """The time of a write, as stored (local time, seconds)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S")


def fault_point() -> None:
    """Test hook: with GEO_FAULT_PAUSE=<file> set, signal and wait just before a commit.

    The kill-mid-save test uses it to SIGKILL a real import at the worst moment (rows
    written, transaction not yet committed).
    """
    flag = os.environ.get("GEO_FAULT_PAUSE")
    if flag:
        Path(flag).write_text("in transaction")
        time.sleep(60)


def check_crs(crs):
    """The analysis CRS as ``(pyproj.CRS, EPSG code or 999999)``; refuses unknown or non-metric ones."""
    from pyproj import CRS
    try:
        crs_obj = CRS.from_user_input(crs)
    except Exception:
        raise GeoInputError(f"Unknown CRS '{crs}'", fix="give an EPSG code such as EPSG:27700") from None
    if not crs_obj.is_projected or crs_obj.axis_info[0].unit_name not in ("metre", "meter"):
        raise GeoInputError(
            f"The analysis CRS must be projected in metres; {crs} is not",
            fix="use a metric CRS, e.g. EPSG:27700 (Great Britain) or a UTM zone such as EPSG:26910",
        )
    return crs_obj, crs_obj.to_epsg() or 999999
