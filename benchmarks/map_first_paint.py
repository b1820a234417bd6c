"""Server seconds (wall and CPU) of the Map page's first run in a fresh process, signed in.

Usage: ``PYTHONPATH=<checkout> python benchmarks/map_first_paint.py [--role analyst|inspector] [--folder DIR]``.

Copies the South Yorkshire demo workspace into ``DIR`` (once: run twice on the same folder to time a new
server on a workspace whose incidents frame was kept by the first, see ``geo/stored_frames.py``), signs an
AppTest in as ``role`` (``tests/conftest.sign_in_for_test``) and times ``at.run()``: the first paint's
script run, no browser. CPU seconds (``time.process_time``) are reported beside wall seconds because on a
shared machine the wall time follows the load. Waits for the background warm-ups to finish (so the frame
is kept) before it exits. Not a test: compare two checkouts with ``PYTHONPATH=<checkout>``.
"""
from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--role", default="analyst", choices=("analyst", "inspector"))
    ap.add_argument("--folder", default=None, help="workspace folder (kept between runs); default a new one")
    args = ap.parse_args(argv)
    import dashboard
    from geo.demo import ensure_demo_workspaces
    checkout = Path(dashboard.__file__).resolve().parents[1]
    folder = Path(args.folder) if args.folder else Path(tempfile.mkdtemp(prefix="map-first-paint-"))
    folder.mkdir(parents=True, exist_ok=True)
    sy = folder / "south-yorkshire.gpkg"
    if not sy.exists():
        src, _ = ensure_demo_workspaces(ROOT / "workspaces", progress=lambda s: None)
        shutil.copy(src, sy)
    os.environ["GEO_WORKSPACES"] = str(folder)
    os.environ["GEO_ACCOUNTS"] = str(folder / "accounts.db")
    from streamlit.testing.v1 import AppTest

    from tests.conftest import sign_in_for_test
    at = sign_in_for_test(AppTest.from_file(str(checkout / "dashboard" / "app.py"), default_timeout=300), args.role)
    at.session_state["workspace"] = str(sy)
    wall, cpu = time.perf_counter(), time.process_time()
    at.run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if at.exception:
        print(at.exception)
        return 1
    from dashboard import warm
    warm.join(300)
    shown = {m.label: m.value for m in at.metric}.get("Incidents shown")
    print(f"{checkout.name} {args.role}: first Map run {wall:.2f} s wall, {cpu:.2f} s CPU; {shown} incidents shown; "
          f"load average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
