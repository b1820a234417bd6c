"""The weighted displacement quotient (Bowers & Johnson 2003): :func:`wdq`, with the gross and
net effects (:func:`gross_effect`, :func:`net_effect`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import GeoInputError
from .checks import Counts, count_pair


@dataclass(frozen=True)
class WDQResult:
    """Result of the weighted displacement quotient (:func:`wdq`).

    Attributes
    ----------
    success_measure : float
        ``A1/C1 - A0/C0``: the change in the treated area relative to the control.
        Negative means the intervention "worked" in the treated area.
    buffer_displacement_measure : float
        ``B1/C1 - B0/C0`` (``C`` is the buffer's control). Positive suggests
        displacement into the buffer, negative a diffusion of benefits.
    wdq : float
        ``buffer_displacement_measure / success_measure``; ``nan`` when the success
        measure is 0.
    total_net_effect : float
        ``[A0 * C1/C0 - A1] + [B0 * C1/C0 - B1]``: crimes prevented in the treated
        area plus those prevented (or, if negative, displaced) in the buffer, compared
        with what the control trend predicts. Positive is good.
    gross_effect : float
        ``A0 - A1`` (Guerette 2009): the raw fall in the treated area.
    net_effect : float
        ``A0/C0 - A1/C1`` (Guerette 2009): the fall relative to the control.
    interpretation : str
        Plain-language reading of ``wdq`` using Bowers & Johnson's thresholds.
    interpretable : bool
        ``False`` when there was no success in the treated area
        (``success_measure >= 0``), in which case ``wdq`` should not be read.
    """

    success_measure: float
    buffer_displacement_measure: float
    wdq: float
    total_net_effect: float
    gross_effect: float
    net_effect: float
    interpretation: str
    interpretable: bool


def _wdq_reading(sm: float, q: float) -> tuple[str, bool]:
    if not sm < 0 or not math.isfinite(q):
        return ("not interpretable: crime did not fall in the treated area relative to "
                "the control, so there is no effect to displace", False)
    if q > 1:
        return ("diffusion of benefits greater than the direct effect: crime fell in the "
                "buffer by more than in the treated area", True)
    if q > 0:
        return ("diffusion of benefits: crime also fell in the buffer, by less than the "
                "direct effect", True)
    if q == 0:
        return "no displacement and no diffusion of benefits in the buffer", True
    if q >= -1:
        return ("some displacement, but less than the direct effect: the intervention "
                "still prevented crime overall", True)
    return ("displacement greater than the direct effect: the scheme was "
            "counter-productive (backfire)", True)


def wdq(
    control: Counts,
    treated: Counts,
    disp_control: Counts | None = None,
    disp_treated: Counts | None = None,
) -> WDQResult:
    """Compute the weighted displacement quotient (WDQ) and total net effect.

    With ``A`` the treated ("target") area, ``B`` the buffer (``disp_treated``) and
    ``C`` the control area, ``0`` before and ``1`` after (Bowers & Johnson 2003,
    notation of Guerette 2009):

    * success measure ``SM = A1/C1 - A0/C0`` (negative: the scheme worked);
    * buffer displacement measure ``BDM = B1/C1 - B0/C0``;
    * ``WDQ = BDM / SM``;
    * total net effect ``TNE = [A0*(C1/C0) - A1] + [B0*(C1/C0) - B1]``.

    Reading of the WDQ (Bowers & Johnson 2003, Table 1), only when ``SM < 0``:
    ``WDQ > 1`` diffusion of benefits greater than the direct effect;
    ``0 < WDQ <= 1`` diffusion of benefits; ``WDQ = 0`` no effect in the buffer;
    ``-1 <= WDQ < 0`` some displacement, but less than the direct effect;
    ``WDQ < -1`` displacement greater than the direct effect (backfire).
    When ``SM >= 0`` there was no success to displace and the result is marked
    ``interpretable=False``. The WDQ has no standard error; use :func:`wdd` for a test.

    Parameters
    ----------
    control, treated : (float, float)
        ``(before, after)`` counts in the control and treated areas.
    disp_control : (float, float), optional
        A separate control for the buffer (as in :func:`wdd`). ``None`` (Bowers &
        Johnson's design) uses ``control`` for the buffer too.
    disp_treated : (float, float)
        ``(before, after)`` counts in the buffer. Required.

    Returns
    -------
    WDQResult
        Ratios are unitless; ``total_net_effect`` and ``gross_effect`` are crimes.

    Raises
    ------
    GeoInputError
        If ``disp_treated`` is missing, a count is negative, or a control count is 0
        (the ratios are then undefined).

    References
    ----------
    Bowers, K. J., & Johnson, S. D. (2003). Measuring the geographical displacement and
    diffusion of benefit effects of crime prevention activity. *Journal of Quantitative
    Criminology*, 19(3), 275-301.

    Guerette, R. T. (2009). *Analyzing crime displacement and diffusion*. Problem-Oriented
    Guides for Police, Problem-Solving Tools Series No. 10, Appendix B. Center for
    Problem-Oriented Policing.

    Examples
    --------
    Crime halves in the target (100 to 50) and the same 50 crimes appear in the
    buffer (100 to 150) while the control is flat: WDQ = -1, all of the effect was
    displaced and the total net effect is zero.

    >>> r = wdq((100, 100), (100, 50), disp_treated=(100, 150))
    >>> r.success_measure, r.buffer_displacement_measure, r.wdq, r.total_net_effect
    (-0.5, 0.5, -1.0, 0.0)
    """
    if disp_treated is None:
        raise GeoInputError(
            "The WDQ needs counts for the buffer around the treated area",
            fix="pass disp_treated=(before, after) for the buffer area",
        )
    c0, c1 = count_pair(control, "control")
    a0, a1 = count_pair(treated, "treated")
    b0, b1 = count_pair(disp_treated, "disp_treated")
    if disp_control is None:
        bc0, bc1 = c0, c1
    else:
        bc0, bc1 = count_pair(disp_control, "disp_control")
    for name, (x0, x1) in (("control", (c0, c1)), ("disp_control", (bc0, bc1))):
        if x0 == 0 or x1 == 0:
            raise GeoInputError(
                f"The WDQ divides by the `{name}` counts, and one of them is 0: "
                f"({x0:g}, {x1:g})",
                fix="choose a larger control area or longer periods so that it has "
                    "crimes both before and after, or use wdd() instead",
            )
    sm = a1 / c1 - a0 / c0
    bdm = b1 / bc1 - b0 / bc0
    q = bdm / sm if sm != 0 else float("nan")
    tne = (a0 * c1 / c0 - a1) + (b0 * bc1 / bc0 - b1)
    text, ok = _wdq_reading(sm, q)
    return WDQResult(
        success_measure=float(sm), buffer_displacement_measure=float(bdm), wdq=float(q),
        total_net_effect=float(tne), gross_effect=gross_effect(treated),
        net_effect=net_effect(control, treated), interpretation=text, interpretable=ok,
    )


def gross_effect(treated: Counts) -> float:
    """Gross effect ``GE = A0 - A1``: the raw fall in crime in the treated area.

    Parameters
    ----------
    treated : (float, float)
        ``(before, after)`` counts in the treated area.

    Returns
    -------
    float
        Crimes; positive means crime fell.

    References
    ----------
    Guerette, R. T. (2009). *Analyzing crime displacement and diffusion*, Appendix B, eq. 1.

    Examples
    --------
    >>> gross_effect((207, 110))
    97.0
    """
    a0, a1 = count_pair(treated, "treated")
    return a0 - a1


def net_effect(control: Counts, treated: Counts) -> float:
    """Net effect ``NE = A0/C0 - A1/C1``: the fall in the treated area relative to control.

    Parameters
    ----------
    control, treated : (float, float)
        ``(before, after)`` counts.

    Returns
    -------
    float
        Unitless; positive means the treated area improved relative to the control.
        Equal to ``-success_measure`` of :func:`wdq`.

    Raises
    ------
    GeoInputError
        If a control count is 0.

    References
    ----------
    Guerette, R. T. (2009). *Analyzing crime displacement and diffusion*, Appendix B, eq. 2.

    Examples
    --------
    >>> net_effect((100, 100), (100, 50))
    0.5
    """
    c0, c1 = count_pair(control, "control")
    a0, a1 = count_pair(treated, "treated")
    if c0 == 0 or c1 == 0:
        raise GeoInputError(
            f"The net effect divides by the control counts, and one is 0: ({c0:g}, {c1:g})",
            fix="choose a larger control area or longer periods",
        )
    return a0 / c0 - a1 / c1
