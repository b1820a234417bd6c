"""Password rules for local accounts: length, a bundled common-password list, the username. Pure.

Used by :class:`geo.auth.AccountStore` wherever a password is set (``users add``,
``users passwd``, the Admin page, the demo accounts).
"""
from __future__ import annotations

import functools
from pathlib import Path

from .errors import GeoInputError
from .settings import settings

COMMON_PASSWORDS_FILE = Path(__file__).resolve().parent / "data" / "common-passwords.txt"


@functools.lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The bundled list of common passwords, lower-cased (``geo/data/common-passwords.txt``)."""
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(s.strip().lower() for s in lines if s.strip() and not s.startswith("#"))


def check_password(password: str, *, username: str | None = None, min_length: int | None = None) -> None:
    """Refuse a weak password with a :class:`GeoInputError` saying why and how to fix it.

    Parameters
    ----------
    password : str
    username : str, optional
        The account's name: a password containing it (ignoring case; names of four or
        more characters, or the part before ``@``) is refused.
    min_length : int, optional
        Minimum length; ``None`` means ``settings.min_password_length`` (10).

    Notes
    -----
    Refused: shorter than the minimum; in the bundled common-password list, also once
    trailing digits and punctuation are removed (``Football123!`` is ``football``); or
    containing the username. Long passphrases of unrelated words pass (NCSC: "three
    random words").

    Examples
    --------
    >>> check_password("tram kettle orbit")
    >>> try:
    ...     check_password("Password123!")
    ... except GeoInputError as err:
    ...     print(err.what)
    The password is a commonly used password, the first that attackers try
    """
    n = settings.min_password_length if min_length is None else int(min_length)
    if not isinstance(password, str) or len(password) < n:
        raise GeoInputError(f"The password is shorter than {n} characters",
                            fix="choose a longer password (a few unrelated words work well)")
    low = password.strip().lower()
    common = common_passwords()
    if low in common or low.rstrip("0123456789!@#$%^&*()_+-=.,?~ ") in common or \
            low.replace(" ", "") in common:
        raise GeoInputError("The password is a commonly used password, the first that attackers try",
                            fix="choose something else (three unrelated words work well)")
    if username:
        name = username.strip().lower()
        parts = {name, name.split("@", 1)[0]}
        if any(len(p) >= 4 and p in low for p in parts):
            raise GeoInputError("The password contains the username",
                                fix="choose a password that does not include the account's name")
