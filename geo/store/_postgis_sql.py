"""The PostGIS table layout for :class:`~geo.store.postgis.PostgisStore` (one schema per workspace).

The same tables as the GeoPackage, with the indexes reads filter on: ``(layer, month)``
and ``(layer, force, month)`` for incidents, GiST on every geometry, and the unique
``uid_key`` that de-duplicates imports. The audit log refuses UPDATE and DELETE (a
trigger), as in the GeoPackage.
"""
from __future__ import annotations


def schema_sql(srid: int) -> list[str]:
    """The statements creating one workspace's tables (run with its schema first on the path)."""
    return [
        f"""CREATE TABLE incidents (fid bigserial PRIMARY KEY, geom geometry(Point, {srid}),
            uid text NOT NULL, uid_key bigint NOT NULL, layer text, source text, import_id integer,
            crime_id text, month text, date text, category text, subcategory text, force text, location text,
            lsoa_code text, lsoa_name text, outcome text, x double precision, y double precision, status text)""",
        "CREATE UNIQUE INDEX incidents_uid_key ON incidents (uid_key)",
        "CREATE INDEX incidents_layer_month ON incidents (layer, month)",
        "CREATE INDEX incidents_layer_force_month ON incidents (layer, force, month)",
        "CREATE INDEX incidents_geom ON incidents USING gist (geom)",
        f"""CREATE TABLE sites (fid serial PRIMARY KEY, geom geometry(Point, {srid}), uid text UNIQUE, kind text,
            name text, detail text, source text, status text, import_id integer)""",
        "CREATE INDEX sites_geom ON sites USING gist (geom)",
        f"""CREATE TABLE boundaries (fid serial PRIMARY KEY, geom geometry(MultiPolygon, {srid}), level text,
            code text, name text, parent_code text, force text, import_id integer, UNIQUE (level, code))""",
        "CREATE INDEX boundaries_geom ON boundaries USING gist (geom)",
        f"""CREATE TABLE operations (fid serial PRIMARY KEY, geom geometry(MultiPolygon, {srid}),
            op_id text UNIQUE, name text, record text, updated_at text)""",
        "CREATE TABLE settings (key text PRIMARY KEY, value text NOT NULL)",
        """CREATE TABLE harm_weights (category text PRIMARY KEY, weight double precision NOT NULL, basis text,
            source text, seq integer)""",
        """CREATE TABLE import_history (id serial PRIMARY KEY, imported_at text, kind text, source text,
            rows_read integer, mapped integer, no_location integer, outside_area integer, rejected integer,
            new integer, duplicates integer, report text)""",
        """CREATE TABLE rejected_rows (uid text PRIMARY KEY, import_id integer, file text, row integer,
            column_name text, reason text, raw text)""",
        'CREATE TABLE audit_log (id bigserial PRIMARY KEY, at text, "user" text, action text, detail text)',
        """CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'the audit log is append-only: entries cannot be changed or deleted'; END $$""",
        """CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
            FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()""",
        """CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
            FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()""",
        "CREATE TABLE store_version (part text PRIMARY KEY, n bigint NOT NULL)",
    ]
