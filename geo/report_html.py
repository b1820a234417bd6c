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
import re

import numpy as np
import pandas as pd
from jinja2 import Environment

from . import safe
from .displacement import DisplacementResult
from .render.palette import AREA_COLORS, RING_COLORS, WINDOW_COLORS
from .report_tables import fmt, fmt_alpha, fmt_p, readable_table, standard_measures

__all__ = ["report_tables", "to_csv", "static_map_png", "render_html"]


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


def verdict_tables(result: DisplacementResult) -> dict[str, pd.DataFrame]:
    """What the report opens with, as tables: ``verdict`` (each clause with its status, estimate, interval,
    p and α), ``calibrated_tests`` (the target and every ring, sector, piece and sites test), ``targeted_harms``,
    ``sensitivity`` and ``exploratory_crime_types`` (empty frames where the result has none)."""
    out = {}
    if result.summary is not None:
        out["verdict"] = pd.DataFrame([{k: c.as_dict()[k] for k in ("topic", "status", "text", "estimate", "ci_low",
                                                                    "ci_high", "p", "alpha", "unit")}
                                       for c in result.summary.clauses]
                                      + [{"topic": "note", "text": n} for n in result.summary.notes])
    a = result.assessment
    if a is not None:
        keep = ["name", "kind", "ring", "direction", "unit", "n_before", "n_after", "harm_before", "harm_after",
                "expected_after", "estimate", "ci_low", "ci_high", "p", "p_adj", "alpha", "phi", "sides", "status",
                "reading"]
        out["calibrated_tests"] = pd.DataFrame([{k: t.as_dict()[k] for k in keep} for t in [a.target] + a.family()])
    for name, frame in (("targeted_harms", getattr(result, "targeted", None)), ("sensitivity", result.sensitivity),
                        ("exploratory_crime_types", result.types)):
        if frame is not None:
            out[name] = frame
    return out


def to_csv(result: DisplacementResult) -> str:
    """Every table of the report in one CSV, with the table's name in the first column: what the report
    opens with (:func:`verdict_tables`), then its appendix's descriptive tables (:func:`report_tables`).

    Text cells are neutralised against spreadsheet formulas (:func:`geo.safe.csv_text`).
    """
    frames = []
    for name, t in {**verdict_tables(result), **report_tables(result)}.items():
        if len(t):
            frames.append(t.assign(table=name)[["table"] + list(t.columns)])
    out = pd.concat(frames, ignore_index=True, sort=False)
    return safe.csv_text(out)  # text cells starting = + - @ are neutralised for spreadsheets


def static_map_png(result: DisplacementResult, *, bcus=None, dpi: int = 110) -> bytes:
    """The results map (PNG): target, catchment rings, comparison, evidence, named BCUs, sites in the catchment.

    :func:`geo.render.results_map.results_png`, in the colours of
    :data:`geo.render.palette.AREA_COLORS` and ``RING_COLORS``, the same as the dashboard's results map.
    """
    from .render.results_map import results_png
    return results_png(result, bcus=bcus, dpi=dpi)


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
.appendix { margin-top: 2.5em; border-top: 3px double #999; overflow-x: auto; }
.appendix table { font-size: 11px; } .appendix th, .appendix td { padding: 2px 4px; }
img { max-width: 100%; border: 1px solid #ccc; }
</style></head><body>
<h1>Results analysis: {{ op.name }}</h1>
<p class="muted">{{ op.tactic }} · operation {{ windows.label('operation') }} · {{ bcu_name }} ·
before {{ windows.label('before') }} · after {{ windows.label('after') }} · {{ layer }} · produced {{ today }}</p>
<p class="headline" id="verdict">{{ headline }}</p>
<h2>What the analysis found</h2>
<ul>{% for line in verdict %}<li>{{ line }}</li>{% endfor %}</ul>
{% if flags %}<p class="flag">Flags: {{ flags|join('; ') }}</p>{% endif %}
{% if tests_table %}<h2>Calibrated tests</h2>
<p class="muted">{{ catchment_rule }}. Each test's Poisson variance is inflated by the over-dispersion measured on
placebo copies of the target and rings in the same BCU (spread of placebo z-scores as the tests use it {{ spread }}). Displacement and
diffusion share α: rises in rings and sectors (displacement, 50%) and falls (diffusion, 20%), each one-sided and
corrected by the max-statistic over the same placebo copies (Holm when they amount to fewer than 20 independent
ones); BCU/force pieces (15%, Holm) and sensitive sites (15%).
Counts and harm ({{ harm_unit }}) over the after window.</p>
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
<img alt="Map of the target, the catchment rings, the comparison area, BCU boundaries and the sensitive sites in the catchment" src="data:image/png;base64,{{ png }}">
{% if catchment_table %}<h2>Where displacement was looked for</h2>
{{ catchment_table }}{% endif %}
<h2>Caveats</h2>
<ul>{% for c in caveats %}<li>{{ c }}</li>{% endfor %}</ul>
<section class="appendix" id="appendix">
<h2>{{ std.title }}</h2>
<p class="muted">{{ std.note }}</p>
<h3>Drug-market basket, all incidents and enforcement activity</h3>
{{ key_table }}
<h3>Every measure</h3>
{{ full_table }}
<h3>Across boundaries, equal-area design (Poisson, Holm-adjusted; not calibrated)</h3>
{{ cross_table }}
<h3>Hot spot moves (descriptive only)</h3>
<p class="muted">Gi* hot spots of the before and after windows matched into moves. Hot spots flicker from month to
month even where nothing happened, so a move is not a test and is not part of the verdict.</p>
{{ moves_table }}
<h3>The equal-area areas</h3>
{{ areas_table }}
<p class="muted">Scale: {{ settings.scale }} (the control's change is applied to the target's level by before-period
counts); α = {{ alpha }}.</p>
</section>
</body></html>
"""


def _numeric(v: str) -> bool:
    return bool(_NUM.match(v))


_NUM = re.compile(r"^(?:[<>]\s?)?[-+−]?[\d,]*\.?\d+%?$|^–$")


def _table_html(df: pd.DataFrame | None) -> str:
    """A frame of strings (:func:`geo.report_tables.readable_table`) as an HTML table; every cell escaped."""
    if df is None or len(df) == 0:
        return "<p class='muted'>No rows.</p>"
    head = "".join(f"<th>{safe.html_text(c)}</th>" for c in df.columns)
    rows = []
    for r in df.itertuples(index=False):
        cells = []
        for v in r:
            v = fmt(v)
            cls = " class='n'" if _numeric(v) else ""
            cells.append(f"<td{cls}>{safe.html_text(v)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


CROSS_COLUMNS = {"level": ("Level", "text"), "name": ("BCU / force", "name"), "force": ("Force", "text"),
                 "status": ("Status", "text"), "before": ("Before", "count"), "after": ("After", "count"),
                 "control_before": ("Control before", "count"), "control_after": ("Control after", "count"),
                 "estimate": ("WDD (basket count)", "estimate"), "harm_estimate": ("WDD (basket harm)", "harm"),
                 "p": ("Poisson p", "p"), "p_holm": ("Poisson p (Holm)", "p"), "reading": ("Reading", "text")}
MOVE_COLUMNS = {"kind": ("Kind", "text"), "distance_m": ("Distance (m)", "metres"), "n_before": ("Before", "count"),
                "n_after": ("After", "count"), "from_bcu": ("From BCU", "name"), "to_bcu": ("To BCU", "name"),
                "crosses_bcu": ("Crosses BCU", "text"), "crosses_force": ("Crosses force", "text"),
                "near_site": ("Near site", "text"), "flag": ("Note", "text")}


def render_html(result: DisplacementResult, *, bcus=None, bcu_name: str | None = None) -> str:
    """The report as one self-contained HTML page (map embedded as a PNG).

    The verdict, the calibrated tests, the checks, the map and the caveats; then an appendix
    of the standard measures on the equal-area buffer (WDQ, WDD with Poisson variance,
    E-test, the equal-area cross-boundary table and the hot spot moves), labelled as
    descriptive and not part of the verdict (:func:`geo.report_tables.standard_measures`).

    Parameters
    ----------
    result : DisplacementResult
    bcus : GeoDataFrame, optional
        BCU outlines (all forces) drawn and labelled on the map; their names replace codes in the tables.
    bcu_name : str, optional
        Name of the operation's BCU for the heading (default: its name in ``bcus``).
    """
    names = dict(zip(bcus["code"], bcus["name"])) if bcus is not None and len(bcus) else {}
    png = base64.b64encode(static_map_png(result, bcus=bcus)).decode()
    tables = report_tables(result)
    std = standard_measures(result)
    env = Environment(autoescape=True)  # every name and note in the page is escaped
    tpl = env.from_string(_TEMPLATE)
    from markupsafe import Markup
    op = {k: ("" if v is None else v) for k, v in dict(result.operation).items()}   # never "None" on the page
    op["name"] = op.get("name") or "Operation"
    op["tactic"] = op.get("tactic") or "–"
    code = op.get("bcu", "")
    bcu = bcu_name or names.get(code) or code
    cross = pd.DataFrame(result.cross.drop(columns="geometry")) if result.cross is not None and len(result.cross) \
        else None
    moves = result.migration.moves if result.migration is not None and len(result.migration.moves) else None
    return tpl.render(
        op=op, windows=result.windows, bcu_name=f"{bcu} BCU" if bcu else "", layer=result.layer,
        today=dt.date.today().isoformat(), headline=result.headline, verdict=result.verdict, flags=result.flags,
        png=png, caveats=result.caveats, settings=result.settings, std=std,
        alpha=fmt_alpha(result.settings.get("alpha")),
        key_table=Markup(_table_html(std.key)), full_table=Markup(_table_html(std.full)),
        cross_table=Markup(_table_html(readable_table(cross, CROSS_COLUMNS, names=names))),
        moves_table=Markup(_table_html(readable_table(moves, MOVE_COLUMNS, names=names))),
        areas_table=Markup(_table_html(readable_table(tables["areas"], {
            "area": ("Area", "text"), "km2": ("km²", "km2"), "rule": ("Rule", "text")}))),
        catchment_table=Markup(_table_html(_catchment_table(result))) if result.catchment is not None else None,
        **_calibrated_tables(result),
    )


def _catchment_table(result) -> pd.DataFrame:
    """The catchment's areas by name (target, rings, BCU/force pieces, comparison) with their size."""
    fr = result.catchment.frame(result.crs)
    kinds = {"target": "target", "ring": "distance ring", "piece": "ring inside another BCU or force",
             "control": "comparison"}
    return readable_table(fr.assign(kind=fr["kind"].map(kinds).fillna(fr["kind"])), {
        "name": ("Area", "text"), "kind": ("What", "text"), "km2": ("km²", "km2")})


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
    harm_unit = "CCHI days" if result.layer == "crime" else "weighted calls"
    tests["unit"] = tests["unit"].map({"harm": f"harm ({harm_unit})", "count": "basket incidents"}).fillna(tests["unit"])
    cols = {"name": ("Test", "text"), "unit": ("Unit", "text"), "n_before": ("Before (incidents)", "count"),
            "n_after": ("After (incidents)", "count"), "estimate": ("Change vs control", "estimate"),
            "ci_low": ("Interval low", "estimate"), "ci_high": ("Interval high", "estimate"),
            "p_adj": ("p (adjusted)", "p"), "alpha": ("Tested at α", "alpha"), "status": ("Status", "text"),
            "reading": ("Reading", "text")}
    sens = {"buffer": ("Buffer", "text"), "before": ("Before", "count"), "after": ("After", "count"),
            "estimate": ("Change vs control", "estimate"), "p": ("p", "p"), "status": ("Status", "text"),
            "reading": ("Reading", "text")}
    types = {"crime_type": ("Crime type", "text"), "before": ("Before", "count"), "after": ("After", "count"),
             "estimate": ("Change vs control", "estimate"), "p": ("p", "p"), "q": ("q (FDR)", "p"),
             "status": ("Status", "text")}
    out = {"harm_unit": harm_unit}
    checks = getattr(result, "checks", None)
    if checks:
        out["trend_png"] = base64.b64encode(trend_png(checks["pre_trend"], result.windows)).decode()
        out["dates_table"] = Markup(_table_html(readable_table(checks["placebo_dates"], {
            "before": ("Before", "text"), "after": ("After", "text"), "harm_before": ("Harm before", "harm"),
            "harm_after": ("Harm after", "harm"), "estimate": ("Change vs control", "harm"), "p": ("p", "p"),
            "status": ("Status", "text")})))
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
        p = pt.get("p")
        out["ptype"] = (f"{pt['crime_type']} in the target {fmt(pt.get('before', 0), 'count')} → "
                        f"{fmt(pt.get('after', 0), 'count')}, {pt['status']}"
                        + (f" (p {'' if fmt_p(p).startswith('<') else '= '}{fmt_p(p)})" if fmt_p(p) != "–" else "")
                        + ".")
    tem = getattr(result, "temporal", None)
    if tem is not None:
        out.update(temporal_table=Markup(_table_html(readable_table(tem.frame(), {
            "area": ("Area", "text"), "kind": ("Distribution", "text"), "before": ("Before (incidents)", "count"),
            "after": ("After (incidents)", "count"), "chi2": ("Chi-square", "stat"), "df": ("df", "count"),
            "p_adj": ("p (Holm)", "p"), "status": ("Status", "text")}))),
            temporal_lines=[t.reading for t in tem.tests],
            temporal_rule=tem.rule[:1].upper() + tem.rule[1:])
    return {**out, "tests_table": Markup(_table_html(readable_table(tests, cols))),
            "sens_table": Markup(_table_html(readable_table(result.sensitivity, sens))),
            "types_table": Markup(_table_html(readable_table(result.types, types))),
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
