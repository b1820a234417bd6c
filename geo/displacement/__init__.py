"""Results analysis of an operation: did harm fall in the target, and where did the market go?

The analysis has six parts, each a plain function over plain inputs, tied together by
:func:`analyse` (incidents already loaded) and :func:`analyse_operation` (a workspace):

1. **Windows** (:func:`op_windows`): before and after periods of the same length as the
   operation, immediately before its start and after its end (months for police.uk
   crime, days for timestamped calls), or set by the user; unequal windows become time
   weights. A window the data does not cover raises :class:`GeoInputError`.
2. **Areas** (:func:`study_areas`): the target; a buffer ring (by default of equal area to
   the target) that leaves out other operations' targets; a wider ring around the buffer;
   and a control area (by default the rest of the operation's BCU outside target and
   buffer; or boundary units the analyst picks; or a matched area,
   :func:`matched_control`). Parts of a ring in a force with no data for the windows are
   left out and said so.
3. **Measures** (:func:`measures`): for counts and harm, per crime type and for the
   drug-market harm basket: gross change, net effect, the WDQ (Bowers & Johnson 2003) with
   its reading, the WDD test (Wheeler & Ratcliffe 2018) for the local, displacement and
   total effects, a harm-weighted combination across crime types, and the Poisson E-test
   for small counts. All tests come from :mod:`geo.stats`.
4. **The calibrated verdict** (:mod:`.flags`, :mod:`.null`, :mod:`.engine`, :mod:`.verdict`):
   a catchment of rings 0-250, 250-500 and 500-1,000 m (:func:`catchment`), cut by BCU,
   force and compass sector; every flag is a test with a stated share of alpha (target
   effect at alpha; rises in rings and sectors 50%, falls 20%, BCU/force pieces 15%,
   sensitive sites 15% of alpha; rises and falls each family-wise by the one-sided
   max-statistic over the same placebo copies, Holm within the others and for the rings
   of an operation whose copies amount to few independent ones), its Poisson
   variance inflated by the over-dispersion measured
   on placebo copies of the target and rings in the same BCU (widened when those copies
   overlap heavily: :func:`geo.displacement.null.t_widening`); areas with too few
   incidents are "too few to tell". :class:`Verdict` reads aloud: harm, displacement,
   diffusion, activity. ``python -m geo calibrate`` measures the false-alarm rates and
   power on real data (docs/CALIBRATION.md).
5. **Descriptive extras**: the equal-area buffer's WDQ/WDD table and the old
   cross-boundary table (Poisson, uncalibrated), hot spots before and after matched into
   moves (:func:`hotspot_migration`; Gi* flicker, not a test), a buffer-width sensitivity
   table, exploratory crime types (FDR), and checks on the operation itself (monthly
   harm, placebo dates, a placebo crime type, the same months a year earlier and the
   pre-period fit of target and control: :mod:`.checks`; a synthetic comparison from donor
   areas over 12+ pre-months: :mod:`.synthetic`). The verdict's power comes from planted
   moves on the operation's own data (:mod:`.power`).
6. **Temporal displacement** (:mod:`.temporal`): for layers with dates (calls), a shift in
   day of week and time of day between the windows in the target and the catchment,
   chi-square tests of homogeneity; "no times in the data" for dates without times.

How the control is scaled
-------------------------
The default control (the rest of the BCU) is much larger than the target. The WDD is
computed with ``ptools``-style area weights in which the "size" of each control is its
before-period count relative to the area it controls for (``scale="counts"``): the
control's change is applied to the target's own level, as the WDQ does with its ratios.
The local effect is then ``(T1 - T0) - (C1 - C0) * T0 / C0`` crimes, with Poisson
variance ``T1 + T0 + (C1 + C0) * (T0 / C0)**2``. ``scale="area"`` uses km² instead (crime
per km², which is biased when the target is denser than the control and crime rises or
falls everywhere) and ``scale="none"`` the raw counts of Wheeler & Ratcliffe's worked
example (right for a matched control of similar size). Estimates are expressed in
crimes (or harm) over the after window.

References
----------
Bowers & Johnson (2003), J. Quant. Criminol. 19(3); Guerette (2009), POP Guide tools 10;
Wheeler & Ratcliffe (2018), Crime Science 7(11); Krishnamoorthy & Thomson (2004).
"""
from __future__ import annotations

from .analysis import ANALYSIS_COLUMNS, analyse, analyse_operation, analysis_frame, coverage
from .areas import Catchment, StudyAreas, catchment, cross_units, equal_area_width, matched_control, study_areas
from .flags import SHARES, AreaTest, Assessment, assess
from .measures import ALL, BASKET, SCALES, SMALL_COUNT, count_areas, cross_boundary, measures, scaled_wdd, wdd_arrays
from .migration import HOTSPOT_COLUMNS, Migration, hotspot_migration, hotspots_of, match_hotspots
from .null import NullModel, dispersion, maxt_adjust
from .power import PlantedPower, planted_power
from .synthetic import synthetic_comparison
from .temporal import ShiftTest, TemporalResult, temporal_shift
from .verdict import Clause, DisplacementResult, Verdict, build_verdict
from .windows import Windows, op_windows

__all__ = [
    "Windows", "StudyAreas", "Migration", "DisplacementResult",
    "op_windows", "equal_area_width", "study_areas", "matched_control", "count_areas", "cross_units",
    "measures", "cross_boundary", "hotspots_of", "match_hotspots", "hotspot_migration",
    "analyse", "analyse_operation", "ANALYSIS_COLUMNS", "scaled_wdd", "wdd_arrays", "coverage",
    "BASKET", "ALL", "SCALES", "SMALL_COUNT", "HOTSPOT_COLUMNS",
    "Catchment", "catchment", "AreaTest", "Assessment", "assess", "SHARES", "NullModel", "dispersion",
    "maxt_adjust",
    "Clause", "Verdict", "build_verdict", "ShiftTest", "TemporalResult", "temporal_shift",
    "PlantedPower", "planted_power", "synthetic_comparison",
]
