"""One replication of a flow network on SimPy: joining, the dispatcher, service, moving on.

The rules are those of docs/semantics.md, implemented literally. SimPy supplies the clock and
the event list (same-instant events run in the order they were scheduled); resources are plain
counters (:class:`ResourcePool`) and the dispatcher is an explicit function that runs after
every event. All times are model time in the spec's ``time_unit``.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import numpy as np
import simpy

from ...spec import EXIT, FlowSpec, PoissonArrivals, Route
from .._calendar import Calendar, residual
from .._kpi import RepResult
from ._arrivals import poisson_process, scheduled_process
from ._resources import ResourcePool
from ._sampling import draw_duration, draw_index, make_stream
from ._stations import Entity, StationState
from ._stats import Collector

__all__ = ["NetworkRun"]


class NetworkRun:
    """The state and the event handlers of one replication (``rep``) of ``spec``."""

    def __init__(self, spec: FlowSpec, seed: int, rep: int, horizon: float, warmup: float) -> None:
        self.spec = spec
        self.horizon = horizon
        self.env = simpy.Environment()
        self.calendar = Calendar(spec)
        self.stats = Collector(spec, warmup, horizon)
        self.resources = {
            r: ResourcePool(
                r,
                self.calendar.initial_capacity(res),
                self.stats.in_use[r],
                self.stats.capacity[r],
            )
            for r, res in spec.resources.items()
        }
        priorities = {c: cls.priority for c, cls in spec.classes.items()}
        self.stations = {s: StationState(s, st, priorities) for s, st in spec.stations.items()}

        def streams(kind: str) -> dict[str, np.random.Generator]:
            return {s: make_stream(seed, rep, f"{kind}:{s}") for s in spec.stations}

        self.service_rng = streams("service")
        self.patience_rng = streams("patience")
        self.routing_rng = streams("routing")
        self.onwait_rng = streams("onwait")
        self.release_rng = {
            s: make_stream(seed, rep, f"release:{s}")
            for s, st in spec.stations.items()
            if st.release_hours is not None
        }
        #: cumulative normalised hourly shares of each station with release hours (25 values)
        #: and its anchor (minutes of day)
        self.release_cum = {
            s: [0.0, *np.cumsum(st.release_hours.normalised()).tolist()]
            for s, st in spec.stations.items()
            if st.release_hours is not None
        }
        self.release_anchor = {
            s: 60.0 * st.release_hours.anchor_hours()
            for s, st in spec.stations.items()
            if st.release_hours is not None
        }
        self.initial_rng = make_stream(seed, rep, "initial")
        self.arrival_rng = {
            a.name: make_stream(seed, rep, f"arrival:{a.name}") for a in spec.arrivals
        }
        self._entities = 0

    @property
    def now(self) -> float:
        """Current model time (time_unit)."""
        return float(self.env.now)

    # ----- the run -------------------------------------------------------------------------------
    def run(self) -> RepResult:
        """Warm start, start the capacity calendar and the arrival streams (each a process that
        schedules its next event when the previous fires), run to the horizon, report."""
        self.place_initial_state()
        self.dispatch()
        self.env.process(self._shifts())
        for arr in self.spec.arrivals:
            rng = self.arrival_rng[arr.name]
            if isinstance(arr, PoissonArrivals):
                stream = poisson_process(self.env, arr, self.calendar, rng, self.arrive)
            else:
                stream = scheduled_process(
                    self.env, arr, self.calendar, self.horizon, rng, self.arrive
                )
            self.env.process(stream)
        self.env.run(until=self.horizon)
        self.stats.close()
        return RepResult(kpis=self.stats.kpis(), series=self.stats.series())

    def _shifts(self) -> Generator[simpy.Event, None, None]:
        """The capacity calendar: every schedule step of every resource in ``(0, horizon)``,
        in order of (time, resource in spec order), walked one cycle at a time; each step is an
        event (then dispatch)."""
        names = self.spec.resource_names()
        cycle = self.calendar.capacity_cycle([self.spec.resources[r] for r in names])
        for t, (i, capacity) in cycle.until(self.horizon):
            yield self.env.timeout(t - self.env.now)
            self._change_capacity(names[i], capacity)
            self.dispatch()

    def _after(self, delay: float, handler: Callable[..., None], *args: Any) -> None:
        """Schedule an event ``delay`` from now: run ``handler(*args)``, then the dispatcher."""

        def fire(_: simpy.Event) -> None:
            handler(*args)
            self.dispatch()

        self.env.timeout(delay).callbacks.append(fire)

    def _new_entity(self, cls: str, entered: float) -> Entity:
        self._entities += 1
        return Entity(seq=self._entities, cls=cls, entered=entered)

    # ----- events --------------------------------------------------------------------------------
    def place_initial_state(self) -> None:
        """Warm start at t = 0: place each group of ``initial_state`` in the order given.

        In service: seize the station's resources (even beyond capacity); complete after
        ``remaining`` or a residual service draw given ``elapsed`` (stream ``initial``).
        Waiting: join the queue with ``joined = -elapsed`` and a residual patience, ignoring
        the queue capacity. Time in system counts from ``-in_system`` (default ``-elapsed``).
        """
        for group in self.spec.initial_state:
            st = self.stations[group.station]
            in_system = group.in_system if group.in_system is not None else group.elapsed
            for _ in range(group.count):
                e = self._new_entity(group.entity_class, -in_system)
                self._enter(e, st, joined=-group.elapsed)
                if group.status == "in_service":
                    self._seize(e, st.spec.resources)
                    remaining = group.remaining
                    if remaining is None:
                        dist = st.spec.service_for(e.cls)
                        remaining = residual(dist, group.elapsed, self.initial_rng)
                    self._after(self._release_end(e, st, remaining), self._complete, e)
                else:
                    patience_dist = st.spec.patience_for(e.cls)
                    patience = (
                        None
                        if patience_dist is None
                        else residual(patience_dist, group.elapsed, self.initial_rng)
                    )
                    self._enqueue(e, st, patience)
                    self._offer_later(e, st, group.elapsed)

    def arrive(self, station: str, classes: list[str]) -> None:
        """An arrival event: entities of ``classes`` arrive at ``station`` one after another.

        Each joins (rules 1-2) or balks; then the dispatcher runs.
        """
        st = self.stations[station]
        for cls in classes:
            e = self._new_entity(cls, self.now)
            self.stats.arrival(self.now)
            if self._join(e, st):
                self._journeys_start(e, station, "enter")
            else:
                self.stats.balked(self.now, station)
        self.dispatch()

    def _change_capacity(self, resource: str, capacity: int) -> None:
        """A schedule step; nobody is pre-empted if the capacity drops below the amount in use."""
        self.resources[resource].set_capacity(self.now, capacity)

    def _complete(self, e: Entity) -> None:
        """Service ends: draw the route (and new class), wait for the release window, move on."""
        st = self.stations[e.station]
        self.stats.service_end(self.now, st.name)
        e.status = "held"
        e.service_end = self.now
        route = e.route if e.route is not None else self._draw_route(e, st)
        e.route = None
        if route.becomes is not None:
            e.cls = route.becomes
        self._journeys_start(e, st.name, "service_end")
        window = st.spec.release_window
        if window is not None and not self.calendar.in_window(self.now, window):
            opens = self.calendar.window_opens(self.now, window)
            self._after(opens - self.now, self._move_on, e, route.to)
        else:
            self._move_on(e, route.to)

    def _renege(self, e: Entity, visit: int) -> None:
        """A patience deadline: if ``e`` still waits in the queue it joined then, it leaves."""
        if e.status != "waiting" or e.visit != visit:
            return
        st = self.stations[e.station]
        st.remove(e)
        self.stats.waiting[st.name].set(self.now, len(st.queue))
        self.stats.present[st.name].add(self.now, -1)
        self.stats.reneged(self.now, st.name, e.cls)
        e.status = "gone"

    def _offer_later(self, e: Entity, st: StationState, elapsed: float) -> None:
        """Schedule the ``on_wait`` offer of ``st`` to waiting ``e`` when its wait (``elapsed``
        so far) reaches ``after``; an offer already past (warm start) is not made."""
        ow = st.spec.on_wait
        if ow is not None and ow.after - elapsed >= 0.0:
            self._after(ow.after - elapsed, self._offer, e, e.visit)

    def _offer(self, e: Entity, visit: int) -> None:
        """The ``on_wait`` offer: if ``e`` still waits in the queue it joined then, it draws a
        uniform (stream ``onwait:<station>``) and accepts when it is below ``p``: it leaves the
        queue (diverted, its wait not counted) and joins ``to`` (or is lost there if full)."""
        if e.status != "waiting" or e.visit != visit:
            return
        st = self.stations[e.station]
        ow = st.spec.on_wait
        assert ow is not None
        if float(self.onwait_rng[st.name].random()) >= ow.p:
            return
        st.remove(e)
        self.stats.waiting[st.name].set(self.now, len(st.queue))
        self.stats.present[st.name].add(self.now, -1)
        self.stats.diverted(self.now, st.name)
        if ow.becomes is not None:
            e.cls = ow.becomes
        if self._join(e, self.stations[ow.to]):
            self._journeys_start(e, ow.to, "enter")
        else:
            e.status = "gone"
            self.stats.balked(self.now, ow.to)

    # ----- joining and moving on -----------------------------------------------------------------
    def _free_option(self, st: StationState) -> dict[str, int] | None:
        """The first resource set of ``st`` (``resources``, then ``alternatives``) whose
        resources are all available in the needed amounts now; None if there is none."""
        for option in st.options:
            if all(self.resources[r].free() >= n for r, n in option.items()):
                return option
        return None

    def _has_room(self, st: StationState) -> bool:
        """Rule 1 (free resources and nobody waiting) or rule 2 (a waiting place) holds."""
        return (not st.queue and self._free_option(st) is not None) or st.has_queue_room()

    def _join(self, e: Entity, st: StationState) -> bool:
        """Rules 1-2 of joining: start at once, or wait. False if ``st`` is full (rule 3)."""
        if not st.queue and self._free_option(st) is not None:
            self._enter(e, st, joined=self.now)
            self._start(e, st)
            return True
        if st.has_queue_room():
            self._enter(e, st, joined=self.now)
            dist = st.spec.patience_for(e.cls)
            patience = None if dist is None else draw_duration(dist, self.patience_rng[st.name])
            self._enqueue(e, st, patience)
            self._offer_later(e, st, 0.0)
            return True
        return False

    def _enter(self, e: Entity, st: StationState, joined: float) -> None:
        e.station = st.name
        e.joined = joined
        self.stats.present[st.name].add(self.now, +1)

    def _enqueue(self, e: Entity, st: StationState, patience: float | None) -> None:
        """``e`` waits at ``st``; it reneges ``patience`` from now unless it starts first."""
        e.status = "waiting"
        e.visit += 1
        e.key = st.queue_key(e, e.joined)
        st.push(e)
        self.stats.waiting[st.name].set(self.now, len(st.queue))
        if patience is not None:
            self._after(patience, self._renege, e, e.visit)

    def _seize(self, e: Entity, option: dict[str, int]) -> None:
        for r, n in option.items():
            self.resources[r].seize(self.now, n)
        e.holding = dict(option)
        e.status = "in_service"

    def _start(self, e: Entity, st: StationState) -> None:
        """Seize the first free resource set of the station, record the wait, draw the
        service time."""
        option = self._free_option(st)
        assert option is not None, "availability was checked"
        self._seize(e, option)
        self.stats.service_start(self.now, st.name, self.now - e.joined)
        duration = draw_duration(st.spec.service_for(e.cls), self.service_rng[st.name])
        self._after(self._release_end(e, st, duration), self._complete, e)

    def _draw_route(self, e: Entity, st: StationState) -> Route:
        """A routing row of ``st`` for ``e``'s class (stream ``routing:<station>``)."""
        routes = st.spec.routes_for(e.cls)
        return routes[draw_index([r.p for r in routes], self.routing_rng[st.name])]

    def _release_end(self, e: Entity, st: StationState, duration: float) -> float:
        """The service time of ``e`` starting now: ``duration``, or at a station with
        ``release_hours`` the route drawn now and, if it is re-timed, the re-timed end
        (``Calendar.release_at``; one uniform of stream ``release:<station>``) less now."""
        hours = st.spec.release_hours
        if hours is None:
            return duration
        e.route = self._draw_route(e, st)
        if not hours.applies_to(e.route.to):
            return duration
        u1 = float(self.release_rng[st.name].random())
        cum, anchor = self.release_cum[st.name], self.release_anchor[st.name]
        end = self.calendar.release_at(self.now, self.now + duration, cum, anchor, u1)
        return end - self.now

    def _release(self, holding: dict[str, int]) -> None:
        for r, n in holding.items():
            self.resources[r].release(self.now, n)

    def _leave(self, e: Entity, origin: StationState, holding: dict[str, int]) -> None:
        """``e`` leaves ``origin`` after service: release ``holding``, record its held time."""
        self._release(holding)
        self.stats.left_after_service(self.now, origin.name, self.now - e.service_end)
        self.stats.present[origin.name].add(self.now, -1)
        for name in [j for j in e.journeys if self.spec.kpis.journeys[j].to_station == origin.name]:
            self.stats.journey(self.now, name, self.now - e.journeys.pop(name))

    def _journeys_start(self, e: Entity, station: str, point: str) -> None:
        """``e`` passes ``point`` (``enter`` or ``service_end``) at ``station``: start the clock
        of each journey from there that it is not on yet and whose classes include its class.

        A move from one station to the next leaves the first (ending journeys) before it enters
        the second (starting them); warm-start placement at t = 0 starts nothing."""
        for name, jr in self.spec.kpis.journeys.items():
            if (
                jr.from_station == station
                and jr.start == point
                and name not in e.journeys
                and jr.counts_class(e.cls)
            ):
                e.journeys[name] = self.now

    def _move_into(self, e: Entity, origin: StationState, target: StationState) -> bool:
        """Try to join ``target``; if it can, release what ``e`` holds at ``origin``."""
        kept, e.holding = e.holding, {}
        if not self._join(e, target):
            e.holding = kept
            return False
        self._leave(e, origin, kept)
        self._journeys_start(e, target.name, "enter")
        return True

    def _move_on(self, e: Entity, destination: str) -> None:
        """After service (and the release window): exit, join, be blocked, or be lost."""
        origin = self.stations[e.station]
        if destination == EXIT:
            self._leave(e, origin, e.holding)
            e.holding = {}
            e.status = "gone"
            self.stats.departure(self.now, e.cls, self.now - e.entered)
            return
        target = self.stations[destination]
        if self._move_into(e, origin, target):
            return
        if origin.spec.blocking:  # true or a non-empty list (an empty list blocks nothing)
            kept = origin.kept_when_blocked
            for r, n in e.holding.items():
                if n > kept.get(r, 0):
                    self.resources[r].release(self.now, n - kept.get(r, 0))
            e.holding = {r: min(n, kept.get(r, 0)) for r, n in e.holding.items() if r in kept}
            e.status = "blocked"
            target.blocked.append(e)
        else:
            self._leave(e, origin, e.holding)
            e.holding = {}
            e.status = "gone"
            self.stats.balked(self.now, destination)

    # ----- the dispatcher ------------------------------------------------------------------------
    def dispatch(self) -> None:
        """After every event: admit blocked entities, then start queue heads; until stable."""
        changed = True
        while changed:
            admitted = self._admit_blocked()
            started = self._start_heads()
            changed = admitted or started

    def _admit_blocked(self) -> bool:
        """Stations in spec order: while blocked entities wait to enter and there is room,
        the one blocked longest moves in (and releases what it kept upstream)."""
        moved = False
        for st in self.stations.values():
            while st.blocked and self._has_room(st):
                e = st.blocked.popleft()
                done = self._move_into(e, self.stations[e.station], st)
                assert done, "room was checked"
                moved = True
        return moved

    def _start_heads(self) -> bool:
        """Greedily start the best-ranked startable queue head across stations, repeatedly.

        Rank: (station ``dispatch_priority``; class priority, 0 under fifo; time joined;
        sequence). A head can start when one of its station's resource sets is free; it takes
        the first such set in order of preference. A head that cannot start reserves nothing.
        """
        started = False
        while True:
            ready = [
                st
                for st in self.stations.values()
                if st.queue and self._free_option(st) is not None  # {}: a pure delay, free
            ]
            if not ready:
                return started
            st = min(ready, key=lambda s: (s.spec.dispatch_priority, *s.queue[0][0]))
            head = st.queue[0][1]
            st.remove(head)
            self.stats.waiting[st.name].set(self.now, len(st.queue))
            self._start(head, st)
            started = True
