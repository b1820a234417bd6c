"""The results analysis's tables as read: names, numbers rounded for reading, no "None".

Shared by the HTML report (:mod:`geo.report_html`) and the Operations page, so both say the
same thing in the same words. Every function returns a frame of strings, ready to show:
counts and harm (CCHI days) as whole numbers with thousands separators ("1,234"), p-values
to three decimals ("< 0.001"), significance levels exactly as set ("0.0075"), ratios to
two decimals, and "–" where a value is missing.

:func:`standard_measures` is the appendix of descriptive standard measures on the old
equal-area design (WDQ, WDD with Poisson variance, E-test): not calibrated and not part of
the verdict, titled and explained as such (:data:`STANDARD_TITLE`, :func:`standard_note`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from .displacement.measures import ALL, BASKET

__all__ = ["DASH", "STANDARD_TITLE", "StandardMeasures", "fmt", "fmt_alpha", "fmt_number", "fmt_p", "readable_table",
           "standard_measures", "standard_note", "wdq_interpretable"]

DASH = "–"

#: The title of the appendix of standard measures, on the report and the Operations page.
STANDARD_TITLE = ("Appendix: standard measures on the equal-area buffer "
                  "(descriptive, not calibrated, not part of the verdict)")

NOT_INTERPRETABLE = "not interpretable"


def _missing(x) -> bool:
    if x is None or x is pd.NA or x is pd.NaT:
        return True
    if isinstance(x, float) and not math.isfinite(x):
        return True
    try:
        if isinstance(x, (int, float)) or hasattr(x, "dtype"):
            return not math.isfinite(float(x))
    except (TypeError, ValueError):
        return False
    return isinstance(x, str) and x.strip() in ("", "None", "nan", "NaN", "<NA>")


def fmt_number(x, digits: int = 0) -> str:
    """``1234.5`` -> ``"1,235"``; "–" if missing; never ``"-0"``.

    Examples
    --------
    >>> fmt_number(84.0), fmt_number(3564.9), fmt_number(-0.2), fmt_number(None), fmt_number(2.345, 2)
    ('84', '3,565', '0', '–', '2.35')
    """
    if _missing(x):
        return DASH
    s = f"{float(x):,.{digits}f}"
    return s[1:] if s.startswith("-") and not s.strip("-0.,") else s


def fmt_p(p) -> str:
    """A p-value to three decimals, ``"< 0.001"`` below that, "–" if missing.

    Examples
    --------
    >>> fmt_p(0.0312), fmt_p(1e-9), fmt_p(float("nan"))
    ('0.031', '< 0.001', '–')
    """
    if _missing(p):
        return DASH
    return "< 0.001" if float(p) < 0.001 else f"{float(p):.3f}"


def fmt_alpha(a) -> str:
    """A significance level exactly as set (up to four significant digits).

    Examples
    --------
    >>> fmt_alpha(0.0075), fmt_alpha(0.05), fmt_alpha(0.025), fmt_alpha(0.007499999999)
    ('0.0075', '0.05', '0.025', '0.0075')
    """
    if _missing(a):
        return DASH
    return format(float(a), ".4g")


def _text(x) -> str:
    if isinstance(x, bool) or type(x).__name__ == "bool_":
        return "yes" if x else "no"
    return DASH if _missing(x) else str(x)


#: How each kind of column is written (:func:`readable_table`).
FORMATS = {
    "count": fmt_number, "harm": fmt_number, "estimate": fmt_number, "metres": fmt_number,
    "p": fmt_p, "alpha": fmt_alpha, "ratio": lambda x: fmt_number(x, 2), "km2": lambda x: fmt_number(x, 2),
    "stat": lambda x: fmt_number(x, 1), "text": _text,
}


def fmt(x, kind: str = "text") -> str:
    """One value written as a column of ``kind`` (a key of :data:`FORMATS`)."""
    return FORMATS[kind](x)


def readable_table(df: pd.DataFrame | None, columns: dict[str, tuple[str, str]], *,
                   names: dict | None = None) -> pd.DataFrame:
    """Columns picked, renamed and written for reading.

    Parameters
    ----------
    df : DataFrame or None
    columns : dict
        ``{column: (label, kind)}`` in the order shown; ``kind`` is a key of :data:`FORMATS`,
        or ``"name"``: a code written as its name from ``names`` (a BCU code -> "Sheffield").
        Columns not in ``df`` are left out.
    names : dict, optional
        Codes to names, for the ``"name"`` columns.

    Returns
    -------
    DataFrame
        Strings only; an empty frame (with the labels) if ``df`` is empty.
    """
    cols = {c: v for c, v in columns.items() if df is not None and c in df.columns}
    if df is None or not len(df):
        return pd.DataFrame(columns=[label for label, _ in (cols or columns).values()])
    names = names or {}
    out = {}
    for c, (label, kind) in cols.items():
        if kind == "name":
            out[label] = [DASH if _missing(v) else str(names.get(v, v)) for v in df[c]]
        else:
            out[label] = [fmt(v, kind) for v in df[c]]
    return pd.DataFrame(out)


# --------------------------------------------------------------------------- the standard measures appendix
def wdq_interpretable(result) -> bool:
    """Whether the verdict reads the WDQ: only when the calibrated target test found a reduction.

    The WDQ (Bowers & Johnson 2003) divides the buffer's change by the target's: without an
    effect in the target it has no meaning, and the verdict says "not interpretable: no
    effect in the target". A result without a calibrated verdict is not interpretable either.

    References
    ----------
    Bowers, K. J. & Johnson, S. D. (2003). Measuring the geographical displacement and
    diffusion of benefit effects of crime prevention activity. Journal of Quantitative
    Criminology 19(3), 275–301.
    """
    v = getattr(result, "summary", None)
    if v is None:
        return False
    if any(str(n).startswith("WDQ: not interpretable") for n in v.notes):
        return False
    harm = next((c for c in v.clauses if c.topic == "harm"), None)
    return harm is not None and harm.status == "evidence" and _finite(harm.estimate) and harm.estimate < 0


def _finite(x) -> bool:
    return not _missing(x)


#: The columns of the standard-measures tables: ``{column: (label, kind)}``.
STANDARD_COLUMNS = {
    "measure": ("Measure", "text"), "unit": ("Unit", "text"),
    "target_before": ("Target before", "count"), "target_after": ("Target after", "count"),
    "buffer_before": ("Buffer before", "count"), "buffer_after": ("Buffer after", "count"),
    "control_before": ("Control before", "count"), "control_after": ("Control after", "count"),
    "local_estimate": ("WDD local", "estimate"), "local_se": ("SE (local)", "estimate"),
    "local_p": ("Poisson p (local)", "p"),
    "displacement_estimate": ("WDD buffer", "estimate"), "displacement_se": ("SE (buffer)", "estimate"),
    "displacement_p": ("Poisson p (buffer)", "p"),
    "total_estimate": ("WDD total", "estimate"), "total_se": ("SE (total)", "estimate"),
    "total_p": ("Poisson p (total)", "p"),
    "wdq": ("WDQ", "ratio"), "etest_p": ("E-test p", "p"),
}


def standard_note(result) -> str:
    """What the standard measures are, and why they are not the verdict (plain text)."""
    w = result.windows
    per = f"{w.after_len} {w.resolution}{'s' if w.after_len != 1 else ''}"
    wdq = ("The WDQ is shown for the drug-market basket only, because the calibrated target test found a "
           "reduction." if wdq_interpretable(result) else
           "The WDQ reads \"not interpretable\": the calibrated target test found no reduction in the target, and "
           "the quotient has no meaning without one.")
    return ("Descriptive standard measures on the equal-area design (the target, a buffer of equal area around it "
            "and the control): the Weighted Displacement Quotient (Bowers & Johnson 2003) and the Weighted "
            "Displacement Difference (Wheeler & Ratcliffe 2018) with the Poisson E-test (Krishnamoorthy & "
            "Thomson 2004). Their standard errors and p-values assume Poisson variance: they are not calibrated "
            "for over-dispersion, and on real police data they fall below 0.05 far more often than 5% of the "
            "time when nothing happened (docs/CALIBRATION.md). They are not part of the verdict: read the "
            f"verdict and the calibrated tests. Estimates are per after window ({per}), the before window "
            "weighted to the same length; negative WDD values are reductions. " + wdq)


@dataclass(frozen=True)
class StandardMeasures:
    """The appendix of standard measures: ``title``, ``note``, the ``key`` rows and ``full`` table (strings)."""

    title: str
    note: str
    key: pd.DataFrame
    full: pd.DataFrame


def standard_measures(result) -> StandardMeasures:
    """The WDQ / WDD / E-test table of ``result`` as an appendix, labelled and rounded for reading.

    ``key``: the drug-market basket (harm and count), all incidents and the enforcement
    activity row; ``full``: every measure. The WDQ cell reads "not interpretable" wherever
    the verdict does not interpret it (:func:`wdq_interpretable`): every row when the
    calibrated target test found no reduction, else every row but the basket's.

    References
    ----------
    Bowers, K. J. & Johnson, S. D. (2003). Journal of Quantitative Criminology 19(3), 275–301.
    Wheeler, A. P. & Ratcliffe, J. H. (2018). A simple weighted displacement difference test to
    evaluate place based crime interventions. Crime Science 7(11).
    Krishnamoorthy, K. & Thomson, J. (2004). A more powerful test for comparing two Poisson
    means. Journal of Statistical Planning and Inference 119, 23–35.
    """
    t = result.table
    ok = wdq_interpretable(result)

    def table(rows: pd.DataFrame) -> pd.DataFrame:
        out = readable_table(rows, STANDARD_COLUMNS)
        if "WDQ" in out.columns and len(rows):
            basket = (rows["measure"] == BASKET).to_numpy()
            out["WDQ"] = [v if ok and b else NOT_INTERPRETABLE for v, b in zip(out["WDQ"], basket)]
        return out

    measure = t["measure"].astype(str)
    key = t[measure.isin([BASKET, ALL]) | measure.str.contains("enforcement", regex=False)]
    return StandardMeasures(STANDARD_TITLE, standard_note(result), table(key), table(t))
