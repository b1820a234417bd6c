"""Simulation study of the results analysis (geo.scenarios): false-alarm rate and power, timed.

``python benchmarks/bench_displacement.py [--quick]``. The full run (1,000 null scenarios, 200 per power
cell) is what docs/POWER.md publishes; target: under 3 minutes on 2 cores. PASS/MISS is printed for the time
and for the false-alarm rate of the WDD tests being within 2 points of alpha = 0.05.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from geo import scenarios

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="500 null scenarios, 50 per power cell")
    args = ap.parse_args(argv)
    n_null, per_cell = (500, 50) if args.quick else (1000, 200)
    t = time.perf_counter()
    geo = scenarios.load_geography()
    t_geo = time.perf_counter() - t
    t1 = time.perf_counter()
    fa = scenarios.false_alarm_rates(scenarios.simulate(geo, n_null, seed=2024))
    t_null = time.perf_counter() - t1
    t2 = time.perf_counter()
    power = scenarios.power_table(geo, per_cell=per_cell, seed=2024)
    t_power = time.perf_counter() - t2
    total = time.perf_counter() - t
    print(fa.to_string(index=False))
    print(power.to_string(index=False))
    wdd = fa[fa["test"].str.startswith("WDD")]
    ok_fa = bool((abs(wdd["false_alarm_rate"] - 0.05) <= 0.02).all())
    print(f"geography {t_geo:.1f} s, {n_null} null scenarios {t_null:.1f} s, power table {t_power:.1f} s")
    print(f"{'PASS' if total < 180 else 'MISS'} total {total:.1f} s (target < 180 s)")
    print(f"{'PASS' if ok_fa else 'MISS'} WDD false-alarm rates within 0.05 ± 0.02")
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "displacement.json").write_text(json.dumps({
        "null_scenarios": n_null, "per_cell": per_cell, "seconds": total,
        "false_alarm": fa.to_dict("records"), "power": power.to_dict("records")}, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
