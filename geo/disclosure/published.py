"""The one published base table and every partner figure derived from it: :func:`publish`,
:func:`published_for` -> :class:`Published`, whose figures are :class:`Figure` (exact, or
the range the hidden ``<5`` cells allow). See ``docs/DISCLOSURE.md``.
"""
from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from ..errors import GeoInputError
from ..geometry import points_inside
from ..periods import quarter_months, quarter_of
from ..settings import settings
from .suppression import HARM_ROUND, check_aggregate, primary_label, round_harm
from .units import HEX_SIZE_M, SMALL_CELL_ESTIMATE, base_units, complete_quarters


@dataclass(frozen=True)
class Figure:
    """A published figure: an exact value, or the range a set of base cells allows.

    ``lo`` and ``hi`` are computed from published base values only (each ``"<5"`` cell
    counts as 1 to 4), so a figure never says more than the base table.
    """

    lo: float
    hi: float
    threshold: int = 5
    harm: bool = False
    #: Point estimate: shown values plus :data:`SMALL_CELL_ESTIMATE` per hidden cell (a
    #: constant, so a function of published values only). ``None``: the middle of the range.
    est: float | None = None

    @property
    def exact(self) -> bool:
        return self.lo == self.hi

    @property
    def suppressed(self) -> bool:
        """True when the figure is one small count (or its harm): 1 to ``threshold - 1``."""
        return False if self.harm else (self.lo >= 1 and self.hi <= self.threshold - 1 and not self.exact)

    @property
    def mid(self) -> float:
        """The point estimate (:attr:`est`), or the middle of the range."""
        return (self.lo + self.hi) / 2 if self.est is None else self.est

    def _r(self, v: float, up: bool | None = None) -> float:
        step = HARM_ROUND if self.harm else 1
        f = np.ceil if up else np.floor if up is False else np.round
        return float(f(v / step) * step)

    @property
    def label(self) -> str:
        """``"1,234"``, ``"<5"`` or a range ``"40–52"`` (harm rounded to 10 days)."""
        if self.exact:
            return f"{self._r(self.lo):,.0f}"
        if self.suppressed:
            return primary_label(self.threshold)
        return f"{self._r(self.lo, False):,.0f}–{self._r(self.hi, True):,.0f}"

    @property
    def about(self) -> str:
        """``"1,234"`` when exact, else ``"about 1,250"`` (:attr:`mid` rounded to the range's precision)."""
        if self.exact:
            return self.label
        if self.suppressed:
            return primary_label(self.threshold)
        m = self.mid
        step = 10 ** max(0, int(np.floor(np.log10(max(self.hi - self.lo, 1)))) - 1)
        step = max(step, HARM_ROUND if self.harm else 1)
        return f"about {np.round(m / step) * step:,.0f}"

    def __add__(self, other: "Figure") -> "Figure":
        return Figure(self.lo + other.lo, self.hi + other.hi, self.threshold, self.harm, self.mid + other.mid)


def pct_change(now: Figure, before: Figure) -> str:
    """Change between two figures as text (``"+4.1%"``, ``"about +4%"``), from published values only."""
    if before.mid <= 0:
        return "–"
    v = (now.mid - before.mid) / before.mid * 100
    return f"{v:+.1f}%" if now.exact and before.exact else f"about {v:+.0f}%"


def share(part: Figure, whole: Figure) -> str:
    """``part`` as a share of ``whole`` (text), from published values only."""
    if whole.mid <= 0:
        return "–"
    v = part.mid / whole.mid * 100
    return f"{v:.1f}%" if part.exact and whole.exact else f"about {v:.0f}%"


@dataclass(frozen=True)
class Published:
    """The one table partners' figures come from, and the functions that derive them.

    ``cells`` holds one row per base unit × calendar quarter × layer × category ×
    basket flag with an incident: ``unit``, ``quarter``, ``layer``, ``category``,
    ``basket`` (bool), ``count`` (the count, or NaN when it is 1 to ``threshold - 1``),
    ``harm`` (its harm, NaN when the count is hidden), ``w_lo``, ``w_hi`` (the published
    harm weight bounds of the category). Every other partner figure (an area, a ward,
    a BCU, the force, several quarters, harm, a chart value) is a sum over these cells
    in which each hidden cell counts as the interval 1..threshold-1 (:class:`Figure`),
    so no combination of partner figures carries information beyond this table.
    Absent rows are zeros.
    """

    cells: pd.DataFrame
    units: gpd.GeoDataFrame
    level: str
    quarters: tuple[str, ...]
    threshold: int
    enforcement_category: str = settings.enforcement_category

    @property
    def note(self) -> str:
        t = self.threshold
        kind = {"hex": f"{HEX_SIZE_M:.0f} m hexagon", "lsoa": "LSOA"}.get(self.level, self.level)
        return (f"Figures are built from one table of counts by {kind}, calendar quarter and crime type, in which "
                f"counts from 1 to {t - 1} are shown as '<{t}'. Every total is the sum of that table's cells: "
                f"where it includes '<{t}' cells it is given as a range (each counting as 1 to {t - 1}) or as "
                f"'about' the middle of that range. Harm is the count times the published weight, rounded to "
                f"{HARM_ROUND} days. Areas are made of whole {kind}s (those whose centre lies inside).")

    # -------------------------------------------------------------- selecting cells
    def _mask(self, *, units=None, quarters=None, layer=None, basket=None, category=None) -> np.ndarray:
        c = self.cells
        m = np.ones(len(c), dtype=bool)
        if units is not None:
            m &= c["unit"].isin(list(units)).to_numpy()
        if quarters is not None:
            m &= c["quarter"].isin(list(quarters)).to_numpy()
        if layer is not None:
            m &= (c["layer"] == layer).to_numpy()
        if basket is not None:
            m &= (c["basket"] == bool(basket)).to_numpy()
        if category is not None:
            m &= (c["category"] == category).to_numpy()
        return m

    def figure(self, *, units=None, quarters=None, layer=None, basket=None, category=None,
               harm: bool = False) -> Figure:
        """The count (or harm) of the selected base cells as a :class:`Figure`.

        ``units``: base unit codes (``None``: all); ``quarters`` (``None``: all);
        ``layer`` (``"crime"``/``"calls"``); ``basket``: drug-market basket only (True),
        outside it (False); ``category``: one crime type.
        """
        c = self.cells[self._mask(units=units, quarters=quarters, layer=layer, basket=basket, category=category)]
        return _figure(c, self.threshold, harm)

    def table(self, by: str, *, units=None, quarters=None, layer=None, basket=None) -> pd.DataFrame:
        """Figures per ``by`` (``"unit"``, ``"category"``, ``"quarter"``, ``"layer"``) over the selection.

        Returns
        -------
        DataFrame
            ``by``, ``count`` and ``harm`` (:class:`Figure`), ``count_label``,
            ``harm_label``; one row per value of ``by`` with at least one cell.
        """
        c = self.cells[self._mask(units=units, quarters=quarters, layer=layer, basket=basket)]
        rows = [{by: k, "count": _figure(g, self.threshold, False), "harm": _figure(g, self.threshold, True)}
                for k, g in c.groupby(by, sort=True)]
        out = pd.DataFrame(rows, columns=[by, "count", "harm"])
        out["count_label"] = [f.label for f in out["count"]]
        out["harm_label"] = [_harm_label(h, n) for h, n in zip(out["harm"], out["count"])]
        return check_aggregate(out, f"table by {by}")

    # -------------------------------------------------------------- areas from whole units
    def units_in(self, geometry) -> list[str]:
        """Codes of the base units whose representative point lies in ``geometry``."""
        inside = points_inside(geometry, self.units["px"].to_numpy(), self.units["py"].to_numpy())
        return list(self.units.loc[inside, "code"])

    def snap(self, geometry, *, min_units: int | None = None, what: str = "The drawn area") -> list[str]:
        """The base units a drawn area is made of, refusing areas smaller than ``min_units`` units.

        Raises
        ------
        GeoInputError
            When fewer than ``min_units`` (``None``: ``settings.partner_min_units``) base units have
            their centre inside ``geometry``.
        """
        need = settings.partner_min_units if min_units is None else int(min_units)
        codes = self.units_in(geometry)
        if len(codes) < need:
            kind = {"hex": "hexagons", "lsoa": "LSOAs"}.get(self.level, f"{self.level}s")
            raise GeoInputError(f"{what} covers {len(codes)} whole {kind}; partner figures need at least {need}",
                                fix=f"draw a larger area (it is made of the {kind} whose centre lies inside)")
        return codes

    def geometry_of(self, codes) -> object:
        """The union of the given base units' polygons."""
        import shapely
        return shapely.union_all(self.units.loc[self.units["code"].isin(list(codes)), "geometry"].to_numpy())

    def unit_table(self, *, parents: gpd.GeoDataFrame | None = None, quarters=None, basket: bool | None = True,
                   layer=None, keep_empty: bool = False) -> gpd.GeoDataFrame:
        """Count and harm per base unit, or per ``parents`` polygon (each the sum of its base units).

        Returns
        -------
        GeoDataFrame
            ``code``, ``name``, ``count`` and ``harm`` (the middle of the figure's range,
            NaN when the count is one small cell), ``count_label``, ``harm_label``,
            ``units`` (how many base units), ``geometry``. ``attrs``: ``total_label``,
            ``total_harm``, ``total_harm_label``, ``note``, ``threshold``.
        """
        if parents is None:
            groups = {c: [c] for c in self.units["code"]}
            frame = self.units[["code", "name", "geometry"]]
        else:
            frame = parents[["code", "name", "geometry"]].reset_index(drop=True)
            groups = {c: self.units_in(g) for c, g in zip(frame["code"], frame.geometry)}
        c = self.cells[self._mask(quarters=quarters, layer=layer, basket=basket)]
        by_unit = c.groupby("unit").indices   # unit -> its rows' positions in c, in order
        cols = _FigureColumns(c)
        none = np.zeros(0, dtype=np.intp)
        counts, harms = [], []
        for code in frame["code"]:  # numpy on the same rows in the same order as _figure: the same sums
            parts = [by_unit[u] for u in groups[code] if u in by_unit]
            rows = np.concatenate(parts) if parts else none
            counts.append(cols.figure(rows, self.threshold, False))
            harms.append(cols.figure(rows, self.threshold, True))
        out = gpd.GeoDataFrame({
            "code": frame["code"].to_numpy(), "name": frame["name"].to_numpy(),
            "count": [np.nan if f.suppressed else f.mid for f in counts],
            "count_label": [f.label for f in counts],
            "harm": [np.nan if n.suppressed else float(round_harm(h.mid)) for h, n in zip(harms, counts)],
            "harm_label": [_harm_label(h, n) for h, n in zip(harms, counts)],
            "units": [len(groups[c]) for c in frame["code"]],
        }, geometry=frame.geometry.to_numpy(), crs=self.units.crs)
        if not keep_empty:
            out = out[np.array([f.hi > 0 for f in counts], dtype=bool)].reset_index(drop=True)  # rows, even none
        total = _figure(c, self.threshold, False)
        total_h = _figure(c, self.threshold, True)
        out.attrs.update(total_label=total.label, total_about=total.about, total_harm=float(round_harm(total_h.mid)),
                         total_harm_label=total_h.about, note=self.note, threshold=self.threshold)
        return check_aggregate(out, "unit table")


class _FigureColumns:
    """The columns :func:`_figure` reads, as arrays: the figure of any subset of rows at numpy speed.

    ``figure(rows, ...)`` equals ``_figure(cells.iloc[rows], ...)`` exactly: the same values
    summed in the same order (the unit table makes one figure per area, thousands of them).
    """

    def __init__(self, cells: pd.DataFrame):
        self.count = cells["count"].to_numpy(float)
        self.harm = cells["harm"].to_numpy(float)
        self.w_lo = cells["w_lo"].to_numpy(float)
        self.w_hi = cells["w_hi"].to_numpy(float)

    def figure(self, rows: np.ndarray, threshold: int, harm: bool) -> Figure:
        # np.nansum is pandas' skipna sum: NaN as 0, then the same reduction
        count = self.count[rows]
        shown = ~np.isnan(count)
        if harm:
            hidden = ~shown
            known = float(np.nansum(self.harm[rows][shown]))
            w_lo, w_hi = self.w_lo[rows][hidden], self.w_hi[rows][hidden]
            lo = known + float(np.nansum(w_lo))
            hi = known + float(np.nansum(w_hi)) * (threshold - 1)
            w_mid = float(np.nansum(w_lo + w_hi)) / 2
            est = known + w_mid * min(SMALL_CELL_ESTIMATE, threshold - 1)
        else:
            known = float(np.nansum(count[shown]))
            k = int((~shown).sum())
            lo, hi = known + k, known + k * (threshold - 1)
            est = known + k * min(SMALL_CELL_ESTIMATE, threshold - 1)
        return Figure(lo, hi, threshold, harm, est)


def _figure(cells: pd.DataFrame, threshold: int, harm: bool) -> Figure:
    shown = cells["count"].notna().to_numpy()
    if harm:
        known = float(cells.loc[shown, "harm"].sum())
        lo = known + float(cells.loc[~shown, "w_lo"].sum())
        hi = known + float(cells.loc[~shown, "w_hi"].sum()) * (threshold - 1)
        w_mid = float((cells.loc[~shown, "w_lo"] + cells.loc[~shown, "w_hi"]).sum()) / 2
        est = known + w_mid * min(SMALL_CELL_ESTIMATE, threshold - 1)
    else:
        known = float(cells.loc[shown, "count"].sum())
        k = int((~shown).sum())
        lo, hi = known + k, known + k * (threshold - 1)
        est = known + k * min(SMALL_CELL_ESTIMATE, threshold - 1)
    return Figure(lo, hi, threshold, harm, est)


def _harm_label(h: Figure, n: Figure) -> str:
    return n.label if n.suppressed else h.label


def publish(incidents: pd.DataFrame, units: gpd.GeoDataFrame, *, quarters, level: str = "lsoa",
            threshold: int | None = None) -> Published:
    """Build the published base table from incidents: the one input of every partner figure.

    Parameters
    ----------
    incidents : GeoDataFrame
        Points with ``month``, ``layer``, ``category``, ``harm`` and ``in_basket`` (from
        :meth:`geo.workspace.Workspace.incidents`). Their detail is dropped here.
    units : GeoDataFrame
        Base units from :func:`base_units` (``code``, ``name``, ``geometry``, ``px``, ``py``).
    quarters : sequence of str
        The complete calendar quarters to publish (:func:`complete_quarters`); incidents
        of other months are left out.
    level : str
        The units' level, for the notes.
    threshold : int, optional
        ``None``: ``settings.suppression_threshold``.

    Returns
    -------
    Published
        Incidents outside every unit are not counted (a point on a shared edge counts
        in one unit).
    """
    threshold = int(threshold if threshold is not None else settings.suppression_threshold)
    if threshold < 2:
        raise GeoInputError(f"Suppression threshold {threshold} is below 2", fix="use 5 (the default) or more")
    quarters = tuple(quarters)
    months = {m for q in quarters for m in quarter_months(q)}
    inc = incidents[incidents["month"].isin(months) & incidents.geometry.notna()]
    cols = ["unit", "quarter", "layer", "category", "basket", "count", "harm", "w_lo", "w_hi"]
    if len(inc) and len(units):
        j = gpd.sjoin(inc[["month", "layer", "category", "harm", "in_basket", "geometry"]],
                      units[["code", "geometry"]], how="inner", predicate="intersects")
        j = j[~j.index.duplicated(keep="first")]
        # the harm weight bounds of each category over the whole workspace (published weights)
        w = incidents.groupby(["layer", "category"], observed=True)["harm"].agg(["min", "max"])
        quarter = {m: quarter_of(m) for m in pd.unique(j["month"])}  # a few dozen months: no parse per row
        j = j.assign(quarter=[quarter[m] for m in j["month"]], basket=j["in_basket"].astype(bool))
        g = (j.groupby(["code", "quarter", "layer", "category", "basket"], observed=True)
             .agg(count=("harm", "size"), harm=("harm", "sum")).reset_index().rename(columns={"code": "unit"}))
        wb = w.reindex(pd.MultiIndex.from_frame(g[["layer", "category"]]))
        g["w_lo"], g["w_hi"] = wb["min"].to_numpy(), wb["max"].to_numpy()
        g["count"] = g["count"].astype(float)
        hidden = (g["count"] > 0) & (g["count"] < threshold)
        g.loc[hidden, ["count", "harm"]] = np.nan
        cells = g[cols]
    else:
        cells = pd.DataFrame({c: pd.Series(dtype=float) for c in cols})
    return Published(cells=cells.reset_index(drop=True), units=units, level=level, quarters=quarters,
                     threshold=threshold)


def published_for(ws, *, quarters=None, threshold: int | None = None, incidents=None) -> Published:
    """The workspace's published base table (every complete quarter unless ``quarters``).

    The one function pages, briefings and the command line use for partner figures.
    ``threshold`` ``None``: the workspace's ``suppression_threshold`` setting.
    """
    inc = incidents if incidents is not None else ws.incidents()
    threshold = int(threshold or ws.setting("suppression_threshold", settings.suppression_threshold))
    if quarters is None:
        quarters = complete_quarters(ws.store.months())
    level, units = base_units(ws.boundaries(), area=ws.area(), force=ws.force, crs=ws.crs)
    return publish(inc, units, quarters=quarters, level=level, threshold=threshold)
