"""GeoPackage plumbing for :class:`~geo.store.gpkg.GpkgStore`: the table layout, the
schema creation, GeoPackage binary geometries and the wording of SQLite errors.

The tables are written with plain SQL (GeoPackage binary geometry built from WKB)
rather than through GDAL, which keeps rows and their bookkeeping (import history,
de-duplication) in the same transaction.
"""
from __future__ import annotations

import json
import sqlite3
import struct
from typing import Iterable

import numpy as np
import pandas as pd
import shapely

from .base import SCHEMA_VERSION, StoreError, now_text

#: Rows converted and inserted per batch (bounds the memory of the Python objects SQLite binds).
INSERT_CHUNK = 100_000

TEXT = "TEXT"
REAL = "REAL"
INT = "INTEGER"

# feature tables: name -> (geometry type, [(column, type), ...])
FEATURE_TABLES = {
    "incidents": ("POINT", [
        ("uid", TEXT), ("uid_key", INT), ("layer", TEXT), ("source", TEXT), ("import_id", INT), ("crime_id", TEXT),
        ("month", TEXT), ("date", TEXT), ("category", TEXT), ("subcategory", TEXT), ("force", TEXT),
        ("location", TEXT), ("lsoa_code", TEXT), ("lsoa_name", TEXT), ("outcome", TEXT),
        ("x", REAL), ("y", REAL), ("status", TEXT),
    ]),
    "sites": ("POINT", [("uid", TEXT), ("kind", TEXT), ("name", TEXT), ("detail", TEXT),
                        ("source", TEXT), ("status", TEXT), ("import_id", INT)]),
    "boundaries": ("MULTIPOLYGON", [("level", TEXT), ("code", TEXT), ("name", TEXT),
                                    ("parent_code", TEXT), ("force", TEXT), ("import_id", INT)]),
    "operations": ("MULTIPOLYGON", [("op_id", TEXT), ("name", TEXT), ("record", TEXT),
                                    ("updated_at", TEXT)]),
}
ATTRIBUTE_TABLES = {
    "settings": "key TEXT PRIMARY KEY, value TEXT NOT NULL",
    "harm_weights": "category TEXT PRIMARY KEY, weight REAL NOT NULL, basis TEXT, source TEXT",
    "import_history": ("id INTEGER PRIMARY KEY AUTOINCREMENT, imported_at TEXT, kind TEXT, source TEXT, "
                       "rows_read INTEGER, mapped INTEGER, no_location INTEGER, outside_area INTEGER, "
                       "rejected INTEGER, new INTEGER, duplicates INTEGER, report TEXT"),
    "rejected_rows": ("uid TEXT PRIMARY KEY, import_id INTEGER, file TEXT, row INTEGER, "
                      "column_name TEXT, reason TEXT, raw TEXT"),
    "audit_log": "id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT, user TEXT, action TEXT, detail TEXT",
}
#: The audit log is append-only: these triggers refuse UPDATE and DELETE on it for every
#: writer of the file (this code, QGIS, the sqlite3 shell), so no import, save or stray
#: statement can rewrite or trim it. Created with a new file and added to older files on open.
AUDIT_TRIGGERS = {
    "audit_log_no_update": "CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log "
                           "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: entries cannot be changed'); END",
    "audit_log_no_delete": "CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log "
                           "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: entries cannot be deleted'); END",
}
#: The key index makes de-duplication a lookup per new row, and the group index finds a
#: republished force-month's held rows, so adding a month costs what the month costs, not
#: what is stored (issue 11). Added to older files on open.
KEY_INDEXES = ["CREATE INDEX IF NOT EXISTS incidents_uid_key ON incidents(uid_key)",
               "CREATE INDEX IF NOT EXISTS incidents_group ON incidents(layer, force, month)"]
def index_name(sql: str) -> str:
    """The index a ``CREATE INDEX IF NOT EXISTS name ON ...`` statement creates."""
    return sql.split(" ON ", 1)[0].split()[-1]


INDEXES = [
    *KEY_INDEXES,
    "CREATE UNIQUE INDEX IF NOT EXISTS sites_uid ON sites(uid)",
    "CREATE UNIQUE INDEX IF NOT EXISTS boundaries_level_code ON boundaries(level, code)",
    "CREATE UNIQUE INDEX IF NOT EXISTS operations_op_id ON operations(op_id)",
]


def store_error(err: sqlite3.Error, path) -> StoreError:
    """Word an SQLite error for the user (the cause, not SQLite's follow-on complaint)."""
    text = str(err).lower()
    where = str(path)
    if "full" in text:
        return StoreError("The workspace could not be saved: the disk (or the database's size limit) is full; "
                          "nothing was changed", where=where,
                          fix="free disk space on the server (or move the workspaces folder to a larger disk) "
                              "and try again")
    if "locked" in text or "busy" in text:
        return StoreError("The workspace is busy: another import or save held it for longer than the wait "
                          "limit; nothing was changed", where=where,
                          fix="try again in a minute; if it keeps happening, check that no other program "
                              "(QGIS, another import) has the file open for writing")
    if "readonly" in text or "read-only" in text:
        return StoreError("The workspace file is read-only; nothing was changed", where=where,
                          fix="ask the administrator to make the workspaces folder writable by the app")
    if "malformed" in text or "not a database" in text:
        return StoreError(f"The workspace file is damaged ({err})", where=where,
                          fix="restore it from the last backup; the import history shows what to re-import")
    return StoreError(f"The workspace could not be updated ({err}); nothing was changed", where=where,
                      fix="try again; if it keeps happening, report this message")


POINT_BLOB = np.dtype([("head", "S8"), ("order", "u1"), ("type", "<u4"), ("x", "<f8"), ("y", "<f8")])


def point_blobs(x: np.ndarray, y: np.ndarray, srs_id: int) -> list:
    """GeoPackage point geometries built directly from coordinates (None where missing)."""
    a = np.zeros(len(x), dtype=POINT_BLOB)
    a["head"] = b"GP\x00\x01" + struct.pack("<i", srs_id)
    a["order"], a["type"], a["x"], a["y"] = 1, 1, x, y
    out = a.view("V29").tolist()
    for i in np.flatnonzero(~(np.isfinite(x) & np.isfinite(y))):
        out[i] = None
    return out


#: Rows per INSERT statement in :func:`insert_many` (fewer statement steps per row; capped
#: by SQLite's limit on bound values per statement).
ROWS_PER_STATEMENT = 100


#: Incident columns that follow the map point: police.uk publishes each crime at one of a
#: few thousand anonymous points per force, with that point's street and LSOA.
POINT_COLUMNS = ("x", "y", "status", "location", "lsoa_code", "lsoa_name")


def point_groups(rows: pd.DataFrame, cols: list[str], x: np.ndarray, y: np.ndarray):
    """Rows with the same map point and the same values in ``cols``: ``(group of each row,
    first row of each group)``, or ``None`` when rows repeat too little to be worth it.

    Coordinates are compared bit for bit (their int64 view: ``-0.0`` and ``0.0`` differ, as
    do NaNs) and text exactly (missing is its own value), so every row of a group holds
    the same stored values as the group's first row.
    """
    n = len(rows)
    if n < 1000 or not all(isinstance(rows[c].dtype, pd.StringDtype) for c in cols):
        return None  # (an object column may hold 1 and 1.0, equal to factorize, stored differently)
    key = np.zeros(n, dtype=np.int64)
    first = None
    for i, part in enumerate([np.ascontiguousarray(x, dtype=float).view(np.int64),
                              np.ascontiguousarray(y, dtype=float).view(np.int64), *(rows[c] for c in cols)]):
        if i >= 2:  # text: a column with one value in each group so far (a point's street and LSOA)
            first = _lowest_row(key, len(groups)) if first is None else first  # splits nothing:
            if same_within(part, first[key]):  # the same groups, numbered the same, as combining it
                continue
            first = None
        codes, uniques = pd.factorize(part, use_na_sentinel=True)
        # combine with the groups so far, then renumber (keeps the key below n * (k + 1))
        key = key * (len(uniques) + 1) + (codes.astype(np.int64) + 1)
        key, groups = pd.factorize(key)
        if len(groups) > n // 4:
            return None
    return key, _lowest_row(key, len(groups))


def _lowest_row(key: np.ndarray, k: int) -> np.ndarray:
    """The first (lowest) row of each of the ``k`` groups numbered in ``key``."""
    first = np.zeros(k, dtype=np.int64)
    first[key[::-1]] = np.arange(len(key) - 1, -1, -1)  # the lowest row of each group wins
    return first


def same_within(col: pd.Series, rep: np.ndarray) -> bool:
    """Whether every value of the text column ``col`` equals the value at row ``rep`` of its
    row (its group's first row): exactly, with missing equal only to missing (as factorising
    with a missing sentinel compares)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    try:
        a = pa.array(col.array)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        return False
    b = a.take(pa.array(rep))
    if not pc.all(pc.equal(a.is_null(), b.is_null())).as_py():
        return False
    return bool(pc.all(pc.equal(a, b).fill_null(True)).as_py())


def insert_many(c, head: str, row: str, columns: list[list], tail: str = "") -> None:
    """Insert rows given column-wise, many rows per statement: ``head VALUES row, row, ...``.

    The same rows, in the same order, with the same values as ``executemany(head + " VALUES " +
    row, zip(*columns))`` (SQLite inserts the rows of a multi-row ``VALUES`` in order), with a
    statement step and reset per hundred rows instead of per row.

    Parameters
    ----------
    c : sqlite3.Connection
    head : str
        ``INSERT INTO table (columns)``, or an ``INSERT ... SELECT ... FROM (`` whose
        ``tail`` closes the ``VALUES`` list.
    row : str
        One row's ``(?, ?, literal, ...)``, with one ``?`` per list in ``columns``.
    columns : list of list
        The bound values, one equal-length list per ``?``.
    """
    m = len(columns)
    n = len(columns[0]) if m else 0
    if not n:
        return
    per = rows_per_statement(c, m)
    full = n // per * per
    if full and per > 1:
        flat: list = [None] * (m * full)
        for j, col in enumerate(columns):
            flat[j::m] = col[:full] if len(col) != full else col
        it = iter(flat)
        c.executemany(f"{head} VALUES " + ",".join([row] * per) + tail, zip(*[it] * (m * per)))
    else:
        full = 0
    if full < n:
        c.executemany(f"{head} VALUES {row}{tail}", zip(*(col[full:] for col in columns)))


def rows_per_statement(c, m: int) -> int:
    """Rows per statement in :func:`insert_many` for rows of ``m`` bound values."""
    limit = c.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    return max(1, min(ROWS_PER_STATEMENT, limit // max(m, 1)))


def insert_by_point(c, srs_id: int, rows, x, y, keys, groups, into, import_id, bound, pcols, getters, literals):
    """Insert ``rows`` with the columns that follow the map point bound once per point.

    The distinct points (geometry and ``pcols``) go into a temporary table; each row
    binds its point number and its own columns, and ``INSERT ... SELECT`` copies the
    point's values in, rows in their order: the same stored rows as binding every column
    of every row, with a few thousand points bound instead of a million.

    The rows keep their order without an ``ORDER BY`` (which sorted every statement's
    hundred rows: about 1 CPU s per million rows) when SQLite runs the statement as
    :func:`in_values_order` checks: the bound ``VALUES`` scanned in order as the outer
    loop, each row joined to at most one point by its integer key. Otherwise (another
    SQLite's plan) each row also binds its position and the statement sorts by it.
    """
    group, first = groups
    pts = rows.iloc[first]
    c.execute(f"CREATE TEMP TABLE IF NOT EXISTS _pts (pid INTEGER PRIMARY KEY, geom, {', '.join(pcols)})")
    c.execute("DELETE FROM _pts")
    insert_many(c, f"INSERT INTO _pts (pid, geom, {', '.join(pcols)})", f"({','.join('?' * (len(pcols) + 2))})",
                [list(range(len(pts))), point_blobs(x[first], y[first], srs_id),
                 *(bindable(pts[col])(0, len(pts)) for col in pcols)])
    own = [(col, g) for col, g in zip(bound, getters) if col not in pcols]

    def statement(at: int) -> tuple[str, str]:  # the bound values: [position,] point, key, own columns
        pick = [f"p.{col}" if col in pcols else f"v.column{at + 2 + [o for o, _ in own].index(col)}"
                for col in bound]
        head = f"{into} SELECT p.geom, v.column{at + 1}, {int(import_id)}, {', '.join(pick + literals)} FROM ("
        return head, f") AS v CROSS JOIN _pts AS p WHERE p.pid = v.column{at}"
    head, tail = statement(1)
    row = f"({','.join('?' * (2 + len(own)))})"
    ordered = all(in_values_order(c, f"{head}VALUES " + ",".join([row] * k) + tail, k)
                  for k in {1, rows_per_statement(c, 2 + len(own))})  # the two forms insert_many runs
    if not ordered:
        head, tail = statement(2)
        tail += " ORDER BY v.column1"
        row = f"({','.join('?' * (3 + len(own)))})"
    for a in range(0, len(keys), INSERT_CHUNK):
        b = min(a + INSERT_CHUNK, len(keys))
        vals = [group[a:b].tolist(), keys[a:b].tolist(), *(g(a, b) for _, g in own)]
        if ordered:
            insert_many(c, head, row, vals, tail)
        else:
            insert_many(c, head, row, [list(range(a, b)), *vals], tail)
    c.execute("DROP TABLE temp._pts")


def in_values_order(c, sql: str, k: int) -> bool:
    """Whether SQLite runs ``sql`` (an ``INSERT ... SELECT ... FROM (VALUES ...) AS v CROSS
    JOIN _pts AS p WHERE p.pid = ...`` with ``k`` rows of values) so that rows come out in ``VALUES`` order: ``v`` a
    co-routine scanned as the outer loop, ``p`` found by its integer primary key (at most
    one row per ``v`` row), and no other step (no sorter, no temporary B-tree, no
    automatic index) that could reorder them.

    SQLite's ``CROSS JOIN`` keeps the left table as the outer loop (documented in its
    query planner notes), and a co-routine yields ``VALUES`` rows in their written order;
    this checks that the plan is that one, so another SQLite version planning it
    differently falls back to an explicit ``ORDER BY``.
    """
    try:
        plan = [r[3] for r in c.execute("EXPLAIN QUERY PLAN " + sql, [None] * sql.count("?")).fetchall()]
    except sqlite3.Error:
        return False
    values = "SCAN CONSTANT ROW" if k == 1 else f"SCAN {k} CONSTANT ROWS"
    return plan == ["CO-ROUTINE v", values, "SCAN v", "SEARCH p USING INTEGER PRIMARY KEY (rowid=?)"]


def bindable(col: pd.Series):
    """A function giving a slice of ``col`` as a list of Python values for SQLite.

    Repetitive text (month, category, force, LSOA, ...) is factorised once, so a slice is
    a list of references to a few shared strings rather than a million new ones. The
    factorising waits for the first slice asked for: a column that follows the map point
    is bound per point (:func:`insert_by_point`), so its million-row getter is never
    called. A column holding one value in every row (or none) says so in ``literal``
    without factorising (the same answer: every value equal to the first, none missing).
    """
    if col.dtype.kind in "fiub":
        vals = col.to_numpy()
        return lambda a, b: vals[a:b].tolist()
    head = col.iloc[:2000]
    if head.nunique() > len(head) // 4:  # ids, addresses: nothing to share
        return lambda a, b: col.iloc[a:b].tolist()
    made: list = []

    def getter(a, b):
        if not made:
            codes, uniques = pd.factorize(col, use_na_sentinel=True)
            if len(uniques) > len(col) // 4:
                made.append(lambda a, b: col.iloc[a:b].tolist())
            else:
                lookup = np.append(np.asarray(uniques, dtype=object), None)  # code -1 (missing) -> None
                made.append(lambda a, b: lookup[codes[a:b]].tolist())
        return made[0](a, b)
    missing = col.isna().to_numpy()
    if missing.all():  # no value at all (factorised: no uniques)
        getter.literal = sql_literal(None)
    elif not missing.any() and 1 <= len(col) // 4 and bool((col == col.iloc[0]).all()):
        getter.literal = sql_literal(col.iloc[0])
    return getter


def sql_literal(value) -> str | None:
    """``value`` written as an SQLite literal, for text or NULL only (``None`` if it cannot be).

    A column that holds one value in every row of an import (the layer, the source file,
    the force, an empty field) is written once into the INSERT statement instead of being
    bound in every row. Text is quoted the SQL way (a quote doubled), which is the whole
    of SQLite's string-literal syntax; text with a NUL character is left to binding.
    """
    if value is None:
        return "NULL"
    if isinstance(value, str) and "\x00" not in value:
        return "'" + value.replace("'", "''") + "'"
    return None


def gpkg_blobs(geoms: np.ndarray, srs_id: int) -> list:
    """GeoPackage binary geometries (no envelope, little endian) from shapely geometries."""
    header = b"GP\x00\x01" + struct.pack("<i", srs_id)
    wkb = shapely.to_wkb(geoms, byte_order=1, include_srid=False)
    return [None if w is None else header + w for w in wkb]


def from_blobs(blobs: Iterable) -> np.ndarray:
    """Shapely geometries from GeoPackage binary geometries (any envelope)."""
    out = []
    for b in blobs:
        if b is None:
            out.append(None)
            continue
        flags = b[3]
        env = (flags >> 1) & 0x07
        start = 8 + {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}.get(env, 0)
        out.append(b[start:])
    return shapely.from_wkb(np.array(out, dtype=object))


def create_schema(c, crs_obj, epsg: int) -> None:
    """Create the GeoPackage tables, indexes and triggers (inside the caller's transaction)."""
    from pyproj import CRS
    c.execute("PRAGMA application_id = 1196444487")  # 'GPKG'
    c.execute("PRAGMA user_version = 10200")
    c.execute("""CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY,
        organization TEXT NOT NULL, organization_coordsys_id INTEGER NOT NULL,
        definition TEXT NOT NULL, description TEXT)""")
    c.execute("""CREATE TABLE gpkg_contents (table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL,
        identifier TEXT UNIQUE, description TEXT DEFAULT '', last_change DATETIME NOT NULL DEFAULT
        (strftime('%Y-%m-%dT%H:%M:%fZ','now')), min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE,
        srs_id INTEGER, CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id))""")
    c.execute("""CREATE TABLE gpkg_geometry_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL,
        geometry_type_name TEXT NOT NULL, srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
        CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name))""")
    wgs84 = CRS.from_epsg(4326).to_wkt("WKT1_GDAL")
    c.executemany("INSERT INTO gpkg_spatial_ref_sys VALUES (?,?,?,?,?,?)", [
        ("Undefined cartesian SRS", -1, "NONE", -1, "undefined", ""),
        ("Undefined geographic SRS", 0, "NONE", 0, "undefined", ""),
        ("WGS 84 geodetic", 4326, "EPSG", 4326, wgs84, ""),
    ])
    if epsg != 4326:
        c.execute("INSERT INTO gpkg_spatial_ref_sys VALUES (?,?,?,?,?,?)",
                  (crs_obj.name, epsg, "EPSG", epsg, crs_obj.to_wkt("WKT1_GDAL"), ""))
    for table, (gtype, cols) in FEATURE_TABLES.items():
        body = ", ".join(f'"{n}" {t}' for n, t in cols)
        # incidents: plain rowid keys (AUTOINCREMENT costs a sequence-table write per row)
        key = "INTEGER PRIMARY KEY" + ("" if table == "incidents" else " AUTOINCREMENT")
        c.execute(f'CREATE TABLE "{table}" (fid {key}, geom {gtype}, {body})')
        c.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, srs_id) VALUES (?,?,?,?)",
                  (table, "features", table, epsg))
        c.execute("INSERT INTO gpkg_geometry_columns VALUES (?,?,?,?,0,0)", (table, "geom", gtype, epsg))
    for table, body in ATTRIBUTE_TABLES.items():
        c.execute(f'CREATE TABLE "{table}" ({body})')
        c.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier) VALUES (?,?,?)",
                  (table, "attributes", table))
    for sql in INDEXES:
        c.execute(sql)
    for sql in AUDIT_TRIGGERS.values():
        c.execute(sql)
    for k, v in {"crs": crs_obj.to_string(), "srs_id": epsg, "schema_version": SCHEMA_VERSION}.items():
        c.execute("INSERT INTO settings VALUES (?, ?)", (k, json.dumps(v)))


def put_result(c, key: str, op_id: str, blob: bytes, keep: int) -> None:
    """Inside a transaction: store one finished analysis (``analysis_results``, made on first use: older
    files have none), replacing one with the same key, and keep the newest ``keep`` of ``op_id``."""
    c.execute("CREATE TABLE IF NOT EXISTS analysis_results (key TEXT PRIMARY KEY, op_id TEXT NOT NULL, "
              "saved_at TEXT NOT NULL, seq INTEGER NOT NULL, blob BLOB NOT NULL)")
    seq = c.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM analysis_results").fetchone()[0]
    c.execute("INSERT OR REPLACE INTO analysis_results VALUES (?,?,?,?,?)",
              (key, op_id, now_text(), seq, sqlite3.Binary(blob)))
    c.execute("DELETE FROM analysis_results WHERE op_id = ? AND key NOT IN (SELECT key FROM "
              "analysis_results WHERE op_id = ? ORDER BY seq DESC LIMIT ?)", (op_id, op_id, int(keep)))
