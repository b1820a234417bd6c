"""The one static-map renderer (matplotlib, no tiles): briefings and the results report.

A :class:`StaticMap` is drawn layer by layer in a projected CRS (metres) and returned as
PNG bytes; the boundaries are the basemap, so it works offline. Colours come from
:mod:`geo.render.palette`, the same dicts the dashboard's folium layers use.

Examples
--------
>>> import geopandas as gpd
>>> from shapely.geometry import box
>>> cells = gpd.GeoDataFrame({"hotspot": ["Hot spot 95%"]}, geometry=[box(0, 0, 500, 500)], crs=27700)
>>> sm = StaticMap(bounds=(0, 0, 2000, 2000))
>>> sm.classes(cells, "hotspot", palette.HOTSPOT_COLORS, suffix=" (Gi*)")
['Hot spot 95%']
>>> sm.png()[:4] == b"\\x89PNG"
True
"""
from __future__ import annotations

import io

from . import palette

__all__ = ["StaticMap"]


def pyplot():
    """``matplotlib.pyplot`` with the Agg backend (no display), imported on first use (about 1 s on 2 cores):
    what :class:`StaticMap` and :func:`geo.render.charts.trend_png` draw with. A server's warm-up calls it
    ahead of a partner's first briefing (``dashboard.warm.published``)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


class StaticMap:
    """A matplotlib map drawn layer by layer, then written as PNG bytes.

    Parameters
    ----------
    bounds : (float, float, float, float)
        ``xmin, ymin, xmax, ymax`` in the layers' CRS (metres).
    pad : float, default 0.0
        Margin added on each side, as a share of the longer side.
    figsize : (float, float), default (7.2, 5.6)
        Inches.
    dpi : int, default 110
    """

    def __init__(self, *, bounds, pad: float = 0.0, figsize=(7.2, 5.6), dpi: int = 110):
        plt = pyplot()
        self._plt = plt
        self.fig, self.ax = plt.subplots(figsize=figsize, dpi=dpi)
        x0, y0, x1, y1 = (float(v) for v in bounds)
        self.pad = pad * max(x1 - x0, y1 - y0)
        self.bounds = (x0 - self.pad, y0 - self.pad, x1 + self.pad, y1 + self.pad)
        self.handles: list = []

    # ------------------------------------------------------------------ layers
    def fill(self, gdf, color: str, *, label: str | None = None, alpha: float = 1.0,
             edgecolor: str | None = None, linewidth: float = 0.0, hatch: str | None = None) -> None:
        """Polygons filled with one colour (``color="none"`` draws only the edge)."""
        if gdf is None or not len(gdf):
            return
        kw = {"hatch": hatch} if hatch else {}
        if color == "none":
            gdf.plot(ax=self.ax, facecolor="none", edgecolor=edgecolor, linewidth=linewidth, **kw)
        else:
            gdf.plot(ax=self.ax, color=color, alpha=alpha, edgecolor=edgecolor or "none",
                     linewidth=linewidth, **kw)
        if label:
            self.patch(color, label, edgecolor=edgecolor, hatch=hatch)

    def classes(self, gdf, column: str, colors, *, suffix: str = "", alpha: float = 1.0) -> list[str]:
        """Fill each class of ``column`` with its colour from a palette family, in the family's order.

        Returns the classes drawn (each also added to the legend as ``class + suffix``).
        """
        drawn = []
        if gdf is None or not len(gdf):
            return drawn
        values = gdf[column].astype(str)
        for label, colour in colors.items():
            sel = gdf[values == label]
            if len(sel):
                sel.plot(ax=self.ax, color=colour, alpha=alpha, linewidth=0)
                self.patch(colour, f"{label}{suffix}")
                drawn.append(label)
        return drawn

    def choropleth(self, gdf, column: str, *, cmap: str = "YlOrRd", label: str = "",
                   edgecolor: str = palette.BOUNDARY_COLORS["edge"]) -> None:
        """A continuous colour scale with a colour bar."""
        if gdf is None or not len(gdf):
            return
        gdf.plot(ax=self.ax, column=column, cmap=cmap, legend=True, edgecolor=edgecolor, linewidth=0.3,
                 legend_kwds={"label": label, "shrink": 0.6, "format": "{x:,.0f}"})  # 160,000 not 160000

    def outline(self, gdf, color: str, *, linewidth: float = 1.0, labels: str | None = None,
                within=None, avoid=None) -> None:
        """Boundaries as lines; ``labels`` names a column written at each polygon (clipped to ``within``).

        ``avoid``: a geometry the labels keep off where the polygon reaches beyond it (e.g. the
        areas drawn on top), so a name does not sit on them.
        """
        if gdf is None or not len(gdf):
            return
        gdf.boundary.plot(ax=self.ax, color=color, linewidth=linewidth)
        if labels:
            from .. import safe
            for geom, name in zip(gdf.geometry, gdf[labels]):
                if within is not None:
                    if not geom.intersects(within):
                        continue
                    geom = geom.intersection(within)
                if avoid is not None:
                    rest = geom.difference(avoid)
                    geom = rest if not rest.is_empty and rest.area > 0.02 * geom.area else geom
                c = geom.representative_point()
                self.ax.annotate(safe.mpl_text(name), (c.x, c.y), fontsize=7.5, color=color, ha="center",
                                 fontweight="bold")

    def sites(self, sites, *, kinds=None, size: float = 14, suffix: str = "") -> None:
        """Sensitive sites as markers coloured by kind (:data:`~geo.render.palette.SITE_COLORS`);
        ``suffix`` follows each kind in the legend ("school (in the catchment)")."""
        if sites is None or not len(sites):
            return
        s = sites[sites.geometry.notna()]
        kind = (s["kind"].astype(str).str.lower().str.replace("_", " ") if "kind" in s.columns
                else None)
        if kind is not None:
            kind = kind.where(kind.isin(list(palette.SITE_COLORS)), "other")
        for k in (kinds or palette.SITE_COLORS):
            sel = s if kind is None else s[kind == k]
            if kind is None and k != "other":
                continue
            if len(sel):
                mk, col = palette.SITE_MARKERS[k], palette.SITE_COLORS[k]
                self.ax.scatter(sel.geometry.x, sel.geometry.y, marker=mk, s=size, c=col,
                                edgecolors=palette.BOUNDARY_COLORS["site_edge"], linewidths=0.3, zorder=5)
                self.marker(mk, col, (k if kind is not None else "sensitive site") + suffix)

    def names(self, points, column: str, *, color: str, fontsize: float = 6) -> None:
        """Write ``column`` (escaped for matplotlib) beside each point."""
        if points is None or not len(points):
            return
        from .. import safe
        for geom, name in zip(points.geometry, points[column]):
            if geom is not None and name == name and name is not None:
                self.ax.annotate(safe.mpl_text(name), (geom.x, geom.y), xytext=(3, 3), textcoords="offset points",
                                 fontsize=fontsize, color=color)

    def arrow(self, x0, y0, x1, y1, color: str, *, text: str = "") -> None:
        """An arrow from ``(x0, y0)`` to ``(x1, y1)`` with an optional label at its middle."""
        self.ax.annotate("", xy=(x1, y1), xytext=(x0, y0), arrowprops=dict(arrowstyle="->", color=color, lw=1.6))
        if text:
            self.ax.annotate(text, ((x0 + x1) / 2, (y0 + y1) / 2), fontsize=6.5, color=color)

    def star(self, x, y, color: str) -> None:
        """A star marker (a new hot spot)."""
        self.ax.plot(x, y, marker="*", color=color, markersize=9)

    # ------------------------------------------------------------------ legend
    def patch(self, color: str, label: str, *, edgecolor: str | None = None, hatch: str | None = None) -> None:
        """Add a filled square to the legend."""
        from matplotlib.patches import Patch
        if color == "none" or hatch:
            self.handles.append(Patch(facecolor=color, edgecolor=edgecolor, hatch=hatch, label=label))
        else:
            self.handles.append(Patch(color=color, label=label))

    def line(self, color: str, label: str, *, linewidth: float = 1.2) -> None:
        """Add a line to the legend (an outline layer)."""
        from matplotlib.lines import Line2D
        self.handles.append(Line2D([], [], color=color, linewidth=linewidth, label=label))

    def marker(self, marker: str, color: str, label: str) -> None:
        """Add a marker symbol to the legend."""
        from matplotlib.lines import Line2D
        self.handles.append(Line2D([], [], marker=marker, color=color, linestyle="", markersize=5, label=label))

    def legend(self, items) -> None:
        """Add ``(colour, label)`` pairs (:func:`geo.render.palette.legend_items`) to the legend."""
        for color, label in items:
            self.patch(color, label)

    # ------------------------------------------------------------------ output
    def png(self, *, title: str = "", scale_bar: bool = False, north: bool = False,
            legend_loc: str = "below", tight: bool = True) -> bytes:
        """Fix the extent, add the furniture and return the PNG bytes (the figure is closed)."""
        ax = self.ax
        x0, y0, x1, y1 = self.bounds
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_aspect("equal")
        ax.set_axis_off()
        ink = palette.BOUNDARY_COLORS["area"]
        if scale_bar:
            span = x1 - x0 - 2 * self.pad
            km = max(0.5, float(round(span / 5000))) if span > 5000 else 0.5
            bx, by = x0 + self.pad, y0 + self.pad * 0.4
            ax.plot([bx, bx + km * 1000], [by, by], color=ink, linewidth=2)
            ax.text(bx + km * 500, by + self.pad * 0.2, f"{km:g} km", ha="center", va="bottom", fontsize=7)
        if north:
            ax.annotate("N", xy=(x1 - self.pad, y1 - self.pad), xytext=(x1 - self.pad, y1 - self.pad * 4),
                        ha="center", fontsize=9, arrowprops={"arrowstyle": "-|>", "color": ink})
        if self.handles:
            if legend_loc == "below":
                ax.legend(handles=self.handles, loc="lower left", bbox_to_anchor=(0, -0.12), ncol=3,
                          fontsize=7, frameon=False)
            else:
                ax.legend(handles=self.handles, loc=legend_loc, fontsize=7, framealpha=0.9)
        if title:
            ax.set_title(title, fontsize=9)
        buf = io.BytesIO()
        if tight:
            self.fig.savefig(buf, format="png", bbox_inches="tight")
        else:
            self.fig.tight_layout()
            self.fig.savefig(buf, format="png")
        self._plt.close(self.fig)
        return buf.getvalue()
