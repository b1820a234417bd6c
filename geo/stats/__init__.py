"""Tests for place-based interventions and trends: WDD, WDQ, the Poisson E-test, Mann-Kendall.

Every test takes counts of crime (or calls, or harm-weighted counts) and returns a frozen
dataclass. Count pairs are always ``(before, after)``. Area names follow the papers:

``control``
    an area like the treated one that received no intervention;
``treated``
    the area that received the intervention (the "target" or "response" area);
``disp_treated``
    the buffer around the treated area, where crime may be displaced to (or where a
    diffusion of benefits may show);
``disp_control``
    a comparison area for the buffer (Wheeler & Ratcliffe 2018). The weighted
    displacement quotient of Bowers & Johnson (2003) uses ``control`` for the buffer
    too; pass ``disp_control=None`` to :func:`wdq` for that.

Negative WDD estimates are reductions in crime. Nothing here reads files or draws.

A package: ``wdd.py`` (:func:`wdd`, :func:`wdd_harm`), ``wdq.py`` (:func:`wdq`,
:func:`gross_effect`, :func:`net_effect`), ``etest.py`` (:func:`e_test`), ``trend.py``
(:func:`mann_kendall`, :func:`mann_kendall_rows`), ``multiple.py`` (every multiple-testing
correction: :func:`holm`, :func:`fdr_bh`) and ``checks.py`` (:func:`check_alpha` and the
input checks). Import from here: ``from geo.stats import wdd``.
"""
from __future__ import annotations

from .checks import Alternative, Counts, check_alpha
from .etest import ETestResult, e_test
from .multiple import fdr_bh, holm
from .trend import MKResult, mann_kendall, mann_kendall_rows
from .wdd import WDDHarmResult, WDDResult, wdd, wdd_harm
from .wdq import WDQResult, gross_effect, net_effect, wdq

__all__ = [
    "WDDResult", "WDDHarmResult", "WDQResult", "ETestResult", "MKResult",
    "wdd", "wdd_harm", "wdq", "e_test", "mann_kendall", "mann_kendall_rows",
    "gross_effect", "net_effect", "check_alpha", "holm", "fdr_bh", "Counts", "Alternative",
]
