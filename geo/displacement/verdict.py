"""The result of a results analysis and its plain-language verdict and caveats."""
from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.stats import norm

from ..labels import signed as _signed
from .areas import StudyAreas, points_inside, xy_of
from .measures import ALL, BASKET, SMALL_COUNT
from .migration import Migration
from .null import MAXT_MIN_ROOM, MIN_PLACEBOS
from .windows import Windows, month_add

__all__ = ["DisplacementResult", "verdict_lines", "caveats", "control_note", "pre_trend_note", "Clause", "Verdict",
           "build_verdict", "STATUSES", "check_notes", "targeted_notes"]


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
        The verdict's displacement and diffusion clauses that found evidence.
    settings : dict
        Buffer rule, control rule, scale, alpha, cell size.
    summary : Verdict
        The calibrated verdict (:func:`build_verdict`): harm, displacement, diffusion, activity.
    assessment : geo.displacement.flags.Assessment
        Every calibrated test (target, rings, pieces, sites) with its alpha share.
    catchment : geo.displacement.areas.Catchment
    sensitivity : DataFrame
        :func:`geo.displacement.flags.sensitivity`: the buffer reading against its width.
    types : DataFrame
        Exploratory per-crime-type results (:func:`geo.displacement.flags.type_tests`).
    targeted : DataFrame, optional
        The operation's targeted harms (declared before the analysis), tested in the target,
        Holm-corrected (:func:`geo.displacement.flags.targeted_tests`).
    checks : dict
        ``pre_trend`` (monthly basket harm of target, catchment and control),
        ``placebo_dates`` (the target test on earlier, untreated windows) and
        ``placebo_type`` (the target test on a crime type the operation should not touch);
        month windows only (:mod:`geo.displacement.checks`). Also ``pre_fit`` (target and
        control's pre-period fit) and ``seasonal`` (the target test on the same months a
        year earlier).
    temporal : geo.displacement.temporal.TemporalResult, optional
        Shifts in day of week and time of day in the target and the catchment, for layers
        with dates (:func:`geo.displacement.temporal.temporal_shift`).
    pending : tuple of str
        Empty for a complete result. The verdict stage (``on_verdict`` of
        :func:`geo.displacement.analyse`) names the sections still being computed:
        ``power``, ``cross``, ``migration``, ``sensitivity``, ``checks``, ``temporal``.
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
    summary: "Verdict | None" = None
    assessment: object = None
    catchment: object = None
    sensitivity: pd.DataFrame | None = None
    types: pd.DataFrame | None = None
    checks: dict | None = None
    temporal: object = None
    pending: tuple = ()
    targeted: pd.DataFrame | None = None

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
                   "approximation is rough; the calibrated tests measure their spread on placebo copies of the same "
                   "areas, and call an area with fewer than 3 basket incidents before, or 10 in all, \"too few to "
                   "tell\".")
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
    # column by column: taking the rows of the whole frame (every text column) cost most of the time
    keep = incidents["in_basket"].to_numpy(bool) if in_basket else np.ones(len(incidents), dtype=bool)
    x, y = xy_of(incidents)
    inc_months = incidents["month"][keep].astype(str)
    inside = points_inside(target, x[keep], y[keep])
    months = inc_months.to_numpy()[inside]
    earlier = sorted(set(m for m in inc_months.unique() if m < windows.before[0]))
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




# --------------------------------------------------------------------------- the calibrated verdict
STATUSES = ("evidence", "no evidence", "too few to tell")


@dataclass(frozen=True)
class Clause:
    """One clause of the verdict, read aloud in order: harm, displacement, diffusion, activity.

    ``status`` is "evidence", "no evidence" or "too few to tell"; ``estimate`` with
    ``ci_low``/``ci_high`` in ``unit`` over the after window; ``p`` the calibrated p-value
    (after the family's adjustment for displacement and diffusion: one-sided max-statistic for rises or falls in rings and sectors, Holm for pieces); ``alpha`` the level it
    was tested at.
    """

    topic: str
    status: str
    text: str
    estimate: float = float("nan")
    ci_low: float = float("nan")
    ci_high: float = float("nan")
    p: float = float("nan")
    alpha: float = float("nan")
    unit: str = ""

    def as_dict(self) -> dict:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in d.items()}


@dataclass(frozen=True)
class Verdict:
    """The verdict an analyst can read aloud: :class:`Clause` objects, harm first."""

    clauses: tuple
    alpha: float
    spread: float
    notes: tuple = ()

    def clause(self, topic: str) -> Clause:
        return next(c for c in self.clauses if c.topic == topic)

    def text(self) -> str:
        return " ".join(c.text for c in self.clauses)

    def as_dict(self) -> dict:
        return {"alpha": self.alpha, "spread_of_placebo_z": self.spread, "notes": list(self.notes),
                "clauses": [c.as_dict() for c in self.clauses]}


def _n(x, d=0) -> str:
    return "–" if x is None or not np.isfinite(x) else f"{x:,.{d}f}"


def _p(p) -> str:
    if p is None or not np.isfinite(p):
        return "p –"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _near_site(t, near_sites, catch) -> str:
    if near_sites is None or len(near_sites) == 0:
        return ""
    area = t.geometry if hasattr(t, "geometry") else catch.area_of(t)
    if area is None:
        return ""
    d = near_sites.geometry.distance(area)
    k = int(np.argmin(d.to_numpy()))
    if d.iloc[k] > 400:
        return ""
    kind = str(near_sites["kind"].iloc[k]).replace("_", " ")
    return f", within 400 m of {near_sites['name'].iloc[k]} ({kind})"


def _level(level: float) -> str:
    """A confidence level as read aloud: ``95%``, ``97.5%``, ``98.5%``."""
    return f"{100 * level:.1f}".rstrip("0").rstrip(".") + "%"


def _largest(tests, sign: int):
    """The tested ring, sector or piece with the largest rise (``sign=+1``) or fall (``-1``) in z, if any."""
    ok = [x for x in tests if x.kind != "sites" and np.isfinite(x.estimate) and np.isfinite(x.se) and x.se > 0
          and sign * x.estimate > 0]
    return max(ok, key=lambda x: sign * x.estimate / x.se) if ok else None


def _figures(t) -> tuple:
    """``(estimate, ci_low, ci_high, p)`` of a test for a clause (its family-adjusted p); NaNs for none."""
    nan = float("nan")
    return (nan, nan, nan, nan) if t is None else (t.estimate, t.ci_low, t.ci_high, t.p_adj)


def _largest_text(t, word: str) -> str:
    if t is None:
        return ""
    where = f"the {t.ring} ring {t.direction}" if t.kind == "sector" else (
        f"the {t.ring} ring" if t.kind == "ring" else t.name)
    return (f"; largest {word}: {where}, {_signed(t.estimate)} basket incidents against the control "
            f"(adjusted {_p(t.p_adj)}, tested at α = {t.alpha:g}; its own {_level(t.ci_level)} interval, not "
            f"adjusted for the other areas tested: {_signed(t.ci_low)} to {_signed(t.ci_high)})")


def check_notes(checks: dict | None, *, harm_status: str | None = None) -> list:
    """Plain sentences for the checks on the operation itself that did not come out clean (pre-period fit
    not parallel, placebo dates or the placebo crime type showing evidence, a possibly seasonal change),
    to read with the verdict; ``[]`` when every check is clean or none was run. ``harm_status``: the harm
    clause's; a change that may be seasonal is said only when the harm clause found one."""
    if not checks:
        return []
    notes = []
    fit = checks.get("pre_fit") or {}
    if fit.get("status") == "not parallel":
        notes.append("Check: target and control did not move in parallel before the operation, so read the "
                     "harm change against the control with care.")
    dates = checks.get("placebo_dates")
    if dates is not None and len(dates):
        hit = dates[dates["status"] == "evidence"]
        if len(hit):
            notes.append(f"Check: {len(hit)} of {len(dates)} placebo dates before the operation also showed "
                         "evidence of a change in the target ("
                         + ", ".join(f"{b} vs {a}" for b, a in zip(hit["before"], hit["after"]))
                         + "): the target's ordinary ups and downs are as large as such a change.")
    pt = checks.get("placebo_type") or {}
    if pt.get("status") == "evidence":
        way = "rose" if (pt.get("estimate") or 0) > 0 else "fell"
        notes.append(f"Check: the placebo crime type ({pt.get('crime_type')}), which the operation should not "
                     f"touch, also {way} in the target against the control ({_p(pt.get('p'))}).")
    sz = checks.get("seasonal") or {}
    reading = str(sz.get("reading") or "")
    if sz.get("status") == "evidence" or ("cannot be ruled out" in reading and harm_status in (None, "evidence")):
        notes.append("Check: " + reading)
    return notes


def targeted_notes(tests: pd.DataFrame | None, *, alpha: float = 0.05) -> list:
    """One sentence per targeted harm (:func:`geo.displacement.flags.targeted_tests` at `alpha`)."""
    if tests is None or not len(tests):
        return []
    out = []
    for _, r in tests.iterrows():
        if r["status"] == "not recorded":
            out.append(f"Targeted harm '{r['crime_type']}' (declared before the analysis): not recorded in the data.")
            continue
        lead = (f"Targeted harm '{r['crime_type']}' (declared before the analysis): {_n(r['before'])} → "
                f"{_n(r['after'])} in the target")
        if r["status"] == "too few to tell":
            out.append(lead + ", too few to tell.")
        else:
            out.append(lead + f"; {_signed(r['estimate'])} incidents against the control (unadjusted {_level(1 - alpha)} CI {_signed(r['ci_low'])} "
                       f"to {_signed(r['ci_high'])}, Holm-adjusted {_p(r['p_holm'])}): "
                       + (f"evidence of {'a' if r['reading'] == 'reduction' else 'an'} {r['reading']}."
                          if r["status"] == "evidence" else "no evidence of a change."))
    return out


def _power_text(a, pending: bool = False) -> str:
    """The power clause: planted moves on this operation's data (:mod:`geo.displacement.power`)."""
    if a.power is not None:
        return a.power.text()
    return "power to detect a 50% move: still computing" if pending else "power to detect a 50% move: not measured"


def build_verdict(assessment, catch, table: pd.DataFrame, windows: Windows, *, layer: str = "crime",
                  enforcement_label: str = "enforcement activity", power_pending: bool = False) -> Verdict:
    """The four clauses from the calibrated tests (:func:`geo.displacement.flags.assess`).

    The WDQ is read only when the target effect is significant ("not interpretable: no effect
    in the target" otherwise), and a WDQ reading of displacement or diffusion that the
    calibrated ring tests do not support is marked "(not significant)", so it never
    contradicts them. ``power_pending``: the power figure is still being computed (the
    verdict stage of :func:`geo.displacement.analyse`), said so instead of "not measured".
    """
    a = assessment
    t = a.target
    unit = "harm (CCHI days)" if layer == "crime" else "harm (weighted calls)"
    before, after = windows.label("before"), windows.label("after")
    spread = a.null.spread("target|harm")
    if t.status == "too few to tell":
        harm = Clause("harm", t.status, f"Harm: too few basket incidents in the target to tell "
                      f"({_n(t.n_before)} before, {_n(t.n_after)} after).", alpha=a.alpha, unit=unit)
    else:
        pct = 100 * (t.harm_after - t.harm_before / windows.time_weights[0]) / (t.harm_before / windows.time_weights[0]) \
            if t.harm_before else float("nan")
        what = ("a reduction" if t.estimate < 0 else "an increase") if t.status == "evidence" else \
            "no evidence of a change"
        short = "CCHI days" if layer == "crime" else "weighted calls"
        side = "more" if t.estimate > 0 else "less"
        harm = Clause("harm", t.status,
                      f"Harm: drug-market harm in the target went from {_n(t.harm_before)} ({before}) to "
                      f"{_n(t.harm_after)} ({after})" + (f", {pct:+.0f}%" if np.isfinite(pct) else "") +
                      f"; that is {_n(abs(t.estimate))} {short} {side} than the control predicts "
                      f"({_level(1 - a.alpha)} CI {_signed(t.ci_low)} to {_signed(t.ci_high)}, {_p(t.p)}): "
                      f"{what}.", t.estimate, t.ci_low, t.ci_high, t.p, a.alpha, unit)
    fam = a.family()
    disp = [x for x in fam if x.reading == "displacement"]
    diff = [x for x in fam if x.reading == "diffusion"]
    tested = [x for x in fam if x.status != "too few to tell"]
    if disp:
        parts = []
        for x in disp:
            if x.kind == "piece":
                parts.append(f"into {x.name.split(',')[0]}, {x.ring} {x.direction}{_near_site(x, a.near_sites, catch)}")
            elif x.kind == "ring":
                parts.append(f"into the {x.ring} ring{_near_site(x, a.near_sites, catch)}")
            elif x.kind == "sector":
                parts.append(f"into the {x.ring} ring {x.direction}{_near_site(x, a.near_sites, catch)}")
            else:
                names = ", ".join(map(str, list(a.near_sites["name"])[:3])) if a.near_sites is not None else ""
                parts.append(f"towards sensitive sites ({names})")
        best = max(disp, key=lambda x: x.estimate)
        reduced = t.status == "evidence" and t.estimate < 0
        lead = "possible displacement " if reduced else \
            "basket crime rose more than the control predicts (not displacement: no reduction in the target) "
        dc = Clause("displacement", "evidence", "Displacement: " + lead + "; ".join(parts) +
                    f" (+{_n(best.estimate)} basket incidents, {_level(best.ci_level)} CI {_n(best.ci_low)} to "
                    f"{_n(best.ci_high)}, {_p(best.p_adj)}).", best.estimate, best.ci_low, best.ci_high, best.p_adj,
                    best.alpha, "basket incidents")
    elif not tested:
        dc = Clause("displacement", "too few to tell", "Displacement: too few basket incidents in the catchment "
                    "to tell.", alpha=a.alpha, unit="basket incidents")
    else:
        top = _largest(tested, +1)
        dc = Clause("displacement", "no evidence", "Displacement: no evidence of displacement in the catchment "
                    f"({catch.rule}; {_power_text(a, power_pending)})" + _largest_text(top, "rise") + ".",
                    *_figures(top), alpha=top.alpha if top is not None else a.alpha, unit="basket incidents")
    if diff:
        best = min(diff, key=lambda x: x.estimate)
        where = f"{best.ring} ring" + (f" {best.direction}" if best.kind == "sector" else "")
        reduced = t.status == "evidence" and t.estimate < 0
        fc = Clause("diffusion", "evidence", f"Diffusion: basket crime fell in the {where} by "
                    f"{_n(-best.estimate)} incidents more than the control predicts ({_level(best.ci_level)} CI "
                    f"{_n(best.ci_low)} to {_n(best.ci_high)}, {_p(best.p_adj)}): " +
                    ("a diffusion of benefits." if reduced else
                     "a fall beside the target (not a diffusion of benefits: no reduction in the target)."),
                    best.estimate, best.ci_low,
                    best.ci_high, best.p_adj, best.alpha, "basket incidents")
    elif not tested:
        fc = Clause("diffusion", "too few to tell", "Diffusion: too few basket incidents in the catchment to tell.",
                    alpha=a.alpha, unit="basket incidents")
    else:
        top = _largest([x for x in tested if x.kind in ("ring", "sector")], -1)
        fc = Clause("diffusion", "no evidence", "Diffusion: no evidence of a diffusion of benefits" +
                    _largest_text(top, "fall") + ".", *_figures(top),
                    alpha=top.alpha if top is not None else a.alpha, unit="basket incidents")
    enf = table[table["measure"].str.contains("enforcement activity", regex=False)] if len(table) else table
    if len(enf):
        e = enf.iloc[0]
        # the same over-dispersion as the target's count tests (a Poisson p fires far too often on real data)
        phi_t = a.null.phi.get("target|count", 1.0)
        se = e["local_se"] * np.sqrt(phi_t) if np.isfinite(e["local_se"]) and e["local_se"] > 0 else float("nan")
        few = e["target_before"] + e["target_after"] < 10 or not np.isfinite(se)
        pa = float(2 * norm.sf(abs(e["local_estimate"] / se))) if not few else float("nan")
        qn = norm.ppf(1 - a.alpha / 2)
        ac = Clause("activity", "too few to tell" if few else ("evidence" if pa < a.alpha else "no evidence"),
                    f"Activity: drug offences recorded in the target {_n(e['target_before'])} → "
                    f"{_n(e['target_after'])} ({enforcement_label}, not harm).",
                    e["local_estimate"], e["local_estimate"] - qn * se, e["local_estimate"] + qn * se, pa, a.alpha,
                    "drug offences")
    else:
        ac = Clause("activity", "too few to tell", "Activity: no drug offences recorded.", alpha=a.alpha)
    if a.null.n_placebos >= MIN_PLACEBOS:
        raw = spread / float(np.sqrt(a.null.widening.get("target|harm", 1.0)))
        measured = f"{raw:.2f} (1.00 under Poisson) from {a.null.n_placebos} placebos"
        if f"{raw:.2f}" != f"{spread:.2f}":
            measured += f", {spread:.2f} once widened for the {a.null.room_target:,.0f} independent copies they amount to"
        notes = [f"Spread of placebo z-scores {measured}: every test's variance is inflated by its square."]
    else:
        notes = [f"Spread of placebo z-scores assumed {spread:.2f} (1.00 under Poisson): too few placebo copies "
                 f"({a.null.n_placebos}) to measure it here, so every test's variance is inflated by that assumed "
                 "value's square."]
    if a.null.n_placebos >= MIN_PLACEBOS and a.null.room < MAXT_MIN_ROOM:
        notes.append(f"A large operation for its BCU: the placebo copies of its target and rings amount to about "
                     f"{a.null.room:,.0f} independent ones (they overlap), so the rings and sectors are corrected by "
                     "Holm rather than the max-statistic, and every test is widened for the few copies.")
    c = table[(table["measure"] == BASKET) & (table["unit"] == "count")] if len(table) else table
    if len(c):
        r = c.iloc[0]
        if harm.status == "evidence" and harm.estimate < 0:
            reading = str(r["wdq_reading"])
            ring0 = a.rings[0] if a.rings else None
            if ring0 is not None and ring0.status != "evidence" and any(w in reading for w in ("displacement",
                                                                                               "diffusion")) \
                    and "no displacement" not in reading:
                reading += " (not significant)"
            notes.append(f"WDQ (counts, equal-area buffer): {reading}.")
        else:
            notes.append("WDQ: not interpretable: no effect in the target." if harm.status != "evidence" else
                         "WDQ: not interpretable: harm rose in the target, so there is no reduction to displace.")
    return Verdict((harm, dc, fc, ac), a.alpha, spread, tuple(notes))
