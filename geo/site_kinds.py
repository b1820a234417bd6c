"""The sensitive-site taxonomy: which kind a site is, its display name, and each site once.

The kinds and their display names are :data:`geo.settings.SITE_KINDS` (the one list);
colours and markers are in :mod:`geo.render.palette`. Every kind but "other" is a
sensitive site; "other" (ordinary pharmacies, clinics, hospitals, shops) is off by
default and never in an exposure ranking unless the user chooses it.
"""
from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .settings import SENSITIVE_SITE_KINDS, SITE_KIND_ALIASES, SITE_KINDS, settings

__all__ = ["classify_health_sites", "duplicate_sites", "school_phase", "sensitive_sites", "site_kind", "site_label"]

_TREATMENT_WORDS = r"\b(?:substance|misuse|drugs?|alcohol|addictions?|recovery|detox|dependency|methadone)\b"


def site_kind(value) -> str | None:
    """The stored kind of a kind as written in a file ("Bail_Hostel" -> "approved premises").

    Case, spaces and underscores are ignored; earlier kinds map to the taxonomy of
    :data:`geo.settings.SITE_KINDS` (``pharmacy`` -> ``other``). ``None`` if unknown.

    Examples
    --------
    >>> site_kind("Bail_Hostel"), site_kind("pharmacy"), site_kind("casino")
    ('approved premises', 'other', None)
    """
    if value is None or (isinstance(value, float) and value != value):
        return None
    k = " ".join(str(value).replace("_", " ").replace("-", " ").lower().split())
    k = SITE_KIND_ALIASES.get(k, k)
    return k if k in SITE_KINDS else None


def site_label(kind, detail=None) -> str:
    """The display name of a kind, with a school's phase: "School (primary)"."""
    k = site_kind(kind) or "other"
    label = SITE_KINDS[k]
    d = "" if detail is None or detail != detail else str(detail).strip()
    return f"{label} ({d})" if k == "school" and d else label


def school_phase(phase, school_type=None) -> str:
    """A DfE school's phase as shown: primary, secondary, post-16, all-through or special.

    ``PHASE`` values of the performance tables ("Primary", "Secondary|Post16",
    "Primary|Secondary", "Post16") and ``SCHTYPE`` "Special school" (which wins).
    "" when neither says.

    Examples
    --------
    >>> [school_phase(p) for p in ("Primary", "Secondary|Post16", "Post16", "Primary|Secondary")]
    ['primary', 'secondary', 'post-16', 'all-through']
    >>> school_phase("Secondary", "Special school")
    'special'
    """
    t = "" if school_type is None or school_type != school_type else str(school_type).lower()
    if "special" in t or "pupil referral" in t:
        return "special"
    parts = set(str(phase or "").lower().replace(" ", "").split("|")) - {"", "nan"}
    if {"primary", "secondary"} <= parts:
        return "all-through"
    for key, out in (("primary", "primary"), ("secondary", "secondary"), ("post16", "post-16"),
                     ("16plus", "post-16")):
        if key in parts:
            return out
    return ""


def classify_health_sites(df: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Kinds and details of the NHS health-site file (pharmacies, clinics, hospitals).

    * ``treatment``: a clinic or service whose name says it treats drug or alcohol use
      ("Doncaster Substance Misuse Service"); the file's ``substance_keyword_in_name``
      flag alone is not enough ("Superdrug" is a shop);
    * ``needle exchange``: a pharmacy flagged ``needle_syringe_exchange`` or
      ``supervised_consumption``;
    * ``other``: every other pharmacy, clinic and hospital (not a sensitive site).

    Returns
    -------
    (kinds, details) : two Series on ``df``'s index; details name the flagged services.
    """
    def flag(c):
        if c not in df.columns:
            return pd.Series(False, index=df.index)
        return pd.to_numeric(df[c], errors="coerce").fillna(0).astype(int) > 0

    names = df["name"].fillna("").astype(str) if "name" in df.columns else pd.Series("", index=df.index)
    treat = names.str.contains(_TREATMENT_WORDS, case=False, regex=True)
    nse, sc, alc = flag("needle_syringe_exchange"), flag("supervised_consumption"), flag("alcohol_intervention")
    kinds = pd.Series(np.where(treat, "treatment", np.where(nse | sc, "needle exchange", "other")),
                      index=df.index, dtype=object)
    src = df["source"].fillna("").astype(str).str.lower() if "source" in df.columns else pd.Series("", index=df.index)
    parts = [(nse, "needle and syringe exchange"), (sc, "supervised consumption"), (alc, "alcohol intervention")]
    detail = pd.Series([", ".join(w for m, w in parts if m.iloc[i]) or src.iloc[i] for i in range(len(df))],
                       index=df.index, dtype=object)
    return kinds, detail


def duplicate_sites(names, x, y, *, within_m: float | None = None) -> np.ndarray:
    """Mask of the sites that repeat an earlier one: the same name within ``within_m`` metres.

    Names are compared without case, punctuation or spaces. The first of each group is
    kept (``False``); the others are ``True``.

    Parameters
    ----------
    names : sequence of str
    x, y : array of float
        Coordinates in metres (NaN: never a duplicate).
    within_m : float, optional
        ``None``: :attr:`geo.settings.Settings.site_duplicate_m`.

    Examples
    --------
    >>> duplicate_sites(["Westfield School", "westfield school", "Westfield School"],
    ...                 [0, 40, 5000], [0, 0, 0]).tolist()
    [False, True, False]
    """
    r = settings.site_duplicate_m if within_m is None else float(within_m)
    key = pd.Series(list(names), dtype=object).fillna("").astype(str).str.lower().str.replace(r"[^a-z0-9]", "",
                                                                                            regex=True)
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    dup = np.zeros(len(key), dtype=bool)
    ok = np.isfinite(x) & np.isfinite(y) & (key != "").to_numpy()
    for _, idx in key[ok].groupby(key[ok]).groups.items():
        idx = np.asarray(idx)
        if len(idx) < 2:
            continue
        for j, i in enumerate(idx[1:], start=1):
            prev = idx[:j][~dup[idx[:j]]]
            if (np.hypot(x[prev] - x[i], y[prev] - y[i]) <= r).any():
                dup[i] = True
    return dup


def sensitive_sites(sites: gpd.GeoDataFrame, *, kinds: Sequence[str] | None = None,
                    within_m: float | None = None) -> gpd.GeoDataFrame:
    """The sites an exposure ranking or map uses: the chosen kinds, each site once.

    Parameters
    ----------
    sites : geopandas.GeoDataFrame
        With ``kind`` and ``name`` (e.g. ``Workspace.sites()``); kinds of earlier
        versions are read through :func:`site_kind`.
    kinds : sequence of str, optional
        ``None``: :data:`geo.settings.SENSITIVE_SITE_KINDS` (everything but "other").
    within_m : float, optional
        Duplicate distance (:func:`duplicate_sites`).

    Returns
    -------
    geopandas.GeoDataFrame
        The kept rows, ``kind`` normalised to the taxonomy.
    """
    if sites is None or len(sites) == 0:
        return sites
    wanted = set(SENSITIVE_SITE_KINDS if kinds is None else (site_kind(k) for k in kinds))
    out = sites.assign(kind=sites["kind"].map(site_kind))
    out = out[out["kind"].isin(wanted).to_numpy()]
    if out.empty:
        return out
    xy = shapely.get_coordinates(out.geometry.representative_point().to_numpy())
    return out[~duplicate_sites(out["name"], xy[:, 0], xy[:, 1], within_m=within_m)]
