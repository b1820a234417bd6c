"""Trends over time for an area, in a chart and in words a meeting can read.

* :func:`area_trend`: the monthly drug-market harm of an area with its long-run mean and
  control limits (:mod:`geo.panels`), a chart (:mod:`geo.render.charts`) and what changed
  over the year and the last three months (internal users: briefings, Area summary);
* :func:`published_trend`: the same from the published quarterly figures only
  (:mod:`geo.disclosure`), for partners: whole calendar quarters, never a month.
"""
from __future__ import annotations

import base64

import pandas as pd

from .panels import add_control_limits, monthly_panel, trend_sentences
from .periods import month_add, month_label, month_range, quarter_add, quarter_label
from .render.charts import trend_png

__all__ = ["area_trend", "published_trend"]


def area_trend(crime: pd.DataFrame, area, m0: str, m1: str, *, coverage: set | None = None,
               unit: str = "CCHI days", max_months: int = 24) -> dict:
    """The monthly drug-market harm of ``area`` up to ``m1``: chart, control limits and change in words.

    ``area`` has ``name`` and ``geometry`` (a :class:`geo.briefing.Area`); ``crime`` holds
    located incidents (``x``, ``y``, ``month``, ``harm``, ``in_basket``) the user may see.

    Up to ``max_months`` months ending at ``m1`` (every month the data hold). The long-run
    mean and control limits (:func:`geo.panels.add_control_limits`, mean ± 2 sd) come from
    the months before ``m0`` when there are at least six of them, else from every month.

    Returns
    -------
    dict
        ``panel`` (the one-area panel), ``lines`` (:func:`geo.panels.trend_sentences`),
        ``png`` (base64 PNG of :func:`geo.render.charts.trend_png`, "" with fewer than 3
        months) and ``note``.
    """
    held = sorted(m for m in crime["month"].dropna().unique() if m <= m1)
    if not held:
        return {"panel": None, "lines": [], "png": "", "note": ""}
    months = month_range(max(held[0], month_add(m1, -(max_months - 1))), m1)
    basket = crime[crime["in_basket"]] if "in_basket" in crime.columns else crime
    panel = monthly_panel(basket, {area.name: area.geometry}, months=months, coverage=coverage)
    before = [m for m in months if m < m0]
    pre = (before[0], before[-1]) if len(before) >= 6 else None
    panel = add_control_limits(panel, pre=pre, measures=("harm",))
    lines = trend_sentences(panel, measure="harm", name=area.name, what="Drug-market harm")
    png = ""
    if len(months) >= 3:
        png = base64.b64encode(trend_png(panel, measure="harm", unit=f"harm ({unit})",
                                         title=f"Drug-market harm a month, {area.name}")).decode()
    p0, p1 = panel.attrs.get("pre", (months[0], months[-1]))
    note = (f"Monthly drug-market harm over {len(months)} months. The long-run mean and control limits (mean ± 2 "
            f"standard deviations) are from {month_label(p0)} to {month_label(p1)}; a month outside them is a "
            "signal worth a look, not proof of a change. Months not covered by the data are gaps, never zero.")
    return {"panel": panel, "lines": lines, "png": png, "note": note}


def published_trend(pub, *, units=None, quarters, name: str, layer: str | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Drug-market harm per calendar quarter from the published base table, and the change in words.

    Parameters
    ----------
    pub : geo.disclosure.Published
    units : list of str, optional
        Base-unit codes of the area (``None``: the whole published area).
    quarters : sequence of str
        Complete quarters (``YYYY-Qn``) held by ``pub``.
    name : str
    layer : str, optional

    Returns
    -------
    (DataFrame, list of str)
        ``quarter``, ``label`` ("Apr–Jun 2025"), ``harm`` (the published label: exact, "<5"
        or a range), ``about`` and ``mid`` (for a chart); and up to two sentences: the latest
        quarter against the same quarter a year earlier and against the quarter before,
        each with published figures only (:func:`geo.disclosure.pct_change`).
    """
    from .disclosure import pct_change
    qs = list(quarters)
    figs = {q: pub.figure(units=units, quarters=[q], layer=layer, basket=True, harm=True) for q in qs}
    frame = pd.DataFrame({"quarter": qs, "label": [quarter_label(q) for q in qs],
                          "harm": [figs[q].label for q in qs], "about": [figs[q].about for q in qs],
                          "mid": [float(figs[q].mid) for q in qs]})
    lines = []
    if qs:
        last = qs[-1]
        for other, words in ((quarter_add(last, -4), "the same quarter a year earlier"),
                             (quarter_add(last, -1), "the quarter before")):
            if other in figs:
                a, b = figs[last], figs[other]
                lines.append(f"Drug-market harm in {name}, {quarter_label(last)}: {a.about} days against {b.about} "
                             f"in {quarter_label(other)}, {words} ({pct_change(a, b)}).")
    return frame, lines
