"""Disclosure control for partners: one published table, and every partner figure derived from it.

Partners (council, public health, treatment, housing) see counts and harm aggregated
to areas, never an incident. The guarantee is provable rather than heuristic:

* **one published base table** (:func:`published_for`, :func:`publish`): base unit
  (LSOA; else neighbourhood or ward; else a fixed 500 m hexagon grid) × calendar
  quarter (complete quarters only, :func:`complete_quarters`) × crime type, with counts
  from 1 to ``threshold - 1`` shown as ``"<5"`` (and their harm with them);
* **every other figure** (a drawn area, a ward, a BCU, the force, several quarters,
  harm, a map or chart value) is a sum of base cells, each ``"<5"`` counting as the
  interval 1..4 (:class:`Figure`): exact when no hidden cell is inside, else a range
  or "about N", a function of published values alone. So no combination of partner
  figures says more than the base table;
* **areas are whole base units**: a drawn polygon is the units whose representative
  point lies inside, with a minimum number of units (:meth:`Published.snap`).

See ``docs/DISCLOSURE.md``. :func:`suppress` and :func:`recoverable` remain for
two-dimensional tables published with their margins (primary ``<5`` and secondary
``*`` suppression so that no hidden cell follows from the totals).

A package: ``published.py`` (:func:`publish`, :func:`published_for`, :class:`Published`,
:class:`Figure`), ``units.py`` (base units and complete quarters) and ``suppression.py``
(:func:`suppress`, :func:`recoverable`, :func:`check_aggregate`). Import from here:
``from geo.disclosure import Published``.

References
----------
Hundepool et al. (2012) *Statistical Disclosure Control*, Wiley, ch. 4 (tabular data;
the "at least two suppressed cells per line" rule and its limits).
ONS (2023) *Disclosure control guidance for tables produced from administrative sources*.
"""
from __future__ import annotations

from ..periods import quarter_label, quarter_months, quarter_of, quarter_run, quarters_label
from .published import Figure, Published, pct_change, publish, published_for, share
from .suppression import (FORBIDDEN_COLUMNS, HARM_ROUND, NOTE, SECONDARY, TOTAL, SuppressedTable, check_aggregate,
                          primary_label, recoverable, round_harm, suppress)
from .units import (BASE_LEVELS, HEX_SIZE_M, SMALL_CELL_ESTIMATE, base_units, complete_quarters, hex_units,
                    quarters_for_months)

__all__ = [
    "Published", "Figure", "publish", "published_for", "pct_change", "share",
    "base_units", "hex_units", "complete_quarters", "quarters_for_months",
    "BASE_LEVELS", "HEX_SIZE_M", "SMALL_CELL_ESTIMATE",
    "suppress", "recoverable", "SuppressedTable", "check_aggregate", "round_harm", "primary_label",
    "FORBIDDEN_COLUMNS", "HARM_ROUND", "NOTE", "SECONDARY", "TOTAL",
    # calendar quarters are geo.periods' (re-exported: partners' code reads them here)
    "quarter_of", "quarter_months", "quarter_label", "quarters_label", "quarter_run",
]
