"""The results report reads as one verdict: calibrated body, labelled appendix, names, rounded numbers, its map.

Small synthetic forces (two BCUs side by side and a neighbouring force, as in
``tests/test_displacement.py``) with BCU codes in the ONS style, so a code left in a table shows.
"""
from __future__ import annotations

import html as htmllib
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from matplotlib.colors import to_hex

from geo import displacement as dsp
from geo.render import palette
from geo.render.results_map import EVIDENCE_LABEL
from geo.render.static_maps import StaticMap
from geo.report_html import render_html, static_map_png
from geo.report_tables import STANDARD_TITLE, fmt_alpha, standard_measures, wdq_interpretable

CRS = "EPSG:27700"
CODES = {"A": "E08000019", "B": "E08000018", "C": "E06000099"}
TARGET = shapely.box(-2_000, -1_000, -500, 1_000)   # in BCU A, 500 m from BCU B
SCHOOL_IN, SCHOOL_OUT = (-2_300, 0), (-6_000, 6_000)  # 300 m from the target's edge; far outside the catchment


def _bcus(names=("Sheffield", "Rotherham", "Next force")):
    return gpd.GeoDataFrame(
        {"code": list(CODES.values()), "name": list(names), "force": ["Home", "Home", "Next"]},
        geometry=[shapely.box(-10_000, -10_000, 0, 10_000), shapely.box(0, -10_000, 10_000, 10_000),
                  shapely.box(-10_000, 10_000, 10_000, 20_000)], crs=CRS)


def _incidents(seed: int, *, plant=None, cut_target: float = 0.0):
    """Uniform incidents in Feb and Apr 2024; ``plant`` (x, y, n) adds April points; ``cut_target`` removes
    that share of April's basket incidents inside the target (an operation that worked)."""
    rng = np.random.default_rng(seed)
    rows = []
    for m in ("2024-02", "2024-04"):
        n = rng.poisson(12.0 * 600)
        x, y = rng.uniform(-10_000, 10_000, n), rng.uniform(-10_000, 20_000, n)
        rows.append(pd.DataFrame({"x": x, "y": y, "month": m, "in_basket": rng.random(n) < 0.7}))
    if plant is not None:
        px, py, k = plant
        rows.append(pd.DataFrame({"x": rng.normal(px, 80, k), "y": rng.normal(py, 80, k), "month": "2024-04",
                                  "in_basket": True}))
    df = pd.concat(rows, ignore_index=True)
    if cut_target:
        inside = shapely.contains_xy(TARGET, df["x"], df["y"]) & (df["month"] == "2024-04") & df["in_basket"]
        df = df[~(inside & (rng.random(len(df)) < cut_target))].reset_index(drop=True)
    df["category"] = np.where(df["in_basket"], "Violence and sexual offences", "Shoplifting")
    df["harm"] = np.where(df["in_basket"], 10.0, 1.0)
    df["date"] = ""
    return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["x"], df["y"]), crs=CRS)


def _sites(names=("Hill Primary", "Far Academy")):
    return gpd.GeoDataFrame({"kind": ["school", "school"], "name": list(names)},
                            geometry=[shapely.Point(*SCHOOL_IN), shapely.Point(*SCHOOL_OUT)], crs=CRS)


def _analyse(inc, *, name="Op Test", bcus=None, sites=None):
    w = dsp.op_windows("2024-03-01", "2024-03-31", available=["2024-02", "2024-03", "2024-04"])
    return dsp.analyse(inc, TARGET, bcu_code=CODES["A"], bcus=_bcus() if bcus is None else bcus, windows=w,
                       own_force="Home", sites=_sites() if sites is None else sites,
                       operation={"name": name, "bcu": CODES["A"], "tactic": "Test purchase"})


@pytest.fixture(scope="module")
def displaced():
    """No effect in the target; basket crime planted in the 500–1,000 m ring across the BCU line."""
    return _analyse(_incidents(11, plant=(200, 0, 120)))


@pytest.fixture(scope="module")
def reduced():
    """Basket crime in the target cut by 80% in the after month: an effect the verdict finds."""
    return _analyse(_incidents(11, cut_target=0.8))


def _text(page: str) -> str:
    page = re.sub(r"<style>.*?</style>|data:image/png;base64,[^\"]+", "", page, flags=re.S)
    return htmllib.unescape(re.sub(r"<[^>]+>", " ", page))


def _headers(page: str) -> list[str]:
    return [htmllib.unescape(h) for h in re.findall(r"<th>(.*?)</th>", page)]


def test_uncalibrated_measures_are_only_in_the_labelled_appendix(displaced):
    page = render_html(displaced, bcus=_bcus())
    assert page.count(STANDARD_TITLE) == 1
    body, appendix = page.split('<section class="appendix" id="appendix">')
    assert "Key numbers" not in page and "All measures" not in page
    for col in ("WDQ", "WDD local", "WDD buffer", "Poisson p (local)", "Poisson p (buffer)", "E-test p",
                "Poisson p", "SE (local)"):
        assert col not in _headers(body), col
        assert col in _headers(appendix), col
    # the appendix says what the measures are and that they are not the verdict
    note = _text(appendix)
    for words in ("Bowers & Johnson 2003", "Wheeler & Ratcliffe 2018", "Poisson variance", "not calibrated",
                  "docs/CALIBRATION.md", "not part of the verdict"):
        assert words in note, words
    # the body keeps the verdict and the calibrated tests, and the appendix comes after the caveats
    assert body.index("<h2>Calibrated tests</h2>") < body.index("<h2>Map</h2>") < body.index("<h2>Caveats</h2>")
    assert "Hot spot moves (descriptive only)" in appendix and "Hot spot moves" not in body


def test_wdq_is_a_number_only_where_the_verdict_reads_it(displaced, reduced):
    assert "WDQ: not interpretable: no effect in the target." in displaced.summary.notes
    assert not wdq_interpretable(displaced)
    std = standard_measures(displaced)
    assert set(std.full["WDQ"]) == {"not interpretable"} and set(std.key["WDQ"]) == {"not interpretable"}
    page = render_html(displaced, bcus=_bcus())
    c = displaced.row(dsp.BASKET, "count")
    assert np.isfinite(c["wdq"])                       # the analysis has a number, the report does not show it
    row = next(r for r in re.findall(r"<tr>(.*?)</tr>", page) if "Drug-market harm basket</td><td>count" in r)
    assert "<td>not interpretable</td>" in row and f">{c['wdq']:,.2f}<" not in row
    # an operation that worked: the basket's WDQ is read (a number), the other rows still are not
    harm = reduced.summary.clause("harm")
    assert harm.status == "evidence" and harm.estimate < 0
    assert wdq_interpretable(reduced)
    std = standard_measures(reduced)
    basket = std.full[std.full["Measure"] == dsp.BASKET]
    assert list(basket["WDQ"]) == [f"{x:,.2f}" for x in reduced.table.loc[reduced.table["measure"] == dsp.BASKET,
                                                                            "wdq"]]
    assert set(std.full.loc[std.full["Measure"] != dsp.BASKET, "WDQ"]) == {"not interpretable"}


def test_tables_carry_names_and_numbers_rounded_for_reading(displaced):
    page = render_html(displaced, bcus=_bcus())
    for code in CODES.values():                        # BCU codes are names everywhere: heading, tables
        assert code not in page, code
    assert "Sheffield BCU" in page and "Rotherham" in page
    text = _text(page)
    assert not re.search(r"\bNone\b|\bnan\b|\bNaN\b", text)
    cells = re.findall(r"<td class='n'>(.*?)</td>", page)
    assert cells and not [c for c in cells if re.fullmatch(r"-?[\d,]+\.0", c)]   # "84", never "84.0"
    t = displaced.assessment.target
    assert f"<td class='n'>{t.n_before:,.0f}</td>" in page and f"<td class='n'>{t.estimate:,.0f}</td>" in page
    assert not [c for c in cells if re.fullmatch(r"0\.000", c)]                  # "< 0.001", not "0.000"
    for x in [t] + displaced.assessment.family():      # every level exactly as tested ("0.0075", not "0.007")
        assert f"<td class='n'>{fmt_alpha(x.alpha)}</td>" in page
    assert fmt_alpha(0.0075) == "0.0075"


def _record(monkeypatch):
    """Labels (with colours) the static map adds to its legend, its texts, and any arrow or star drawn."""
    seen: dict = {"legend": {}, "texts": [], "moves": 0}
    orig_patch, orig_marker, orig_line, orig_png = StaticMap.patch, StaticMap.marker, StaticMap.line, StaticMap.png

    def patch(self, color, label, **kw):
        seen["legend"][label] = to_hex(color) if color != "none" else kw.get("edgecolor")
        return orig_patch(self, color, label, **kw)

    def marker(self, mk, color, label):
        seen["legend"][label] = to_hex(color)
        return orig_marker(self, mk, color, label)

    def line(self, color, label, **kw):
        seen["legend"][label] = to_hex(color)
        return orig_line(self, color, label, **kw)

    def png(self, **kw):
        seen["texts"] = [t.get_text() for t in self.ax.texts]
        return orig_png(self, **kw)

    def move(self, *a, **k):
        seen["moves"] += 1

    monkeypatch.setattr(StaticMap, "patch", patch)
    monkeypatch.setattr(StaticMap, "marker", marker)
    monkeypatch.setattr(StaticMap, "line", line)
    monkeypatch.setattr(StaticMap, "png", png)
    monkeypatch.setattr(StaticMap, "arrow", move)
    monkeypatch.setattr(StaticMap, "star", move)
    return seen


def test_static_map_draws_what_the_verdict_tests(displaced, monkeypatch):
    seen = _record(monkeypatch)
    png = static_map_png(displaced, bcus=_bcus())
    assert png[:4] == b"\x89PNG"
    legend = seen["legend"]
    rings = [r.label for r in displaced.catchment.rings]
    assert rings == ["0–250 m", "250–500 m", "500–1,000 m"]
    for i, r in enumerate(rings):
        assert legend[f"Ring {r}"] == palette.RING_COLORS[i]
    assert legend["Target"] == palette.AREA_COLORS["target"]
    assert legend["Comparison (rest of the BCU)"] == palette.AREA_COLORS["control"]
    assert legend[EVIDENCE_LABEL] == palette.AREA_COLORS["evidence"]        # the planted ring and piece
    assert legend["school (in the catchment)"] == palette.SITE_COLORS["school"]
    assert not {"Buffer", "Wider ring", "Possible displacement"} & set(legend)
    assert seen["moves"] == 0                          # no hot spot arrows or stars: they are not a test
    assert {"Sheffield", "Rotherham"} <= set(seen["texts"])         # BCUs named, not coded
    assert not set(CODES.values()) & set(seen["texts"])
    assert "Hill Primary" in seen["texts"] and "Far Academy" not in seen["texts"]  # only sites in the catchment


def test_hostile_names_are_escaped_in_the_report_and_drawn_as_text_on_the_map(monkeypatch):
    op = "Op <script>alert(1)</script> $x^2$"
    site = "<img src=x onerror=alert(1)> $y$"
    bcu = "<b>Rotherham</b> $z$"
    res = _analyse(_incidents(5), name=op, bcus=_bcus(names=("Sheffield", bcu, "Next")),
                   sites=_sites(names=(site, "Far")))
    seen = _record(monkeypatch)
    page = render_html(res, bcus=_bcus(names=("Sheffield", bcu, "Next")))
    assert "<script" not in page and "<img src=x" not in page and "<b>Rotherham" not in page
    assert "Op &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;Rotherham&lt;/b&gt;" in page
    # matplotlib mathtext is off for names: the dollar signs are escaped, the text is drawn as written
    assert any(t.startswith("<img src=x onerror=alert(1)>") for t in seen["texts"])
    assert any(t.startswith("<b>Rotherham</b>") for t in seen["texts"])
