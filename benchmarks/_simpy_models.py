"""The benchmark models written by hand in SimPy, the way a SimPy user would write them.

Processes, ``simpy.Resource`` / ``PriorityResource``, timeouts and Python's ``random`` module;
parameters are read from the Twinsight spec so that every tool runs the same model. Nothing here
uses Twinsight's engines.

- :func:`mmc_rep`: one replication of the M/M/c queue (``examples/mmc.yaml``).
- :func:`hospital_rep`: one replication of the hospital-like network (``examples/hospital.yaml``):
  hour-of-day arrivals (thinning), triage with a nurse shift pattern, treatment seizing a cubicle
  AND a doctor (doctor shifts), class priorities, patience, boarding (the cubicle is kept until a
  ward bed is free), wards without waiting room, elective admissions by weekday, and discharges
  only inside the daily window.

Shifts use the usual SimPy idiom: the resource has its largest capacity, and "off-shift"
requests at top priority hold the units that are not on duty (non-pre-emptive, so a unit that is
busy when its shift ends finishes its patient first, as Twinsight's semantics say).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Generator
from functools import partial
from typing import Any

import simpy
from simpy.resources.resource import PriorityRequest as Request

from twinsight.spec import EXIT, FlowSpec, PoissonArrivals, ScheduledArrivals
from twinsight.spec import Resource as SpecResource

from ._common import RepStats, WallClock, sampler

__all__ = ["MMCParams", "hospital_rep", "mmc_params", "mmc_rep"]

Proc = Generator[simpy.Event, Any, None]


# --------------------------------------------------------------------------------------------
# M/M/c
# --------------------------------------------------------------------------------------------
class MMCParams:
    """Arrival rate, mean service time and servers of an M/M/c spec (one station, one stream)."""

    def __init__(self, lam: float, mean_service: float, servers: int, station: str) -> None:
        self.lam = lam
        self.mean_service = mean_service
        self.servers = servers
        self.station = station


def mmc_params(spec: FlowSpec) -> MMCParams:
    """Read an M/M/c model from a spec; raise ``ValueError`` if the spec is not one."""
    if len(spec.stations) != 1 or len(spec.arrivals) != 1:
        raise ValueError("an M/M/c spec has one station and one arrival stream")
    (name, st), arr = next(iter(spec.stations.items())), spec.arrivals[0]
    if not isinstance(arr, PoissonArrivals) or arr.rate is None or arr.batch is not None:
        raise ValueError("an M/M/c spec has a constant-rate Poisson stream")
    if len(st.resources) != 1 or next(iter(st.resources.values())) != 1:
        raise ValueError("an M/M/c station seizes one unit of one resource")
    res = spec.resources[next(iter(st.resources))]
    if res.capacity is None or st.service.dist != "exponential":
        raise ValueError("an M/M/c spec has fixed capacity and exponential service")
    return MMCParams(arr.rate, st.service.mean_value(), res.capacity, name)


def mmc_rep(p: MMCParams, seed: int, horizon: float, warmup: float) -> RepStats:
    """One replication of M/M/c in SimPy: mean wait of customers starting service after warmup."""
    rng = random.Random(seed)
    env = simpy.Environment()
    server = simpy.Resource(env, capacity=p.servers)
    waits: list[float] = []
    done = [0]
    service_rate = 1.0 / p.mean_service

    def customer() -> Proc:
        arrived = env.now
        with server.request() as req:
            yield req
            if env.now >= warmup:
                waits.append(env.now - arrived)
            yield env.timeout(rng.expovariate(service_rate))
        if env.now >= warmup:
            done[0] += 1

    def source() -> Proc:
        while True:
            yield env.timeout(rng.expovariate(p.lam))
            env.process(customer())

    env.process(source())
    env.run(until=horizon)
    wait = sum(waits) / len(waits) if waits else float("nan")
    return RepStats(done[0], {f"wait_mean[{p.station}]": wait})


# --------------------------------------------------------------------------------------------
# Hospital-like network
# --------------------------------------------------------------------------------------------
class _TimeAverage:
    """Time-average of a piecewise-constant count over ``[warmup, horizon]``."""

    def __init__(self, env: simpy.Environment, warmup: float) -> None:
        self.env, self.warmup = env, warmup
        self.n, self.area, self.last = 0, 0.0, 0.0

    def add(self, delta: int) -> None:
        now = self.env.now
        if now > self.warmup:
            self.area += self.n * (now - max(self.last, self.warmup))
        self.last = now
        self.n += delta

    def mean(self, horizon: float) -> float:
        area = self.area + self.n * (horizon - max(self.last, self.warmup))
        return area / (horizon - self.warmup)


def hospital_rep(spec: FlowSpec, seed: int, horizon: float, warmup: float) -> RepStats:
    """One replication of the hospital-like network (``examples/hospital.yaml``) in SimPy.

    Returns the mean wait at treatment of patients starting treatment after warmup and the
    time-average number of patients in the medical ward (in a bed, including those waiting for
    the discharge window) over ``[warmup, horizon]``.
    """
    rng = random.Random(seed)
    env = simpy.Environment()
    clock = WallClock(spec)
    st = spec.stations
    prio = {c: k.priority for c, k in spec.classes.items()}

    # resources: shifts by the "off-shift holder" idiom on the largest capacity
    res: dict[str, simpy.PriorityResource] = {}
    for name, r in spec.resources.items():
        res[name] = simpy.PriorityResource(env, capacity=max(r.max_capacity(), 1))
        if r.schedule is not None:
            env.process(_off_shift(env, res[name], clock.capacity_steps(r, horizon), r))
    nurse, cubicle, doctor = res["triage_nurse"], res["cubicle"], res["ed_doctor"]
    beds = {"medical_ward": res["medical_bed"], "surgical_ward": res["surgical_bed"]}

    # samplers
    triage_time = sampler(st["triage"].service, rng)
    treat_time = {c: sampler(st["treatment"].service_for(c), rng) for c in ("urgent", "standard")}
    patience = {c: sampler(d, rng) for c in spec.classes
                if (d := st["treatment"].patience_for(c)) is not None}
    los = {w: sampler(st[w].service, rng) for w in beds}
    window = {w: st[w].release_window for w in beds}
    routes: dict[str, tuple[list[float], list[tuple[str, str]]]] = {}
    for c in ("urgent", "standard"):
        rows = st["treatment"].routes_for(c)
        routes[c] = ([r.p for r in rows], [(r.to, r.becomes or c) for r in rows])

    # statistics
    treat_waits: list[float] = []
    medical = _TimeAverage(env, warmup)
    left = [0]  # departures + abandoned + balked after warmup

    def leave() -> None:
        if env.now >= warmup:
            left[0] += 1

    def ward_stay(ward: str, bed: Request) -> Proc:
        if ward == "medical_ward":
            medical.add(1)
        yield env.timeout(los[ward]())
        win = window[ward]
        if win is not None and (delay := clock.until_open(env.now, win)) > 0:
            yield env.timeout(delay)  # discharge waits for the window, keeping the bed
        beds[ward].release(bed)
        if ward == "medical_ward":
            medical.add(-1)
        leave()

    def ed_patient(cls: str) -> Proc:
        with nurse.request(priority=prio[cls]) as req:
            yield req
            yield env.timeout(triage_time())
        joined = env.now
        cub = cubicle.request(priority=prio[cls])
        doc = doctor.request(priority=prio[cls])
        both = cub & doc
        if cls in patience:
            yield both | env.timeout(patience[cls]())
            if not (cub.triggered and doc.triggered):  # ran out of patience: abandon
                for r, req in ((cubicle, cub), (doctor, doc)):
                    req.cancel()
                    r.release(req)
                leave()
                return
        else:
            yield both
        if env.now >= warmup:
            treat_waits.append(env.now - joined)
        yield env.timeout(treat_time[cls]())
        doctor.release(doc)
        probs, targets = routes[cls]
        to, _new_cls = targets[0] if len(targets) == 1 else rng.choices(targets, probs)[0]
        if to == EXIT:
            cubicle.release(cub)
            leave()
            return
        bed = beds[to].request()
        yield bed  # boarding: keep the cubicle until a bed is free (first come, first served)
        cubicle.release(cub)
        yield from ward_stay(to, bed)

    def elective(ward: str) -> Proc:
        r = beds[ward]
        if r.count >= r.capacity or r.queue:  # no waiting room on the ward: balk
            leave()
            return
        bed = r.request()
        yield bed
        yield from ward_stay(ward, bed)

    for arr in spec.arrivals:
        if isinstance(arr, ScheduledArrivals):
            times = clock.scheduled(arr, horizon)
            env.process(_scheduled(env, times, partial(elective, arr.to)))
        else:
            mix = arr.entity_class
            classes, weights = ([mix], [1.0]) if isinstance(mix, str) else (
                list(mix), list(mix.values()))
            env.process(_walk_ins(env, rng, clock, arr, classes, weights, ed_patient))

    env.run(until=horizon)
    wait = sum(treat_waits) / len(treat_waits) if treat_waits else float("nan")
    return RepStats(
        left[0],
        {"wait_mean[treatment]": wait, "in_station_mean[medical_ward]": medical.mean(horizon)},
    )


def _off_shift(
    env: simpy.Environment, res: simpy.PriorityResource, steps: list[tuple[float, int]],
    r: SpecResource,
) -> Proc:
    """Hold ``max - capacity`` units with top-priority requests, following the shift steps."""
    top = r.max_capacity()
    held: list[Request] = []
    for t, cap in steps:
        if t > env.now:
            yield env.timeout(t - env.now)
        while len(held) < top - cap:
            held.append(res.request(priority=-1_000_000))
        while len(held) > top - cap:
            req = held.pop()
            req.cancel()
            res.release(req)


def _scheduled(
    env: simpy.Environment, times: list[tuple[float, int]], make: Callable[[], Proc]
) -> Proc:
    """Start ``count`` entities at each scheduled time."""
    for t, count in times:
        if t > env.now:
            yield env.timeout(t - env.now)
        for _ in range(count):
            env.process(make())


def _walk_ins(
    env: simpy.Environment,
    rng: random.Random,
    clock: WallClock,
    arr: PoissonArrivals,
    classes: list[str],
    weights: list[float],
    patient: Callable[[str], Proc],
) -> Proc:
    """Non-homogeneous Poisson arrivals by thinning against the weekly table's largest rate."""
    table = clock.rate_table(arr)
    top = max(table)
    while True:
        yield env.timeout(rng.expovariate(top))
        if rng.random() * top < table[clock.hour_of_week(env.now)]:
            env.process(patient(rng.choices(classes, weights)[0]))
