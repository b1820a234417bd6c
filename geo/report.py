"""The import report: every input row accounted for.

Each row read ends up in exactly one outcome:

``mapped``
    has a usable location inside the workspace area;
``no_location``
    kept and counted in totals but not drawn (police.uk rows with no coordinates);
``outside_area``
    has a location outside the workspace area; kept and flagged;
``rejected``
    cannot be used, with its reason (bad date, unparseable or implausible coordinate,
    unknown category, ...). Rejected rows are kept in the report for download.

After storing, the kept rows are further split into ``new``, ``updated`` (a newer
version of a row already held, e.g. a changed outcome in a republished police.uk month)
and ``duplicates`` (rows already in the workspace, unchanged). A republished police.uk
force-month replaces the one held, so ``removed`` counts held rows of that force-month
that the new file no longer has.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

OUTCOMES = ("mapped", "no_location", "outside_area", "rejected")

#: Columns of :attr:`ImportReport.rejected`.
REJECTED_COLUMNS = ["file", "row", "column", "reason", "raw"]


@dataclass
class ImportReport:
    """Counts per outcome and reason for one import.

    Attributes
    ----------
    source : str
        What was imported (file, folder or archive).
    kind : str
        ``crime``, ``calls``, ``sites`` or ``boundaries``.
    rows_read : int
        Data rows read from all files (header lines excluded).
    outcomes : dict
        Count per outcome (see module docstring); sums to ``rows_read``.
    reasons : dict
        Count per rejection reason.
    rejected : pandas.DataFrame
        One row per rejected input row: file, row (1-based line number in the file,
        header is line 1), column, reason and the raw values as text.
    files : list of str
        Files that were read.
    skipped_files : dict
        Files that were recognised but not read, with the reason (e.g. police.uk
        outcomes files inside an archive).
    new, duplicates : int or None
        Filled in when the rows are stored: rows added, and rows already present unchanged.
    updated, removed : int or None
        Filled in when a republished force-month replaced the one held: rows whose content
        changed, and held rows the new file no longer has (deleted).
    warnings : list of str
        Things the user should know that did not stop the import.
    """

    source: str
    kind: str
    rows_read: int = 0
    outcomes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    reasons: dict[str, int] = field(default_factory=dict)
    rejected: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=REJECTED_COLUMNS))
    files: list[str] = field(default_factory=list)
    skipped_files: dict[str, str] = field(default_factory=dict)
    new: int | None = None
    duplicates: int | None = None
    updated: int | None = None
    removed: int | None = None
    warnings: list[str] = field(default_factory=list)

    def merge(self, other: "ImportReport") -> None:
        """Add another file's report to this one (used for folders and archives)."""
        self.rows_read += other.rows_read
        for k, v in other.outcomes.items():
            self.outcomes[k] = self.outcomes.get(k, 0) + v
        for k, v in other.reasons.items():
            self.reasons[k] = self.reasons.get(k, 0) + v
        if len(other.rejected):
            frames = [f for f in (self.rejected, other.rejected) if len(f)]
            self.rejected = pd.concat(frames, ignore_index=True)
        self.files += other.files
        self.skipped_files.update(other.skipped_files)
        self.warnings += other.warnings

    @property
    def balanced(self) -> bool:
        """True when the four outcomes add up to the rows read."""
        return sum(self.outcomes.get(k, 0) for k in OUTCOMES) == self.rows_read

    def table(self) -> pd.DataFrame:
        """Outcome and reason counts as a tidy table (outcome, reason, rows)."""
        rows = [(k.replace("_", " "), "", self.outcomes.get(k, 0)) for k in OUTCOMES]
        rows += [("rejected", reason, n) for reason, n in sorted(self.reasons.items())]
        rows.append(("total rows read", "", self.rows_read))
        if self.new is not None:
            rows.append(("stored: new", "", self.new))
            rows.append(("stored: already in workspace", "", self.duplicates or 0))
        if self.updated or self.removed:
            rows.append(("stored: updated (newer version)", "", self.updated or 0))
            rows.append(("stored: removed (not in the republished month)", "", self.removed or 0))
        return pd.DataFrame(rows, columns=["outcome", "reason", "rows"])

    def to_dict(self) -> dict:
        return {
            "source": self.source,
            "kind": self.kind,
            "rows_read": self.rows_read,
            "outcomes": dict(self.outcomes),
            "reasons": dict(self.reasons),
            "files": list(self.files),
            "skipped_files": dict(self.skipped_files),
            "new": self.new,
            "duplicates": self.duplicates,
            "updated": self.updated,
            "removed": self.removed,
            "warnings": list(self.warnings),
        }

    def summary(self) -> str:
        """A few lines of plain text for the command line."""
        o = self.outcomes
        lines = [
            f"Imported {self.kind} from {self.source}",
            f"  rows read     {self.rows_read:>10,}  ({len(self.files)} file(s))",
            f"  mapped        {o.get('mapped', 0):>10,}",
            f"  no location   {o.get('no_location', 0):>10,}  (counted, not drawn)",
            f"  outside area  {o.get('outside_area', 0):>10,}  (kept, flagged)",
            f"  rejected      {o.get('rejected', 0):>10,}",
        ]
        for reason, n in sorted(self.reasons.items(), key=lambda kv: -kv[1]):
            lines.append(f"    {reason:<40} {n:>8,}")
        if self.new is not None:
            lines.append(f"  stored new    {self.new:>10,}")
            lines.append(f"  already held  {self.duplicates or 0:>10,}  (not counted twice)")
        if self.updated or self.removed:
            lines.append(f"  updated       {self.updated or 0:>10,}  (newer version of a held row)")
            lines.append(f"  removed       {self.removed or 0:>10,}  (held, not in the republished month)")
        for name, why in self.skipped_files.items():
            lines.append(f"  skipped {name}: {why}")
        for w in self.warnings:
            lines.append(f"  warning: {w}")
        return "\n".join(lines)
