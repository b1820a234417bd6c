"""Rendering of area briefings: the HTML template, the static map, number formats, the PDF.

Used by :mod:`geo.briefing` (which gathers the data); reads no workspace.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np

from ..settings import SENSITIVE_SITE_KINDS

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def fmt(x, digits: int = 0) -> str:
    """``x`` with thousands separators and ``digits`` decimals; "–" when missing."""
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "–"
    return f"{x:,.{digits}f}"


def fmt_pct(x) -> str:
    """A signed percentage with one decimal ("+4.2%"); "–" when missing."""
    if x is None or not np.isfinite(x):
        return "–"
    return f"{x:+.1f}%"


@dataclass
class Briefing:
    """A built briefing: ``html`` and the ``figures`` it states (for checking)."""

    html: str
    figures: dict
    title: str
    audience: str
    marking: str
    filename: str = "briefing"
    _pdf: bytes | None = field(default=None, repr=False)

    def pdf(self) -> bytes:
        """The PDF (WeasyPrint), made once."""
        if self._pdf is None:
            try:
                from weasyprint import HTML
            except ImportError as err:  # pragma: no cover
                raise ImportError("PDF briefings need weasyprint: pip install weasyprint") from err
            logging.getLogger("weasyprint").setLevel(logging.ERROR)
            logging.getLogger("fontTools").setLevel(logging.ERROR)
            self._pdf = HTML(string=self.html, base_url=str(TEMPLATES)).write_pdf()
        return self._pdf


def map_png(area, *, crs: str, units: gpd.GeoDataFrame | None = None, hot=None, partner_units=None,
            sites: gpd.GeoDataFrame | None = None, title: str = "") -> bytes:
    """A static map as PNG bytes: no tiles, boundaries are the basemap (:mod:`geo.render.static_maps`)."""
    from . import palette
    from .static_maps import StaticMap

    outline = gpd.GeoSeries([area.geometry], crs=crs)
    sm = StaticMap(bounds=outline.total_bounds, pad=0.03, figsize=(7.2, 5.6), dpi=110)
    if partner_units is not None and len(partner_units):
        sm.choropleth(partner_units[partner_units["harm"].notna()], "harm", label="Harm (CCHI days, rounded)")
        sm.fill(partner_units[partner_units["harm"].isna()], palette.LINE_COLORS["suppressed"],
                edgecolor=palette.BOUNDARY_COLORS["unit"], linewidth=0.3, hatch="///",
                label="a count below 5 (<5)")
    sm.outline(units, palette.BOUNDARY_COLORS["unit"], linewidth=0.4)
    if hot is not None and len(hot):
        sm.classes(hot, "hotspot", palette.HOTSPOT_COLORS, suffix=" (Gi*)")
    sm.outline(outline, palette.BOUNDARY_COLORS["area"], linewidth=1.2)
    sm.sites(sites, kinds=SENSITIVE_SITE_KINDS)
    return sm.png(title=title, scale_bar=True, north=True, legend_loc="below")


def render_html(ctx: dict) -> str:
    """The briefing HTML from its context (Jinja, autoescaped)."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html", "j2"]))
    return env.get_template("briefing.html.j2").render(**ctx)

