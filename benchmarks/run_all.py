"""Run every ``benchmarks/bench_*.py`` in turn (``make bench``).

Usage: ``python benchmarks/run_all.py [--quick] [NAME ...]``. Each script runs as its own
subprocess with the same Python (``--quick`` is passed through) and its output is
streamed as it comes. Benchmarks print PASS/MISS against their targets but never fail on
them; this runner exits non-zero only if a script crashes (non-zero exit status).
Give names (e.g. ``import`` or ``bench_hotspots``) to run only those scripts.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def discover(names: list[str]) -> list[Path]:
    scripts = sorted(HERE.glob("bench_*.py"))
    if names:
        wanted = {n.removesuffix(".py").removeprefix("bench_") for n in names}
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in wanted]
    return scripts


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="pass --quick to every benchmark")
    ap.add_argument("names", nargs="*", help="only these benchmarks (e.g. import hotspots)")
    args = ap.parse_args(argv)

    scripts = discover(args.names)
    if not scripts:
        print("no benchmarks/bench_*.py found" + (f" matching {args.names}" if args.names else ""))
        return 1 if args.names else 0
    failed: list[tuple[str, int]] = []
    summary: list[tuple[str, str, float]] = []
    for script in scripts:
        cmd = [sys.executable, "-u", str(script)] + (["--quick"] if args.quick else [])
        banner = f" {script.name}{' --quick' if args.quick else ''} "
        print(f"\n{banner:=^100}", flush=True)
        t = time.perf_counter()
        try:
            # inherit stdout/stderr: the script's output streams straight through
            rc = subprocess.run(cmd, cwd=ROOT).returncode
        except KeyboardInterrupt:
            print(f"\ninterrupted during {script.name}")
            return 130
        dt = time.perf_counter() - t
        status = "ok" if rc == 0 else f"CRASHED (exit {rc})"
        summary.append((script.name, status, dt))
        if rc != 0:
            failed.append((script.name, rc))

    print(f"\n{' summary ':=^100}")
    for name, status, dt in summary:
        print(f"  {name:<30} {status:<22} {dt:8.1f} s")
    print("  results: benchmarks/results/*.json")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
