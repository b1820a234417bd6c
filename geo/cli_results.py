"""Command-line parts of the results analysis: the verdict printout and JSON, and ``calibrate``.

``python -m geo displacement --workspace WS --operation NAME [--json FILE] [--out REPORT.html]``
prints the verdict (harm, displacement, diffusion, activity); ``--json`` writes every clause
with its estimate, interval, p and status, and every calibrated test.
``python -m geo calibrate --workspace WS --placebos N --out docs/CALIBRATION.md`` runs the
placebo and power studies of :mod:`geo.calibration`.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

from .errors import GeoInputError

__all__ = ["add_calibrate_parser", "run_calibrate", "verdict_json", "print_verdict"]


def _clean(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if hasattr(v, "item"):
        return _clean(v.item())
    return v


def verdict_json(res) -> dict:
    """The verdict and every calibrated test of a :class:`~geo.displacement.DisplacementResult`, JSON-ready."""
    out = {"operation": res.operation.get("name"), "layer": res.layer,
           "windows": {"before": res.windows.label("before"), "after": res.windows.label("after")},
           "verdict": res.summary.as_dict() if res.summary is not None else None,
           "catchment": res.catchment.rule if res.catchment is not None else None,
           "tests": [], "sensitivity": [], "exploratory_crime_types": [], "caveats": list(res.caveats)}
    if res.assessment is not None:
        out["tests"] = [{k: _clean(v) for k, v in t.as_dict().items()} for t in
                        [res.assessment.target] + res.assessment.family()]
        out["alpha_shares"] = res.assessment.shares
        out["phi"] = {k: _clean(v) for k, v in res.assessment.null.phi.items()}
        if res.assessment.power is not None:
            out["power"] = {k: _clean(v) for k, v in res.assessment.power.as_dict().items()}
    for name, frame in (("sensitivity", res.sensitivity), ("exploratory_crime_types", res.types),
                        ("targeted_harms", getattr(res, "targeted", None))):
        if frame is not None:
            out[name] = [{k: _clean(v) for k, v in r.items()} for r in frame.to_dict("records")]
    if getattr(res, "checks", None):
        out["placebo_dates"] = [{k: _clean(v) for k, v in r.items()}
                                for r in res.checks["placebo_dates"].to_dict("records")]
        out["placebo_crime_type"] = {k: _clean(v) for k, v in res.checks["placebo_type"].items()}
        for key, name in (("seasonal", "same_months_a_year_earlier"), ("pre_fit", "pre_period_fit"),
                          ("synthetic", "synthetic_comparison")):
            if res.checks.get(key):
                out[name] = {k: _clean(v) for k, v in res.checks[key].items()}
        series = res.checks.get("synthetic_series")
        if series is not None and len(series) and "synthetic_comparison" in out:
            out["synthetic_comparison"]["series"] = [{k: _clean(v) for k, v in r.items()}
                                                     for r in series.to_dict("records")]
    if getattr(res, "temporal", None) is not None:
        out["temporal"] = [{k: _clean(v) for k, v in t.as_dict().items()} for t in res.temporal.tests]
    return out


def print_verdict(res, file=None) -> None:
    """Print the verdict an analyst can read aloud: one line per clause with its status."""
    import sys
    f = file or sys.stdout
    if res.summary is None:
        print(res.headline, file=f)
        return
    for c in res.summary.clauses:
        print(f"[{c.status}] {c.text}", file=f)
    for n in res.summary.notes:
        print(f"  {n}", file=f)


def add_calibrate_parser(sub) -> None:
    cal = sub.add_parser("calibrate", help="false-alarm rates and power of the results-analysis flags on real data")
    cal.add_argument("--workspace", required=True, help="workspace GeoPackage (e.g. the South Yorkshire demo)")
    cal.add_argument("--placebos", type=int, default=500, help="placebo operations (default 500)")
    cal.add_argument("--alpha", type=float, default=0.05, help="significance level (default 0.05)")
    cal.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    cal.add_argument("--out", required=True, help="Markdown file to write, e.g. docs/CALIBRATION.md")
    from .cli import add_identity
    add_identity(cal)


def run_calibrate(args) -> int:
    from . import services
    from .cli import identity
    path = Path(args.workspace)
    if not path.exists():
        raise GeoInputError("The workspace file does not exist", where=str(path), fix="give the path of a .gpkg")
    if args.placebos < 50:
        raise GeoInputError(f"--placebos must be at least 50, got {args.placebos}",
                            fix="use 500 or more for the published table")
    md = services.run_calibration(path, user=identity(args), placebos=args.placebos, alpha=args.alpha,
                                  seed=args.seed)
    Path(args.out).write_text(md, encoding="utf-8")
    print(f"Wrote {args.out}.")
    return 0


def write_json(res, path) -> None:
    Path(path).write_text(json.dumps(verdict_json(res), indent=2, ensure_ascii=False, default=str), encoding="utf-8")


__all__ += ["write_json"]
