"""Harm weights and the drug-market harm basket.

Harm, not volume: each incident is weighted by the harm of its category. The default
table is the Cambridge Crime Harm Index (CCHI) mapped onto the police.uk crime types
(recommended sentence days; Sherman, Neyroud & Neyroud 2016). Categories with no weight
(e.g. calls-for-service groups) get :data:`DEFAULT_WEIGHT` and are listed so the analyst
can set them.

Drug offences are found by proactive policing: their count measures enforcement
activity, so they are shown as "enforcement activity" and are never part of the harm
basket.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import GeoInputError
from .settings import settings

logger = logging.getLogger(__name__)

DEFAULT_WEIGHT = 1.0
HARM_SOURCE = ("Cambridge Crime Harm Index (Sherman, Neyroud & Neyroud 2016, Policing 10(3)), "
               "mapped to police.uk categories")
#: Label used wherever the drug-offence count is shown.
ENFORCEMENT_LABEL = "Drug offences recorded (enforcement activity, not harm)"


def read_harm_weights(path) -> pd.DataFrame:
    """Read a harm-weight CSV (``crime_type`` or ``category``, ``cchi_days`` or ``weight``).

    Returns
    -------
    pandas.DataFrame
        Columns ``category``, ``weight`` (days), ``basis``, ``source``.
    """
    path = Path(path)
    import csv
    with open(path, newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    if not rows:
        raise GeoInputError("The harm-weight file is empty", where=str(path), fix="restore the default table")
    header, body = rows[0], [r for r in rows[1:] if any(c.strip() for c in r)]
    # The last column (basis) is free text that may hold unquoted commas: join the spill-over.
    n = len(header)
    df = pd.DataFrame([r[: n - 1] + [",".join(r[n - 1:])] if len(r) > n else r + [""] * (n - len(r))
                       for r in body], columns=header)
    cat = next((c for c in ("category", "crime_type") if c in df.columns), None)
    w = next((c for c in ("weight", "cchi_days") if c in df.columns), None)
    if cat is None or w is None:
        raise GeoInputError(
            "The harm-weight file needs a category column and a weight column",
            where=f"{path}, line 1 (header: {', '.join(df.columns)})",
            fix="name the columns 'category' and 'weight' (days of imprisonment equivalent)",
        )
    weights = pd.to_numeric(df[w], errors="coerce")
    bad = weights.isna() | (weights < 0)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise GeoInputError(
            f"Weight '{df[w].iloc[i]}' for '{df[cat].iloc[i]}' is not a non-negative number",
            where=f"{path}, line {i + 2}, column {w}", fix="enter the weight in days, e.g. 194.21",
        )
    return pd.DataFrame({
        "category": df[cat].str.strip(), "weight": weights.astype(float),
        "basis": df["basis"] if "basis" in df.columns else "",
        "source": HARM_SOURCE if w == "cchi_days" else path.name,
    })


def validate_weights(table: pd.DataFrame) -> pd.DataFrame:
    """Check an edited weight table; raise :class:`GeoInputError` saying which row is wrong."""
    if not {"category", "weight"} <= set(table.columns):
        raise GeoInputError("The harm table needs 'category' and 'weight' columns",
                            fix="restore the default table and edit the weights only")
    t = table.copy()
    t["category"] = t["category"].astype(str).str.strip()
    w = pd.to_numeric(t["weight"], errors="coerce")
    bad = w.isna() | (w < 0) | (t["category"] == "")
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise GeoInputError(
            f"Row {i + 1} ('{t['category'].iloc[i]}') has weight '{table['weight'].iloc[i]}'",
            where=f"harm table, row {i + 1}", fix="give every category a name and a weight of 0 or more",
        )
    dup = t["category"].duplicated()
    if dup.any():
        raise GeoInputError(f"Category '{t['category'][dup].iloc[0]}' appears twice", where="harm table",
                            fix="keep one row per category")
    t["weight"] = w.astype(float)
    for col in ("basis", "source"):
        if col not in t:
            t[col] = ""
    return t[["category", "weight", "basis", "source"]]


def weights_for(categories: pd.Series, table: pd.DataFrame) -> np.ndarray:
    """Harm weight per row; categories missing from the table get :data:`DEFAULT_WEIGHT`."""
    lookup = dict(zip(table["category"], table["weight"]))
    # each distinct category looked up once (a force has a few hundred thousand rows, a dozen categories)
    codes, uniq = pd.factorize(categories)
    per = np.append(pd.Series(uniq, dtype=object).map(lookup).fillna(DEFAULT_WEIGHT).to_numpy(dtype=float),
                    DEFAULT_WEIGHT)   # code -1 (missing category): the default, as map + fillna gives
    return per[codes]


def missing_categories(categories, table: pd.DataFrame) -> list[str]:
    """Categories present in the data but absent from the weight table."""
    return sorted(set(categories) - set(table["category"]))


def is_drug_related_call(category: pd.Series, subcategory: pd.Series | None = None,
                         keywords=settings.drug_call_keywords) -> np.ndarray:
    """True for calls whose category or description names drugs (keywords in settings)."""
    pattern = "|".join(keywords)

    def named(col: pd.Series) -> np.ndarray:   # each distinct text tested once, missing as ""
        codes, uniq = pd.factorize(col)
        words = pd.Series(np.append(np.asarray(uniq, dtype=object), ""), dtype=object)
        return words.str.upper().str.contains(pattern, regex=True).to_numpy(dtype=bool)[codes]

    hit = named(category)
    if subcategory is not None:
        hit = hit | named(subcategory)
    return hit


def in_basket(incidents: pd.DataFrame, basket=settings.drug_market_basket) -> np.ndarray:
    """True for incidents in the drug-market harm basket.

    Recorded crime in the basket's categories, plus drug-related calls for service. The
    ``Drugs`` offence category is never in the basket (it measures enforcement activity).
    """
    layer = incidents.get("layer", pd.Series("crime", index=incidents.index))
    crime = (layer != "calls").to_numpy() & incidents["category"].isin(basket).to_numpy()
    calls = (layer == "calls").to_numpy() & is_drug_related_call(
        incidents["category"], incidents.get("subcategory"))
    return (crime | calls) & (incidents["category"] != settings.enforcement_category).to_numpy()


def add_harm(incidents: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """Return ``incidents`` with ``harm`` (weight per row) and ``in_basket`` columns."""
    out = incidents.copy()
    out["harm"] = weights_for(out["category"], table)
    out["in_basket"] = in_basket(out)
    return out


def summarise(incidents: pd.DataFrame, by: str | list[str] = "category") -> pd.DataFrame:
    """Counts and harm per group, largest harm first (needs :func:`add_harm` columns)."""
    g = incidents.groupby(by, observed=True).agg(count=("harm", "size"), harm=("harm", "sum"))
    total = g["harm"].sum()
    g["harm_share"] = g["harm"] / total if total else 0.0
    return g.sort_values("harm", ascending=False).reset_index()
