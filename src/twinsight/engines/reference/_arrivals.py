"""Arrival streams as SimPy processes and timeouts (docs/semantics.md, "Arrivals").

Each stream draws everything it needs (gaps, thinning uniforms, batch sizes, classes) from its
own generator ``arrival:<name>`` and hands each arrival event to an ``admit`` callback with the
destination station and the classes of the entities that arrive together, in order.
"""

from __future__ import annotations

from collections.abc import Callable, Generator

import numpy as np
import simpy

from ...spec import PoissonArrivals, ScheduledArrivals
from .._calendar import Calendar
from ._sampling import draw_batch, draw_index

__all__ = ["Admit", "draw_classes", "poisson_process", "scheduled_process"]

#: A class name, or {class: probability} drawn per entity (the spec's ``class`` field).
ClassMix = str | dict[str, float]
#: Called at each arrival event with (destination station, classes of the arriving entities).
Admit = Callable[[str, list[str]], None]


def draw_classes(mix: ClassMix, count: int, rng: np.random.Generator) -> list[str]:
    """The classes of ``count`` entities, each drawn independently from ``mix``."""
    if isinstance(mix, str):
        return [mix] * count
    names = list(mix)
    probabilities = [mix[c] for c in names]
    return [names[draw_index(probabilities, rng)] for _ in range(count)]


def poisson_process(
    env: simpy.Environment,
    arrivals: PoissonArrivals,
    calendar: Calendar,
    rng: np.random.Generator,
    admit: Admit,
) -> Generator[simpy.Event, None, None]:
    """A Poisson stream: constant ``rate``, or a weekly hourly profile by thinning.

    Candidate events come at the profile's maximum rate (per time_unit); a candidate at ``t``
    is kept with probability ``rate(t) / max``, where ``rate(t)`` is the dated rate ``k =
    floor(t / step)`` while there is one, else the table's rate for the wall-clock hour of week
    at ``t``. The first arrival comes one gap after ``t = 0``; the run stops at the horizon, so
    do the arrivals.
    """
    table = calendar.rate_table(arrivals)
    step, dated = calendar.dated_rates(arrivals)
    top = calendar.rate_max(arrivals)
    thinning = arrivals.profile is not None
    while True:
        yield env.timeout(float(rng.exponential(1.0 / top)))
        if thinning:
            k = int(env.now / step)
            if k < dated.size:
                rate = float(dated[k])
            else:
                rate = float(table[min(int(calendar.minute_of_week(env.now) // 60.0), 167)])
            if float(rng.random()) * top >= rate:
                continue
        count = draw_batch(arrivals.batch, rng)
        admit(arrivals.to, draw_classes(arrivals.entity_class, count, rng))


def scheduled_process(
    env: simpy.Environment,
    arrivals: ScheduledArrivals,
    calendar: Calendar,
    horizon: float,
    rng: np.random.Generator,
    admit: Admit,
) -> Generator[simpy.Event, None, None]:
    """Scheduled arrivals: at each slot instant in ``[0, horizon)``, ``count`` entities.

    Like every stream, the process puts its next event on the event list when the previous one
    fires. Slots at ``t = 0`` arrive; slots at ``t = horizon`` do not. Classes are drawn when
    the entities arrive.
    """
    for t, count in calendar.arrival_cycle(arrivals).until(horizon):
        yield env.timeout(t - env.now)
        admit(arrivals.to, draw_classes(arrivals.entity_class, count, rng))
