"""Command line for scheduled and batch use: ``python -m geo COMMAND ...``.

Commands
--------
import
    Import police.uk crime, calls through a saved column mapping, sites or boundaries
    into a workspace; prints the import report; exits 2 on a refused file.
demo
    Build the bundled demo workspaces (South Yorkshire, Portland) if they are missing.
displacement
    Results analysis of an operation in the register: HTML report plus CSV of the tables.
users
    Local accounts: ``users add --username U --role R [--bcu CODE ...]`` (password asked
    for, or read from stdin with ``--password-stdin``), ``users list``, ``users passwd``,
    ``users role``, ``users disable``, ``users remove``, ``users unlock`` (clear failed
    sign-ins), ``users sign-out`` (end every open session of the account).
briefing
    An area briefing as PDF or HTML: ``briefing --workspace PATH --area NAME --from YYYY-MM
    --to YYYY-MM [--audience partner|internal] --out FILE.pdf``.
hotspots
    Find hot spots (Gi*, KDE, DBSCAN, HDBSCAN or emerging) in a workspace and write them,
    with the exposure of its sensitive sites, to a GeoPackage; exits 2 on bad input.
operations
    The operations register: ``operations add`` (target from a GeoJSON file, a boundary
    unit, or a point and radius; dates; tactic; targeted harms), ``operations list``,
    ``operations remove``; exits 2 on bad input (see :mod:`geo.cli_operations`).

Who is asking
-------------
Every command that reads or changes a workspace goes through :mod:`geo.services` with an
identity, scoped by :mod:`geo.access` and written to the audit log like the dashboard's:
``--as USERNAME`` acts as that account of the accounts file (``GEO_ACCOUNTS``), with its
role and BCUs (an inspector's commands see and change their BCUs only; a partner gets no
incident-level output); without it, the local operator ``cli:<os user>`` with the analyst
role. A refused command exits 3.
"""
from __future__ import annotations

# Only the standard library and geo.errors up here, so that `python -m geo --help` answers at once.
# A subcommand is a parser in _parser(), a handler `_name(args) -> int` that imports what it needs
# (`from .workspace import Workspace`, pandas, ...) inside itself, and one line in main().
# tests/test_packaging.py fails if `--help` of any subcommand loads pandas, geopandas, scipy, ...
import argparse
import json
import sys
from pathlib import Path

from .errors import GeoInputError


def add_identity(parser) -> None:
    """``--as USERNAME`` (``--user`` is kept as its old spelling): who the command acts as."""
    parser.add_argument("--as", "--user", dest="as_user", metavar="USERNAME", default=None,
                        help="act as this account of the accounts file (GEO_ACCOUNTS), with its role and BCUs; "
                             "default: the local operator cli:<os user>, analyst role")


def identity(args):
    """The :class:`geo.auth.User` the command acts as (:func:`geo.services.cli_user`)."""
    from .services import cli_user
    return cli_user(getattr(args, "as_user", None))


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
    imp.add_argument("--repair", action="store_true",
                     help="repair boundary polygons that cannot be read (make_valid; listed in the report)")
    imp.add_argument("--rejected-out", help="write the rejected rows to this CSV")
    add_identity(imp)

    demo = sub.add_parser("demo", help="build the bundled demo workspaces if missing")
    demo.add_argument("--folder", default=None, help="where to put them (default: workspaces/)")

    hot = sub.add_parser("hotspots", help="find hot spots in a workspace and write them to a GeoPackage")
    hot.add_argument("--workspace", required=True, help="workspace GeoPackage")
    hot.add_argument("--method", required=True, choices=["gistar", "kde", "dbscan", "hdbscan", "emerging"])
    hot.add_argument("--crime-types", nargs="+", default=[], metavar="TYPE",
                     help="only these crime types / call groups (default: all)")
    hot.add_argument("--harm", action="store_true", help="weigh incidents by harm (CCHI days) instead of counting")
    hot.add_argument("--out", required=True, help="GeoPackage to write (replaced if it exists)")
    hot.add_argument("--layer", choices=["crime", "calls"], help="incident layer (default: crime if present)")
    hot.add_argument("--months", nargs=2, metavar=("FROM", "TO"), help="month range, e.g. 2024-01 2024-03")
    hot.add_argument("--cell-size", type=float, help="grid cell size in metres (default: automatic)")
    hot.add_argument("--shape", choices=["square", "hex"], default="square", help="grid cell shape")
    hot.add_argument("--bandwidth", type=float, help="KDE bandwidth in metres (default: automatic)")
    hot.add_argument("--eps", type=float, help="DBSCAN radius in metres (default: automatic)")
    hot.add_argument("--min-samples", type=int, help="DBSCAN/HDBSCAN minimum cluster size (default: automatic)")
    hot.add_argument("--period", choices=["month", "week", "day"], help="emerging periods (default: automatic)")
    hot.add_argument("--alpha", type=float, help="significance level (default: 0.05; emerging 0.10)")
    hot.add_argument("--buffers", type=float, nargs="+", help="site buffers in metres (default: 200 400)")
    add_identity(hot)
    dsp = sub.add_parser("displacement", help="results analysis of an operation: prints the verdict; --json, --out report")
    dsp.add_argument("--workspace", required=True, help="workspace GeoPackage")
    dsp.add_argument("--operation", required=True, help="operation name in the register")
    dsp.add_argument("--before", help="before window FIRST:LAST (YYYY-MM or YYYY-MM-DD; default: same length as "
                                      "the operation, just before it)")
    dsp.add_argument("--after", help="after window FIRST:LAST (default: same length, just after the operation)")
    dsp.add_argument("--layer", choices=["crime", "calls"], help="incident layer (default: crime if present)")
    dsp.add_argument("--buffer-m", type=float, help="buffer width in metres (default: ring of equal area)")
    dsp.add_argument("--control", choices=["bcu", "units", "matched"], default="bcu",
                     help="control: rest of the BCU (default), --control-units, or a matched area")
    dsp.add_argument("--control-units", nargs="+", metavar="LEVEL:CODE", help="units for --control units")
    dsp.add_argument("--alpha", type=float, help="significance level (default 0.05)")
    dsp.add_argument("--out", help="HTML report to write (optional)")
    dsp.add_argument("--json", help="write the verdict (every clause: estimate, interval, p, status) as JSON")
    dsp.add_argument("--radius-m", type=float, help="displacement catchment reach in metres (default: rings "
                                                    "0-250, 250-500, 500-1,000 m)")
    dsp.add_argument("--csv", help="also write the tables to this CSV (default: next to --out)")
    add_identity(dsp)
    _add_auth_parsers(sub)
    from .cli_results import add_calibrate_parser
    add_calibrate_parser(sub)
    # --- operations register (geo/cli_operations.py) ---
    from .cli_operations import add_operations_parser
    add_operations_parser(sub)
    # --- end operations register ---
    # --- national pipeline (geo/cli_national.py) ---
    from .cli_national import add_national_parser
    add_national_parser(sub)
    # --- end national pipeline ---
    return p


def _displacement(args) -> int:
    from . import services
    path = Path(args.workspace)
    if not path.exists():
        raise GeoInputError("The workspace file does not exist", where=str(path), fix="give the path of a .gpkg")
    user = identity(args)
    with services.opened(path) as ws:  # scoped by geo.access: an inspector analyses their BCUs' operations only
        res = services.analyse_operation(ws, args.operation, user=user, before=args.before, after=args.after,
                                         layer=args.layer, buffer_m=args.buffer_m, control=args.control,
                                         control_units=args.control_units, alpha=args.alpha,
                                         radius_m=args.radius_m)
        html, tables = services.operation_report(ws, args.operation, user=user, result=res,
                                                 control_units=args.control_units) if args.out else (None, None)
    from .cli_results import print_verdict, write_json
    print_verdict(res)
    if args.json:
        write_json(res, args.json)
        print(f"Wrote {args.json}.")
    if args.out:
        out = Path(args.out)
        out.write_text(html, encoding="utf-8")
        csv = Path(args.csv) if args.csv else out.with_suffix(".csv")
        csv.write_text(tables, encoding="utf-8")
        print(f"Wrote {out} and {csv}.")
    return 0


def _load_mapping(spec: str):
    from .io import ColumnMapping
    path = Path(spec)
    if path.suffix.lower() == ".json" and path.exists():
        try:
            return ColumnMapping.from_dict(json.loads(path.read_text()))
        except (json.JSONDecodeError, TypeError) as err:
            raise GeoInputError(f"The mapping file is not a valid mapping: {err}", where=str(path),
                                fix='write JSON like {"name": "cfs", "category": "TYPE", "timestamp": "DATE", '
                                    '"x": "LON", "y": "LAT", "crs": "EPSG:4326"}') from None
    return spec  # the name of a mapping saved in the workspace


def _import(args) -> int:
    from . import services
    path = Path(args.workspace)
    user = identity(args)
    created = not path.exists()
    made = services.create_workspace(path, user=user, name=args.name or path.stem, crs=args.crs,
                                     force=args.force) if created else None
    try:
        with services.opened(made or path) as ws:
            return _import_into(ws, args, user)
    except GeoInputError:
        if created:  # a refused first import leaves no half-made workspace behind
            made.close()
            path.unlink(missing_ok=True)
        raise
    finally:
        if made is not None:
            made.close()


def _import_into(ws, args, user) -> int:
    from . import services
    for f in args.boundaries:
        if not (args.level and args.name_field and args.code_field):
            raise GeoInputError("--boundaries needs --level, --name-field and --code-field", where=f,
                                fix="e.g. --level bcu --name-field LAD13NM --code-field LAD13CD")
    for f in args.calls:
        if not args.mapping:
            raise GeoInputError("--calls needs --mapping (a saved mapping name or a JSON file)", where=f,
                                fix="add --mapping NAME")
    options = {"level": args.level, "name_field": args.name_field, "code_field": args.code_field,
               "parent_field": args.parent_field, "force_field": args.force_field, "repair": args.repair}
    reports = services.import_files(ws, user=user, boundaries=args.boundaries, boundary_options=options,
                                    crime=args.crime, calls=args.calls,
                                    mapping=_load_mapping(args.mapping) if args.calls else None,
                                    sites=args.sites, site_kind=args.kind)
    if not reports:
        print("Nothing to import: give --crime, --calls, --sites or --boundaries.", file=sys.stderr)
        return 2
    for r in reports:
        print(r.summary())
        print()
    if args.rejected_out:
        import pandas as pd

        from .safe import write_csv
        frames = [r.rejected for r in reports if len(r.rejected)]
        write_csv(pd.concat(frames) if frames else reports[0].rejected, args.rejected_out)
        print(f"Rejected rows written to {args.rejected_out}")
    return 0


def _hotspots(args) -> int:
    import os
    import tempfile

    from . import services
    from .hotspot_runs import export_layers
    from .workspace import default_layer

    path, out = Path(args.workspace), Path(args.out)
    if not path.is_file():
        raise GeoInputError("The workspace file does not exist", where=str(path),
                            fix="give the path of a workspace .gpkg (python -m geo import creates one)")
    if out.suffix.lower() != ".gpkg":
        raise GeoInputError(f"--out must be a GeoPackage file ending in .gpkg, got {out.name!r}",
                            fix=f"e.g. --out {out.with_suffix('.gpkg').name}")
    user = identity(args)
    with services.opened(path) as ws:  # scoped by geo.access: an inspector's own BCUs, never a partner
        layers = services.workspace_info(ws, user=user)["layers"]
        layer = args.layer or default_layer(layers)
        if layer not in layers:
            raise GeoInputError(f"The workspace holds no {layer or 'incidents'}", where=str(path),
                                fix=f"import some first, or choose --layer {' or '.join(layers) or 'crime'}")
        sel = {"layer": layer, "months": tuple(args.months) if args.months else None,
               "categories": args.crime_types}
        inputs = services.hotspot_inputs(ws, user=user, **sel)
        params = {"cell_size": args.cell_size, "shape": args.shape, "alpha": args.alpha, "bandwidth": args.bandwidth,
                  "eps_m": args.eps, "min_samples": args.min_samples, "period": args.period}
        run = services.find_hotspots(ws, user=user, method=args.method, weighted=args.harm, params=params,
                                     inputs=inputs, **sel)
        exposure, _ = services.hotspot_site_exposure(ws, user=user, run=run, buffers=args.buffers, inputs=inputs,
                                                     **sel)
    frames = export_layers(run, exposure)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".gpkg", dir=out.parent)
    os.close(fd)
    os.unlink(tmp)
    try:
        for name, frame in frames.items():
            frame.to_file(tmp, layer=name, driver="GPKG")
        os.replace(tmp, out)
    finally:
        Path(tmp).unlink(missing_ok=True)
    print(run.describe())
    counts = run.summary.get("counts", {})
    if counts:
        print("Classes: " + "; ".join(f"{k} {v:,}" for k, v in counts.items()))
    if exposure is not None:
        near = int(exposure["in_or_next_to_hotspot"].sum())
        print(f"Sites: {len(exposure):,}, of which {near:,} in or next to a hot spot.")
    print(f"Wrote {out} (layers: {', '.join(f'{k} {len(v):,} rows' for k, v in frames.items())}).")
    return 0


def _add_auth_parsers(sub) -> None:
    users = sub.add_parser("users", help="local accounts (salted argon2 hashes in the accounts file)")
    users.add_argument("--accounts", help="accounts file (default: GEO_ACCOUNTS or workspaces/accounts.db)")
    usub = users.add_subparsers(dest="users_command", required=True)
    add = usub.add_parser("add", help="create an account (asks for the password)")
    add.add_argument("--username", required=True)
    add.add_argument("--role", required=True, choices=["inspector", "analyst", "partner", "admin"])
    add.add_argument("--bcu", action="append", default=[], help="an inspector's BCU code (repeatable)")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    usub.add_parser("list", help="list accounts (never their passwords)")
    pw = usub.add_parser("passwd", help="set a new password")
    pw.add_argument("--username", required=True)
    pw.add_argument("--password-stdin", action="store_true")
    role = usub.add_parser("role", help="change an account's role (and an inspector's BCUs)")
    role.add_argument("--username", required=True)
    role.add_argument("--role", required=True, choices=["inspector", "analyst", "partner", "admin"])
    role.add_argument("--bcu", action="append", default=[])
    for name in ("disable", "enable", "remove"):
        c = usub.add_parser(name, help=f"{name} an account")
        c.add_argument("--username", required=True)
    c = usub.add_parser("unlock", help="clear an account's failed sign-ins (lifts a sign-in lock)")
    c.add_argument("--username", required=True)
    c = usub.add_parser("sign-out", help="end every open session of an account at its next click")
    c.add_argument("--username", required=True)

    mig = sub.add_parser("migrate", help="copy a workspace into a PostGIS database (counts checked)")
    mig.add_argument("--from", dest="source", required=True, help="the workspace: WORKSPACE.gpkg (or a URL)")
    mig.add_argument("--to", dest="target", required=True,
                     help="postgresql://user@host:port/db?workspace=NAME (a new workspace)")
    mig.add_argument("--replace", action="store_true", help="drop the target workspace first if it exists")
    mig.add_argument("--if-missing", action="store_true", help="leave an existing target workspace as it is")

    t = sub.add_parser("tiles", help="offline basemaps: install a raster MBTiles file the dashboard serves itself")
    tsub = t.add_subparsers(dest="tiles_command", required=True)
    ti = tsub.add_parser("install", help="unpack FILE.mbtiles (PNG/JPEG/WebP tiles) for the dashboard's maps")
    ti.add_argument("file", help="a raster MBTiles file, e.g. exported by QGIS 'Generate XYZ tiles (MBTiles)'")
    ti.add_argument("--name", help="the basemap's name (default: the file's name metadata)")
    ti.add_argument("--workspace", help="also make it this workspace's basemap (an admin's setting: use --as ADMIN)")
    add_identity(ti)
    tsub.add_parser("list", help="list the installed basemaps")
    tu = tsub.add_parser("use", help="make an installed basemap (or 'none') a workspace's basemap")
    tu.add_argument("name", help="an installed basemap's name, or none")
    tu.add_argument("--workspace", required=True)
    add_identity(tu)

    b = sub.add_parser("briefing", help="an area briefing as PDF (or HTML with --out FILE.html)")
    b.add_argument("--workspace", required=True)
    b.add_argument("--area", help="BCU, ward or neighbourhood name or code")
    b.add_argument("--level", choices=["bcu", "ward", "neighbourhood"], help="where to look for --area")
    b.add_argument("--polygon", help="a GeoJSON file (WGS84) with the area's polygon, instead of --area")
    b.add_argument("--from", dest="start", required=True, help="first month, YYYY-MM")
    b.add_argument("--to", dest="end", required=True, help="last month, YYYY-MM")
    b.add_argument("--audience", choices=["internal", "partner"], default="internal",
                   help="partner: published figures only (docs/DISCLOSURE.md): whole calendar quarters, "
                        "e.g. --from 2024-01 --to 2024-03; a --polygon is snapped to whole LSOAs")
    b.add_argument("--marking", help="protective marking (default: the workspace's, or OFFICIAL-SENSITIVE)")
    b.add_argument("--out", required=True, help="FILE.pdf or FILE.html")
    add_identity(b)


def _read_password(from_stdin: bool) -> str:
    import getpass
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != first:
        raise GeoInputError("The two passwords differ", fix="run the command again")
    return first


def _users(args) -> int:
    from .auth import AccountStore
    with AccountStore(args.accounts) as store:
        cmd = args.users_command
        if cmd == "add":
            store.add(args.username, _read_password(args.password_stdin), args.role, args.bcu)
            print(f"Created {args.role} account '{args.username}' in {store.path}.")
        elif cmd == "list":
            users = store.users()
            if users.empty:
                print(f"No accounts in {store.path}. Create an admin: python -m geo users add --username NAME "
                      "--role admin")
            else:
                print(users.to_string(index=False))
                if users["demo"].any():
                    print("\nDemo accounts (documented passwords) exist: remove them before real use, "
                          "e.g. python -m geo users remove --username demo-analyst")
        elif cmd == "passwd":
            store.set_password(args.username, _read_password(args.password_stdin))
            print(f"Password changed for '{args.username}'.")
        elif cmd == "role":
            store.set_role(args.username, args.role, args.bcu)
            print(f"'{args.username}' is now {args.role}.")
        elif cmd in ("disable", "enable"):
            store.set_disabled(args.username, cmd == "disable")
            print(f"'{args.username}' {cmd}d.")
        elif cmd == "remove":
            store.remove(args.username)
            print(f"Removed '{args.username}'.")
        elif cmd == "unlock":
            store.unlock(args.username)
            print(f"Failed sign-ins of '{args.username}' cleared.")
        elif cmd == "sign-out":
            store.sign_out_everywhere(args.username)
            print(f"Every session of '{args.username}' ends at its next click.")
    return 0


def _keep_defaults(paths) -> None:
    """The Hotspots page's default runs of each workspace in ``paths`` kept in it for every scope
    (:mod:`geo.stored_hotspots`; signed with the server's secret beside the accounts file), the Map's
    incidents frame, the partners' published table and each registered operation's default results analysis
    (:mod:`geo.stored_results`), where missing: a new server loads them instead of computing them."""
    from . import services
    for p in paths:
        try:
            frame = sum(bool(run()) for _, run in services.incidents_frame_steps(p))
            if frame:
                print(f"Kept the incidents frame in {Path(p).name} (a new server's Map loads it)")
            n = sum(bool(run()) for _, run in services.hotspot_default_steps_all(p))
        except Exception as err:  # noqa: BLE001 - only a speed-up: a server computes them as before
            print(f"Not kept: the default hot-spot runs of {Path(p).name} ({err})")
            continue
        if n:
            print(f"Kept {n} default hot-spot runs in {Path(p).name} (the Hotspots page loads them)")
        try:  # as the dashboard does after an import: the partners' published table (built if not kept yet)
            services.partner_published(p, user=("partner", ()))
        except Exception as err:  # noqa: BLE001 - only a speed-up: the Area summary builds it as before
            print(f"Not kept: the published table of {Path(p).name} ({err})")
        try:  # as the dashboard does after an import: every operation's default analysis, kept
            ops = services.analysis_default_steps(p)
        except Exception as err:  # noqa: BLE001 - only a speed-up: the Operations page computes them as before
            print(f"Not kept: the results analyses of {Path(p).name} ({err})")
            ops = []
        for what, run in ops:
            print(f"Computing the {what} in {Path(p).name} (kept: the Operations page loads it)", flush=True)
            try:
                run()
            except Exception as err:  # noqa: BLE001 - the others are still kept; the page computes this one
                print(f"Not kept: the {what} ({err})")


def _demo_accounts(folder) -> None:
    """First run of the demo: create the documented demo accounts if there is no account at all."""
    import os
    from .auth import AccountStore, DEMO_ACCOUNTS, ensure_demo_accounts
    path = os.environ.get("GEO_ACCOUNTS") or Path(folder) / "accounts.db"
    with AccountStore(path) as store:
        if ensure_demo_accounts(store):
            print(f"Created the demo accounts in {store.path} (FOR THE DEMO ONLY; passwords in README.md):")
            for user, role, bcus, password in DEMO_ACCOUNTS:
                print(f"  {user:15s} {password:20s} {role}" + (f" ({', '.join(bcus)})" if bcus else ""))
            print("Create a real admin with: python -m geo users add --username NAME --role admin")


def _briefing(args) -> int:
    from . import services
    path = Path(args.workspace)
    if not path.exists():
        raise GeoInputError("No workspace file there", where=str(path), fix="give the path of a .gpkg workspace")
    if not (args.polygon or args.area):
        raise GeoInputError("Give --area NAME or --polygon FILE.geojson", fix="e.g. --area Sheffield")
    where = {"polygon": Path(args.polygon).read_text(), "polygon_name": Path(args.polygon).stem} if args.polygon \
        else {"kind": args.level, "code": args.area}
    out = Path(args.out)
    # checked by geo.access (a partner: partner briefings; an inspector: their BCUs) and audited with the user
    b = services.write_briefing(path, out, user=identity(args), months=(args.start, args.end),
                                audience=args.audience, marking=args.marking, **where)
    print(f"Wrote {out} ({b.audience} briefing, {b.marking}).")
    return 0


def _tiles(args) -> int:
    from . import tiles
    cmd = args.tiles_command
    if cmd == "list":
        sets = tiles.installed()
        if not sets:
            print(f"No basemap installed in {tiles.STATIC_TILES}. Install one: python -m geo tiles install FILE.mbtiles")
        for t in sets:
            print(f"{t.name:24s} {t.tiles:>9,} tiles, zoom {t.zooms[0]}-{t.zooms[1]}  {t.attribution}")
        return 0
    if cmd == "install":
        got = tiles.install_mbtiles(args.file, name=args.name)
        print(f"Installed basemap '{got.name}': {got.tiles:,} tiles, zoom {got.zooms[0]}-{got.zooms[1]}, "
              f"in {got.folder}.")
        name = got.name if args.workspace else None
    else:
        name = args.name
    if args.workspace:
        from . import services
        if name.lower() == "none":
            changes = {"tile_url": None, "tile_attribution": ""}
        else:
            found = {t.name: t for t in tiles.installed()}
            if name not in found:
                raise GeoInputError(f"No installed basemap named {name!r}", where="--name",
                                    fix="python -m geo tiles list shows the installed ones")
            changes = {"tile_url": found[name].url, "tile_attribution": found[name].attribution}
        for line in services.change_settings(args.workspace, changes, user=identity(args)):
            print(f"Set {line}")
    return 0


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "import":
            return _import(args)
        if args.command == "demo":
            from .demo import WORKSPACES, ensure_demo_workspaces
            built = ensure_demo_workspaces(args.folder or WORKSPACES)
            _demo_accounts(args.folder or WORKSPACES)
            _keep_defaults(built)
            return 0
        if args.command == "users":
            return _users(args)
        if args.command == "briefing":
            return _briefing(args)
        if args.command == "tiles":
            return _tiles(args)
        if args.command == "migrate":
            from .store.migrate import migrate
            migrate(args.source, args.target, replace=args.replace, if_missing=args.if_missing)
            return 0
        if args.command == "hotspots":
            return _hotspots(args)
        if args.command == "displacement":
            return _displacement(args)
        if args.command == "calibrate":
            from .cli_results import run_calibrate
            return run_calibrate(args)
        # --- operations register (geo/cli_operations.py) ---
        if args.command == "operations":
            from .cli_operations import run_operations
            return run_operations(args)
        # --- end operations register ---
        # --- national pipeline (geo/cli_national.py) ---
        if args.command == "national":
            from .cli_national import run_national_cli
            return run_national_cli(args)
        # --- end national pipeline ---
    except PermissionError as err:  # geo.auth.AccessDenied: the identity may not do this
        print(f"refused: {err}", file=sys.stderr)
        print("Nothing was written.", file=sys.stderr)
        return 3
    except GeoInputError as err:
        if args.command == "displacement":
            print(f"error: {err}", file=sys.stderr)
            print("No report was written.", file=sys.stderr)
            return 2
        if args.command == "hotspots":
            print(f"error: {err}", file=sys.stderr)
            print("No output was written.", file=sys.stderr)
            return 2
        print(f"error: {err}", file=sys.stderr)
        if args.command == "national":
            print("Files finished before the error are kept; run again to resume.", file=sys.stderr)
            return 2
        print("Nothing was changed in the workspace.", file=sys.stderr)
        return 2
    return 1
