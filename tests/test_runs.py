"""Run records: a forecast is stored with its spec hash, parameters, watermark and seeds, and
``rerun`` reproduces its numbers exactly, also after late events arrive."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

import twinsight
from twinsight.decide import (
    compare_spec,
    list_runs,
    load_run,
    load_scenario,
    model_from_params,
    model_params,
    record_run,
    rerun,
    spec_hash,
)
from twinsight.emulate import emulate_hospital, write_events
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
        sink.add({"v": 1, "event_id": "late-1", "type": "arrival", "unit": "ED",
                  "time": t.isoformat(), "patient_id": "LATE1", "acuity": 3})  # fmt: skip
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
