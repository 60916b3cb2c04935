"""Argument checks: one message style for every public function.

"`top_k` has to be an integer >= 1, but is 0", "`min_p` has to be a float in the [0, 1] interval,
but is 1.3": the parameter, the allowed range and the value received. A bool is never accepted as
a number (``k=True`` is refused), nor a NaN or an infinity as a float.

Examples:
    >>> check_int("num_beams", 4, 1)
    >>> check_float("min_p", 1.3, 0, 1)
    Traceback (most recent call last):
    ...
    ValueError: `min_p` has to be a float in the [0, 1] interval, but is 1.3
"""

from __future__ import annotations

import math


def interval_text(low: float, high: float, low_open: bool = False, high_open: bool = False) -> str:
    """``[0, 1]``, ``(0, inf)``, ...: an interval as the error messages state it."""
    return f"{'(' if low_open else '['}{low:g}, {'inf' if math.isinf(high) else f'{high:g}'}{')' if high_open else ']'}"


def check_int(name: str, value, low: int, high: int | None = None) -> None:
    """Refuse ``value`` unless it is an integer (not a bool) >= ``low`` (and <= ``high``)."""
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= low and (high is None or value <= high)
    if not ok:
        allowed = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"`{name}` has to be an integer {allowed}, but is {value!r}")


def check_float(
    name: str, value, low: float = -math.inf, high: float = math.inf, low_open: bool = False, high_open: bool = False
) -> None:
    """Refuse ``value`` unless it is a finite number (not a bool) in the interval from ``low`` to
    ``high`` (each end closed unless ``*_open``)."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        ok = (value > low if low_open else value >= low) and (value < high if high_open else value <= high)
    if not ok:
        if math.isinf(low) and math.isinf(high):
            allowed = "a finite float"
        elif math.isinf(high) and not low_open:
            allowed = f"a float >= {low:g}"
        else:
            allowed = f"a float in the {interval_text(low, high, low_open, high_open)} interval"
        raise ValueError(f"`{name}` has to be {allowed}, but is {value!r}")


__all__ = ["check_float", "check_int", "interval_text"]
