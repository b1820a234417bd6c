"""Copy a workspace from one store to another (``python -m geo migrate``), counts checked.

Everything is copied in one transaction of the target: settings, harm weights,
boundaries, sites, operations, incidents (every status), the import history with its
reports, the rejected rows and the audit log (oldest first, so its order is kept). The
target is then counted table by table against the source; on any difference the
transaction is rolled back and nothing is left behind.
"""
from __future__ import annotations

import hashlib
import json

import pandas as pd

from .base import StoreError


def counts(store) -> dict[str, int]:
    """Rows per table, read through the :class:`~geo.store.Store` protocol."""
    return {
        "incidents": len(store.read_incidents(statuses=None)), "sites": len(store.read_sites()),
        "boundaries": len(store.read_boundaries()), "operations": len(store.read_operations()),
        "harm_weights": len(store.harm_weights()), "settings": len(store.settings()),
        "import_history": len(store.import_history()), "rejected_rows": len(store.rejected_rows()),
        "audit_log": len(store.audit_log()),
    }


def migrate(source, target_url: str, *, replace: bool = False, if_missing: bool = False,
            progress=print) -> dict[str, int]:
    """Copy the workspace ``source`` (a path or URL) into a new PostGIS workspace at ``target_url``.

    Parameters
    ----------
    source : str or Path
        The workspace to copy (a ``.gpkg`` file or another ``postgresql://`` workspace).
    target_url : str
        ``postgresql://user@host:port/db?workspace=NAME``; must not exist yet unless ``replace``.
    replace : bool
        Drop an existing target workspace first.
    if_missing : bool
        Leave an existing target workspace as it is (and return ``{}``).

    Returns
    -------
    dict
        Rows copied per table (equal to the source's; checked).
    """
    from . import open_store
    from .postgis import PostgisStore, is_url
    if not is_url(target_url):
        from ..errors import GeoInputError
        raise GeoInputError("--to must be a postgresql:// URL", where=str(target_url),
                            fix="e.g. --to 'postgresql://geo@localhost:5432/geo?workspace=south-yorkshire'")
    if if_missing and not replace:
        try:
            PostgisStore(target_url).close()
        except StoreError:
            raise
        except Exception:  # noqa: BLE001 - no such workspace: copy it
            pass
        else:
            progress(f"Kept the existing workspace {target_url.split('?')[-1]}.")
            return {}
    src = open_store(source)
    try:
        want = counts(src)
        progress(f"Source {src.location}: " + ", ".join(f"{k} {v:,}" for k, v in want.items()))
        if replace:
            try:
                PostgisStore(target_url).drop()
            except StoreError:
                raise
            except Exception:  # noqa: BLE001 - no such workspace yet: nothing to drop
                pass
        dst = PostgisStore(target_url, src.crs, create=True)
        try:
            copy_into(src, dst, want)
            got = counts(dst)
        except BaseException:
            dst.drop()
            raise
        finally:
            dst.close()
        if got != want:  # pragma: no cover - copy_into checks inside its transaction
            raise StoreError(f"The copy does not match its source: {got} != {want}", where=str(target_url))
        progress(f"Copied to {dst.location}: counts match.")
        return got
    finally:
        src.close()


def copy_into(src, dst, want: dict[str, int]) -> None:
    """Write everything of ``src`` into the empty PostGIS store ``dst`` in one transaction, then count."""
    from .base import uid_keys
    srid = dst.srid
    inc = src.read_incidents(statuses=None)
    hist = src.import_history()
    with dst.transaction(*("incidents", "sites", "boundaries", "operations", "settings", "harm_weights",
                           "audit_log")) as cur:
        for k, v in src.settings().items():
            cur.execute("INSERT INTO settings VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                        (k, json.dumps(v)))
        harm = src.harm_weights()
        cur.executemany("INSERT INTO harm_weights (category, weight, basis, source, seq) VALUES (%s,%s,%s,%s,%s)",
                        [(r.category, float(r.weight), r.basis, r.source, i)
                         for i, r in enumerate(harm.itertuples(index=False))])
        for _, r in hist.iterrows():
            cur.execute("INSERT INTO import_history (id, imported_at, kind, source, rows_read, mapped, no_location, "
                        "outside_area, rejected, new, duplicates, report) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                        (int(r["id"]), r["imported_at"], r["kind"], r["source"],
                         *(None if pd.isna(r[c]) else int(r[c]) for c in ("rows_read", "mapped", "no_location",
                                                                          "outside_area", "rejected", "new",
                                                                          "duplicates")),
                         json.dumps(src.import_report(int(r["id"])))))
        cur.execute("SELECT setval(pg_get_serial_sequence('import_history', 'id'), "
                    "greatest((SELECT max(id) FROM import_history), 1))")
        rej = src.rejected_rows()
        cur.executemany("INSERT INTO rejected_rows VALUES (%s,%s,%s,%s,%s,%s,%s)",
                        [(hashlib.sha1(f"{r.file}\x1f{r.row}\x1f{r.raw}".encode()).hexdigest(), int(r.import_id),
                          r.file, int(r.row), r.column, r.reason, r.raw) for r in rej.itertuples(index=False)])
        log = src.audit_log().iloc[::-1]
        cur.executemany('INSERT INTO audit_log (at, "user", action, detail) VALUES (%s,%s,%s,%s)',
                        log[["at", "user", "action", "detail"]].itertuples(index=False, name=None))
        import shapely
        for table, frame, cols in (("boundaries", src.read_boundaries(with_import_id=True),
                                    ("level", "code", "name", "parent_code", "force", "import_id")),
                                   ("sites", src.read_sites(with_import_id=True),
                                    ("uid", "kind", "name", "detail", "source", "status", "import_id")),
                                   ("operations", src.read_operations(), ("op_id", "name", "record", "updated_at"))):
            wkb = shapely.to_wkb(frame.geometry.to_numpy(), include_srid=False)
            geom = f"ST_SetSRID(ST_GeomFromWKB(%s), {srid})"
            if table != "sites":
                geom = f"ST_Multi({geom})"
            cur.executemany(f"INSERT INTO {table} (geom, {', '.join(cols)}) VALUES ({geom}, "
                            f"{', '.join(['%s'] * len(cols))})",
                            [(w, *(None if pd.isna(v) else v for v in row))
                             for w, row in zip(wkb, frame[list(cols)].astype(object).itertuples(index=False))])
        fields = ["uid", "layer", "source", "import_id", "crime_id", "month", "date", "category", "subcategory",
                  "force", "location", "lsoa_code", "lsoa_name", "outcome", "x", "y", "status"]
        keys = uid_keys(inc["uid"].astype(str)).tolist()
        cols = [inc[c].astype(object).where(inc[c].notna(), None).tolist() for c in fields]
        with cur.copy(f"COPY incidents (uid_key, {', '.join(fields)}) FROM STDIN") as cp:
            for row in zip(keys, *cols):
                cp.write_row(row)
        cur.execute(f"UPDATE incidents SET geom = ST_SetSRID(ST_MakePoint(x, y), {srid}) "
                    "WHERE x IS NOT NULL AND y IS NOT NULL AND x <> 'NaN' AND y <> 'NaN'")
        got = {t: cur.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in want}
        if got != want:
            raise StoreError(f"The copy does not match its source ({got} against {want}); nothing was written",
                             where=dst.location, fix="report this message")
