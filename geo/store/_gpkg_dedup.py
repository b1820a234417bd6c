"""De-duplication of incident imports for :class:`~geo.store.gpkg.GpkgStore`, inside its write
transaction: which incoming keys are stored already (:func:`held_keys`) and, for a republished
police.uk force-month, which held rows are gone or changed (:func:`replace_groups`).

Both run in SQLite against the ``uid_key`` and group indexes (``KEY_INDEXES``), so their cost
follows the import, not what the workspace holds; incoming keys and content are bound in
blocks, a hundred rows per statement, and nothing is built for a row per stored row.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ._gpkg_sql import INSERT_CHUNK, insert_many
from .base import CONTENT_FIELDS, first_of_each

#: Distinct keys looked up per query by :func:`held_keys` (bounds the text of the keys found: ~21 MB).
HELD_BLOCK = 1_000_000


def held_keys(c, keys: np.ndarray, *, key_index: bool) -> np.ndarray:
    """Which of ``keys`` are stored already: one index lookup per distinct key (the
    ``uid_key`` index), so the cost follows the import, not the workspace. A file
    without the index (read-only, made before it existed) is scanned instead.

    The distinct keys go into a temporary table in ascending order (appends, not B-tree
    splits), a hundred per statement; the keys found come back as one comma-separated
    text per block of :data:`HELD_BLOCK` keys (``group_concat``), parsed by NumPy rather
    than fetched as a Python row each, and rows are matched to them with a hash table.
    """
    if not len(keys):
        return np.zeros(0, dtype=bool)
    if not key_index:
        held = np.fromiter((r[0] for r in c.execute("SELECT uid_key FROM incidents")), dtype=np.int64)
        return pd.Series(keys).isin(held).to_numpy()
    distinct = np.sort(pd.unique(keys))
    c.execute("CREATE TEMP TABLE IF NOT EXISTS _keys (k INTEGER PRIMARY KEY)")
    c.execute("DELETE FROM _keys")
    found = []
    for a in range(0, len(distinct), HELD_BLOCK):
        for b in range(a, min(a + HELD_BLOCK, len(distinct)), INSERT_CHUNK):
            insert_many(c, "INSERT INTO _keys (k)", "(?)",
                        [distinct[b:min(b + INSERT_CHUNK, a + HELD_BLOCK, len(distinct))].tolist()])
        text = c.execute("SELECT group_concat(k) FROM _keys "
                         "WHERE EXISTS (SELECT 1 FROM incidents WHERE uid_key = k)").fetchone()[0]
        c.execute("DELETE FROM _keys")
        if text:
            found.append(np.fromstring(text, dtype=np.int64, sep=","))
    if not found:
        return np.zeros(len(keys), dtype=bool)
    return pd.Series(keys).isin(np.concatenate(found)).to_numpy()


def replace_groups(c, frame: pd.DataFrame, keys: np.ndarray, *, key_index: bool) -> tuple[int, int]:
    """Delete held rows of the frame's (layer, force, month) groups that are gone or changed.

    The comparison runs in SQLite: the new rows' keys and content go into temporary
    tables, and the group index on ``incidents`` finds the held rows of those groups
    that the new file no longer has or has in another version.
    """
    # the frame's (layer, force, month) groups, numbered without a Python string per row
    gid = np.zeros(len(frame), dtype=np.int64)
    for col in ("layer", "force", "month"):
        codes, uniques = pd.factorize(frame[col], use_na_sentinel=True)
        gid, _ = pd.factorize(gid * (len(uniques) + 1) + (codes.astype(np.int64) + 1))
    reps = first_of_each(gid)  # one row per group, in group-number order
    groups = list(frame[["layer", "force", "month"]].iloc[np.flatnonzero(reps)].astype(str)
                  .itertuples(index=False, name=None))
    months = sorted({g[2] for g in groups})
    if key_index:  # one index probe per group
        held_groups = {g for g in groups
                       if c.execute("SELECT 1 FROM incidents WHERE layer=? AND force=? AND month=? LIMIT 1",
                                    g).fetchone()}
    else:
        held_groups = set(c.execute(
            f"SELECT DISTINCT layer, force, month FROM incidents WHERE month IN ({','.join('?' * len(months))})",
            months).fetchall())
    if not held_groups:  # the usual monthly import: nothing of these months is held yet
        return 0, 0
    in_held = np.array([g in held_groups for g in groups], dtype=bool)[gid]
    if not in_held.any():
        return 0, 0
    first = first_of_each(keys)
    first &= in_held
    # only the compared columns are gathered (not the geometry and ids of the whole frame)
    rows = frame[[col for col in (*CONTENT_FIELDS, "x", "y") if col in frame]]
    if not first.all():
        rows = rows.iloc[np.flatnonzero(first)]
    import pyarrow as pa
    import pyarrow.compute as pc

    def text(col):
        if col not in rows:
            return pa.array([""] * len(rows), type=pa.string())
        try:
            arr = pa.array(rows[col].array, type=pa.string())
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            arr = pa.array(rows[col].astype(object).where(rows[col].notna(), None).astype(str).tolist())
        return pc.fill_null(arr, "")
    texts = [text(col) for col in CONTENT_FIELDS]
    xs = rows["x"].astype(float).to_numpy() if "x" in rows else np.full(len(rows), np.nan)
    ys = rows["y"].astype(float).to_numpy() if "y" in rows else np.full(len(rows), np.nan)
    c.execute("CREATE TEMP TABLE IF NOT EXISTS _new_rows (uid_key INTEGER PRIMARY KEY, content TEXT, x REAL, y REAL)")
    c.execute("CREATE TEMP TABLE IF NOT EXISTS _new_groups (layer TEXT, force TEXT, month TEXT, "
              "PRIMARY KEY (layer, force, month))")
    c.execute("DELETE FROM _new_rows")
    c.execute("DELETE FROM _new_groups")
    nan_to_none = lambda a: [None if v != v else v for v in a.tolist()]  # noqa: E731
    new_keys = keys[first]

    def content(part):  # the compared columns joined, a block of rows at a time (bounded memory)
        idx = pa.array(part)
        return pc.binary_join_element_wise(*(t.take(idx) for t in texts), "\x1f").to_pylist()
    order = np.argsort(new_keys, kind="stable")  # ascending keys: appends, not B-tree splits
    del rows
    for a in range(0, len(order), INSERT_CHUNK):  # a hundred rows per statement, a block at a time
        part = order[a:a + INSERT_CHUNK]
        insert_many(c, "INSERT INTO _new_rows (uid_key, content, x, y)", "(?,?,?,?)",
                    [new_keys[part].tolist(), content(part),
                     nan_to_none(xs[part]), nan_to_none(ys[part])])
    del texts, xs, ys
    c.executemany("INSERT OR IGNORE INTO _new_groups VALUES (?,?,?)",
                  [g for g in groups if g in held_groups])
    held = " || char(31) || ".join(f"coalesce(i.{col}, '')" for col in CONTENT_FIELDS)
    near = lambda a: (f"(i.{a} = n.{a} OR coalesce(abs(i.{a} - n.{a}) <= 0.01, 0) "  # noqa: E731
                      f"OR (i.{a} IS NULL AND n.{a} IS NULL))")
    # with the group index: the new groups outer, their held rows found through the index;
    # without it, incidents outer (one scan, lookups in the small tables). CROSS JOIN fixes the order.
    join = ("_new_groups g CROSS JOIN incidents i" if key_index else
            "incidents i CROSS JOIN _new_groups g")
    found = c.execute(
        f"SELECT i.fid, n.uid_key IS NULL FROM {join} "
        f"ON i.layer = g.layer AND i.force = g.force AND i.month = g.month "
        f"LEFT JOIN _new_rows n ON n.uid_key = i.uid_key "
        f"WHERE n.uid_key IS NULL OR n.content <> ({held}) OR NOT {near('x')} OR NOT {near('y')}").fetchall()
    c.execute("DELETE FROM _new_rows")
    c.execute("DELETE FROM _new_groups")
    doomed = [f for f, _ in found]
    removed = sum(1 for _, gone in found if gone)
    for a in range(0, len(doomed), 10_000):
        chunk = doomed[a:a + 10_000]
        c.execute(f"DELETE FROM incidents WHERE fid IN ({','.join('?' * len(chunk))})", chunk)
    return len(doomed) - removed, removed
