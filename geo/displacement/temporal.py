"""Temporal displacement: did incidents move in time (day of week, time of day) rather than place?

For timestamped data (calls for service), an operation can shift activity to other days or
hours without moving it. :func:`temporal_shift` tests, in the target and in the
displacement catchment, whether the day-of-week and the time-of-day distribution changed
between the before and after windows: a chi-square test of homogeneity on the
category × window table (Pearson, df = categories - 1).

* **Time of day** is collapsed to six four-hour blocks (00-04, 04-08, ... 20-24) so cells are
  not tiny. Data whose timestamps are all at midnight (dates only) have no times: the test
  says "no times in the data".
* **Day of week** allows for windows that are not whole weeks: the expected counts come
  from the log-linear model ``window × day`` with the number of each weekday in each window
  as exposure (fitted by iterative proportional fitting), so a 10-day window with two
  Saturdays is not read as a shift towards Saturdays.
* **Small counts**: fewer than :data:`MIN_PER_WINDOW` incidents in either window, or
  expected counts failing Cochran's rule (all at least 1, at most 20% below 5), is "too few
  to tell", never a flag.
* The tests that could be run share alpha by Holm (at most four: two areas × two kinds).

References
----------
Agresti, A. (2013). Categorical Data Analysis, 3rd ed., ch. 3 (tests of homogeneity) and
ch. 9 (log-linear models, iterative proportional fitting). Cochran, W. G. (1954). Some methods
for strengthening the common chi-square tests. Biometrics 10(4). Reppetto, T. A. (1976).
Crime prevention and the displacement phenomenon. Crime & Delinquency 22(2) (temporal
displacement).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from .areas import points_inside, xy_of
from .windows import Windows, periods

__all__ = ["ShiftTest", "TemporalResult", "temporal_shift", "shift_test", "has_times", "MIN_PER_WINDOW",
           "DAYS", "BLOCKS"]

#: Fewer incidents than this in either window and a distribution test is "too few to tell".
MIN_PER_WINDOW = 30
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
BLOCKS = ("00-04", "04-08", "08-12", "12-16", "16-20", "20-24")
NO_TIMES = "no times in the data"


@dataclass(frozen=True)
class ShiftTest:
    """One chi-square test of homogeneity of a distribution between the before and after windows.

    Attributes
    ----------
    area : str
        "Target" or "Catchment (rings)".
    kind : str
        "day of week" or "time of day".
    labels : tuple of str
        The categories (days, or four-hour blocks).
    before, after : tuple of int
        Incidents per category in each window.
    chi2, p, p_adj : float
        Pearson statistic, its p and the Holm-adjusted p (``nan`` if not tested).
    df : int
    status : str
        "evidence", "no evidence", "too few to tell" or "no times in the data".
    reading : str
        A plain sentence.
    """

    area: str
    kind: str
    labels: tuple
    before: tuple
    after: tuple
    chi2: float
    df: int
    p: float
    p_adj: float
    status: str
    reading: str

    def as_dict(self) -> dict:
        return {"area": self.area, "kind": self.kind, "before": int(sum(self.before)), "after": int(sum(self.after)),
                "chi2": self.chi2, "df": self.df, "p": self.p, "p_adj": self.p_adj, "status": self.status,
                "reading": self.reading}


@dataclass(frozen=True)
class TemporalResult:
    """Temporal displacement tests of an operation (:func:`temporal_shift`)."""

    tests: tuple
    alpha: float
    times: bool
    rule: str

    def frame(self) -> pd.DataFrame:
        """One row per test: ``area``, ``kind``, ``before``, ``after`` (totals), ``chi2``, ``df``, ``p``,
        ``p_adj``, ``status``, ``reading``."""
        cols = ["area", "kind", "before", "after", "chi2", "df", "p", "p_adj", "status", "reading"]
        return pd.DataFrame([t.as_dict() for t in self.tests], columns=cols)

    def profiles(self) -> pd.DataFrame:
        """Shares of each category before and after: ``area``, ``kind``, ``category``, ``before``, ``after`` (%)."""
        rows = []
        for t in self.tests:
            nb, na = max(sum(t.before), 1), max(sum(t.after), 1)
            for lab, b, a in zip(t.labels, t.before, t.after):
                rows.append({"area": t.area, "kind": t.kind, "category": lab, "before": 100 * b / nb,
                             "after": 100 * a / na})
        return pd.DataFrame(rows, columns=["area", "kind", "category", "before", "after"])


def has_times(stamps) -> bool:
    """True if the timestamps carry times of day (more than 10% are not exactly midnight)."""
    t = pd.to_datetime(pd.Series(stamps).astype(str), errors="coerce", format="mixed").dropna()
    if t.empty:
        return False
    not_midnight = (t.dt.hour != 0) | (t.dt.minute != 0) | (t.dt.second != 0)
    return bool(not_midnight.mean() > 0.10)


def _ipf(exposure: np.ndarray, observed: np.ndarray, iters: int = 200) -> np.ndarray:
    """Expected counts under ``window + category`` with `exposure` as offset (rows and columns match `observed`)."""
    e = exposure.astype(float).copy()
    rs, cs = observed.sum(axis=1), observed.sum(axis=0)
    for _ in range(iters):
        with np.errstate(divide="ignore", invalid="ignore"):
            e *= np.where(e.sum(axis=1) > 0, rs / e.sum(axis=1), 0.0)[:, None]
            e *= np.where(e.sum(axis=0) > 0, cs / e.sum(axis=0), 0.0)[None, :]
        if np.allclose(e.sum(axis=1), rs, rtol=1e-10, atol=1e-9):
            break
    return e


def shift_test(before, after, *, exposure=None, min_per_window: int = MIN_PER_WINDOW) -> tuple[float, int, float, str]:
    """Chi-square test of homogeneity of two count profiles.

    Parameters
    ----------
    before, after : sequence of int
        Counts per category in each window.
    exposure : (2, k) array, optional
        Opportunities per window and category (e.g. the number of Mondays); ``None``: equal.
    min_per_window : int

    Returns
    -------
    (chi2, df, p, status)
        ``status`` is "tested" or "too few to tell" (then ``chi2``, ``p`` are ``nan``).

    Examples
    --------
    With equal exposure this is scipy's ``chi2_contingency(..., correction=False)``:

    >>> chi2, df, p, _ = shift_test([30, 30, 30, 30], [60, 20, 20, 20])
    >>> round(chi2, 2), df, round(p, 4)
    (16.0, 3, 0.0011)
    >>> shift_test([3, 2, 1], [1, 2, 3])[3]
    'too few to tell'
    """
    obs = np.array([before, after], float)
    ex = np.ones_like(obs) if exposure is None else np.asarray(exposure, float)
    keep = (obs.sum(axis=0) > 0) & (ex.min(axis=0) > 0)
    obs, ex = obs[:, keep], ex[:, keep]
    if obs.shape[1] < 2 or obs.sum(axis=1).min() < min_per_window:
        return float("nan"), 0, float("nan"), "too few to tell"
    exp = _ipf(ex, obs)
    if exp.min() < 1 or (exp < 5).mean() > 0.2:   # Cochran's rule
        return float("nan"), 0, float("nan"), "too few to tell"
    chi2 = float(((obs - exp) ** 2 / exp).sum())
    df = obs.shape[1] - 1
    return chi2, df, float(sps.chi2.sf(chi2, df)), "tested"


def _weekday_exposure(w: Windows) -> np.ndarray:
    out = np.zeros((2, 7))
    for i, which in enumerate(("before", "after")):
        a, b = (dt.date.fromisoformat(v) for v in getattr(w, which))
        for k in range((b - a).days + 1):
            out[i, (a + dt.timedelta(days=k)).weekday()] += 1
    return out


def temporal_shift(incidents: pd.DataFrame, areas: dict, windows: Windows, *, alpha: float = 0.05,
                   min_per_window: int = MIN_PER_WINDOW) -> TemporalResult:
    """Test for a shift in day of week and time of day between the before and after windows.

    Parameters
    ----------
    incidents : DataFrame
        With ``x``, ``y`` (metres) and ``date`` (ISO date or timestamp).
    areas : dict of str -> shapely geometry
        E.g. ``{"Target": ..., "Catchment (rings)": ...}``.
    windows : Windows
        Day windows (with month windows the day-of-week exposure is taken from the months' days).
    alpha : float
        Family level; the tests share it by Holm.
    min_per_window : int
        Fewer incidents in either window: "too few to tell".

    Returns
    -------
    TemporalResult
        ``tests``: for each area a day-of-week and a time-of-day :class:`ShiftTest`.
    """
    stamps = pd.to_datetime(incidents["date"].astype(str), errors="coerce", format="mixed") \
        if "date" in incidents else pd.Series(pd.NaT, index=incidents.index)
    times = has_times(stamps.dropna().astype(str)) if stamps.notna().any() else False
    per = periods(incidents, windows)
    if windows.resolution == "month":
        import calendar
        wd = windows
        def _days(which):
            a, b = getattr(wd, which)
            last = calendar.monthrange(int(b[:4]), int(b[5:7]))[1]
            return a + "-01", f"{b}-{last:02d}"
        expo = _weekday_exposure(Windows("day", _days("before"), _days("after"), 1, 1, wd.operation))
    else:
        expo = _weekday_exposure(windows)
    x, y = xy_of(incidents)
    ok = stamps.notna().to_numpy() & (per >= 0)
    dow = stamps.dt.weekday.fillna(-1).to_numpy(int)
    block = (stamps.dt.hour.fillna(-4).to_numpy(int) // 4)
    raw = []
    for name, geom in areas.items():
        inside = points_inside(geom, x, y) & ok
        b, a = inside & (per == 0), inside & (per == 1)
        cb = np.bincount(dow[b], minlength=7)[:7]
        ca = np.bincount(dow[a], minlength=7)[:7]
        raw.append((name, "day of week", DAYS, cb, ca, shift_test(cb, ca, exposure=expo,
                                                                    min_per_window=min_per_window)))
        hb = np.bincount(block[b], minlength=6)[:6] if times else np.zeros(6, int)
        ha = np.bincount(block[a], minlength=6)[:6] if times else np.zeros(6, int)
        res = shift_test(hb, ha, min_per_window=min_per_window) if times else \
            (float("nan"), 0, float("nan"), NO_TIMES)
        raw.append((name, "time of day", BLOCKS, hb, ha, res))
    tested = [i for i, r in enumerate(raw) if r[5][3] == "tested"]
    from ..stats import holm
    adj = dict(zip(tested, holm([raw[i][5][2] for i in tested]))) if tested else {}
    tests = []
    for i, (name, kind, labels, cb, ca, (chi2, df, p, st)) in enumerate(raw):
        pa = float(adj.get(i, float("nan")))
        if st == "tested":
            st = "evidence" if pa < alpha else "no evidence"
        tests.append(ShiftTest(name, kind, tuple(labels), tuple(int(v) for v in cb), tuple(int(v) for v in ca),
                               chi2, df, p, pa, st, _reading(name, kind, labels, cb, ca, st, pa, min_per_window)))
    rule = (f"chi-square tests of homogeneity (window × category), Holm over the {len(tested)} test(s) run at "
            f"α = {alpha:g}; time of day in six four-hour blocks; fewer than {min_per_window} incidents in a "
            "window, or small expected counts, is too few to tell")
    return TemporalResult(tuple(tests), float(alpha), times, rule)


def _reading(area, kind, labels, cb, ca, status, p_adj, min_n) -> str:
    where = "the target" if area == "Target" else "the catchment"
    if status == NO_TIMES:
        return f"Time of day in {where}: no times in the data (dates only), so a shift in hours cannot be tested."
    if status == "too few to tell":
        return (f"{kind.capitalize()} in {where}: too few to tell ({int(sum(cb))} before, {int(sum(ca))} after; "
                f"at least {min_n} in each window needed).")
    if status == "no evidence":
        return f"{kind.capitalize()} in {where}: no evidence of a shift (adjusted p = {p_adj:.3f})."
    sb, sa = np.asarray(cb) / max(sum(cb), 1), np.asarray(ca) / max(sum(ca), 1)
    k = int(np.argmax(sa - sb))
    return (f"{kind.capitalize()} in {where}: evidence of a shift (adjusted p = {p_adj:.3f}); the largest rise in "
            f"share is {labels[k]} ({100 * sb[k]:.0f}% → {100 * sa[k]:.0f}%): possible temporal displacement.")
