"""Server-side time to the verdict and to the complete results analysis of each demo operation.

Copies the South Yorkshire demo to a temporary folder (the repository's copy is never
written), reads the incidents frame once (as the app does per data version, timed apart),
then runs ``geo.services.analyse_operation`` for each operation in its register without the
stored results, timing the moment its verdict stage is handed over (``on_verdict``) and the
complete result. Prints the load average beside the times: the machine is shared.

Usage: ``python benchmarks/bench_verdict.py [--repeat N]``.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=2, help="analyses of each operation (default 2)")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))   # this checkout's geo, not an installed one
    from geo import Workspace, services
    from geo.demo import ensure_demo_workspaces
    import geo.displacement  # noqa: F401  imported up front, as the app's background analyses do
    import geo.hotspots  # noqa: F401

    sy, _ = ensure_demo_workspaces(ROOT / "workspaces", progress=lambda s: None)
    tmp = Path(tempfile.mkdtemp(prefix="bench-verdict-"))
    path = tmp / sy.name
    shutil.copy(sy, path)
    os.environ.setdefault("GEO_SESSION_KEY_FILE", str(tmp / "session.key"))
    user = services.cli_user()
    ws = Workspace.open(path)
    ops = [(o.op_id, o.name) for o in ws.operations()]
    ws.close()
    t = time.perf_counter()
    inc = services.analysis_incidents(path, user=user)
    print(f"incidents frame read: {time.perf_counter() - t:.2f} s ({len(inc):,} rows); "
          f"load average {os.getloadavg()[0]:.1f}")
    for _ in range(args.repeat):
        for op_id, name in ops:
            seen: dict = {}
            t = time.perf_counter()
            services.analyse_operation(path, op_id, user=user, incidents=inc, stored=False,
                                       on_verdict=lambda _r: seen.setdefault("verdict", time.perf_counter() - t))
            total = time.perf_counter() - t
            print(f"  {name:<24} verdict {seen.get('verdict', total):5.2f} s   complete {total:5.2f} s   "
                  f"(load average {os.getloadavg()[0]:.1f})", flush=True)
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
