"""One error type for input that cannot be analysed as given."""
from __future__ import annotations


class GeoInputError(ValueError):
    """Input cannot be analysed as given; the message says what, where and how to fix it.

    Parameters
    ----------
    what : str
        What is wrong, in plain words.
    where : str, optional
        File, row and/or column where the problem was found.
    fix : str, optional
        What the user should do about it.
    """

    def __init__(self, what: str, *, where: str | None = None, fix: str | None = None):
        self.what = what
        self.where = where
        self.fix = fix
        parts = [what.rstrip(".") + "."]
        if where:
            parts.append(f"Where: {where}.")
        if fix:
            parts.append(f"Fix: {fix.rstrip('.')}.")
        super().__init__(" ".join(parts))
