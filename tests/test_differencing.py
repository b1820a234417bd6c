"""A differencing attacker against every partner figure, on the real South Yorkshire demo data.

The attacker has what a partner has: figures for any drawn polygon, any selectable
period, any published level (LSOA, ward, BCU, force) and crime type. It subtracts
figures whose areas, periods or categories are nested and looks for a difference that
is one exact small count (1 to threshold - 1). It must recover none. The same attacker
against a naive publisher (exact counts for the drawn polygon and sliding three-month
windows, small counts shown as "<5") recovers many, so it is not a test that cannot fail.

The true counts it is scored against come from the incidents themselves.
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import shapely
from shapely.geometry import box

from geo import briefing, disclosure
from geo.errors import GeoInputError
from geo.workspace import Workspace

T = 5  # the demo's threshold
SMALL = range(1, T)


@pytest.fixture(scope="module")
def sy(demo_workspaces):
    ws = Workspace.open(demo_workspaces["south-yorkshire"])
    inc = ws.incidents()
    pub = disclosure.published_for(ws, incidents=inc)
    assert pub.level == "lsoa" and pub.quarters  # the demo holds at least one complete quarter
    # each incident's base unit, found independently of geo.disclosure (for the true counts)
    lsoa = ws.boundaries("lsoa")
    idx = shapely.STRtree(lsoa.geometry.to_numpy()).query(inc.geometry.to_numpy(), predicate="intersects")
    first = {}
    for i, j in zip(*idx):
        first.setdefault(i, lsoa["code"].iloc[j])
    inc = inc.assign(unit_code=[first.get(i) for i in range(len(inc))])
    yield ws, inc, pub
    ws.close()


# ------------------------------------------------------------------ the two publishers
def naive(inc, geom, months, category=None):
    """The old publisher: the exact count inside the polygon, '<5' for 1..4 (as an interval)."""
    sel = inc[inc["month"].isin(months)]
    if category is not None:
        sel = sel[sel["category"] == category]
    n = int(shapely.contains_xy(geom, sel["x"].to_numpy(), sel["y"].to_numpy()).sum())
    return disclosure.Figure(1, T - 1, T) if 0 < n < T else disclosure.Figure(n, n, T)


def difference(big: disclosure.Figure, small: disclosure.Figure) -> tuple[float, float]:
    """What an attacker deduces for big minus small (both published): an interval."""
    return big.lo - small.hi, big.hi - small.lo


def true_count(inc, geom, months, category=None) -> int:
    sel = inc[inc["month"].isin(months)]
    if category is not None:
        sel = sel[sel["category"] == category]
    return int(shapely.contains_xy(geom, sel["x"].to_numpy(), sel["y"].to_numpy()).sum())


def recovered(lo, hi, truth) -> bool:
    """The attacker pinned a small count exactly, and it is the true one."""
    return lo == hi and lo in SMALL and lo == truth


# ------------------------------------------------------------------ (a) polygon differences
def polygon_pairs(ws, inc, n_wards=25, seed=0):
    """(big, small, removed) triples: a ward and the ward minus a 15 m square around a map point in it,
    minus a 150 m square, and a 400 m circle around a map point minus the point."""
    rng = np.random.default_rng(seed)
    wards = ws.boundaries("ward")
    wards = wards[wards["force"].fillna(ws.force) == ws.force]
    pts = inc.drop_duplicates(["x", "y"])
    out = []
    for w in wards.sample(n_wards, random_state=seed).itertuples():
        inside = pts[shapely.contains_xy(w.geometry, pts["x"].to_numpy(), pts["y"].to_numpy())]
        if inside.empty:
            continue
        for r in inside.iloc[rng.choice(len(inside), size=min(3, len(inside)), replace=False)].itertuples():
            for half in (7.5, 75.0):
                bite = box(r.x - half, r.y - half, r.x + half, r.y + half)
                out.append((w.geometry, w.geometry.difference(bite), bite))
            circle = shapely.Point(r.x, r.y).buffer(400)
            bite = box(r.x - 7.5, r.y - 7.5, r.x + 7.5, r.y + 7.5)
            out.append((circle, circle.difference(bite), bite))
    return out


def test_polygon_differences_recover_nothing(sy):
    ws, inc, pub = sy
    q = pub.quarters[-1]
    months = disclosure.quarter_months(q)
    crime = inc[inc["layer"] == "crime"]
    cats = [None, "Robbery", "Possession of weapons", "Violence and sexual offences", "Drugs"]
    pairs = polygon_pairs(ws, crime)
    assert len(pairs) > 100
    crime = crime[crime["month"].isin(months)]
    x, y = crime["x"].to_numpy(), crime["y"].to_numpy()

    def true_counts(geom):
        inside = crime[shapely.contains_xy(geom, x, y)]
        by_cat = inside["category"].value_counts()
        return {c: int(len(inside) if c is None else by_cat.get(c, 0)) for c in cats}

    def naive_fig(n):  # the old publisher: exact, '<5' for 1..4
        return disclosure.Figure(1, T - 1, T) if 0 < n < T else disclosure.Figure(n, n, T)

    ours = theirs = exact_small = 0
    for big, small, bite in pairs:
        t_big, t_small, t_bite = true_counts(big), true_counts(small), true_counts(bite)
        u_big, u_small = pub.snap(big, min_units=0), pub.snap(small, min_units=0)
        for cat in cats:
            a = pub.figure(units=u_big, quarters=[q], category=cat)
            b = pub.figure(units=u_small, quarters=[q], category=cat)
            lo, hi = difference(a, b)
            ours += recovered(lo, hi, t_bite[cat])
            exact_small += lo == hi and lo in SMALL
            lo, hi = difference(naive_fig(t_big[cat]), naive_fig(t_small[cat]))
            theirs += recovered(lo, hi, t_bite[cat])
    assert ours == 0 and exact_small == 0
    assert theirs > 20  # the attack works against exact polygon counts (the reported hole)


def test_the_reported_attack_through_the_briefing_itself(sy):
    """Ward, then the same ward minus a 15 m square around one incident: the two briefings agree."""
    ws, inc, pub = sy
    q = pub.quarters[-1]
    m0, m1 = disclosure.quarter_months(q)[0], disclosure.quarter_months(q)[-1]
    ward = briefing.resolve_area(ws, "Hillsborough", level="ward")
    crime = inc[(inc["layer"] == "crime") & inc["month"].between(m0, m1)]
    in_ward = crime[shapely.contains_xy(ward.geometry, crime["x"].to_numpy(), crime["y"].to_numpy())]
    counts = in_ward.groupby(["x", "y"]).size()
    x, y = counts[counts == 1].index[0]  # a map point holding exactly one incident
    bite = box(x - 7.5, y - 7.5, x + 7.5, y + 7.5)
    drawn = briefing.Area("polygon", "polygon", "Drawn area", ward.geometry.difference(bite))
    full = briefing.build(ws, briefing.Area("polygon", "polygon", "Drawn area", ward.geometry), (m0, m1),
                          audience="partner", incidents=inc)
    minus = briefing.build(ws, drawn, (m0, m1), audience="partner", incidents=inc)
    assert full.figures["units"] == minus.figures["units"]
    for key in ("harm", "count", "harm_all", "drug_offences"):
        assert full.figures[key] == minus.figures[key]
    # and the naive publisher gives the incident away
    months = disclosure.quarter_months(q)
    assert true_count(crime, ward.geometry, months) - true_count(crime, drawn.geometry, months) == 1


def test_tiny_polygons_and_single_map_points_are_refused(sy):
    ws, inc, pub = sy
    crime = inc[inc["layer"] == "crime"]
    top = crime.groupby(["x", "y"]).size().sort_values(ascending=False).head(30)
    assert top.iloc[0] >= 20  # e.g. a prison's map point
    for (x, y), n in top.items():
        for r in (10, 100, 250):
            geom = shapely.Point(x, y).buffer(r)
            with pytest.raises(GeoInputError, match="partner figures need at least 3"):
                pub.snap(geom, min_units=3)
            # even with no minimum the figure is that of whole LSOAs, never the point's count
            codes = pub.snap(geom, min_units=0)
            assert len(codes) <= 1 or r > 10
    area = briefing.Area("polygon", "polygon", "Drawn area", shapely.Point(*top.index[0]).buffer(20))
    q = disclosure.quarter_months(pub.quarters[-1])
    with pytest.raises(GeoInputError, match=r"covers \d whole LSOAs; partner figures need at least 3"):
        briefing.build(ws, area, (q[0], q[-1]), audience="partner", incidents=inc)


# ------------------------------------------------------------------ (b) period differences
def selectable_periods(quarters):
    """Every period a partner can choose: each run of consecutive complete quarters."""
    qs = list(quarters)
    return [tuple(qs[i:j]) for i in range(len(qs)) for j in range(i + 1, len(qs) + 1)
            if qs[i:j] == disclosure.quarter_run(qs[i], qs[j - 1])]


def more_quarters(ws, inc, pub, n=4, seed=2):
    """The demo with at least ``n`` complete quarters: later quarters made of resampled real incidents
    (a random 60-90% of each month moved forward a whole number of quarters) when the data hold fewer."""
    if len(pub.quarters) >= n:
        return inc, pub
    rng = np.random.default_rng(seed)
    base = inc[inc["month"].isin([m for q in pub.quarters for m in disclosure.quarter_months(q)])]
    parts, k = [inc], 0
    last = pub.quarters[-1]
    quarters = list(pub.quarters)
    while len(quarters) < n:
        k += 1
        keep = base[rng.random(len(base)) < rng.uniform(0.6, 0.9)]
        shift = {m: briefing.month_add(m, 3 * k * len(pub.quarters)) for m in base["month"].unique()}
        parts.append(keep.assign(month=keep["month"].map(shift)))
        quarters = disclosure.complete_quarters(sorted(set().union(*[set(p["month"]) for p in parts])))
    import pandas as pd
    more = pd.concat(parts)
    more = more[~more["month"].isin([m for m in more["month"].unique() if disclosure.quarter_of(m) not in quarters])]
    return more, disclosure.published_for(ws, quarters=quarters, incidents=more)


def test_period_differences_recover_nothing(sy):
    ws, inc, pub = sy
    inc, pub = more_quarters(ws, inc, pub)
    crime = inc[inc["layer"] == "crime"]
    periods = selectable_periods(pub.quarters)
    assert len(periods) >= 10
    truth_table = crime.assign(quarter=crime["month"].map(disclosure.quarter_of)).groupby(
        ["unit_code", "quarter", "category"]).size()
    wards = ws.boundaries("ward")
    wards = wards[wards["force"].fillna(ws.force) == ws.force]
    areas = [[u] for u in pub.units["code"][:60]] + [pub.units_in(g) for g in wards.geometry[:15]]
    checked = 0
    for codes in areas:
        t = truth_table[truth_table.index.get_level_values(0).isin(codes)]
        for cat in (None, "Robbery", "Drugs"):
            tc = t if cat is None else t[t.index.get_level_values(2) == cat]
            per_q = tc.groupby(level=1).sum()
            figs = {p: pub.figure(units=codes, quarters=p, category=cat) for p in periods}
            for p, r in itertools.permutations(periods, 2):
                if not set(r) < set(p):
                    continue
                lo, hi = difference(figs[p], figs[r])
                truth = int(sum(per_q.get(q, 0) for q in p if q not in r))
                assert not recovered(lo, hi, truth), (p, r, codes, cat)
                assert not (lo == hi and lo in SMALL)
                checked += 1
    assert checked > 1000
    # every selectable period is a run of whole calendar quarters (no sliding three-month blocks)
    for p in periods:
        months = [m for q in p for m in disclosure.quarter_months(q)]
        assert months[0].endswith(("-01", "-04", "-07", "-10")) and len(months) % 3 == 0
    with pytest.raises(GeoInputError, match="whole calendar quarters"):
        disclosure.quarters_for_months("2024-02", "2024-04")
    with pytest.raises(GeoInputError, match="whole calendar quarters"):
        disclosure.quarters_for_months("2024-04", "2024-04")  # no single-month block either


def test_the_reported_sliding_window_attack_works_only_on_the_naive_publisher(sy):
    """Jan-Mar then Feb-Apr minus... : with sliding windows the old blocks gave single months away."""
    ws, inc, pub = sy
    crime = inc[inc["layer"] == "crime"]
    months = sorted(crime["month"].unique())[:4]
    lsoas = ws.boundaries("lsoa")
    naive_hits = 0
    for geom in lsoas.geometry[:300]:
        a = naive(crime, geom, months[:3])  # Jan-Mar
        b = naive(crime, geom, months[1:3])  # Feb-Mar (a single-month block was also offered)
        lo, hi = difference(a, b)
        naive_hits += recovered(lo, hi, true_count(crime, geom, months[:1]))
    assert naive_hits > 10
    # ours: the only periods are whole quarters; adding a month never changes a published quarter
    all_months = sorted(inc["month"].unique())
    for k in range(3, min(len(all_months), 7) + 1):  # each month added in turn (the first seven)
        held = all_months[:k]
        part = inc[inc["month"].isin(held)]
        qs = disclosure.complete_quarters(held)
        if not qs:
            continue
        earlier = disclosure.published_for(ws, quarters=qs, incidents=part)
        later = pub.cells[pub.cells["quarter"].isin(qs)].reset_index(drop=True)
        assert earlier.cells.sort_values(list(earlier.cells.columns[:5])).reset_index(drop=True).equals(
            later.sort_values(list(later.columns[:5])).reset_index(drop=True))


# ------------------------------------------------------------------ (c) level and category differences
def test_level_and_category_differences_recover_nothing(sy):
    ws, inc, pub = sy
    q = [pub.quarters[-1]]
    for level in ("ward", "neighbourhood", "bcu"):
        parents = ws.bcus() if level == "bcu" else ws.boundaries(level)
        parents = parents[parents["force"].fillna(ws.force) == ws.force]
        table = pub.unit_table(parents=parents, quarters=q, basket=None, keep_empty=True)
        for code, geom in zip(parents["code"], parents.geometry):
            children = pub.units_in(geom)
            total = pub.figure(units=children, quarters=q)
            assert table.set_index("code").loc[code, "count_label"] == total.label
            kids = [pub.figure(units=[c], quarters=q) for c in children]
            # subtract every published child but one from the parent: the remainder must not be pinned
            for i, k in enumerate(kids):
                others = sum((x for j, x in enumerate(kids) if j != i), disclosure.Figure(0, 0, T))
                lo, hi = difference(total, others)
                assert not (lo == hi and lo in SMALL), (level, code, children[i])
                assert lo <= k.lo and hi >= k.hi  # never narrower than the child's own published figure
    # category totals minus the other categories
    cats = sorted(pub.cells["category"].unique())
    for codes in [pub.units_in(g) for g in ws.boundaries("ward").geometry[:30]] + [None]:
        total = pub.figure(units=codes, quarters=q)
        figs = {c: pub.figure(units=codes, quarters=q, category=c) for c in cats}
        for c in cats:
            others = sum((f for k, f in figs.items() if k != c), disclosure.Figure(0, 0, T))
            lo, hi = difference(total, others)
            assert not (lo == hi and lo in SMALL), (codes, c)
            assert (lo, hi) == (figs[c].lo, figs[c].hi) or (lo <= figs[c].lo and hi >= figs[c].hi)


def test_harm_is_hidden_wherever_its_count_is(sy):
    ws, inc, pub = sy
    q = [pub.quarters[-1]]
    wards = ws.boundaries("ward")
    for basket in (True, None):
        for parents in (None, wards):
            t = pub.unit_table(parents=parents, quarters=q, basket=basket, keep_empty=True)
            small = t["count_label"] == "<5"
            assert (t.loc[small, "harm_label"] == "<5").all()
            assert t.loc[small, "harm"].isna().all()
            ranged = t["count_label"].str.contains("–")
            assert t.loc[ranged, "harm_label"].str.contains("–").all()  # harm is a range when its count is
    cats = pub.table("category", quarters=q)
    for r in cats.itertuples():
        assert r.count.exact == r.harm.exact
        if r.count.suppressed:
            assert r.harm_label == "<5"
