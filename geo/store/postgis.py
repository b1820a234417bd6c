"""Workspace store in a shared PostgreSQL/PostGIS database: one schema per workspace.

Chosen by a ``postgresql://`` location (:func:`geo.store.open_store`):
``postgresql://user@host:5432/db?workspace=south-yorkshire`` is the workspace
``south-yorkshire`` held in schema ``ws_south_yorkshire`` of database ``db``. Many
users and processes share it: every write is one transaction, readers never wait for
writers (MVCC), and imports of incidents take a per-workspace advisory lock, so two
imports of the same months are applied one after the other.

Reads push their filters down: layer, months, categories and statuses use the
``(layer, month)`` index, a bounding box the GiST index on ``geom``. De-duplication is
the unique index on ``uid_key`` (``INSERT ... ON CONFLICT DO NOTHING``), so adding a
month costs what the month costs, not what is stored.

``psycopg`` (3) is imported here only, so the GeoPackage path never needs it (the
``postgis`` extra installs it).
"""
from __future__ import annotations

import json
import re
import threading
from contextlib import contextmanager
from typing import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..errors import GeoInputError
from .base import (BOUNDARY_FIELDS, CONTENT_FIELDS, HISTORY_FIELDS, SCHEMA_VERSION, SITE_FIELDS,
                   StoreError, check_crs, fault_point, first_of_each, now_text, read_columns, uid_keys)

#: Parts of the store whose change counter makes up :meth:`PostgisStore.version`.
PARTS = ("incidents", "sites", "boundaries", "operations", "settings", "harm_weights", "audit_log")

_STAGE_COLS = ("uid_key", "uid", "layer", "source", "crime_id", "month", "date", "category", "subcategory",
               "force", "location", "lsoa_code", "lsoa_name", "outcome", "x", "y", "status", "content")


def is_url(location) -> bool:
    """True for a ``postgresql://`` (or ``postgres://``) location."""
    return str(location).startswith(("postgresql://", "postgres://"))


def split_url(url: str) -> tuple[str, str, str]:
    """``(connection URL, workspace name, schema)`` from a workspace URL.

    >>> split_url("postgresql://geo@db:5432/geo?workspace=South Yorkshire")[1:]
    ('South Yorkshire', 'ws_south_yorkshire')
    """
    parts = urlsplit(str(url))
    query = dict(parse_qsl(parts.query))
    name = query.pop("workspace", "") or "default"
    schema = "ws_" + re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[:50]
    conn = urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))
    return conn, name, schema


def redacted(url: str) -> str:
    """The URL without its password (for messages and logs)."""
    parts = urlsplit(str(url))
    netloc = re.sub(r":[^@/]*@", ":***@", parts.netloc)
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


def _pg_error(err, where: str) -> StoreError:
    """Word a PostgreSQL error for the user."""
    code = getattr(err, "sqlstate", None) or ""
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    if code.startswith("08") or "connection" in text.lower():
        return StoreError(f"The workspace database cannot be reached ({text}); nothing was changed", where=where,
                          fix="check that the PostgreSQL server is running and the URL (host, port, database, "
                              "user) is right")
    if code in ("55P03", "40P01", "40001"):
        return StoreError("The workspace is busy: another import or save held it for longer than the wait limit; "
                          "nothing was changed", where=where, fix="try again in a minute")
    if code in ("53100", "53200"):
        return StoreError("The workspace could not be saved: the database server is out of disk or memory; "
                          "nothing was changed", where=where, fix="ask the administrator to free space and try again")
    if code == "25006" or code == "42501":
        return StoreError(f"The workspace database refused the write ({text}); nothing was changed", where=where,
                          fix="ask the administrator for write access for this user")
    return StoreError(f"The workspace could not be updated ({text}); nothing was changed", where=where,
                      fix="try again; if it keeps happening, report this message")


class PostgisStore:
    """A workspace held in one schema of a PostGIS database (see module docstring).

    Parameters
    ----------
    url : str
        ``postgresql://user[:password]@host:port/database?workspace=NAME``.
    crs : str, optional
        Analysis CRS; required to create the workspace, read from it otherwise.
    create : bool
        Create the workspace (refused if it exists); otherwise open it (refused if not).
    timeout : float
        Seconds a write waits for a lock held by another writer before a :class:`StoreError`.
    """

    def __init__(self, url: str, crs: str | None = None, *, create: bool = False, timeout: float = 30.0):
        import psycopg
        self._psycopg = psycopg
        self.url = str(url)
        conninfo, self.workspace, self.schema = split_url(self.url)
        self.location = redacted(self.url)
        self.path = self.location  # what messages name (GpkgStore: the file)
        self.timeout = float(timeout)
        self._lock = threading.RLock()
        self._results_table = False  # analysis_results known to exist (made on first save: older workspaces lack it)
        # not ``_conn``: code with a GeoPackage fast path (coverage, panels) looks for an SQLite ``_conn``
        try:
            self._db = psycopg.connect(conninfo, autocommit=True, connect_timeout=10)
            self._db.execute(f"SET lock_timeout = '{int(self.timeout * 1000)}ms'")
            exists = self._db.execute("SELECT to_regclass(%s) IS NOT NULL",
                                        (f"{self.schema}.settings",)).fetchone()[0]
            if create and exists:
                raise GeoInputError("A workspace of that name already exists in the database", where=self.location,
                                    fix="open it instead, or choose another workspace name")
            if not create and not exists:
                raise GeoInputError("No such workspace in the database", where=self.location,
                                    fix="create it first (Workspace.create or python -m geo migrate), "
                                        "or check the workspace name in the URL")
            if create:
                if crs is None:
                    raise GeoInputError("A new workspace needs an analysis CRS", where=self.location,
                                        fix="give crs=, e.g. EPSG:27700")
                self._create(crs)
            self._db.execute(f'SET search_path TO "{self.schema}", public')
            self.crs = self.get_setting("crs")
            self.srid = int(self.get_setting("srs_id"))
        except BaseException as err:
            if getattr(self, "_db", None) is not None:
                self._db.close()
            if isinstance(err, psycopg.Error):
                raise _pg_error(err, self.location) from err
            raise

    # ------------------------------------------------------------------ plumbing
    def close(self) -> None:
        self._db.close()

    def drop(self) -> None:
        """Delete the whole workspace (its schema). For tests and ``migrate --replace``."""
        with self._lock:
            self._db.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')

    @contextmanager
    def transaction(self, *parts: str):
        """One atomic write; bumps the change counters of ``parts`` (see :meth:`version`)."""
        psycopg = self._psycopg
        with self._lock:
            try:
                with self._db.transaction():
                    cur = self._db.cursor()
                    yield cur
                    for p in parts:
                        cur.execute("UPDATE store_version SET n = n + 1 WHERE part = %s", (p,))
                    fault_point()
            except psycopg.Error as err:
                raise _pg_error(err, self.location) from err

    def _read(self, sql: str, args=(), columns=None) -> pd.DataFrame:
        with self._lock:
            try:
                cur = self._db.execute(sql, args)
                rows = cur.fetchall()
                cols = columns or [d.name for d in cur.description]
            except self._psycopg.Error as err:
                raise _pg_error(err, self.location) from err
        return pd.DataFrame.from_records(rows, columns=cols)

    def _scalar(self, sql: str, args=()):
        with self._lock:
            try:
                row = self._db.execute(sql, args).fetchone()
            except self._psycopg.Error as err:
                raise _pg_error(err, self.location) from err
        return row[0] if row else None

    def version(self) -> str:
        """The change counters of every part: differs after any committed write."""
        return str(self._scalar("SELECT string_agg(n::text, '.' ORDER BY part) FROM store_version"))

    def integrity_ok(self) -> bool:
        return bool(self._scalar("SELECT NOT EXISTS (SELECT 1 FROM incidents WHERE uid_key IS NULL)"))

    def _create(self, crs: str) -> None:
        crs_obj, epsg = check_crs(crs)
        from ._postgis_sql import schema_sql
        with self._lock, self._db.transaction():
            self._db.execute("CREATE EXTENSION IF NOT EXISTS postgis")
            self._db.execute(f'CREATE SCHEMA "{self.schema}"')
            self._db.execute(f'SET LOCAL search_path TO "{self.schema}", public')
            for sql in schema_sql(epsg):
                self._db.execute(sql)
            self._db.cursor().executemany("INSERT INTO store_version VALUES (%s, 0)", [(p,) for p in PARTS])
            for k, v in {"crs": crs_obj.to_string(), "srs_id": epsg, "schema_version": SCHEMA_VERSION}.items():
                self._db.execute("INSERT INTO settings VALUES (%s, %s)", (k, json.dumps(v)))

    def _record_import(self, cur, report, new: int) -> int:
        o = report.outcomes
        cur.execute(
            "INSERT INTO import_history (imported_at, kind, source, rows_read, mapped, no_location, outside_area,"
            " rejected, new, duplicates, report) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s) RETURNING id",
            (now_text(), report.kind, report.source, report.rows_read, o.get("mapped", 0), o.get("no_location", 0),
             o.get("outside_area", 0), o.get("rejected", 0), new, 0, json.dumps(report.to_dict())))
        import_id = cur.fetchone()[0]
        rej = report.rejected
        if len(rej):
            import hashlib
            keys = (rej["file"].astype(str) + "\x1f" + rej["row"].astype(str) + "\x1f" + rej["raw"].astype(str))
            cur.executemany("INSERT INTO rejected_rows VALUES (%s,%s,%s,%s,%s,%s,%s) ON CONFLICT DO NOTHING",
                            list(zip([hashlib.sha1(k.encode()).hexdigest() for k in keys], [import_id] * len(rej),
                                     rej["file"].astype(str), rej["row"].astype(int).tolist(),
                                     rej["column"].astype(object), rej["reason"].astype(object),
                                     rej["raw"].astype(object))))
        return import_id

    # ------------------------------------------------------------------ incidents
    def append_incidents(self, frame: gpd.GeoDataFrame, report, *, replace_months: bool = False) -> tuple[int, int]:
        """Add incident rows, skipping any whose ``uid`` is already stored (see ``GpkgStore``).

        The rows are copied into a temporary table, then one ``INSERT ... SELECT ... ON
        CONFLICT (uid_key) DO NOTHING`` adds the new ones: the unique index answers
        "is it held?" per row, so the cost follows the import's size. With
        ``replace_months`` the held rows of the same layer, force and month that the
        new file no longer has (``report.removed``) or has in another version
        (``report.updated``) are deleted first.
        """
        keys = uid_keys(frame["uid"].astype(str))
        first = first_of_each(keys)
        rows = frame if first.all() else frame.iloc[np.flatnonzero(first)]
        keys = keys[first]
        if "x" in rows and "y" in rows:
            x, y = rows["x"].to_numpy(dtype=float), rows["y"].to_numpy(dtype=float)
        else:
            geoms = rows.geometry.to_numpy()
            x, y = shapely.get_x(geoms).astype(float), shapely.get_y(geoms).astype(float)
        n = len(rows)

        def text(col):
            if col not in rows:
                return [None] * n
            s = rows[col]
            return s.astype(object).where(s.notna(), None).tolist()
        cols = {c: text(c) for c in _STAGE_COLS if c not in ("uid_key", "x", "y", "content")}
        cols["uid"] = rows["uid"].astype(str).tolist()
        content = ["\x1f".join("" if v is None else str(v) for v in vals)
                   for vals in zip(*(cols[c] for c in CONTENT_FIELDS))] if replace_months else [None] * n
        fx = [None if v != v else v for v in x.tolist()]
        fy = [None if v != v else v for v in y.tolist()]
        with self.transaction("incidents") as cur:
            cur.execute("SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.incidents'))")
            import_id = self._record_import(cur, report, 0)
            cur.execute("CREATE TEMP TABLE IF NOT EXISTS _stage (uid_key bigint, uid text, layer text, source text, "
                        "crime_id text, month text, date text, category text, subcategory text, force text, "
                        "location text, lsoa_code text, lsoa_name text, outcome text, x float8, y float8, "
                        "status text, content text) ON COMMIT DELETE ROWS")
            with cur.copy(f"COPY _stage ({', '.join(_STAGE_COLS)}) FROM STDIN") as cp:
                ordered = [keys.tolist()] + [cols[c] for c in _STAGE_COLS[1:14]] + [fx, fy, cols["status"], content]
                for row in zip(*ordered):
                    cp.write_row(row)
            updated = removed = 0
            if replace_months and n:
                updated, removed = self._replace_groups(cur)
            fields = [c for c in _STAGE_COLS if c != "content"]
            cur.execute(
                f"INSERT INTO incidents (geom, import_id, {', '.join(fields)}) "
                f"SELECT CASE WHEN x IS NULL OR y IS NULL OR x = 'NaN' OR y = 'NaN' THEN NULL "
                f"ELSE ST_SetSRID(ST_MakePoint(x, y), {self.srid}) END, %s, {', '.join(fields)} FROM _stage "
                f"ON CONFLICT (uid_key) DO NOTHING", (import_id,))
            inserted = cur.rowcount
            new, dup = inserted - updated, len(frame) - inserted
            report.new, report.duplicates = new, dup
            if replace_months:
                report.updated, report.removed = updated, removed
            cur.execute("UPDATE import_history SET new=%s, duplicates=%s, report=%s WHERE id=%s",
                        (new, dup, json.dumps(report.to_dict()), import_id))
        return new, dup

    def _replace_groups(self, cur) -> tuple[int, int]:
        """Delete held rows of the staged (layer, force, month) groups that are gone or changed."""
        held = " || chr(31) || ".join(f"coalesce(i.{c}, '')" for c in CONTENT_FIELDS)
        near = lambda a: f"(abs(i.{a} - s.{a}) <= 0.01 OR (i.{a} IS NULL AND s.{a} IS NULL))"  # noqa: E731
        cur.execute(
            "WITH g AS (SELECT DISTINCT layer, force, month FROM _stage), "
            "doomed AS (SELECT i.fid, s.uid_key IS NULL AS gone FROM incidents i "
            "JOIN g ON i.layer = g.layer AND i.force = g.force AND i.month = g.month "
            "LEFT JOIN _stage s ON s.uid_key = i.uid_key "
            f"WHERE s.uid_key IS NULL OR s.content <> ({held}) OR NOT coalesce({near('x')}, false) "
            f"OR NOT coalesce({near('y')}, false)), "
            "del AS (DELETE FROM incidents USING doomed WHERE incidents.fid = doomed.fid RETURNING doomed.gone) "
            "SELECT count(*) FILTER (WHERE NOT gone), count(*) FILTER (WHERE gone) FROM del")
        updated, removed = cur.fetchone()
        return int(updated), int(removed)

    def read_incidents(self, *, layer: str | None = None, months: tuple[str, str] | None = None,
                       categories: Iterable[str] | None = None, statuses: Iterable[str] | None = None,
                       bbox: tuple[float, float, float, float] | None = None,
                       bcus: Iterable[str] | None = None,
                       columns: Iterable[str] | None = None) -> gpd.GeoDataFrame:
        """Incident rows as a GeoDataFrame, filtered in the database (see ``GpkgStore.read_incidents``).

        ``bcus`` is pushed down as ``ST_Intersects`` with the stored BCU polygons, which the
        GiST index on ``incidents.geom`` answers (bounding boxes first, then the exact test).
        """
        where, args = [], []
        if layer:
            where.append("layer = %s")
            args.append(layer)
        if months:
            where.append("month BETWEEN %s AND %s")
            args += list(months)
        if categories is not None:
            where.append("category = ANY(%s)")
            args.append(list(categories))
        if statuses is not None:
            where.append("status = ANY(%s)")
            args.append(list(statuses))
        if bbox is not None:
            where.append(f"geom && ST_MakeEnvelope(%s, %s, %s, %s, {self.srid})")
            args += [float(v) for v in bbox]
        if bcus is not None:
            where.append("EXISTS (SELECT 1 FROM boundaries b WHERE b.level = 'bcu' AND b.code = ANY(%s) "
                         "AND ST_Intersects(b.geom, incidents.geom))")
            args.append(list(bcus))
        cols = read_columns(columns)
        sql = f"SELECT fid, {', '.join(cols)} FROM incidents"
        if where:
            sql += " WHERE " + " AND ".join(where)
        df = self._read(sql + " ORDER BY fid", args, columns=["fid", *cols]).set_index("fid")
        if "import_id" in df:
            df["import_id"] = df["import_id"].astype("int64")
        df["x"] = pd.to_numeric(df["x"], errors="coerce").astype(float)
        df["y"] = pd.to_numeric(df["y"], errors="coerce").astype(float)
        geom = shapely.points(df["x"].to_numpy(), df["y"].to_numpy())
        geom[~np.isfinite(df["x"].to_numpy())] = None
        return gpd.GeoDataFrame(df, geometry=geom, crs=self.crs)

    def incident_summary(self) -> pd.DataFrame:
        return self._read("SELECT layer, month, status, count(*) AS n FROM incidents GROUP BY layer, month, status "
                          "ORDER BY layer, month")

    def layer_id_style(self, layer: str) -> str | None:
        with self._lock:
            row = self._db.execute(
                "SELECT EXISTS(SELECT 1 FROM incidents WHERE layer=%s AND substr(uid, 1, %s) <> %s), "
                "EXISTS(SELECT 1 FROM incidents WHERE layer=%s)",
                (layer, len(layer) + 3, f"{layer}:h:", layer)).fetchone()
        return "id" if row[0] else ("hash" if row[1] else None)

    def _distinct(self, col: str, layer: str | None) -> list[str]:
        sql = f"SELECT DISTINCT {col} FROM incidents" + (" WHERE layer = %s" if layer else "")
        return sorted(v for v in self._read(sql, (layer,) if layer else ())[col] if v)

    def layers(self) -> list[str]:
        return self._distinct("layer", None)

    def months(self, layer: str | None = None) -> list[str]:
        return self._distinct("month", layer)

    def categories(self, layer: str | None = None) -> list[str]:
        return self._distinct("category", layer)

    # ------------------------------------------------------------------ sites, boundaries
    def upsert_sites(self, frame: gpd.GeoDataFrame, report) -> tuple[int, int]:
        """Add sites, skipping those already stored (same ``uid``)."""
        wkb = shapely.to_wkb(frame.geometry.to_numpy(), include_srid=False)
        with self.transaction("sites") as cur:
            import_id = self._record_import(cur, report, 0)
            new = 0
            for w, row in zip(wkb, frame[list(SITE_FIELDS)].astype(object).itertuples(index=False, name=None)):
                cur.execute(f"INSERT INTO sites (geom, {', '.join(SITE_FIELDS)}, import_id) VALUES "
                            f"(ST_SetSRID(ST_GeomFromWKB(%s), {self.srid}), %s,%s,%s,%s,%s,%s, %s) "
                            "ON CONFLICT (uid) DO NOTHING", (w, *_clean(row), import_id))
                new += cur.rowcount
            report.new, report.duplicates = new, len(frame) - new
            cur.execute("UPDATE import_history SET new=%s, duplicates=%s, report=%s WHERE id=%s",
                        (new, report.duplicates, json.dumps(report.to_dict()), import_id))
        return new, report.duplicates

    def read_sites(self, *, with_import_id: bool = False) -> gpd.GeoDataFrame:
        """Sites; ``with_import_id`` adds the id of the import that brought each (for a migration)."""
        return self._features("sites", SITE_FIELDS + (("import_id",) if with_import_id else ()))

    def replace_boundaries(self, frame: gpd.GeoDataFrame, report) -> None:
        """Replace the units of the levels in ``frame`` with its rows (same codes update)."""
        geoms = frame.geometry.to_numpy()
        multi = np.array([shapely.MultiPolygon([g]) if g is not None and g.geom_type == "Polygon" else g
                          for g in geoms], dtype=object)
        wkb = shapely.to_wkb(multi, include_srid=False)
        with self.transaction("boundaries") as cur:
            import_id = self._record_import(cur, report, len(frame))
            cur.executemany(
                f"INSERT INTO boundaries (geom, {', '.join(BOUNDARY_FIELDS)}, import_id) VALUES "
                f"(ST_Multi(ST_SetSRID(ST_GeomFromWKB(%s), {self.srid})), %s,%s,%s,%s,%s, %s) "
                "ON CONFLICT (level, code) DO UPDATE SET geom=excluded.geom, name=excluded.name, "
                "parent_code=excluded.parent_code, force=excluded.force, import_id=excluded.import_id",
                [(w, *_clean(row), import_id) for w, row in
                 zip(wkb, frame[list(BOUNDARY_FIELDS)].astype(object).itertuples(index=False, name=None))])
            report.new, report.duplicates = len(frame), 0

    def read_boundaries(self, level: str | None = None, *, with_import_id: bool = False) -> gpd.GeoDataFrame:
        """Boundary units (one level or all); ``with_import_id`` adds the id of their import."""
        return self._features("boundaries", BOUNDARY_FIELDS + (("import_id",) if with_import_id else ()), where="level = %s" if level else None,
                              args=(level,) if level else ())

    def boundary_levels(self) -> list[str]:
        return list(self._read("SELECT DISTINCT level FROM boundaries")["level"])

    def _features(self, table: str, cols, where: str | None = None, args=()) -> gpd.GeoDataFrame:
        sql = (f"SELECT fid, ST_AsBinary(geom) AS geom, {', '.join(cols)} FROM {table}"
               + (f" WHERE {where}" if where else "") + " ORDER BY fid")
        df = self._read(sql, args, columns=["fid", "geom", *cols]).set_index("fid")
        geom = shapely.from_wkb(np.array([None if g is None else bytes(g) for g in df.pop("geom")], dtype=object))
        return gpd.GeoDataFrame(df, geometry=list(geom), crs=self.crs)

    # ------------------------------------------------------------------ settings, harm
    def get_setting(self, key: str, default=None):
        v = self._scalar("SELECT value FROM settings WHERE key = %s", (key,))
        return json.loads(v) if v is not None else default

    def set_setting(self, key: str, value) -> None:
        with self.transaction("settings") as cur:
            cur.execute("INSERT INTO settings VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                        (key, json.dumps(value)))

    def settings(self) -> dict:
        df = self._read("SELECT key, value FROM settings")
        return {k: json.loads(v) for k, v in zip(df["key"], df["value"])}

    def harm_weights(self) -> pd.DataFrame:
        df = self._read("SELECT category, weight, basis, source FROM harm_weights ORDER BY weight DESC, seq",
                        columns=["category", "weight", "basis", "source"])
        df["weight"] = df["weight"].astype(float)
        return df

    def set_harm_weights(self, table: pd.DataFrame) -> None:
        """Replace the whole harm-weight table (columns category, weight, basis, source)."""
        rows = [(str(r.category), float(r.weight), str(getattr(r, "basis", "") or ""),
                 str(getattr(r, "source", "") or ""), i) for i, r in enumerate(table.itertuples(index=False))]
        with self.transaction("harm_weights") as cur:
            cur.execute("DELETE FROM harm_weights")
            cur.executemany("INSERT INTO harm_weights (category, weight, basis, source, seq) "
                            "VALUES (%s,%s,%s,%s,%s)", rows)

    # ------------------------------------------------------------------ operations
    def save_operation(self, op_id: str, name: str, record: dict, geometry) -> None:
        if geometry is not None and geometry.geom_type == "Polygon":
            geometry = shapely.MultiPolygon([geometry])
        wkb = None if geometry is None else shapely.to_wkb(geometry, include_srid=False)
        with self.transaction("operations") as cur:
            cur.execute(f"INSERT INTO operations (geom, op_id, name, record, updated_at) VALUES "
                        f"(ST_SetSRID(ST_GeomFromWKB(%s), {self.srid}), %s, %s, %s, %s) "
                        "ON CONFLICT (op_id) DO UPDATE SET geom=excluded.geom, name=excluded.name, "
                        "record=excluded.record, updated_at=excluded.updated_at",
                        (wkb, op_id, name, json.dumps(record), now_text()))

    def delete_operation(self, op_id: str) -> None:
        with self.transaction("operations") as cur:
            cur.execute("DELETE FROM operations WHERE op_id = %s", (op_id,))

    def read_operations(self) -> gpd.GeoDataFrame:
        return self._features("operations", ("op_id", "name", "record", "updated_at"))

    # ------------------------------------------------------------------ history, audit
    def import_history(self) -> pd.DataFrame:
        df = self._read(f"SELECT {', '.join(HISTORY_FIELDS)} FROM import_history ORDER BY id",
                        columns=list(HISTORY_FIELDS))
        for c in HISTORY_FIELDS:
            if c not in ("imported_at", "kind", "source"):
                df[c] = df[c].astype("int64")
        return df

    def import_report(self, import_id: int) -> dict:
        v = self._scalar("SELECT report FROM import_history WHERE id = %s", (int(import_id),))
        return json.loads(v) if v else {}

    def rejected_rows(self, import_id: int | None = None) -> pd.DataFrame:
        sql = "SELECT import_id, file, row, column_name AS column, reason, raw FROM rejected_rows"
        args: tuple = ()
        if import_id is not None:
            sql, args = sql + " WHERE import_id = %s", (int(import_id),)
        return self._read(sql + " ORDER BY import_id, file, row", args,
                          columns=["import_id", "file", "row", "column", "reason", "raw"])

    def audit(self, user: str, action: str, detail: str = "", *, busy_timeout_s: float | None = None) -> None:
        """Append one entry to the audit log (the only write the log accepts)."""
        with self.transaction("audit_log") as cur:
            if busy_timeout_s is not None:
                cur.execute(f"SET LOCAL lock_timeout = '{int(float(busy_timeout_s) * 1000)}ms'")
            cur.execute('INSERT INTO audit_log (at, "user", action, detail) VALUES (%s,%s,%s,%s)',
                        (now_text(), user, action, detail))

    def audit_log(self) -> pd.DataFrame:
        return self._read('SELECT at, "user", action, detail FROM audit_log ORDER BY id DESC',
                          columns=["at", "user", "action", "detail"])

    # ------------------------------------------------------------------ finished analyses (a cache)
    def save_result(self, key: str, op_id: str, blob: bytes, *, keep: int = 8) -> None:
        """Store one finished analysis (one transaction; no change counter moves: it changes no data)."""
        with self.transaction() as cur:
            if not self._results_table:
                cur.execute("CREATE TABLE IF NOT EXISTS analysis_results (key text PRIMARY KEY, op_id text NOT NULL, "
                            "saved_at text NOT NULL, seq bigserial, blob bytea NOT NULL)")
            cur.execute("INSERT INTO analysis_results (key, op_id, saved_at, blob) VALUES (%s, %s, %s, %s) "
                        "ON CONFLICT (key) DO UPDATE SET op_id = excluded.op_id, saved_at = excluded.saved_at, "
                        "seq = nextval(pg_get_serial_sequence('analysis_results', 'seq')), blob = excluded.blob",
                        (key, op_id, now_text(), bytes(blob)))
            cur.execute("DELETE FROM analysis_results WHERE op_id = %s AND key NOT IN (SELECT key FROM "
                        "analysis_results WHERE op_id = %s ORDER BY seq DESC LIMIT %s)", (op_id, op_id, int(keep)))
        self._results_table = True  # only once the transaction that made it has committed
        return None

    def load_result(self, key: str) -> bytes | None:
        if not self._results_table:
            if not self._scalar("SELECT to_regclass('analysis_results') IS NOT NULL"):
                return None
            self._results_table = True
        v = self._scalar("SELECT blob FROM analysis_results WHERE key = %s", (key,))
        return None if v is None else bytes(v)


def _clean(row) -> tuple:
    """Missing values (NaN, NA) as ``None`` for the database."""
    return tuple(None if (v is None or (isinstance(v, float) and v != v) or v is pd.NA) else v for v in row)
