"""Command line for scheduled and batch use: ``python -m geo COMMAND ...``.

Commands
--------
import
    Import police.uk crime, calls through a saved column mapping, sites or boundaries
    into a workspace; prints the import report; exits 2 on a refused file.
demo
    Build the bundled demo workspaces (South Yorkshire, Portland) if they are missing.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .errors import GeoInputError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m geo", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)

    imp = sub.add_parser("import", help="import files into a workspace and print the import report")
    imp.add_argument("--workspace", required=True, help="workspace GeoPackage (created if missing)")
    imp.add_argument("--name", help="workspace name when creating it (default: file name)")
    imp.add_argument("--crs", default="EPSG:27700", help="analysis CRS when creating (metres; default EPSG:27700)")
    imp.add_argument("--force", help="police force name when creating (e.g. 'South Yorkshire')")
    imp.add_argument("--crime", action="append", default=[], help="police.uk street CSV, folder or zip (repeatable)")
    imp.add_argument("--calls", action="append", default=[], help="incidents/calls file (needs --mapping)")
    imp.add_argument("--mapping", help="name of a saved column mapping, or a JSON file defining one")
    imp.add_argument("--sites", action="append", default=[], help="sensitive sites file")
    imp.add_argument("--kind", help="site kind for a sites file without a 'kind' column")
    imp.add_argument("--boundaries", action="append", default=[], help="boundary file")
    imp.add_argument("--level", help="boundary level: force, bcu, ward, neighbourhood or lsoa")
    imp.add_argument("--name-field", help="boundary attribute with the unit name")
    imp.add_argument("--code-field", help="boundary attribute with the unit code")
    imp.add_argument("--parent-field", help="boundary attribute with the parent unit's code")
    imp.add_argument("--force-field", help="boundary attribute with the police force")
    imp.add_argument("--rejected-out", help="write the rejected rows to this CSV")

    demo = sub.add_parser("demo", help="build the bundled demo workspaces if missing")
    demo.add_argument("--folder", default=None, help="where to put them (default: workspaces/)")
    return p


def _load_mapping(ws, spec: str):
    from .io import ColumnMapping
    path = Path(spec)
    if path.suffix.lower() == ".json" and path.exists():
        try:
            return ColumnMapping.from_dict(json.loads(path.read_text()))
        except (json.JSONDecodeError, TypeError) as err:
            raise GeoInputError(f"The mapping file is not a valid mapping: {err}", where=str(path),
                                fix='write JSON like {"name": "cfs", "category": "TYPE", "timestamp": "DATE", '
                                    '"x": "LON", "y": "LAT", "crs": "EPSG:4326"}') from None
    return ws.mapping(spec)


def _import(args) -> int:
    from .workspace import Workspace
    path = Path(args.workspace)
    created = not path.exists()
    ws = Workspace.create(path, name=args.name or path.stem, crs=args.crs, force=args.force) if created \
        else Workspace.open(path)
    try:
        return _import_into(ws, args)
    except GeoInputError:
        if created:  # a refused first import leaves no half-made workspace behind
            ws.close()
            path.unlink(missing_ok=True)
        raise
    finally:
        ws.close()


def _import_into(ws, args) -> int:
    reports = []
    for f in args.boundaries:
        if not (args.level and args.name_field and args.code_field):
            raise GeoInputError("--boundaries needs --level, --name-field and --code-field", where=f,
                                fix="e.g. --level bcu --name-field LAD13NM --code-field LAD13CD")
        reports.append(ws.import_boundaries(f, level=args.level, name_field=args.name_field,
                                            code_field=args.code_field, parent_field=args.parent_field,
                                            force_field=args.force_field))
    for f in args.crime:
        reports.append(ws.import_crime(f))
    for f in args.calls:
        if not args.mapping:
            raise GeoInputError("--calls needs --mapping (a saved mapping name or a JSON file)", where=f,
                                fix="add --mapping NAME")
        reports.append(ws.import_calls(f, _load_mapping(ws, args.mapping)))
    for f in args.sites:
        reports.append(ws.import_sites(f, kind=args.kind))
    if not reports:
        print("Nothing to import: give --crime, --calls, --sites or --boundaries.", file=sys.stderr)
        return 2
    for r in reports:
        print(r.summary())
        print()
    if args.rejected_out:
        import pandas as pd
        frames = [r.rejected for r in reports if len(r.rejected)]
        (pd.concat(frames) if frames else reports[0].rejected).to_csv(args.rejected_out, index=False)
        print(f"Rejected rows written to {args.rejected_out}")
    return 0


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "import":
            return _import(args)
        if args.command == "demo":
            from .demo import WORKSPACES, ensure_demo_workspaces
            ensure_demo_workspaces(args.folder or WORKSPACES)
            return 0
    except GeoInputError as err:
        print(f"error: {err}", file=sys.stderr)
        print("Nothing was changed in the workspace.", file=sys.stderr)
        return 2
    return 1
