"""Input checks shared by the tests: ``(before, after)`` count pairs, weights and the significance
level (:func:`check_alpha`), and the ``Counts`` and ``Alternative`` types.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from ..errors import GeoInputError
from ..settings import settings

Counts = Sequence[float]
"""A ``(before, after)`` pair of non-negative counts."""

Alternative = Literal["two-sided", "greater", "less"]


def count_pair(value, name: str, *, allow_zero_weight: bool = True) -> tuple[float, float]:
    """Return ``value`` as a ``(before, after)`` tuple of non-negative finite floats."""
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as err:
        raise GeoInputError(
            f"`{name}` must be two numbers (before, after), got {value!r}",
            fix=f"pass `{name}` as a pair such as (120, 95)",
        ) from err
    if arr.shape != (2,):
        raise GeoInputError(
            f"`{name}` must be two numbers (before, after), got shape {arr.shape}",
            fix=f"pass `{name}` as a pair such as (120, 95)",
        )
    if not np.all(np.isfinite(arr)):
        raise GeoInputError(
            f"`{name}` has a missing or infinite count: {tuple(arr.tolist())}",
            fix="fill the missing period with its count (0 if there were no crimes)",
        )
    if np.any(arr < 0):
        raise GeoInputError(
            f"`{name}` has a negative count: {tuple(arr.tolist())}",
            fix="counts of crime cannot be negative; check the before/after totals",
        )
    return float(arr[0]), float(arr[1])


def check_weights(value, name: str, length: int) -> tuple[float, ...]:
    """``value`` as ``length`` positive finite weights; :class:`GeoInputError` otherwise."""
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as err:
        raise GeoInputError(f"`{name}` must be {length} positive numbers, got {value!r}",
                            fix=f"pass `{name}` as a tuple of {length} numbers") from err
    if arr.shape != (length,):
        raise GeoInputError(
            f"`{name}` must be {length} positive numbers, got shape {arr.shape}",
            fix=f"pass `{name}` as a tuple of {length} numbers",
        )
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise GeoInputError(
            f"`{name}` must be positive, got {tuple(arr.tolist())}",
            fix="weights are lengths of time or sizes of area; use e.g. months or km²",
        )
    return tuple(float(v) for v in arr)


def check_alpha(alpha: float | None) -> float:
    """`alpha`, or ``settings.alpha`` if ``None``; raises unless 0 < alpha < 1."""
    a = settings.alpha if alpha is None else alpha
    if not 0 < a < 1:
        raise GeoInputError(f"`alpha` must be between 0 and 1, got {a}",
                            fix="use a significance level such as 0.05 or 0.10")
    return float(a)
