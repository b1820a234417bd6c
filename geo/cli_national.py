"""`python -m geo national`: the national pipeline on a dask cluster (see geo.national).

The parser imports nothing heavy; the handler imports dask and geo.national when it runs.
"""
from __future__ import annotations

import sys


def add_national_parser(sub) -> None:
    """Add the ``national`` subcommand to the main parser's subparsers."""
    nat = sub.add_parser(
        "national", help="all forces' police.uk archive on a dask cluster: GeoParquet, harm panels, hot spots",
        description="Read a police.uk archive of all forces (YYYY-MM/YYYY-MM-<force>-street.csv, a folder "
                    "or zip) one file per dask task into GeoParquet partitioned by force and month, then "
                    "write per-force, per-BCU and per-LSOA monthly harm panels, Gi* and emerging hot spots "
                    "per force on the national grid and, with --workspace, the cross-force displacement "
                    "monitor. Finished files are not redone when the command runs again.")
    nat.add_argument("--archive", required=True, help="police.uk archive folder or zip (all forces)")
    nat.add_argument("--out", required=True, help="output folder (created; reused to resume)")
    nat.add_argument("--scheduler", help="address of a running dask scheduler, e.g. tcp://host:8786 "
                                         "(default: start a LocalCluster)")
    nat.add_argument("--workers", type=int, default=2, help="LocalCluster worker processes (default 2)")
    nat.add_argument("--memory-limit", default="2GB", help="memory limit per worker (default 2GB)")
    nat.add_argument("--workspace", help="workspace .gpkg whose registered operations to monitor across forces")
    nat.add_argument("--cell-size", type=float, default=500.0, help="national grid cell side in metres (500)")
    nat.add_argument("--harm-table", help="harm-weight CSV (default: the bundled CCHI table)")
    nat.add_argument("--no-hotspots", action="store_true", help="panels only: skip Gi* and emerging hot spots")
    nat.add_argument("--quiet", action="store_true", help="no progress bar")


def run_national_cli(args) -> int:
    """Handle ``python -m geo national``: run, then print a short summary."""
    from .harm import read_harm_weights
    from .national import run_national
    table = read_harm_weights(args.harm_table) if args.harm_table else None
    if args.workers < 1:
        print("error: --workers must be 1 or more", file=sys.stderr)
        return 2
    res = run_national(args.archive, args.out, scheduler=args.scheduler, workers=args.workers,
                       memory_limit=args.memory_limit, harm_table=table, workspace=args.workspace,
                       cell_size=args.cell_size, hotspots=not args.no_hotspots, progress=not args.quiet)
    print(f"{res.files} file(s): {res.done_now} processed now, {res.skipped} already finished; "
          f"{res.rows:,} rows read")
    for name, path in res.panels.items():
        print(f"panel {name}: {path}")
    if res.uncovered:
        shown = ", ".join(f"{f} {m}" for f, m in res.uncovered[:8])
        more = f" and {len(res.uncovered) - 8} more" if len(res.uncovered) > 8 else ""
        print(f"not covered (no file; unknown, not zero): {shown}{more}")
    for rec in res.forces:
        if rec["note"]:
            print(f"{rec['force']}: {rec['note']}")
    if res.monitor:
        print(f"displacement monitor: {res.monitor}")
    print(f"summary: {res.out / 'summary.json'}")
    return 0
