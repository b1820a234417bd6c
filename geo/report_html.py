"""The results-analysis report of an operation: self-contained HTML and CSV.

:func:`render_html` fills one Jinja2 template: the plain-language verdict (harm first,
then activity), the numbers and tests, a static map (matplotlib, no tiles, embedded as a
base64 PNG) and the caveats. :func:`to_csv` writes every table into one CSV with a
``table`` column. Nothing here reads the workspace.
"""
from __future__ import annotations

import base64
import datetime as dt
import io

import numpy as np
import pandas as pd
from jinja2 import Environment

from . import safe
from .displacement import ALL, BASKET, DisplacementResult
from .render.palette import AREA_COLORS, BOUNDARY_COLORS, MOVE_COLORS, RING_COLORS, WINDOW_COLORS

__all__ = ["report_tables", "to_csv", "static_map_png", "render_html"]


SUMMARY_COLUMNS = {
    "measure": "Measure", "unit": "Unit", "target_before": "Target before", "target_after": "Target after",
    "buffer_before": "Buffer before", "buffer_after": "Buffer after", "control_before": "Control before",
    "control_after": "Control after", "gross_change": "Gross change", "net_effect": "Net effect",
    "wdq": "WDQ", "total_net_effect": "Total net effect",
    "local_estimate": "WDD local", "local_se": "SE", "local_p": "p",
    "displacement_estimate": "WDD displacement", "displacement_se": "SE ", "displacement_p": "p ",
    "total_estimate": "WDD total", "total_se": "SE  ", "total_p": "p  ", "etest_p": "E-test p",
}


def report_tables(result: DisplacementResult) -> dict[str, pd.DataFrame]:
    """The report's tables: ``measures``, ``cross_boundary``, ``hotspot_moves``, ``areas``, ``windows``."""
    cross = pd.DataFrame(result.cross.drop(columns="geometry")) if len(result.cross) else pd.DataFrame()
    moves = pd.DataFrame(result.migration.moves.drop(columns="geometry")) if len(result.migration.moves) \
        else pd.DataFrame()
    km2 = result.areas.km2
    areas = pd.DataFrame({"area": list(km2), "km2": list(km2.values()),
                          "rule": [f"operation target ({result.operation.get('target_kind', '')})",
                                   result.areas.buffer_rule, f"{result.areas.ring_m:,.0f} m beyond the buffer",
                                   result.areas.control_rule]})
    w = result.windows
    windows = pd.DataFrame({"window": ["before", "operation", "after"],
                            "first": [w.before[0], w.operation[0], w.after[0]],
                            "last": [w.before[1], w.operation[1], w.after[1]],
                            "length": [w.before_len, np.nan, w.after_len],
                            "unit": [w.resolution] * 3})
    return {"measures": result.table, "cross_boundary": cross, "hotspot_moves": moves, "areas": areas,
            "windows": windows}


def to_csv(result: DisplacementResult) -> str:
    """Every table of the report in one CSV, with the table's name in the first column.

    Text cells are neutralised against spreadsheet formulas (:func:`geo.safe.csv_text`).
    """
    frames = []
    for name, t in report_tables(result).items():
        if len(t):
            frames.append(t.assign(table=name)[["table"] + list(t.columns)])
    out = pd.concat(frames, ignore_index=True, sort=False)
    return safe.csv_text(out)  # text cells starting = + - @ are neutralised for spreadsheets


def static_map_png(result: DisplacementResult, *, bcus=None, dpi: int = 110) -> bytes:
    """A static map of target, buffer, wider ring, control, flagged pieces and hot spot moves (PNG).

    Drawn by :class:`geo.render.static_maps.StaticMap` in the colours of
    :data:`geo.render.palette.AREA_COLORS`, the same as the dashboard's results map.
    """
    from .render.static_maps import StaticMap

    fr = result.areas_frame()
    target = fr[fr["area"] == "target"]
    zone = target.buffer(result.areas.buffer_m + result.areas.ring_m + 1500)
    sm = StaticMap(bounds=zone.total_bounds, figsize=(7.5, 6.2), dpi=dpi)
    for area in ("control", "ring", "buffer", "target"):
        g = fr[fr["area"] == area]
        if not g.geometry.iloc[0].is_empty:
            sm.fill(g, AREA_COLORS[area], alpha=0.85 if area == "target" else 0.6,
                    edgecolor=BOUNDARY_COLORS["edge"] if area != "control" else None,
                    linewidth=0.6 if area != "control" else 0.0)
    if len(result.cross):
        sm.fill(result.cross[result.cross["flag"]], "none", edgecolor=AREA_COLORS["evidence"], linewidth=2.2,
                hatch="//")
    sm.outline(bcus, BOUNDARY_COLORS["bcu"], linewidth=1.1, labels="name", within=zone.iloc[0])
    for _, r in result.migration.moves.iterrows():
        color = MOVE_COLORS["flagged"] if r["flag"] else MOVE_COLORS["other"]
        if r["kind"] in ("moved", "stayed") and r["distance_m"] > 0:
            sm.arrow(r["x0"], r["y0"], r["x1"], r["y1"], color, text=f"{r['distance_m']:,.0f} m")
        elif r["kind"] == "new":
            sm.star(r["x1"], r["y1"], color)
    sm.sites(getattr(result.migration, "sites_near", None), size=10)
    for area, label in (("target", "Target"), ("buffer", "Buffer"), ("ring", "Wider ring"),
                        ("control", "Control")):
        sm.patch(AREA_COLORS[area], label)
    sm.patch("none", "Possible displacement", edgecolor=AREA_COLORS["evidence"], hatch="//")
    return sm.png(title=f"{safe.mpl_text(result.operation.get('name', 'Operation'))}: areas and hot spot moves",
                  legend_loc="lower left", tight=False)


_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Results analysis: {{ op.name }}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; color: #222; max-width: 1100px; margin: 1.5em auto; padding: 0 1em; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; } h2 { font-size: 1.15em; margin-top: 1.6em; border-bottom: 1px solid #ccc; }
.headline { font-size: 1.15em; background: #eef3fb; border-left: 4px solid #253494; padding: 0.6em 0.9em; }
table { border-collapse: collapse; font-size: 12px; margin: 0.5em 0; } th, td { border: 1px solid #ddd; padding: 3px 6px; }
th { background: #f4f4f4; text-align: left; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
.flag { color: #b00; font-weight: bold; } .muted { color: #666; font-size: 12px; }
img { max-width: 100%; border: 1px solid #ccc; }
</style></head><body>
<h1>Results analysis: {{ op.name }}</h1>
<p class="muted">{{ op.tactic }} · {{ windows.operation[0] }} to {{ windows.operation[1] }} · BCU {{ bcu_name }} ·
before {{ windows.label('before') }} · after {{ windows.label('after') }} · {{ layer }} · produced {{ today }}</p>
<p class="headline" id="verdict">{{ headline }}</p>
<h2>What the analysis found</h2>
<ul>{% for line in verdict %}<li>{{ line }}</li>{% endfor %}</ul>
{% if flags %}<p class="flag">Flags: {{ flags|join('; ') }}</p>{% endif %}
{% if tests_table %}<h2>Calibrated tests</h2>
<p class="muted">{{ catchment_rule }}. Each test's Poisson variance is inflated by the over-dispersion measured on
placebo copies of the target and rings in the same BCU (spread of placebo z-scores {{ spread }}). Displacement and
diffusion share α: rises in rings and sectors (displacement, 50%) and falls (diffusion, 20%), each one-sided and
corrected by the max-statistic over the same placebo copies; BCU/force pieces (15%, Holm) and sensitive sites (15%).</p>
{{ tests_table }}
<h2>Sensitivity to the buffer width</h2>
{{ sens_table }}
<h2>Crime types (exploratory, FDR-corrected, not part of the verdict)</h2>
{{ types_table }}{% endif %}
{% if trend_png %}<h2>Checks on the operation itself</h2>
<p class="muted">Monthly drug-market harm of the target, the catchment and the control (blank where a force has no
data): before the operation the target should move roughly in parallel with the control.</p>
<img alt="Monthly basket harm of target, catchment and control" src="data:image/png;base64,{{ trend_png }}">
<p>Placebo dates: the same target test on earlier windows where nothing happened (evidence here means the
target's ordinary ups and downs are as large as the effect).</p>
{{ dates_table }}
<p>Placebo crime type: {{ ptype }}</p>
{% if seasonal %}<p>Seasonality: {{ seasonal }}</p>{% endif %}
{% if pre_fit %}<p>{{ pre_fit }}</p>{% endif %}
{% if synth_png %}<h3>Synthetic comparison (sensitivity check)</h3>
<p>{{ synth_reading }}</p>
<img alt="Monthly basket harm of the target and its synthetic comparison" src="data:image/png;base64,{{ synth_png }}">
{% elif synth_reading %}<p>{{ synth_reading }}</p>{% endif %}{% endif %}
{% if temporal_table %}<h2>Day of week and time of day</h2>
<p class="muted">Temporal displacement: did drug-market incidents move to other days or hours rather than other
places? {{ temporal_rule }}.</p>
{{ temporal_table }}
<ul>{% for line in temporal_lines %}<li>{{ line }}</li>{% endfor %}</ul>{% endif %}
<h2>Map</h2>
<img alt="Map of target, buffer, wider ring and control" src="data:image/png;base64,{{ png }}">
<h2>Key numbers</h2>
{{ key_table }}
<p class="muted">Estimates are per after window ({{ windows.after_len }} {{ windows.resolution }}{{ 's' if windows.after_len != 1 }}),
with the before window weighted to the same length. Negative WDD values are reductions; the WDD local effect
compares the target with the control, the displacement effect the buffer with the control, the total both.
Harm in CCHI days (Cambridge Crime Harm Index).</p>
<h2>All measures</h2>
{{ full_table }}
<h2>Across boundaries</h2>
{{ cross_table }}
<h2>Hot spot moves</h2>
{{ moves_table }}
<h2>Caveats</h2>
<ul>{% for c in caveats %}<li>{{ c }}</li>{% endfor %}</ul>
<h2>How the areas were chosen</h2>
{{ areas_table }}
<p class="muted">Scale: {{ settings.scale }} (the control's change is applied to the target's level by before-period
counts); α = {{ settings.alpha }}. Tests: Weighted Displacement Quotient (Bowers &amp; Johnson 2003), Weighted
Displacement Difference (Wheeler &amp; Ratcliffe 2018) with time and area weights as in ptools, harm-weighted
combination (Wheeler 2020), Poisson E-test (Krishnamoorthy &amp; Thomson 2004); cross-boundary p-values Holm-adjusted.</p>
</body></html>
"""


def _table_html(df: pd.DataFrame, columns: dict | None = None, digits: int = 1) -> str:
    if df is None or len(df) == 0:
        return "<p class='muted'>None.</p>"
    d = df[list(columns)].rename(columns=columns) if columns else df
    head = "".join(f"<th>{safe.html_text(c)}</th>" for c in d.columns)
    rows = []
    for _, r in d.iterrows():
        cells = []
        for v in r:
            if isinstance(v, (bool, np.bool_)):
                cells.append(f"<td>{'yes' if v else ''}</td>")
            elif isinstance(v, (int, float, np.integer, np.floating)):
                if not np.isfinite(v):
                    cells.append("<td class='n'>–</td>")
                else:
                    fmt = f"{v:,.3f}" if abs(v) < 1 and v != 0 else f"{v:,.{digits}f}"
                    cells.append(f"<td class='n'>{fmt}</td>")
            else:
                cells.append(f"<td>{safe.html_text(v)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def render_html(result: DisplacementResult, *, bcus=None, bcu_name: str | None = None) -> str:
    """The report as one self-contained HTML page (map embedded as a PNG).

    Parameters
    ----------
    result : DisplacementResult
    bcus : GeoDataFrame, optional
        BCU outlines (all forces) drawn and labelled on the map.
    bcu_name : str, optional
        Name of the operation's BCU for the heading.
    """
    t = result.table
    key = t[t["measure"].isin([BASKET, ALL]) | t["measure"].str.contains("enforcement", regex=False)]
    png = base64.b64encode(static_map_png(result, bcus=bcus)).decode()
    cross_cols = {"level": "Level", "name": "BCU / force", "force": "Force", "status": "Status", "before": "Before",
                  "after": "After", "control_before": "Control before", "control_after": "Control after",
                  "estimate": "WDD (basket count)", "harm_estimate": "WDD (basket harm)", "p": "p",
                  "p_holm": "p (Holm)", "reading": "Reading"}
    move_cols = {"kind": "Kind", "distance_m": "Distance (m)", "n_before": "Before", "n_after": "After",
                 "from_bcu": "From BCU", "to_bcu": "To BCU", "crosses_bcu": "Crosses BCU",
                 "crosses_force": "Crosses force", "near_site": "Near site", "flag": "Flag"}
    tables = report_tables(result)
    env = Environment(autoescape=True)  # every name and note in the page is escaped
    tpl = env.from_string(_TEMPLATE)
    from markupsafe import Markup
    op = dict(result.operation)
    op.setdefault("name", "Operation")
    op.setdefault("tactic", "")
    return tpl.render(
        op=op, windows=result.windows, bcu_name=bcu_name or op.get("bcu", ""), layer=result.layer,
        today=dt.date.today().isoformat(), headline=result.headline, verdict=result.verdict, flags=result.flags,
        png=png, caveats=result.caveats, settings=result.settings,
        key_table=Markup(_table_html(key, SUMMARY_COLUMNS)),
        full_table=Markup(_table_html(t, SUMMARY_COLUMNS)),
        cross_table=Markup(_table_html(result.cross, cross_cols) if len(result.cross) else _table_html(None)),
        moves_table=Markup(_table_html(result.migration.moves, move_cols) if len(result.migration.moves)
                           else _table_html(None)),
        areas_table=Markup(_table_html(tables["areas"], digits=2)),
        **_calibrated_tables(result),
    )


def trend_png(panel: pd.DataFrame, windows) -> bytes:
    """A line chart (PNG) of monthly basket harm per area, with the before and after windows shaded."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    wide = panel.pivot(index="month", columns="name", values="harm").astype(float)
    fig, ax = plt.subplots(figsize=(8, 3), dpi=100)
    months = list(wide.index)
    for name, color in (("Target", AREA_COLORS["target"]), ("Catchment (rings)", RING_COLORS[0]),
                        ("Control", AREA_COLORS["control"])):
        if name in wide:
            y = wide[name] / np.nanmean(wide[name]) if np.nanmean(wide[name]) else wide[name]
            ax.plot(range(len(months)), y.to_numpy(), label=name, color=color, lw=2)
    return _month_chart_png(fig, ax, months, windows, ylabel="harm / its mean")


def synthetic_png(series: pd.DataFrame, windows) -> bytes:
    """A line chart (PNG) of the target's monthly basket harm and its synthetic comparison."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    months = list(series["month"])
    fig, ax = plt.subplots(figsize=(8, 3), dpi=100)
    ax.plot(range(len(months)), series["target"].to_numpy(float), label="Target", color=AREA_COLORS["target"], lw=2)
    ax.plot(range(len(months)), series["synthetic"].to_numpy(float), label="Synthetic comparison",
            color=AREA_COLORS["control"], lw=2, ls="--")
    return _month_chart_png(fig, ax, months, windows, ylabel="basket harm")


def _calibrated_tables(result) -> dict:
    """The calibrated tests, the buffer-width sensitivity and the exploratory crime types (names, rounded)."""
    from markupsafe import Markup
    a = getattr(result, "assessment", None)
    if a is None:
        return {"tests_table": None}
    tests = pd.DataFrame([t.as_dict() for t in [a.target] + a.family()])
    cols = {"name": "Test", "unit": "Unit", "n_before": "Before (incidents)", "n_after": "After (incidents)",
            "estimate": "Change vs control", "ci_low": "Interval low", "ci_high": "Interval high", "p_adj": "p (adjusted)",
            "alpha": "Tested at α", "status": "Status", "reading": "Reading"}
    sens = {"buffer": "Buffer", "before": "Before", "after": "After", "estimate": "Change vs control", "p": "p",
            "status": "Status", "reading": "Reading"}
    types = {"crime_type": "Crime type", "before": "Before", "after": "After", "estimate": "Change vs control",
             "p": "p", "q": "q (FDR)", "status": "Status"}
    out = {}
    checks = getattr(result, "checks", None)
    if checks:
        out["trend_png"] = base64.b64encode(trend_png(checks["pre_trend"], result.windows)).decode()
        out["dates_table"] = Markup(_table_html(checks["placebo_dates"], {
            "before": "Before", "after": "After", "harm_before": "Harm before", "harm_after": "Harm after",
            "estimate": "Change vs control", "p": "p", "status": "Status"}))
        if checks.get("seasonal"):
            out["seasonal"] = checks["seasonal"]["reading"]
        if checks.get("pre_fit"):
            out["pre_fit"] = checks["pre_fit"]["reading"]
        sc = checks.get("synthetic")
        if sc:
            out["synth_reading"] = sc["reading"]
            series = checks.get("synthetic_series")
            if series is not None and len(series):
                out["synth_png"] = base64.b64encode(synthetic_png(series, result.windows)).decode()
        pt = checks["placebo_type"]
        out["ptype"] = (f"{pt['crime_type']} in the target {pt.get('before', 0):,.0f} → {pt.get('after', 0):,.0f}, "
                        f"{pt['status']}" + (f" (p = {pt['p']:.3f})" if pt.get("p") is not None else "") + ".")
    tem = getattr(result, "temporal", None)
    if tem is not None:
        out.update(temporal_table=Markup(_table_html(tem.frame(), {
            "area": "Area", "kind": "Distribution", "before": "Before (incidents)", "after": "After (incidents)",
            "chi2": "Chi-square", "df": "df", "p_adj": "p (Holm)", "status": "Status"}, digits=1)),
            temporal_lines=[t.reading for t in tem.tests],
            temporal_rule=tem.rule[:1].upper() + tem.rule[1:])
    return {**out, "tests_table": Markup(_table_html(tests, cols)),
            "sens_table": Markup(_table_html(result.sensitivity, sens)),
            "types_table": Markup(_table_html(result.types, types)),
            "catchment_rule": result.catchment.rule[:1].upper() + result.catchment.rule[1:],
            "spread": f"{result.summary.spread:.2f}"}


def _month_chart_png(fig, ax, months: list, windows, *, ylabel: str) -> bytes:
    """Finish a monthly line chart: the before/after windows shaded, month labels, legend; PNG bytes."""
    import matplotlib.pyplot as plt
    for which, color in WINDOW_COLORS.items():
        a, b = getattr(windows, which)
        if a in months and b in months:
            ax.axvspan(months.index(a) - 0.5, months.index(b) + 0.5, color=color, zorder=0)
    ax.set_xticks(range(len(months)))
    ax.set_xticklabels(months, rotation=90, fontsize=7)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()
