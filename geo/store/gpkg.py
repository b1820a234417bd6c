"""Workspace store: one GeoPackage file per workspace (the embedded default backend).

The file holds the imported layers (``incidents``, ``sites``, ``boundaries``), the
operations register (``operations``, with target polygons), the harm-weight table, the
settings, the import history, the rejected rows and the audit log. Analysts can open it
in QGIS.

Writes are atomic: every change runs in one SQLite transaction (rollback journal,
``synchronous=FULL``), so a process killed mid-import or mid-save leaves the previous
state intact. The table layout and the geometry encoding are in ``_gpkg_sql.py``.
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..errors import GeoInputError
from ._gpkg_sql import (AUDIT_TRIGGERS, FEATURE_TABLES, KEY_INDEXES, bindable, create_schema, from_blobs, gpkg_blobs,
                        INSERT_CHUNK, POINT_COLUMNS, index_name, insert_by_point, insert_many,
                        point_blobs, point_groups, put_result, store_error)
from ._gpkg_dedup import held_keys, replace_groups
from .base import StoreError, check_crs, fault_point, first_of_each, now_text, read_columns, uid_keys

#: From this many rows into an empty incidents table, its indexes are dropped and built after the insert.
BULK_INDEX_ROWS = 50_000


class GpkgStore:
    """A workspace held in one GeoPackage file (see module docstring).

    Parameters
    ----------
    path : str or Path
        The ``.gpkg`` file.
    crs : str, optional
        Analysis CRS; required when creating a new file, read from the file otherwise.
    """

    def __init__(self, path, crs: str | None = None, *, timeout: float = 30.0):
        self.path = Path(path)
        exists = self.path.exists()
        if not exists and crs is None:
            raise GeoInputError("The workspace file does not exist", where=str(self.path),
                                fix="create it first, e.g. python -m geo import --workspace PATH --crs EPSG:27700 ...")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._conn = sqlite3.connect(self.path, timeout=timeout, isolation_level=None, check_same_thread=False)
            self._conn.execute("PRAGMA journal_mode=DELETE")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute("PRAGMA cache_size=-262144")  # up to 256 MB of page cache for big imports
            self._conn.execute("PRAGMA temp_store=MEMORY")
            if not exists or not self._has_table("gpkg_contents"):
                self._create(crs)
            self._ensure_audit_triggers()
            self._key_index = self._ensure_key_index()
            self.crs = self.get_setting("crs")
            self.srs_id = int(self.get_setting("srs_id"))
        except sqlite3.Error as err:  # locked, damaged, not a database, read-only folder
            raise store_error(err, self.path) from err

    # ------------------------------------------------------------------ plumbing
    @property
    def location(self) -> str:
        return str(self.path)

    def close(self) -> None:
        self._conn.close()

    def version(self) -> str:
        """Changes with every committed write, by any process.

        SQLite's file change counter (bytes 24-27 of the header, bumped by every commit
        in rollback-journal mode) with the file's modification time: exact, where the
        modification time alone can repeat for two writes within one clock tick.
        """
        try:
            with open(self.path, "rb") as f:
                head = f.read(28)
            st = self.path.stat()
        except OSError:
            return "0"
        return f"{int.from_bytes(head[24:28], 'big')}:{st.st_mtime_ns}"

    def _has_table(self, name: str) -> bool:
        return self._conn.execute("SELECT 1 FROM sqlite_master WHERE name=?", (name,)).fetchone() is not None

    @contextmanager
    def transaction(self):
        """One atomic write: everything inside commits together or not at all.

        SQLite errors (disk full, lock wait exceeded, read-only file) become a
        :class:`StoreError` naming the cause. SQLite may already have rolled back by
        itself (it does on a full disk), so the rollback here never hides the cause.
        """
        c = self._conn
        try:
            c.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as err:
            raise store_error(err, self.path) from err
        try:
            yield c
            fault_point()
            c.execute("COMMIT")
        except BaseException as err:
            if c.in_transaction:
                try:
                    c.execute("ROLLBACK")
                except sqlite3.Error:
                    pass  # the cause (err) is what the user needs to see
            if isinstance(err, sqlite3.Error):
                raise store_error(err, self.path) from err
            raise

    def _create(self, crs: str) -> None:
        crs_obj, epsg = check_crs(crs)
        self._conn.execute("PRAGMA page_size=16384")  # fewer, fuller pages: faster bulk appends
        with self.transaction() as c:
            create_schema(c, crs_obj, epsg)

    def _touch(self, c, table: str) -> None:
        c.execute("UPDATE gpkg_contents SET last_change=? WHERE table_name=?", (now_text() + "Z", table))

    def _record_import(self, c, report, new: int, dup: int) -> int:
        o = report.outcomes
        cur = c.execute(
            "INSERT INTO import_history (imported_at, kind, source, rows_read, mapped, no_location, outside_area,"
            " rejected, new, duplicates, report) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (now_text(), report.kind, report.source, report.rows_read, o.get("mapped", 0), o.get("no_location", 0),
             o.get("outside_area", 0), o.get("rejected", 0), new, dup, json.dumps(report.to_dict())))
        import_id = cur.lastrowid
        rej = report.rejected
        if len(rej):
            keys = (rej["file"].astype(str) + "\x1f" + rej["row"].astype(str) + "\x1f" + rej["raw"].astype(str))
            uids = [hashlib.sha1(k.encode()).hexdigest() for k in keys]
            c.executemany("INSERT OR IGNORE INTO rejected_rows VALUES (?,?,?,?,?,?,?)",
                          zip(uids, [import_id] * len(rej), rej["file"], rej["row"].astype(int).tolist(),
                              rej["column"], rej["reason"], rej["raw"]))
        return import_id

    # ------------------------------------------------------------------ incidents
    def append_incidents(self, frame: gpd.GeoDataFrame, report, *, replace_months: bool = False) -> tuple[int, int]:
        """Add incident rows, skipping any whose ``uid`` is already stored.

        De-duplication is on a 64-bit key hashed from ``uid``: rows already held, and
        repeats within ``frame``, are skipped before anything is written, so a re-import
        writes nothing but its history record. The new keys are looked up in the
        ``uid_key`` index inside the write transaction (``BEGIN IMMEDIATE`` locks out
        other writers), so the check is exact and costs what the import costs, however
        much is stored. Returns ``(new, duplicates)`` and
        records the import (with its rejected rows) in the same transaction;
        ``report.new`` and ``report.duplicates`` are filled in.

        With ``replace_months`` (police.uk street crime, republished by force and month),
        the rows of ``frame`` replace the held rows of the same layer, ``force`` and
        ``month``: held rows the new file no longer has are deleted (``report.removed``),
        held rows whose content changed (outcome, LSOA, location, ...) are replaced by the
        new version (``report.updated``), and the rest are duplicates.
        """
        cols = [n for n, _ in FEATURE_TABLES["incidents"][1] if n not in ("uid_key", "import_id")]
        keys = uid_keys(frame["uid"].astype(str))
        with self.transaction() as c:
            import_id = self._record_import(c, report, 0, 0)
            updated = removed = 0
            # nothing held yet (a new workspace's first import): no key or group can match
            empty = c.execute("SELECT 1 FROM incidents LIMIT 1").fetchone() is None
            if replace_months and len(frame) and not empty:
                updated, removed = replace_groups(c, frame, keys, key_index=self._key_index)
            first = first_of_each(keys)
            todo = np.flatnonzero(first & ~held_keys(c, keys, key_index=self._key_index)) if not empty else np.flatnonzero(first)
            rows = frame if len(todo) == len(frame) else frame.iloc[todo]  # one gather, then slices
            # into an empty table, building the indexes once after the insert (a sort) is several
            # times cheaper than a random B-tree insert per row; inside the same transaction
            rebuild = empty and self._key_index and len(todo) >= BULK_INDEX_ROWS
            if rebuild:
                for ddl in KEY_INDEXES:
                    c.execute(f"DROP INDEX IF EXISTS {index_name(ddl)}")
            keys = keys[todo]
            if "x" in rows and "y" in rows:
                x, y = rows["x"].to_numpy(dtype=float), rows["y"].to_numpy(dtype=float)
            else:  # points given by geometry only
                geoms = rows.geometry.to_numpy()
                x, y = shapely.get_x(geoms).astype(float), shapely.get_y(geoms).astype(float)
            blobs = lambda a, b: point_blobs(x[a:b], y[a:b], self.srs_id)  # noqa: E731
            getters = {col: bindable(rows[col]) for col in cols if col in rows}
            # a column with one value throughout (layer, source, force, empty fields) is written
            # into the statement once rather than bound in every row: same stored values
            fixed = {col: getattr(g, "literal", None) for col, g in getters.items()}
            fixed = {col: v for col, v in fixed.items() if v is not None}
            fixed.update({col: "NULL" for col in cols if col not in rows})
            bound = [col for col in cols if col not in fixed]
            getters = [getters[col] for col in bound]
            into = f"INSERT INTO incidents (geom, uid_key, import_id, {', '.join(bound + list(fixed))})"
            pcols = [col for col in POINT_COLUMNS if col in bound]
            groups = point_groups(rows, [col for col in pcols if col not in ("x", "y")], x, y) if pcols else None
            if groups is None:
                row = f"(?, ?, {int(import_id)}, {','.join(['?'] * len(bound) + list(fixed.values()))})"
                for a in range(0, len(todo), INSERT_CHUNK):
                    b = min(a + INSERT_CHUNK, len(todo))
                    insert_many(c, into, row, [blobs(a, b), keys[a:b].tolist(), *(g(a, b) for g in getters)])
            else:
                insert_by_point(c, self.srs_id, rows, x, y, keys, groups, into, import_id, bound, pcols, getters,
                                list(fixed.values()))
            if rebuild:
                for ddl in KEY_INDEXES:
                    c.execute(ddl)
            new = len(todo) - updated
            dup = len(frame) - len(todo)
            report.new, report.duplicates = new, dup
            if replace_months:
                report.updated, report.removed = updated, removed
            c.execute("UPDATE import_history SET new=?, duplicates=?, report=? WHERE id=?",
                      (new, dup, json.dumps(report.to_dict()), import_id))
            if new or updated:
                self._grow_extent(c, "incidents", x, y)
        return new, dup

    def _grow_extent(self, c, table: str, x: np.ndarray, y: np.ndarray) -> None:
        """Widen the layer's extent in gpkg_contents to cover new points (no table scan)."""
        ok = np.isfinite(x) & np.isfinite(y)
        if not ok.any():
            return self._touch(c, table)
        row = c.execute("SELECT min_x, min_y, max_x, max_y FROM gpkg_contents WHERE table_name=?", (table,)).fetchone()
        box = [float(x[ok].min()), float(y[ok].min()), float(x[ok].max()), float(y[ok].max())]
        if row and row[0] is not None:
            box = [min(box[0], row[0]), min(box[1], row[1]), max(box[2], row[2]), max(box[3], row[3])]
        c.execute("UPDATE gpkg_contents SET min_x=?, min_y=?, max_x=?, max_y=?, last_change=? WHERE table_name=?",
                  (*box, now_text() + "Z", table))

    def read_incidents(self, *, layer: str | None = None, months: tuple[str, str] | None = None,
                       categories: Iterable[str] | None = None, statuses: Iterable[str] | None = None,
                       bbox: tuple[float, float, float, float] | None = None,
                       bcus: Iterable[str] | None = None,
                       columns: Iterable[str] | None = None) -> gpd.GeoDataFrame:
        """Incident rows as a GeoDataFrame (points rebuilt from ``x``/``y``).

        Parameters
        ----------
        layer : str, optional
            ``crime``, ``calls`` or another mapped layer; all layers by default.
        months : (str, str), optional
            Inclusive ``YYYY-MM`` range.
        categories : iterable of str, optional
        statuses : iterable of str, optional
            Any of ``mapped``, ``no_location``, ``outside_area``; all by default.
        bbox : (xmin, ymin, xmax, ymax), optional
            Only points inside this box (analysis CRS, inclusive).
        bcus : iterable of str, optional
            Only points in (or on the edge of) these BCUs (codes of the ``bcu`` boundary
            level): the query is limited to the BCUs' bounding box, then each point is
            tested against the polygons (the same rows as PostGIS's ``ST_Intersects``).
        columns : iterable of str, optional
            Only these columns (and ``x``, ``y``, the geometry): :func:`geo.store.base.read_columns`.
            The same rows and values as a read of every column.
        """
        cols = list(read_columns(columns))
        where, args = [], []
        if layer:
            where.append("layer = ?")
            args.append(layer)
        if months:
            where.append("month BETWEEN ? AND ?")
            args += list(months)
        if categories is not None:
            cats = list(categories)
            where.append(f"category IN ({','.join('?' * len(cats))})" if cats else "0")
            args += cats
        if statuses is not None:
            st = list(statuses)
            where.append(f"status IN ({','.join('?' * len(st))})" if st else "0")
            args += st
        if bbox is not None:
            where.append("x BETWEEN ? AND ? AND y BETWEEN ? AND ?")
            args += [float(bbox[0]), float(bbox[2]), float(bbox[1]), float(bbox[3])]
        area = None
        if bcus is not None:
            codes = list(bcus)
            units = self._read_features("boundaries", ["code"], where=f"level = 'bcu' AND code IN "
                                        f"({','.join('?' * len(codes))})", args=codes) if codes else None
            area = shapely.union_all(units.geometry.to_numpy()) if units is not None and len(units) else None
            if area is None or area.is_empty:
                where.append("0")
            else:
                x0, y0, x1, y1 = area.bounds
                where.append("x BETWEEN ? AND ? AND y BETWEEN ? AND ?")
                args += [x0, x1, y0, y1]
        sql = f"SELECT fid, {', '.join(cols)} FROM incidents"
        if where:
            sql += " WHERE " + " AND ".join(where)
        df = pd.read_sql_query(sql, self._conn, params=args, index_col="fid")
        df["x"] = df["x"].astype(float)
        df["y"] = df["y"].astype(float)
        if area is not None and not area.is_empty:
            shapely.prepare(area)
            df = df[shapely.intersects_xy(area, df["x"].to_numpy(), df["y"].to_numpy())]
        geom = shapely.points(df["x"].to_numpy(), df["y"].to_numpy())
        geom[~np.isfinite(df["x"].to_numpy())] = None
        return gpd.GeoDataFrame(df, geometry=geom, crs=self.crs)

    def incident_summary(self) -> pd.DataFrame:
        """Rows per layer, month and status (cheap; for the data page)."""
        return pd.read_sql_query(
            "SELECT layer, month, status, count(*) AS n FROM incidents GROUP BY layer, month, status "
            "ORDER BY layer, month", self._conn)

    def layer_id_style(self, layer: str) -> str | None:
        """How a layer's held rows are identified: ``"id"`` (the source's own ids, at least
        partly), ``"hash"`` (content hashes only) or ``None`` (no rows)."""
        row = self._conn.execute(
            "SELECT EXISTS(SELECT 1 FROM incidents WHERE layer=? AND substr(uid, 1, ?) <> ?), "
            "EXISTS(SELECT 1 FROM incidents WHERE layer=?)",
            (layer, len(layer) + 3, f"{layer}:h:", layer)).fetchone()
        return "id" if row[0] else ("hash" if row[1] else None)

    def layers(self) -> list[str]:
        return [r[0] for r in self._conn.execute("SELECT DISTINCT layer FROM incidents ORDER BY layer")]

    def months(self, layer: str | None = None) -> list[str]:
        sql, args = "SELECT DISTINCT month FROM incidents", ()
        if layer:
            sql, args = sql + " WHERE layer=?", (layer,)
        return sorted(r[0] for r in self._conn.execute(sql, args) if r[0])

    def categories(self, layer: str | None = None) -> list[str]:
        sql, args = "SELECT DISTINCT category FROM incidents", ()
        if layer:
            sql, args = sql + " WHERE layer=?", (layer,)
        return sorted(r[0] for r in self._conn.execute(sql, args) if r[0])

    # ------------------------------------------------------------------ sites, boundaries
    def upsert_sites(self, frame: gpd.GeoDataFrame, report) -> tuple[int, int]:
        """Add sites, skipping those already stored (same ``uid``)."""
        blobs = gpkg_blobs(frame.geometry.to_numpy(), self.srs_id)
        cols = ["uid", "kind", "name", "detail", "source", "status"]
        with self.transaction() as c:
            import_id = self._record_import(c, report, 0, 0)
            before = self._conn.total_changes
            c.executemany(
                "INSERT OR IGNORE INTO sites (geom, uid, kind, name, detail, source, status, import_id) "
                "VALUES (?,?,?,?,?,?,?,?)",
                ((b, *row, import_id) for b, row in zip(blobs, frame[cols].astype(object).itertuples(index=False, name=None))))
            new = self._conn.total_changes - before
            report.new, report.duplicates = new, len(frame) - new
            c.execute("UPDATE import_history SET new=?, duplicates=?, report=? WHERE id=?",
                      (new, report.duplicates, json.dumps(report.to_dict()), import_id))
            self._touch(c, "sites")
        return new, report.duplicates

    def read_sites(self, *, with_import_id: bool = False) -> gpd.GeoDataFrame:
        """Sites; ``with_import_id`` adds the id of the import that brought each (for a migration)."""
        return self._read_features("sites", ["uid", "kind", "name", "detail", "source", "status"]
                                   + (["import_id"] if with_import_id else []))

    def replace_boundaries(self, frame: gpd.GeoDataFrame, report) -> None:
        """Replace the units of the levels in ``frame`` with its rows (same codes update)."""
        geoms = frame.geometry.to_numpy()
        multi = np.array([shapely.MultiPolygon([g]) if g is not None and g.geom_type == "Polygon" else g
                          for g in geoms], dtype=object)
        blobs = gpkg_blobs(multi, self.srs_id)
        cols = ["level", "code", "name", "parent_code", "force"]
        with self.transaction() as c:
            import_id = self._record_import(c, report, len(frame), 0)
            c.executemany(
                "INSERT OR REPLACE INTO boundaries (geom, level, code, name, parent_code, force, import_id) "
                "VALUES (?,?,?,?,?,?,?)",
                ((b, *row, import_id) for b, row in zip(blobs, frame[cols].astype(object).itertuples(index=False, name=None))))
            report.new, report.duplicates = len(frame), 0
            self._touch(c, "boundaries")

    def read_boundaries(self, level: str | None = None, *, with_import_id: bool = False) -> gpd.GeoDataFrame:
        """Boundary units (one level or all); ``with_import_id`` adds the id of their import."""
        return self._read_features("boundaries", ["level", "code", "name", "parent_code", "force"]
                                   + (["import_id"] if with_import_id else []),
                                   where="level = ?" if level else None, args=(level,) if level else ())

    def boundary_levels(self) -> list[str]:
        return [r[0] for r in self._conn.execute("SELECT DISTINCT level FROM boundaries")]

    def _read_features(self, table: str, cols: list[str], where: str | None = None, args=()) -> gpd.GeoDataFrame:
        sql = f"SELECT fid, geom, {', '.join(cols)} FROM {table}" + (f" WHERE {where}" if where else "") + " ORDER BY fid"
        rows = self._conn.execute(sql, args).fetchall()
        df = pd.DataFrame([r[2:] for r in rows], columns=cols, index=pd.Index([r[0] for r in rows], name="fid"))
        geom = from_blobs([r[1] for r in rows]) if rows else np.array([], dtype=object)
        return gpd.GeoDataFrame(df, geometry=list(geom), crs=self.crs)

    # ------------------------------------------------------------------ settings, harm
    def get_setting(self, key: str, default=None):
        row = self._conn.execute("SELECT value FROM settings WHERE key=?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def set_setting(self, key: str, value) -> None:
        with self.transaction() as c:
            c.execute("INSERT OR REPLACE INTO settings VALUES (?, ?)", (key, json.dumps(value)))

    def settings(self) -> dict:
        return {k: json.loads(v) for k, v in self._conn.execute("SELECT key, value FROM settings")}

    def harm_weights(self) -> pd.DataFrame:
        return pd.read_sql_query("SELECT category, weight, basis, source FROM harm_weights ORDER BY weight DESC",
                                 self._conn)

    def set_harm_weights(self, table: pd.DataFrame) -> None:
        """Replace the whole harm-weight table (columns category, weight, basis, source)."""
        rows = [(str(r.category), float(r.weight), str(getattr(r, "basis", "") or ""), str(getattr(r, "source", "") or ""))
                for r in table.itertuples(index=False)]
        with self.transaction() as c:
            c.execute("DELETE FROM harm_weights")
            c.executemany("INSERT INTO harm_weights VALUES (?,?,?,?)", rows)
            self._touch(c, "harm_weights")

    # ------------------------------------------------------------------ operations
    def save_operation(self, op_id: str, name: str, record: dict, geometry) -> None:
        if geometry is not None and geometry.geom_type == "Polygon":
            geometry = shapely.MultiPolygon([geometry])
        blob = gpkg_blobs(np.array([geometry], dtype=object), self.srs_id)[0]
        with self.transaction() as c:
            c.execute("INSERT INTO operations (geom, op_id, name, record, updated_at) VALUES (?,?,?,?,?) "
                      "ON CONFLICT(op_id) DO UPDATE SET geom=excluded.geom, name=excluded.name, "
                      "record=excluded.record, updated_at=excluded.updated_at",
                      (blob, op_id, name, json.dumps(record), now_text()))
            self._touch(c, "operations")

    def delete_operation(self, op_id: str) -> None:
        with self.transaction() as c:
            c.execute("DELETE FROM operations WHERE op_id=?", (op_id,))

    def read_operations(self) -> gpd.GeoDataFrame:
        return self._read_features("operations", ["op_id", "name", "record", "updated_at"])

    # ------------------------------------------------------------------ history, audit
    def import_history(self) -> pd.DataFrame:
        return pd.read_sql_query(
            "SELECT id, imported_at, kind, source, rows_read, mapped, no_location, outside_area, rejected, new,"
            " duplicates FROM import_history ORDER BY id", self._conn)

    def import_report(self, import_id: int) -> dict:
        row = self._conn.execute("SELECT report FROM import_history WHERE id=?", (import_id,)).fetchone()
        return json.loads(row[0]) if row else {}

    def rejected_rows(self, import_id: int | None = None) -> pd.DataFrame:
        sql = "SELECT import_id, file, row, column_name AS column, reason, raw FROM rejected_rows"
        args: tuple = ()
        if import_id is not None:
            sql, args = sql + " WHERE import_id=?", (import_id,)
        return pd.read_sql_query(sql + " ORDER BY import_id, file, row", self._conn, params=args)

    def _ensure_key_index(self) -> bool:
        """Add the ``uid_key`` index to a file made before it existed; False if it cannot be added."""
        if not self._has_table("incidents"):
            return False
        if self._has_table("incidents_uid_key") and self._has_table("incidents_group"):
            return True
        try:
            with self.transaction() as c:
                for sql in KEY_INDEXES:
                    c.execute(sql)
        except StoreError:  # a read-only or busy file: de-duplicate by scanning instead
            return False
        return True

    def _ensure_audit_triggers(self) -> None:
        """Add the append-only triggers to a file made before they existed (one read when present)."""
        have = {r[0] for r in self._conn.execute(
            "SELECT name FROM sqlite_master WHERE type='trigger' AND tbl_name='audit_log'")}
        missing = [sql for name, sql in AUDIT_TRIGGERS.items() if name not in have]
        if not missing or not self._has_table("audit_log"):
            return
        try:
            with self.transaction() as c:
                for sql in missing:
                    c.execute(sql)
        except sqlite3.OperationalError as err:  # a read-only file: nothing can write its log either
            if "readonly" not in str(err):
                raise

    def audit(self, user: str, action: str, detail: str = "", *,
              busy_timeout_s: float | None = None) -> tuple[int, int]:
        """Append one entry to the audit log (the only write the log accepts).

        Parameters
        ----------
        user, action, detail : str
        busy_timeout_s : float, optional
            Wait at most this long for another writer (an import) to finish, instead of
            the connection's 30 s; then ``sqlite3.OperationalError('database is locked')``.

        Returns
        -------
        tuple of int
            The file's modification time (ns) once the write lock was held and after the
            commit: a cache keyed by the file's mtime may treat the two as the same data
            (an audit entry changes no data), see ``dashboard.data.version``.
        """
        if busy_timeout_s is not None:
            self._conn.execute(f"PRAGMA busy_timeout = {int(float(busy_timeout_s) * 1000)}")
        try:
            with self.transaction() as c:
                before = self.path.stat().st_mtime_ns
                c.execute("INSERT INTO audit_log (at, user, action, detail) VALUES (?,?,?,?)",
                          (now_text(), user, action, detail))
            return before, self.path.stat().st_mtime_ns
        finally:
            if busy_timeout_s is not None:
                self._conn.execute("PRAGMA busy_timeout = 30000")

    def audit_log(self) -> pd.DataFrame:
        return pd.read_sql_query("SELECT at, user, action, detail FROM audit_log ORDER BY id DESC", self._conn)

    # ------------------------------------------------------------------ finished analyses (a cache)
    def save_result(self, key: str, op_id: str, blob: bytes, *, keep: int = 8) -> tuple[int, int]:
        """Store one finished analysis (one transaction; the table is made on first use, older files
        have none); returns the file's modification time (ns) before and after, as :meth:`audit`."""
        with self.transaction() as c:
            before = self.path.stat().st_mtime_ns
            put_result(c, key, op_id, blob, keep)
        return before, self.path.stat().st_mtime_ns

    def load_result(self, key: str) -> bytes | None:
        if not self._has_table("analysis_results"):
            return None
        row = self._conn.execute("SELECT blob FROM analysis_results WHERE key = ?", (key,)).fetchone()
        return bytes(row[0]) if row else None

    def integrity_ok(self) -> bool:
        return self._conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
