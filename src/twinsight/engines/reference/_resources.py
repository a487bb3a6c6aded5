"""Resources as plain counters: a capacity and an amount in use (which may exceed it).

SimPy's own ``Resource`` does not fit the contract: the dispatcher decides globally who starts,
and a capacity drop never pre-empts anyone, so ``in_use > capacity`` (over-commitment) is legal.
"""

from __future__ import annotations

from ._stats import TimeWeighted

__all__ = ["ResourcePool"]


class ResourcePool:
    """One resource (servers, beds, staff): ``capacity`` units, ``in_use`` of them held.

    ``used`` and ``offered`` integrate ``in_use`` and ``capacity`` over time for the KPIs.
    """

    def __init__(self, name: str, capacity: int, used: TimeWeighted, offered: TimeWeighted) -> None:
        self.name = name
        self.capacity = capacity
        self.in_use = 0
        self.used = used
        self.offered = offered
        offered.set(0.0, capacity)

    def free(self) -> int:
        """Units available now (negative while over-committed)."""
        return self.capacity - self.in_use

    def seize(self, t: float, amount: int) -> None:
        """Take ``amount`` units at ``t`` (the caller checked availability, or over-commits)."""
        self.in_use += amount
        self.used.set(t, self.in_use)

    def release(self, t: float, amount: int) -> None:
        """Give back ``amount`` units at ``t``."""
        self.in_use -= amount
        assert self.in_use >= 0, f"{self.name}: released more than was held"
        self.used.set(t, self.in_use)

    def set_capacity(self, t: float, capacity: int) -> None:
        """A schedule step at ``t``: nobody is pre-empted when it drops below ``in_use``."""
        self.capacity = capacity
        self.offered.set(t, capacity)
