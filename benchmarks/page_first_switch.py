"""Server seconds of the Hotspots page's first switch to a method, the whole page rerun (AppTest, no browser).

Usage: ``python benchmarks/page_first_switch.py FOLDER METHOD`` (a fresh process per method). ``FOLDER`` holds a
copy of the South Yorkshire demo as ``south-yorkshire.gpkg`` (with or without the kept default runs,
:mod:`geo.stored_hotspots`, signed by ``FOLDER/session.key``); the accounts file is made there. As the analyst:
the page opened on Gi*, then METHOD picked at once; prints both times and the load average. No background
build of kept runs (``GEO_KEEP_HOTSPOTS=0``); the page's own warm-up runs as in a server. Not a test.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    folder, method = (argv or sys.argv[1:])[:2]
    folder = Path(folder)
    os.environ.update({"GEO_KEEP_HOTSPOTS": "0", "GEO_WORKSPACES": str(folder),
                       "GEO_ACCOUNTS": str(folder / "accounts.db")})
    sys.path.insert(0, str(ROOT))
    from streamlit.testing.v1 import AppTest

    from tests.conftest import sign_in_for_test
    at = sign_in_for_test(AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=300), "analyst")
    at.session_state["workspace"] = str(folder / "south-yorkshire.gpkg")
    t = time.perf_counter()
    at.switch_page("app_pages/hotspots.py").run()
    opened = time.perf_counter() - t
    assert not at.exception, at.exception
    t = time.perf_counter()
    at.selectbox(key="hs_method").set_value(method).run()
    switched = time.perf_counter() - t
    assert not at.exception, at.exception
    print(f"{method:9s} open {opened:.2f} first switch {switched:.2f} load {os.getloadavg()[0]:.1f}", flush=True)
    os._exit(0)  # the page's warm-up thread is not waited for


if __name__ == "__main__":
    raise SystemExit(main())
