"""The result of a results analysis and its plain-language verdict and caveats."""
from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from .areas import StudyAreas, points_inside, xy_of
from .measures import ALL, BASKET, SMALL_COUNT
from .migration import Migration
from .windows import Windows, month_add

__all__ = ["DisplacementResult", "verdict_lines", "caveats", "control_note", "pre_trend_note"]


@dataclass(frozen=True)
class DisplacementResult:
    """Everything the results analysis of one operation found.

    Attributes
    ----------
    operation : dict
        The operation's record (:meth:`geo.operations.Operation.to_dict`).
    layer : str
        ``"crime"`` or ``"calls"``.
    windows : Windows
    areas : StudyAreas
    crs : str
    table : DataFrame
        :func:`measures`.
    cross : GeoDataFrame
        :func:`cross_boundary`.
    migration : Migration
    headline : str
        One sentence in harm terms.
    verdict : tuple of str
        Plain-language findings: harm first, then activity, then where it went.
    caveats : tuple of str
    flags : tuple of str
        Possible displacement across boundaries and towards sensitive sites.
    settings : dict
        Buffer rule, control rule, scale, alpha, cell size.
    """

    operation: dict
    layer: str
    windows: Windows
    areas: StudyAreas
    crs: str
    table: pd.DataFrame
    cross: gpd.GeoDataFrame
    migration: Migration
    headline: str
    verdict: tuple[str, ...]
    caveats: tuple[str, ...]
    flags: tuple[str, ...]
    settings: dict = field(default_factory=dict)

    def row(self, measure: str = BASKET, unit: str = "harm") -> pd.Series:
        t = self.table
        return t[(t["measure"] == measure) & (t["unit"] == unit)].iloc[0]

    def areas_frame(self) -> gpd.GeoDataFrame:
        return self.areas.frame(self.crs)


def _fmt(x, d=0):
    if x is None or not np.isfinite(x):
        return "–"
    return f"{x:,.{d}f}"


def _significance(p, alpha):
    return "significant" if np.isfinite(p) and p < alpha else "not significant"


def verdict_lines(table, cross, migration, windows, alpha, layer, targeted):
    lines = []
    h = table[(table["measure"] == BASKET) & (table["unit"] == "harm")].iloc[0]
    c = table[(table["measure"] == BASKET) & (table["unit"] == "count")].iloc[0]
    unit = "harm (CCHI days)" if layer == "crime" else "harm (weighted calls)"
    est, p = h["local_estimate"], h["local_p"]
    pct = 100 * (h["target_after"] - h["target_before"] / windows.time_weights[0]) / (
        h["target_before"] / windows.time_weights[0]) if h["target_before"] else np.nan
    if not np.isfinite(est):
        headline = "Not enough incidents in the target, buffer and control to test a change in harm."
    elif p < alpha and est < 0:
        headline = (f"Drug-market harm in the target fell by {_fmt(-est)} {unit} more than the control "
                    f"predicts: a significant reduction (p = {p:.3f}).")
    elif p < alpha and est > 0:
        headline = (f"Drug-market harm in the target rose by {_fmt(est)} {unit} more than the control "
                    f"predicts: a significant increase (p = {p:.3f}).")
    else:
        headline = (f"No significant change in drug-market harm in the target relative to the control "
                    f"(estimate {_fmt(est)} {unit}, p = {_fmt(p, 3)}).")
    lines.append(f"Outcome (harm): {headline} In the target, basket harm went from "
                 f"{_fmt(h['target_before'])} ({windows.label('before')}) to {_fmt(h['target_after'])} "
                 f"({windows.label('after')})" + (f", {pct:+.0f}%." if np.isfinite(pct) else "."))
    lines.append(f"Outcome (count): basket incidents {_fmt(c['target_before'])} → {_fmt(c['target_after'])}; "
                 f"WDD local {_fmt(c['local_estimate'], 1)} (95% CI {_fmt(c['local_ci_low'], 1)} to "
                 f"{_fmt(c['local_ci_high'], 1)}), {_significance(c['local_p'], alpha)}.")
    d, dp = h["displacement_estimate"], h["displacement_p"]
    if np.isfinite(d):
        if dp < alpha and d > 0:
            buf = f"harm rose significantly in the buffer ({_fmt(d)} {unit}): possible displacement."
        elif dp < alpha and d < 0:
            buf = f"harm fell significantly in the buffer ({_fmt(d)} {unit}): a diffusion of benefits."
        else:
            buf = f"no significant change in the buffer ({_fmt(d)} {unit}, p = {_fmt(dp, 3)})."
        lines.append("Buffer: " + buf + f" WDQ (counts): {c['wdq_reading']}.")
    tot, tp = h["total_estimate"], h["total_p"]
    lines.append(f"Total (target + buffer): {_fmt(tot)} {unit}, {_significance(tp, alpha)} (p = {_fmt(tp, 3)}).")
    enf = table[table["measure"].str.contains("enforcement activity", regex=False)]
    if len(enf):
        e = enf.iloc[0]
        lines.append(f"Activity: drug offences recorded in the target {_fmt(e['target_before'])} → "
                     f"{_fmt(e['target_after'])} (enforcement activity, not harm).")
    if targeted:
        tt = table[table["measure"].isin(targeted) & (table["unit"] == "count")]
        for _, r in tt.iterrows():
            lines.append(f"Targeted harm '{r['measure']}': {_fmt(r['target_before'])} → {_fmt(r['target_after'])}, "
                         f"WDD local {_fmt(r['local_estimate'], 1)}, {_significance(r['local_p'], alpha)}.")
    others = table[(table["unit"] == "count") & ~table["measure"].isin([BASKET, ALL]) &
                   ~table["measure"].str.contains("enforcement", regex=False) &
                   (table["local_p"] < alpha) & (table["local_estimate"] > 0)]
    if len(others):
        lines.append("Crime-type displacement: other categories rose significantly in the target: "
                     + ", ".join(f"{r['measure']} (+{_fmt(r['local_estimate'], 1)})" for _, r in others.iterrows())
                     + ".")
    flags = [r["reading"] for _, r in cross.iterrows() if r["flag"]] if len(cross) else []
    flags += [f for f in migration.moves["flag"] if f] if len(migration.moves) else []
    if flags:
        lines.append("Where it went: " + "; ".join(flags) + ".")
    else:
        lines.append("Where it went: no significant rise in any neighbouring BCU or force piece of the "
                     "buffer and wider ring, and no hot spot moved towards a sensitive site.")
    return headline, lines, flags


def caveats(table, windows, areas, layer, pre_months_note, control_note, coverage_notes):
    cav = []
    c = table[(table["measure"] == BASKET) & (table["unit"] == "count")].iloc[0]
    short = (windows.resolution == "month" and windows.after_len < 3) or (
        windows.resolution == "day" and windows.after_len < 28)
    if short:
        cav.append(f"Short windows ({windows.before_len} and {windows.after_len} {windows.resolution}s): "
                   "one window cannot separate the operation from ordinary ups and downs or seasonality.")
    if min(c["target_before"], c["target_after"], c["buffer_before"], c["buffer_after"]) < SMALL_COUNT:
        cav.append(f"Small counts (under {SMALL_COUNT} in the target or buffer): the WDD's normal "
                   "approximation is rough; read the E-test p-values.")
    cav.append("Regression to the mean: places are usually chosen for an operation because they were "
               "unusually bad, and would often improve anyway." + (" " + pre_months_note if pre_months_note else ""))
    if windows.resolution == "month" and layer == "crime":
        cav.append("police.uk data are monthly and locations are snapped to anonymised map points: an "
                   "operation that does not start and end on month boundaries shares its months with "
                   "untreated days, and points near an area's edge may fall on either side.")
    if control_note:
        cav.append(control_note)
    cav.append("Counts of drug offences measure enforcement activity, not the size of the market; they "
               "are not part of the harm measures.")
    cav.extend(coverage_notes)
    cav.extend(areas.notes)
    return cav


def control_note(table, windows, scale):
    c = table[(table["measure"] == ALL) & (table["unit"] == "count")].iloc[0]
    if c["control_before"] <= 0:
        return "Control not comparable: the control had no incidents before the operation."
    ratio = c["control_before"] / max(c["target_before"], 1)
    note = None
    if scale == "none" and not 0.5 <= ratio <= 2:
        note = (f"Control not comparable: it had {ratio:.1f} times the target's incidents before; raw "
                "counts assume a control of similar size (use scale='counts').")
    elif ratio > 20:
        note = (f"The control is large ({ratio:,.0f} times the target's before-period count): its trend is "
                "applied to the target's level, which assumes the target would have followed the BCU.")
    return note


def pre_trend_note(incidents, target, windows, in_basket=True):
    """Compare the before window with earlier data, if any, to warn of regression to the mean."""
    if windows.resolution != "month":
        return ""
    inc = incidents[incidents["in_basket"]] if in_basket else incidents
    x, y = xy_of(inc)
    inside = points_inside(target, x, y)
    months = inc["month"].astype(str).to_numpy()[inside]
    earlier = sorted(set(m for m in inc["month"].astype(str).unique() if m < windows.before[0]))
    if not earlier:
        return "There are no data before the before window to check whether it was unusually high."
    per_month_before = np.isin(months, [month_add(windows.before[0], i) for i in range(windows.before_len)]).sum() \
        / windows.before_len
    per_month_earlier = np.isin(months, earlier).sum() / len(earlier)
    if per_month_earlier > 0 and per_month_before > 1.2 * per_month_earlier:
        return (f"The before window was {per_month_before / per_month_earlier - 1:.0%} above the target's "
                f"earlier average ({per_month_earlier:,.0f} basket incidents a month): some fall is expected "
                "anyway.")
    return (f"The before window ({per_month_before:,.0f} basket incidents a month) was not above the target's "
            f"earlier average ({per_month_earlier:,.0f}).")


