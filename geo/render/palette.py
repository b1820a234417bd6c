"""Every class colour the product draws, one dict per family.

The folium layers of the dashboard (:mod:`geo.maps`, :mod:`geo.hotspot_runs`,
``dashboard/app_pages``) and the static maps of the briefings and the results report
(:mod:`geo.render.static_maps`) read their colours from here, so "Hot spot 95%" is the
same orange everywhere. No other module writes a hex colour literal for a class
(``tests/test_palette.py`` checks).

Hot classes are reds and oranges, cold classes blues (ColorBrewer RdBu/OrRd); the
categorical palette is Okabe-Ito, which stays distinguishable with colour-blindness.

Examples
--------
>>> HOTSPOT_COLORS["Hot spot 95%"]
'#ef6548'
>>> legend_items(AREA_COLORS, {"target": "Target", "control": "Comparison"})
[('#253494', 'Target'), ('#9e9e9e', 'Comparison')]
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = [
    "AREA_COLORS", "BOUNDARY_COLORS", "CALLS_CRIME_COLORS", "CATEGORY_COLORS", "CLASS_COLORS",
    "CLUSTER_COLORS", "EMERGING_COLORS", "FALLBACK", "HOTSPOT_COLORS", "KDE_COLORS", "LINE_COLORS",
    "MOVE_COLORS", "RING_COLORS", "SIMPLE_COLORS", "SITE_COLORS", "SITE_MARKERS", "TREND_COLORS",
    "WINDOW_COLORS", "class_color", "legend_items",
]

#: Getis-Ord Gi* classes (:data:`geo.hotspots.HOTSPOT_LABELS`).
HOTSPOT_COLORS: dict[str, str] = {
    "Hot spot 99%": "#b2182b", "Hot spot 95%": "#ef6548", "Hot spot 90%": "#fdbb84",
    "Cold spot 90%": "#c6dbef", "Cold spot 95%": "#6baed6", "Cold spot 99%": "#2166ac",
}

#: Kernel density: the top cells by smoothed intensity.
KDE_COLORS: dict[str, str] = {
    "Top 1% of cells": "#b2182b", "Top 5% of cells": "#ef6548", "Top 10% of cells": "#fdbb84",
}

#: DBSCAN / HDBSCAN clusters ranked by harm.
CLUSTER_COLORS: dict[str, str] = {
    "Cluster: top 5 by harm": "#b2182b", "Cluster: 6th–20th by harm": "#ef6548",
    "Cluster: other": "#fdbb84",
}

#: Emerging Hot Spot Analysis: esri's sixteen patterns (:data:`geo.spacetime.EHSA_PATTERNS`).
EMERGING_COLORS: dict[str, str] = {
    "New Hot Spot": "#fee08b", "Consecutive Hot Spot": "#fdae61",
    "Intensifying Hot Spot": "#67000d", "Persistent Hot Spot": "#c0392b",
    "Diminishing Hot Spot": "#f4845f", "Sporadic Hot Spot": "#e8a0bf",
    "Oscillating Hot Spot": "#9e4a8a", "Historical Hot Spot": "#bdbdbd",
    "New Cold Spot": "#d4f1f9", "Consecutive Cold Spot": "#9ecae1",
    "Intensifying Cold Spot": "#08306b", "Persistent Cold Spot": "#2171b5",
    "Diminishing Cold Spot": "#6baed6", "Sporadic Cold Spot": "#8fd3c8",
    "Oscillating Cold Spot": "#35978f", "Historical Cold Spot": "#969696",
}

#: The four plain-language classes of emerging hot spots.
SIMPLE_COLORS: dict[str, str] = {
    "Persistent": "#c0392b", "Emerging": "#fdae61", "Former": "#9e9ac8", "Intermittent": "#e8a0bf",
}

#: Calls for service against recorded crime.
CALLS_CRIME_COLORS: dict[str, str] = {
    "Hot in calls only (possible hidden demand)": "#7b3294", "Hot in both": "#b2182b",
    "Hot in crime only": "#fdbb84",
}

#: Every hot-spot class of every method (what :func:`geo.hotspot_runs.add_hotspot_layer` draws).
CLASS_COLORS: dict[str, str] = {**HOTSPOT_COLORS, **KDE_COLORS, **CLUSTER_COLORS, **EMERGING_COLORS,
                                **SIMPLE_COLORS, **CALLS_CRIME_COLORS}

#: Results analysis: the areas of an operation and the evidence of displacement or diffusion.
AREA_COLORS: dict[str, str] = {
    "target": "#253494", "buffer": "#f28e2b", "ring": "#fdd0a2", "control": "#9e9e9e",
    "evidence": "#d62728",
}

#: The catchment rings, innermost first (0–250 m, 250–500 m, 500–1,000 m).
RING_COLORS: tuple[str, ...] = ("#f28e2b", "#fdae6b", "#fdd0a2")

#: Hot spot moves between the before and after windows.
MOVE_COLORS: dict[str, str] = {"flagged": "#d62728", "other": "#111111"}

#: The before and after windows shaded on trend charts.
WINDOW_COLORS: dict[str, str] = {"before": "#ddeeff", "after": "#ffeedd"}

#: Monthly trend charts: the series, its long-run mean, the control-limit band, months outside it.
TREND_COLORS: dict[str, str] = {
    "series": "#08519c", "mean": "#555555", "band": "#deebf7", "above": "#d62728", "below": "#2ca02c",
    "not covered": "#bbbbbb",
}

#: Sensitive-site kinds (keys are lower case, spaces not underscores).
SITE_COLORS: dict[str, str] = {
    "school": "#1f77b4", "treatment": "#2ca02c", "hostel": "#9467bd", "bail hostel": "#8c564b",
    "pharmacy": "#17becf", "other": "#7f7f7f",
    "needle exchange": "#d62728", "approved premises": "#8c564b", "youth": "#ff7f0e",
}

#: matplotlib markers of site kinds on static maps.
SITE_MARKERS: dict[str, str] = {
    "school": "^", "treatment": "s", "hostel": "D", "bail hostel": "v", "pharmacy": "P", "other": "o",
    "needle exchange": "X", "approved premises": "v", "youth": "*",
}

#: Outlines: BCUs and forces, the briefing's area, base units, other boundaries, cell edges.
BOUNDARY_COLORS: dict[str, str] = {
    "bcu": "#222222", "area": "#000000", "unit": "#999999", "boundary": "#777777",
    "edge": "#555555", "category_edge": "#444444", "highlight": "#000000", "site_edge": "#ffffff",
    "outline": "#333333",
}

#: Single-colour layers: incidents, calls for service, cluster badges, neutral fills.
LINE_COLORS: dict[str, str] = {
    "points": "#3366cc", "calls": "#7b3294", "no_data": "#cccccc", "suppressed": "#eeeeee",
    "none": "#ffffff", "other": "#999999", "cluster": "#253494",
}

#: Okabe-Ito without black: crime categories and other unordered classes, then :data:`FALLBACK`.
CATEGORY_COLORS: tuple[str, ...] = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2",
                                    "#D55E00", "#CC79A7")

#: The colour of a class no family names.
FALLBACK = "#999999"


def class_color(label: str, colors: Mapping[str, str] = CLASS_COLORS) -> str:
    """The fill colour of a class label, :data:`FALLBACK` for an unknown one.

    Examples
    --------
    >>> class_color("Hot spot 99%")
    '#b2182b'
    >>> class_color("Not significant")
    '#999999'
    """
    return colors.get(str(label), FALLBACK)


def legend_items(colors: Mapping[str, str], labels: Mapping[str, str] | Iterable[str] | None = None,
                 *, counts: Mapping[str, int] | None = None) -> list[tuple[str, str]]:
    """``(colour, label)`` pairs for a legend, in the order of ``labels`` (default: ``colors``).

    Both the folium legend (:func:`geo.maps.add_legend`) and the static maps
    (:meth:`geo.render.static_maps.StaticMap.legend`) take these pairs.

    Parameters
    ----------
    colors : mapping
        A family of this module, class -> colour.
    labels : mapping or iterable of str, optional
        The classes to list (an iterable) or class -> display label (a mapping).
    counts : mapping, optional
        Class -> number shown, appended as " (1,234)".

    Examples
    --------
    >>> legend_items(HOTSPOT_COLORS, ["Hot spot 99%"], counts={"Hot spot 99%": 1200})
    [('#b2182b', 'Hot spot 99% (1,200)')]
    """
    if labels is None:
        labels = list(colors)
    names = dict(labels) if isinstance(labels, Mapping) else {k: k for k in labels}
    out = []
    for key, text in names.items():
        if counts is not None:
            text = f"{text} ({int(counts.get(key, 0)):,})"
        out.append((class_color(key, colors), text))
    return out
