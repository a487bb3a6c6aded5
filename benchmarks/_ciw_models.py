"""The benchmark models in Ciw (``ciw.create_network`` / ``ciw.Simulation``), parameters read
from the Twinsight spec.

- :func:`mmc_rep`: the M/M/c queue, exactly.
- :func:`hospital_rep`: the hospital-like network as far as Ciw expresses it. What Ciw does
  exactly: hour-of-day arrivals (``PoissonIntervals``; the class mix as split Poisson streams),
  elective arrivals by weekday (``Sequential`` gaps), nurse and doctor shifts (``ciw.Schedule``,
  non-pre-emptive), class priorities, patience (reneging), wards without waiting room (external
  arrivals rejected, transfers blocked, first blocked first admitted) and the discharge window (a
  service-time distribution that adds the time until the window opens; the bed is kept).
  What it cannot: a Ciw customer is served by one server of one node, so treatment cannot seize a
  cubicle AND a doctor. Treatment is served by the doctors only (cubicles are not modelled), and
  a patient waiting for a ward bed boards in an uncapacitated boarding node (the doctor is freed,
  as in the spec, but no cubicle is held). :data:`HOSPITAL_SIMPLIFIED` says so in the output.
"""

from __future__ import annotations

import math
from typing import Any

import ciw

from twinsight.spec import (
    MINUTES_PER_DAY,
    Distribution,
    Exponential,
    FlowSpec,
    Gamma,
    Lognormal,
    PoissonArrivals,
    ScheduledArrivals,
    TimeWindow,
    Triangular,
    gamma_params,
    lognormal_params,
)

from ._common import RepStats, WallClock
from ._simpy_models import MMCParams

__all__ = ["HOSPITAL_SIMPLIFIED", "hospital_rep", "mmc_rep"]

HOSPITAL_SIMPLIFIED = (
    "Ciw hospital simplified: treatment seizes a doctor only (Ciw serves a customer with one "
    "server of one node, so the cubicle AND doctor seize and the 12-cubicle limit are not "
    "modelled); boarders wait in an uncapacitated boarding node instead of keeping a cubicle. "
    "Exact: arrival profile, electives, shifts, priorities, patience, blocking/rejection at the "
    "wards, discharge window."
)


def mmc_rep(p: MMCParams, seed: int, horizon: float, warmup: float) -> RepStats:
    """One replication of M/M/c in Ciw: mean wait of customers starting service after warmup."""
    ciw.seed(seed)
    net = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=p.lam)],
        service_distributions=[ciw.dists.Exponential(rate=1.0 / p.mean_service)],
        number_of_servers=[p.servers],
    )
    sim = ciw.Simulation(net)
    sim.simulate_until_max_time(horizon)
    recs = sim.get_all_records()
    waits = [r.waiting_time for r in recs if r.service_start_date >= warmup]
    done = sum(1 for r in recs if r.exit_date >= warmup)
    wait = sum(waits) / len(waits) if waits else math.nan
    return RepStats(done, {f"wait_mean[{p.station}]": wait})


def _dist(d: Distribution) -> Any:
    """The Ciw distribution of a spec distribution."""
    if isinstance(d, Exponential):
        return ciw.dists.Exponential(rate=1.0 / d.mean)
    if isinstance(d, Lognormal):
        mu, sigma = lognormal_params(d.mean, d.sd)
        return ciw.dists.Lognormal(mu, sigma)
    if isinstance(d, Gamma):
        k, theta = gamma_params(d.mean, d.sd)
        return ciw.dists.Gamma(k, theta)
    if isinstance(d, Triangular):
        return ciw.dists.Triangular(d.min, d.mode, d.max)
    raise ValueError(f"the Ciw benchmark model supports no {type(d).__name__} distribution")


class _UntilWindow(ciw.dists.Distribution):  # type: ignore[misc]
    """Length of stay, then the wait for the daily discharge window (the bed is kept)."""

    def __init__(self, base: Any, clock: WallClock, window: TimeWindow) -> None:
        self.base, self.clock, self.window = base, clock, window

    def sample(self, t: float | None = None, ind: Any = None) -> float:
        start = 0.0 if t is None else t
        x = float(self.base.sample(t, ind))
        return x + self.clock.until_open(start + x, self.window)


def _schedule(spec: FlowSpec, name: str) -> Any:
    """A daily ``ciw.Schedule`` from a spec resource whose first step is at 00:00."""
    sched = spec.resources[name].schedule
    assert sched is not None and sched.repeat == "day"
    mpu = spec.time_unit.minutes_per_unit
    marks = [m / mpu for m in sched.step_minutes()]
    if marks[0] != 0.0 or spec.start.minutes_of_week() % MINUTES_PER_DAY != 0.0:
        raise ValueError("the Ciw benchmark model supports only daily shifts from 00:00")
    ends = [*marks[1:], MINUTES_PER_DAY / mpu]
    return ciw.Schedule(
        numbers_of_servers=[s.capacity for s in sched.steps], shift_end_dates=ends,
        preemption=False,
    )


def hospital_rep(spec: FlowSpec, seed: int, horizon: float, warmup: float) -> RepStats:
    """One replication of the (simplified, see :data:`HOSPITAL_SIMPLIFIED`) hospital in Ciw."""
    ciw.seed(seed)  # before building: PoissonIntervals draws its arrival dates when created
    clock = WallClock(spec)
    st = spec.stations
    nodes = ["triage", "treatment", "board_medical", "board_surgical",
             "medical_ward", "surgical_ward"]
    ix = {n: i for i, n in enumerate(nodes)}
    board = {"medical_ward": "board_medical", "surgical_ward": "board_surgical"}
    classes = list(spec.classes)
    n = len(nodes)
    arrivals: dict[str, list[Any]] = {c: [None] * n for c in classes}
    for arr in spec.arrivals:
        if isinstance(arr, PoissonArrivals):
            table = clock.rate_table(arr)
            mix = {arr.entity_class: 1.0} if isinstance(arr.entity_class, str) else arr.entity_class
            for c, share in mix.items():
                arrivals[c][ix[arr.to]] = ciw.dists.PoissonIntervals(
                    rates=[r * share for r in table],
                    endpoints=[(h + 1) * 60.0 / clock.mpu for h in range(168)],
                    max_sample_date=horizon,
                )
        elif isinstance(arr, ScheduledArrivals):
            assert isinstance(arr.entity_class, str)
            times, last = [], 0.0
            for t, count in clock.scheduled(arr, horizon):
                times += [t - last] + [0.0] * (count - 1)
                last = t
            arrivals[arr.entity_class][ix[arr.to]] = ciw.dists.Sequential([*times, math.inf])
    zero = ciw.dists.Deterministic(0.0)
    services: dict[str, list[Any]] = {}
    for c in classes:
        row = [_dist(st["triage"].service_for(c)), _dist(st["treatment"].service_for(c)), zero,
               zero]
        for ward in ("medical_ward", "surgical_ward"):
            win = st[ward].release_window
            base = _dist(st[ward].service_for(c))
            row.append(base if win is None else _UntilWindow(base, clock, win))
        services[c] = row
    routing: dict[str, list[list[float]]] = {}
    for c in classes:
        m = [[0.0] * n for _ in range(n)]
        for src in ("triage", "treatment"):
            for r in st[src].routes_for(c):
                if r.to in board:
                    m[ix[src]][ix[board[r.to]]] += r.p
                elif r.to != "exit":
                    m[ix[src]][ix[r.to]] += r.p
        m[ix["board_medical"]][ix["medical_ward"]] = 1.0
        m[ix["board_surgical"]][ix["surgical_ward"]] = 1.0
        routing[c] = m
    reneging = {c: [None] * n for c in classes}
    for c in classes:
        pat = st["treatment"].patience_for(c)
        if pat is not None:
            reneging[c][ix["treatment"]] = _dist(pat)
    levels = sorted({k.priority for k in spec.classes.values()})  # Ciw wants 0, 1, ...
    net = ciw.create_network(
        arrival_distributions=arrivals,
        service_distributions=services,
        routing=routing,
        number_of_servers=[
            _schedule(spec, "triage_nurse"), _schedule(spec, "ed_doctor"), math.inf, math.inf,
            spec.resources["medical_bed"].max_capacity(),
            spec.resources["surgical_bed"].max_capacity(),
        ],
        queue_capacities=[math.inf, math.inf, math.inf, math.inf,
                          st["medical_ward"].queue_capacity, st["surgical_ward"].queue_capacity],
        priority_classes={c: levels.index(k.priority) for c, k in spec.classes.items()},
        reneging_time_distributions=reneging,
    )
    sim = ciw.Simulation(net)
    sim.simulate_until_max_time(horizon)
    recs = sim.get_all_records()
    treat, med = ix["treatment"] + 1, ix["medical_ward"] + 1  # Ciw numbers nodes from 1
    waits = [r.waiting_time for r in recs if r.node == treat and r.record_type == "service"
             and r.service_start_date >= warmup]
    left = sum(
        1 for r in recs if r.exit_date >= warmup
        and (r.record_type != "service" or r.destination == -1)
    )
    area = 0.0
    for r in recs:
        if r.node == med and r.record_type == "service":
            area += max(0.0, min(r.exit_date, horizon) - max(r.arrival_date, warmup))
    for ind in sim.nodes[med].all_individuals:
        area += max(0.0, horizon - max(ind.arrival_date, warmup))
    wait = sum(waits) / len(waits) if waits else math.nan
    return RepStats(
        left,
        {"wait_mean[treatment]": wait, "in_station_mean[medical_ward]": area / (horizon - warmup)},
    )
