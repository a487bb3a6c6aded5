"""Run records: a forecast is stored with its spec hash, parameters, watermark and seeds, and
``rerun`` reproduces its numbers exactly, also after late events arrive."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

import twinsight
from twinsight.assimilate import current_state
from twinsight.connect import RecordSink
from twinsight.decide import (
    compare_spec,
    list_runs,
    load_run,
    load_scenario,
    model_from_params,
    model_params,
    received_watermark,
    record_run,
    rerun,
    spec_hash,
    state_as_of,
)
from twinsight.emulate import emulate_hospital, write_events
from twinsight.govern import Pseudonymiser
from twinsight.hospital import run_forecast
from twinsight.spec import load_spec, parse_spec
from twinsight.store import AdtEventRow, open_store

KEY = "ab" * 32
EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "scenarios"


@pytest.fixture(scope="module")
def small_twin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[twinsight.HospitalTwin]:
    """A 120-bed hospital, 70 emulated days, ingested into a fresh twin."""
    tmp = tmp_path_factory.mktemp("runs")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TWINSIGHT_PSEUDONYM_KEY", KEY)
        em = emulate_hospital(70, 5, beds=120)
        path = tmp / "events.csv"
        write_events(em.rows, path)
        with twinsight.HospitalTwin("small", home=tmp / "home", create=True) as twin:
            twin.ingest(path)
            yield twin


def test_spec_hash_is_the_content_not_the_object(minimal_text: str) -> None:
    a, b = parse_spec(minimal_text), parse_spec(minimal_text)
    assert spec_hash(a) == spec_hash(b) and len(spec_hash(a)) == 64
    changed = parse_spec(minimal_text, overrides=["resources.server.capacity=3"])
    assert spec_hash(changed) != spec_hash(a)


def test_record_load_and_list(tmp_path: Path) -> None:
    engine = open_store(tmp_path / "s.db")
    at = datetime(2026, 3, 2, tzinfo=UTC)
    ids = [
        record_run(
            engine,
            kind="compare",
            twin="t",
            request={"x": i},
            result={"v": [1.5, float("nan")]},
            spec_hash="0" * 64,
            seeds=[7],
            reps=10,
            data_at=at,
            created_at=at + timedelta(minutes=i),
        )
        for i in range(3)
    ]
    rec = load_run(engine, ids[1][:6])
    assert rec.request == {"x": 1} and rec.result == {"v": [1.5, None]}
    assert rec.seeds == [7] and rec.reps == 10 and rec.data_at == at and rec.version
    assert [r.run_id for r in list_runs(engine, "t")] == ids[::-1]
    assert list_runs(engine, "other") == []
    with pytest.raises(KeyError, match="no run"):
        load_run(engine, "ffffffff")
    with pytest.raises(ValueError, match="kind"):
        record_run(engine, kind="guess", twin="t", request={}, result={}, spec_hash="")
    engine.dispose()


def test_forecast_is_recorded_and_rerun_gives_identical_numbers(
    small_twin: twinsight.HospitalTwin,
) -> None:
    twin = small_twin.twin
    run = run_forecast(twin, 2, reps=60, seed=3, save=False)
    assert run.run_id is not None
    rec = load_run(twin.engine, run.run_id)
    assert rec.kind == "forecast" and rec.twin == "small" and rec.seeds == [3] and rec.reps == 60
    assert rec.data_at == run.state.at and rec.data_received is not None
    assert rec.spec_hash == spec_hash(run.forecast.spec)  # type: ignore[arg-type]
    model = model_from_params(rec.parameters)
    assert model_params(model) == rec.parameters
    report = rerun(twin.engine, rec)
    assert report.identical and report.spec_identical and report.differences == []
    # a late event (event time before the state's instant, received after the run) would
    # change the present: the rerun sees only what the twin held at the watermark
    t = run.state.at - timedelta(hours=1)
    with twin.sink("late", "test") as sink:
        sink.add(
            {
                "v": 1,
                "event_id": "late-1",
                "type": "arrival",
                "unit": "ED",
                "time": t.isoformat(),
                "patient_id": "LATE1",
                "acuity": 3,
            }
        )
    with twin.engine.connect() as conn:
        later = conn.execute(
            select(func.count())
            .select_from(AdtEventRow)
            .where(AdtEventRow.received_at > rec.data_received)
        ).scalar_one()
    assert later == 1
    assert rerun(twin.engine, rec).identical


def test_an_interrupted_comparison_stores_nothing(tmp_path: Path) -> None:
    engine = open_store(tmp_path / "s.db")
    spec = load_spec(EXAMPLES / "staffing.yaml")
    scenario = load_scenario(EXAMPLES / "staffing-one-more-agent.yaml")
    calls = []

    def stop(done: int, total: int) -> None:
        calls.append(done)
        raise KeyboardInterrupt  # Ctrl-C after the first chunk of replications

    with pytest.raises(KeyboardInterrupt):
        compare_spec(spec, [scenario], reps=4, chunk=2, progress=stop, store=engine)
    assert calls == [2] and list_runs(engine) == []
    _, run_id = compare_spec(spec, [scenario], reps=4, chunk=2, store=engine)
    assert [r.run_id for r in list_runs(engine)] == [run_id]
    engine.dispose()


def test_the_state_as_of_a_watermark_leaves_out_later_events(store: Engine) -> None:
    # SQLite and PostgreSQL: events received after the watermark are not copied into the
    # temporary store the state is rebuilt from
    secret = Pseudonymiser(b"test secret, sixteen bytes or more")
    t0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)

    def event(i: int, hours: float, kind: str = "arrival") -> dict[str, object]:
        return {
            "v": 1,
            "event_id": f"e-{i}-{kind}",
            "type": kind,
            "unit": "ED",
            "time": (t0 + timedelta(hours=hours)).isoformat(),
            "patient_id": f"P{i}",
        }

    with RecordSink(store, secret, "first", "test") as sink:
        for i in range(3):
            sink.add(event(i, i))
    mark = received_watermark(store)
    at = t0 + timedelta(hours=5)
    before = current_state(store, at, recent_only=True)
    assert before.census == {"ED": 3}
    with RecordSink(store, secret, "late", "test") as sink:  # arrives later, dated earlier
        sink.add(event(7, 4))
        sink.add(event(0, 4.5, "discharge"))
    assert current_state(store, at, recent_only=True).census == {"ED": 3}  # +1 -1
    again = state_as_of(store, at, mark)
    assert again.census == before.census
    assert [p.patient_key for p in again.patients] == [p.patient_key for p in before.patients]


def test_hospital_twin_compare_returns_a_frame_and_records_the_run(
    small_twin: twinsight.HospitalTwin,
) -> None:
    frame = small_twin.compare(EXAMPLES / "hospital" / "divert.yaml", days=1, reps=6)
    assert set(frame["scenario"]) == {"divert"} and "boarding" in set(frame["kpi"])
    assert {"baseline", "value", "difference", "low", "high", "sentence"} <= set(frame.columns)
    rec = load_run(small_twin.twin.engine, frame.attrs["run_id"])
    assert rec.kind == "compare" and rec.reps == 6
    with pytest.raises(ValueError, match="no scenario 'nope'"):
        small_twin.compare("nope")
