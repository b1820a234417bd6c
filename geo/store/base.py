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


def read_columns(columns: Iterable[str] | None) -> tuple[str, ...]:
    """The incident columns a ``read_incidents(columns=)`` reads: those asked for, in
    :data:`INCIDENT_READ` order, always with ``x`` and ``y`` (the geometry is built from
    them); every column if ``None``.

    Raises
    ------
    GeoInputError
        For a name that is not an incident column.
    """
    if columns is None:
        return INCIDENT_READ
    asked = set(columns)
    unknown = sorted(asked - set(INCIDENT_READ) - {"geometry"})
    if unknown:
        raise GeoInputError(f"Unknown incident column(s): {', '.join(unknown)}", where="read_incidents(columns=)",
                            fix=f"use some of: {', '.join(INCIDENT_READ)}")
    return tuple(c for c in INCIDENT_READ if c in asked or c in ("x", "y"))
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
                       bcus: Iterable[str] | None = None,
                       columns: Iterable[str] | None = None) -> gpd.GeoDataFrame: ...
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

    # finished results analyses (a cache: never part of the data, never in ``version``'s data counters)
    def save_result(self, key: str, op_id: str, blob: bytes, *, keep: int = 8) -> tuple[int, int] | None:
        """Store one finished analysis under ``key`` (replacing one with the same key) in one write,
        keeping the newest ``keep`` of operation ``op_id``. Returns what :meth:`audit` returns: a file
        store's modification time before and after (a stored result changes no data)."""
    def load_result(self, key: str) -> bytes | None:
        """The analysis stored under ``key``, or ``None``."""


#: Bytes gathered at once by :func:`uid_keys` (bounds its working memory: 8 bytes each).
UID_HASH_BLOCK = 4_000_000


def uid_keys(uids) -> np.ndarray:
    """64-bit keys of incident ids (FNV-1a over their UTF-8 bytes), for the unique index.

    FNV-1a is a fixed, published algorithm, so keys are stable across versions and
    platforms (unlike Python's or pandas' hashes), and it vectorises: the ids' UTF-8 bytes
    are read straight from an Arrow string buffer and hashed one byte position at a time
    for all ids at once (a million ids: a fraction of a second, no Python object per id).
    With 64 bits, two different ids share a key with probability about n^2 / 2^65 (3e-8
    for a million rows). Trailing NUL bytes of an id are not hashed (as when ids were
    hashed from NumPy byte strings, which drop them), so stored keys never change.

    Parameters
    ----------
    uids : sequence of str, pandas.Series or pyarrow string array
        The ids (no missing values).

    Returns
    -------
    numpy.ndarray of int64
        The FNV-1a hashes, as signed 64-bit integers (SQLite's INTEGER).

    References
    ----------
    Fowler, G., Noll, L. C., Vo, K.-P. and Eastlake, D. (2019). The FNV Non-Cryptographic
    Hash Algorithm. IETF draft-eastlake-fnv-17.

    Examples
    --------
    >>> int(uid_keys(["a"])[0]) == int.from_bytes((0xaf63dc4c8601ec8c).to_bytes(8, "little"), "little", signed=True)
    True
    """
    import pyarrow as pa

    arr = _utf8_array(uids)
    n = len(arr)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    arr = arr.cast(pa.large_string()) if arr.type != pa.large_string() else arr
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset:arr.offset + n + 1]
    data_buf = arr.buffers()[2]
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
    starts = offsets[:-1]
    lengths = np.diff(offsets)
    while True:  # drop trailing NUL bytes (rare: one pass finds none)
        ends = starts + lengths - 1
        nul = lengths > 0
        nul[nul] = data[ends[nul]] == 0
        if not nul.any():
            break
        lengths = lengths - nul
    h = np.full(n, 0xCBF29CE484222325, dtype=np.uint64)
    prime = np.uint64(0x100000001B3)
    # ids of one length are hashed together, a block of rows at a time: their bytes are
    # gathered once into a (position, row) matrix, so each byte position is one contiguous
    # xor and multiply (police.uk ids are mostly 64 hex characters: one length)
    by_length = np.argsort(lengths, kind="stable")
    bounds = np.flatnonzero(np.diff(lengths[by_length])) + 1
    with np.errstate(over="ignore"):
        for group in np.split(by_length, bounds):
            width = int(lengths[group[0]]) if len(group) else 0
            if not width:
                continue
            step = max(1, UID_HASH_BLOCK // width)
            for a in range(0, len(group), step):
                rows = group[a:a + step]
                block = data[starts[rows][None, :] + np.arange(width)[:, None]].astype(np.uint64)
                hb = h[rows]
                for byte in block:
                    hb ^= byte
                    hb *= prime
                h[rows] = hb
    return h.view(np.int64)


def _utf8_array(uids):
    """The ids as one pyarrow string array (zero-copy from an Arrow-backed pandas column)."""
    import pyarrow as pa
    if isinstance(uids, (pa.Array, pa.ChunkedArray)):
        arr = uids
    else:
        values = getattr(uids, "array", None)
        try:
            arr = pa.array(values if values is not None else list(uids), type=pa.string())
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            arr = pa.array([str(u) for u in uids], type=pa.string())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if arr.type not in (pa.string(), pa.large_string()):
        arr = arr.cast(pa.string())
    if arr.null_count:
        raise ValueError("incident ids must not be missing")
    return arr


def first_of_each(keys: np.ndarray) -> np.ndarray:
    """Boolean mask: True at the first occurrence of each key (repeats within one import).

    A hash table (pandas' ``duplicated``), not a sort: the same mask as marking the index
    ``np.unique(keys, return_index=True)`` returns, in a third of the time on a million keys.
    """
    return ~pd.Series(np.asarray(keys)).duplicated(keep="first").to_numpy()


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
