"""What SQLite itself costs for the rows an import stores (issue 11's floor question).

Usage: ``python benchmarks/sqlite_floor.py WORKSPACE.gpkg [--rounds N]``, where the workspace holds
an imported ``incidents`` table (e.g. one kept by ``bench_import.py --keep``). Its rows, in
``fid`` order, are written into fresh files with the same page size, journal and
``synchronous`` settings as a new workspace, in CPU seconds (user + system) of this process:

* ``bind all``: ``executemany`` of one ``INSERT`` per row binding every column from Python
  tuples already built (what a plain Python loader pays; building the tuples is not timed);
* ``copy``: ``INSERT INTO ... SELECT`` from the workspace file attached (no Python value per
  row at all: SQLite's own cost of encoding and appending the same records);
* ``uid_key index``, ``group index``: the two indexes the workspace keeps (built after the
  rows, as a first import does), and the ``commit``;
* ``bind from Arrow in C``: the ADBC SQLite driver's bulk ingest (``adbc_ingest``, append) of
  the same rows held as an Arrow table (building the table is not timed), i.e. binding every
  cell in C with no Python value, into a fresh file, plus its commit; every column but ``fid``,
  which SQLite assigns (the other rows copy it). Only when
  ``adbc-driver-sqlite`` is installed (``make bench`` installs it); it links its own SQLite,
  which is why the product cannot use it in the dashboard's process (two SQLite libraries on
  one file in one process can drop each other's locks).

Nothing here checks, accounts or de-duplicates anything: these are lower bounds for the store
write of ``Workspace.import_crime``, not alternatives to it.
"""
from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path


def _fresh(path: Path, decl: str) -> sqlite3.Connection:
    c = sqlite3.connect(path, isolation_level=None)
    for pragma in ("page_size=16384", "journal_mode=DELETE", "synchronous=FULL", "cache_size=-262144",
                   "temp_store=MEMORY"):  # as GpkgStore sets them for a new workspace
        c.execute(f"PRAGMA {pragma}")
    c.execute(f"CREATE TABLE incidents ({decl})")
    return c


def measure(src: Path, tmp: Path) -> dict:
    """One round: the CPU seconds of each step (see the module docstring)."""
    cpu = time.process_time
    with sqlite3.connect(src) as s:
        info = s.execute("PRAGMA table_info(incidents)").fetchall()
        rows = s.execute("SELECT * FROM incidents ORDER BY fid").fetchall()
    decl = ", ".join(f'"{r[1]}" {r[2]}' + (" PRIMARY KEY" if r[5] else "") for r in info)
    out = {"rows": len(rows), "columns": len(info)}
    c = _fresh(tmp / "bind.db", decl)
    t = cpu()
    c.execute("BEGIN")
    c.executemany(f"INSERT INTO incidents VALUES ({','.join('?' * len(info))})", rows)
    c.execute("COMMIT")
    out["bind all + commit"] = cpu() - t
    c.close()
    del rows
    c = _fresh(tmp / "copy.db", decl)
    c.execute("ATTACH ? AS s", (str(src),))
    c.execute("SELECT count(*) FROM s.incidents").fetchone()
    t = cpu()
    c.execute("BEGIN")
    c.execute("INSERT INTO main.incidents SELECT * FROM s.incidents ORDER BY fid")
    out["copy"] = cpu() - t
    t = cpu()
    c.execute("CREATE INDEX incidents_uid_key ON incidents(uid_key)")
    out["uid_key index"] = cpu() - t
    t = cpu()
    c.execute("CREATE INDEX incidents_group ON incidents(layer, force, month)")
    out["group index"] = cpu() - t
    t = cpu()
    c.execute("COMMIT")
    out["commit"] = cpu() - t
    c.close()
    try:
        import adbc_driver_sqlite.dbapi as adbc
        import pyarrow as pa
    except ImportError:
        adbc = None
    if adbc is not None:
        with sqlite3.connect(src) as s:
            names = [r[1] for r in info if not r[5]]  # every column but the fid
            data = s.execute(f"SELECT {', '.join(names)} FROM incidents ORDER BY fid").fetchall()
        table = pa.table({n: pa.array([r[i] for r in data]) for i, n in enumerate(names)})
        del data
        _fresh(tmp / "adbc.db", decl).close()
        a = adbc.connect(str(tmp / "adbc.db"), autocommit=True)
        cur = a.cursor()
        for pragma in ("synchronous=FULL", "cache_size=-262144", "temp_store=MEMORY"):
            cur.execute(f"PRAGMA {pragma}")
        t = cpu()
        cur.execute("BEGIN")
        cur.adbc_ingest("incidents", table, mode="append")
        cur.execute("COMMIT")
        out["bind from Arrow in C + commit"] = cpu() - t
        cur.execute("SELECT count(*) FROM incidents")
        assert cur.fetchone()[0] == out["rows"], "the ADBC ingest stored a different number of rows"
        cur.close()
        a.close()
    for f in tmp.glob("*.db"):
        f.unlink()
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workspace", help="a .gpkg workspace with imported incidents")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    print("load average", os.getloadavg())
    with tempfile.TemporaryDirectory() as d:
        for i in range(args.rounds):
            r = measure(Path(args.workspace), Path(d))
            per_m = 1e6 / r.pop("rows")
            print(f"round {i + 1}: " + ", ".join(f"{k} {v * per_m:.2f}" for k, v in r.items() if k != "columns")
                  + " (CPU s per million rows)")
    print("load average", os.getloadavg())
    return 0


if __name__ == "__main__":
    sys.exit(main())
