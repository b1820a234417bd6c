"""Roles from an identity provider's claims (OIDC through Streamlit's ``st.login``). Pure."""
from __future__ import annotations

import re

from .auth import ROLE_PRIORITY, ROLES, User

def _claim_values(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v for v in re.split(r"[\s,;]+", value) if v]
    if isinstance(value, (list, tuple, set)):
        return [str(v) for v in value]
    return [str(value)]


def user_from_claims(claims: dict, *, role_claim: str = "roles", bcu_claim: str = "bcus",
                     role_map: dict[str, str] | None = None) -> User | None:
    """Map an identity provider's claims to a :class:`User`, or ``None`` without a known role.

    Parameters
    ----------
    claims : dict
        The ID-token claims (``st.user.to_dict()``).
    role_claim : str
        Claim holding the role(s): a list or a space/comma separated string. Dotted names
        reach into nested claims (``realm_access.roles``).
    bcu_claim : str
        Claim with an inspector's BCU codes.
    role_map : dict, optional
        Provider group or role names to product roles, e.g. ``{"SYP-Drugs-Analyst": "analyst"}``.
        Values equal to a product role map to themselves.

    Returns
    -------
    User or None
        The highest role present (admin > analyst > inspector > partner); ``None`` when
        the claims carry no known role, so the user is refused rather than given a default.

    Examples
    --------
    >>> user_from_claims({"email": "a@x.police.uk", "roles": ["partner"]}).role
    'partner'
    >>> user_from_claims({"sub": "1", "groups": "g-insp", "bcus": "E08000019"}, role_claim="groups",
    ...                  role_map={"g-insp": "inspector"}).bcus
    ('E08000019',)
    """
    def get(name):
        cur = claims
        for part in name.split("."):
            if not isinstance(cur, dict) or part not in cur:
                return None
            cur = cur[part]
        return cur

    mapping = {k.lower(): v for k, v in (role_map or {}).items()}
    found = set()
    for raw in _claim_values(get(role_claim)):
        role = mapping.get(raw.lower(), raw.lower())
        if role in ROLES:
            found.add(role)
    role = next((r for r in ROLE_PRIORITY if r in found), None)
    if role is None:
        return None
    username = next((str(claims[k]) for k in ("email", "preferred_username", "upn", "sub") if claims.get(k)), "")
    if not username:
        return None
    return User(username=username, role=role, bcus=tuple(_claim_values(get(bcu_claim))), source="oidc",
                display_name=str(claims.get("name") or ""))
