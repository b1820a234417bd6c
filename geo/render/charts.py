"""Static charts (matplotlib, PNG bytes): the monthly trend of one area with its control limits.

Used by briefings (:mod:`geo.briefing`) and the Area summary page; colours from
:data:`geo.render.palette.TREND_COLORS`. matplotlib is imported inside the function.
"""
from __future__ import annotations

import io

import pandas as pd

from . import palette


def trend_png(panel: pd.DataFrame, *, measure: str = "harm", title: str = "", unit: str = "",
              figsize: tuple[float, float] = (7.2, 2.8), dpi: int = 110) -> bytes:
    """A monthly line chart of one area: the series, its long-run mean and control limits.

    Parameters
    ----------
    panel : DataFrame
        One area of :func:`geo.panels.monthly_panel`, with
        :func:`geo.panels.add_control_limits` for the mean and limits (drawn when present).
        Months not covered are left as gaps and marked on the axis, never drawn as zero.
    measure : {"harm", "count"}
    title, unit : str
        Chart title and the y-axis label (e.g. "harm (CCHI days)").

    Returns
    -------
    bytes
        PNG.
    """
    from .static_maps import pyplot
    plt = pyplot()
    from matplotlib.ticker import FuncFormatter

    from .. import safe
    from ..periods import month_label

    c = palette.TREND_COLORS
    p = panel.sort_values("month").reset_index(drop=True)
    x = list(range(len(p)))
    y = [float(v) if cov and pd.notna(v) else float("nan") for v, cov in zip(p[measure], p["covered"])]
    fig, ax = plt.subplots(figsize=figsize, dpi=dpi)
    try:
        if f"{measure}_mean" in p.columns and p[f"{measure}_mean"].notna().any():
            lo = p[f"{measure}_lower"].astype(float).to_numpy()
            hi = p[f"{measure}_upper"].astype(float).to_numpy()
            k = p.attrs.get("k", 2.0)
            ax.fill_between(x, lo, hi, color=c["band"], label=f"control limits (±{k:g} sd)", zorder=1)
            ax.plot(x, p[f"{measure}_mean"].astype(float), color=c["mean"], linestyle="--", linewidth=1,
                    label="long-run mean", zorder=2)
            for side in ("above", "below"):
                sel = [i for i in x if p.loc[i, f"{measure}_signal"] == side]
                if sel:
                    ax.scatter(sel, [y[i] for i in sel], color=c[side], s=28, zorder=4,
                               label=f"{side} the limits")
        ax.plot(x, y, color=c["series"], marker="o", markersize=3, linewidth=1.6, label=unit or measure, zorder=3)
        gaps = [i for i in x if y[i] != y[i]]
        if gaps:
            ax.scatter(gaps, [0] * len(gaps), marker="x", color=c["not covered"], s=20, zorder=3,
                       label="not covered by the data")
        step = max(1, len(x) // 9)
        ax.set_xticks(x[::step])
        ax.set_xticklabels([month_label(m) for m in p["month"]][::step], fontsize=7)
        ax.tick_params(axis="y", labelsize=7)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
        ax.set_ylim(bottom=0)
        ax.set_ylabel(unit or measure, fontsize=8)
        if title:
            ax.set_title(safe.mpl_text(title), fontsize=9, loc="left")
        ax.spines[["top", "right"]].set_visible(False)
        ax.legend(fontsize=6.5, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        return buf.getvalue()
    finally:
        plt.close(fig)
