"""The verdict read aloud: targeted harms tested, failed checks named, no-evidence clauses with figures,
the sensitivity table never claiming evidence the corrected tests did not find, and the placebo crime
type chosen before looking at any result."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from geo.displacement.checks import placebo_type
from geo.displacement.flags import UNCORRECTED, targeted_tests
from geo.displacement.verdict import check_notes, targeted_notes
from tests.test_displacement import TARGET, _analyse, _incidents


def _row(measure, before, after, est, se, basket=False):
    return {"measure": measure, "unit": "count", "basket": basket, "target_before": before, "target_after": after,
            "local_estimate": est, "local_se": se, "local_z": est / se if se else np.nan}


def test_targeted_harms_are_tested_with_the_targets_over_dispersion_and_holm():
    table = pd.DataFrame([_row("Robbery", 40, 10, -30.0, 8.0), _row("Burglary", 50, 52, 2.0, 9.0),
                          _row("Other crime", 1, 3, 2.0, 2.0)])
    phi = 1.5
    t = targeted_tests(table, ["Robbery", "Burglary", "Other crime", "Arson"], phi=phi, alpha=0.05)
    rob = t.set_index("crime_type").loc["Robbery"]
    z = -30.0 / (8.0 * math.sqrt(phi))                       # the over-dispersion inflates the variance
    p = math.erfc(abs(z) / math.sqrt(2))
    assert math.isclose(rob["p"], p, rel_tol=1e-9)
    assert math.isclose(rob["p_holm"], min(1.0, 2 * p), rel_tol=1e-9)   # Holm over the two tested types
    assert rob["status"] == "evidence" and rob["reading"] == "reduction"
    assert t.set_index("crime_type").loc["Burglary", "status"] == "no evidence"
    assert t.set_index("crime_type").loc["Other crime", "status"] == "too few to tell"   # 1 before
    assert t.set_index("crime_type").loc["Arson", "status"] == "not recorded"
    notes = targeted_notes(t)
    assert len(notes) == 4 and "evidence of a reduction" in notes[0] and "Holm-adjusted" in notes[0]
    assert "not recorded" in notes[3]
    # with no over-dispersion and a single type the same test is the plain WDD
    one = targeted_tests(table, ["Robbery"], phi=1.0, alpha=0.05).iloc[0]
    assert math.isclose(one["p_holm"], math.erfc(30.0 / 8.0 / math.sqrt(2)), rel_tol=1e-9)


def test_failed_checks_are_read_with_the_verdict_and_clean_checks_add_nothing():
    dates = pd.DataFrame({"before": ["Nov 2024", "Aug 2024"], "after": ["Jan 2025", "Oct 2025"],
                          "status": ["no evidence", "evidence"]})
    bad = {"pre_fit": {"status": "not parallel"}, "placebo_dates": dates,
           "placebo_type": {"crime_type": "Shoplifting", "status": "evidence"},
           "seasonal": {"status": "no evidence", "reading": "Same months a year earlier: ... cannot be ruled out."}}
    notes = check_notes(bad)
    assert len(notes) == 4
    assert "did not move in parallel" in notes[0] and "1 of 2 placebo dates" in notes[1] and "Aug 2024" in notes[1]
    assert "Shoplifting" in notes[2] and "cannot be ruled out" in notes[3]
    clean = {"pre_fit": {"status": "parallel"}, "placebo_dates": dates.assign(status="no evidence"),
             "placebo_type": {"crime_type": "Shoplifting", "status": "no evidence"},
             "seasonal": {"status": "no evidence", "reading": "nothing suggests ..."}}
    assert check_notes(clean) == [] and check_notes(None) == []


def test_the_placebo_crime_type_is_the_largest_type_outside_the_basket_and_the_targeted_harms():
    table = pd.DataFrame([_row("Drugs", 90, 80, -5.0, 5.0, basket=True), _row("Shoplifting", 60, 61, 1.0, 9.0),
                          _row("Bicycle theft", 0, 0, 0.0, 0.0), _row("Burglary", 70, 75, 3.0, 9.0)])
    assert placebo_type(table, phi=1.2, alpha=0.05)["crime_type"] == "Burglary"      # listed, and the largest
    more = pd.concat([table, pd.DataFrame([_row("Public order", 95, 90, -1.0, 9.0)])], ignore_index=True)
    assert placebo_type(more, phi=1.2, alpha=0.05)["crime_type"] == "Burglary"       # a listed type first
    # none of the listed types left with enough incidents: the largest other type outside the basket
    assert placebo_type(table, phi=1.2, alpha=0.05, exclude=["Burglary"])["crime_type"] == "Shoplifting"
    assert placebo_type(table, phi=1.2, alpha=0.05, crime_type="Bicycle theft")["status"] == "too few to tell"


def test_the_read_out_on_an_analysis():
    res = _analyse(_incidents(np.random.default_rng(11)))          # nothing planted
    harm = res.summary.clause("harm")
    assert ("more than the control predicts" in harm.text) or ("less than the control predicts" in harm.text)
    assert "against the control that is" not in harm.text
    assert res.summary.clause("displacement").status == "no evidence"    # nothing planted (as test_displacement)
    for topic in ("displacement", "diffusion"):
        c = res.summary.clause(topic)
        if c.status == "no evidence":   # the largest rise (fall) tested, with its figures in the JSON
            assert "largest" in c.text and np.isfinite(c.estimate) and np.isfinite(c.p) and c.as_dict()["p"] is not None
            assert "tested at α = " in c.text and "not adjusted for the other areas tested" in c.text
    # the buffer-width table is descriptive: it never says "evidence" (the verdict's corrected tests decide)
    sens = res.sensitivity
    assert not (sens["status"] == "evidence").any()
    assert set(sens["status"]) <= {UNCORRECTED, "no evidence", "too few to tell"}
    assert all(r == "" or r.endswith("(uncorrected)") for r in sens["reading"])


def test_targeted_counts_are_the_targets_and_the_controls_and_the_wdd_is_the_counts_scaled_one():
    from geo.displacement.areas import points_inside
    from geo.displacement.flags import targeted_table
    from geo.displacement.null import wdd_z
    from geo.displacement.windows import periods
    res = _analyse(_incidents(np.random.default_rng(3)))
    inc = _incidents(np.random.default_rng(3))
    per = periods(inc, res.windows)
    tab = targeted_table(inc, per, res.catchment, ["Shoplifting", "Arson"], time_weights=res.windows.time_weights)
    assert list(tab["measure"]) == ["Shoplifting"]           # no arson at all: left out ("not recorded")
    r = tab.iloc[0]
    shop = (inc["category"] == "Shoplifting").to_numpy()
    x, y = inc["x"].to_numpy(), inc["y"].to_numpy()
    t_in = points_inside(res.catchment.target, x, y) & shop
    c_in = points_inside(res.catchment.control, x, y) & shop
    assert (r["target_before"], r["target_after"]) == ((t_in & (per == 0)).sum(), (t_in & (per == 1)).sum())
    assert (r["control_before"], r["control_after"]) == ((c_in & (per == 0)).sum(), (c_in & (per == 1)).sum())
    est, se, _ = wdd_z(r["target_before"], r["target_after"], r["target_before"], r["target_after"],
                       (r["control_before"], r["control_after"], r["control_before"], r["control_after"]),
                       tau=res.windows.time_weights[0] / res.windows.time_weights[1])
    assert math.isclose(r["local_estimate"], float(est), rel_tol=1e-9, abs_tol=1e-9)
    assert math.isclose(r["local_se"], float(se), rel_tol=1e-9)


def test_a_rise_in_the_target_is_no_reduction_to_displace():
    inc = _incidents(np.random.default_rng(8), per_km2=25.0)
    import shapely
    inside = shapely.contains_xy(TARGET, inc["x"].to_numpy(), inc["y"].to_numpy())
    more = inc[inside & (inc["month"] == "2024-04").to_numpy() & inc["in_basket"].to_numpy(bool)]
    res = _analyse(pd.concat([inc, more, more], ignore_index=True))   # three times the target's basket after
    harm = res.summary.clause("harm")
    assert harm.status == "evidence" and harm.estimate > 0 and "more than the control predicts" in harm.text
    wdq = [n for n in res.summary.notes if n.startswith("WDQ")]
    assert wdq == ["WDQ: not interpretable: harm rose in the target, so there is no reduction to displace."]


def test_each_tested_area_is_found_in_its_catchment():
    """``Catchment.area_of`` (the verdict's nearby site, the report's and the page's evidence areas): each ring,
    sector and piece test of the family is matched to the one polygon of its own label, the sites test to none."""
    res = _analyse(_incidents(np.random.default_rng(3)))
    catch = res.catchment
    kinds = set()
    for t in res.assessment.family():
        kinds.add(t.kind)
        got = catch.area_of(t)
        if t.kind == "sites":
            assert got is None
            continue
        pool = {"ring": catch.rings, "sector": catch.sectors, "piece": catch.pieces}[t.kind]
        same = [x for x in pool if x.geometry is got]
        assert len(same) == 1
        x = same[0]
        assert (x.label == t.ring if t.kind == "ring" else x.label == f"{t.ring} {t.direction}"
                if t.kind == "sector" else (x.ring, str(x.code)) == (t.ring, str(t.code)))
    assert {"ring", "sector"} <= kinds
