"""Little's law L = lambda W, in each of its three readings.

``L``: time-average number present; ``lambda``: entry (or, equivalently in steady state,
departure) rate per time unit; ``W``: mean time spent, in the same time unit.
"""

from __future__ import annotations

__all__ = ["little_l", "little_rate", "little_w"]


def little_l(rate: float, time_in: float) -> float:
    """Mean number present, L = lambda W."""
    return rate * time_in


def little_w(number: float, rate: float) -> float:
    """Mean time spent, W = L / lambda (``rate`` > 0)."""
    if rate <= 0:
        raise ValueError("rate must be positive")
    return number / rate


def little_rate(number: float, time_in: float) -> float:
    """Throughput, lambda = L / W (``time_in`` > 0)."""
    if time_in <= 0:
        raise ValueError("time_in must be positive")
    return number / time_in
