"""The contact-centre (and social-services) pages of the dashboard end to end in a real headless
Chromium (Debian's ``/usr/bin/chromium`` driven by Playwright; a browser is never downloaded):
twins made from emulated records are served by uvicorn; each page is loaded after signing in and
what is drawn is checked from the SVG's data attributes against the API's numbers. Screenshots
are kept in ``tests/artifacts/dashboard/`` (not in git)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from _browser import launch_chromium, needs_chromium, new_page, screenshot, serve
from twinsight.casework import emulate_casework, write_case_events
from twinsight.casework import ingest as casework_ingest
from twinsight.casework import run_calibration as casework_calibration
from twinsight.contact import emulate_contact_centre, run_calibration, write_interactions
from twinsight.contact import ingest as contact_ingest
from twinsight.govern import AccessStore
from twinsight.twin import init_twin

pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
pytestmark = needs_chromium


class App:
    def __init__(self, url: str, tokens: dict[str, str]) -> None:
        self.url = url
        self.tokens = tokens

    def get(self, path: str, role: str = "viewer") -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"}
        response = httpx.get(f"{self.url}/api/v1/twins/{path}", headers=headers, timeout=60)
        assert response.status_code == 200, response.text
        return response.json()


def _twins(home: Path) -> None:
    cc = init_twin("cc", template="contact-centre", home=home)
    calls = home / "calls.csv"
    write_interactions(emulate_contact_centre(14, 2, calls_per_day=300).rows, calls)
    contact_ingest(cc, [calls])
    run_calibration(cc)
    cc.close()
    ss = init_twin("ss", template="social-services", home=home)
    cases = home / "cases.csv"
    write_case_events(emulate_casework(120, 1).rows, cases)
    casework_ingest(ss, [cases])
    casework_calibration(ss)
    ss.close()


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    """The emulated twins behind uvicorn, with a viewer token."""
    home = tmp_path_factory.mktemp("ops-e2e") / "home"
    _twins(home)
    access = AccessStore(home)
    try:
        tokens = {"viewer": access.create("viewer")[0]}
    finally:
        access.close()
    with serve(home) as url:
        yield App(url, tokens)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launch_chromium() as chromium:
        yield chromium


@pytest.fixture
def session(browser: Any, app: App) -> Iterator[Any]:
    """Opens pages with ``session(twin, page)`` as a viewer; fails on any script error."""
    opened: list[tuple[Any, list[str]]] = []

    def make(twin: str, page_name: str) -> Any:
        context, pg, errors = new_page(browser)
        opened.append((context, errors))
        pg.goto(f"{app.url}/#{page_name}")
        pg.evaluate(f"localStorage.setItem('twinsight.twin', '{twin}')")
        pg.fill("#token", app.tokens["viewer"])
        pg.click("#signin-form button[type=submit]")
        return pg

    yield make
    for context, errors in opened:
        context.close()
        assert errors == [], f"script errors: {errors}"




def _attr(pg: Any, selector: str, name: str) -> list[str]:
    return [
        str(x)
        for x in pg.eval_on_selector_all(selector, f"els => els.map(e => e.getAttribute('{name}'))")
    ]


def test_contact_page_draws_required_and_rostered_agents_and_service_level(
    session: Any, app: App
) -> None:
    pg = session("cc", "contact")
    pg.wait_for_selector("svg[data-chart=contact-staffing][data-queue=technical]")
    assert pg.is_visible("nav >> text=Staffing") and not pg.is_visible("nav >> text=Outbreak")
    plan = app.get("cc/contact/staffing?day=mon&method=erlang")
    assert _attr(pg, "svg[data-chart=contact-staffing]", "data-queue") == plan["queues"]
    for q in plan["queues"]:
        rows = [r for r in plan["intervals"] if r["queue"] == q]
        chart = f"svg[data-chart=contact-staffing][data-queue={q}]"
        assert _attr(pg, chart, "data-intervals") == [str(len(rows))]
        assert _attr(pg, f"{chart} rect[data-series=required]", "data-value") == [
            str(r["agents"]) for r in rows
        ]
        assert _attr(pg, f"{chart} rect[data-series=rostered]", "data-value") == [
            str(r["rostered"]) for r in rows
        ]
        drawn = _attr(pg, f"{chart} path[data-series=service-level]", "data-values")[0].split()
        assert [float(v) for v in drawn] == pytest.approx(
            [r["service_level"] for r in rows], abs=5e-5
        )
        assert _attr(pg, f"{chart} line[data-series=target]", "data-value") == ["0.8"]
    # the table beside each chart: one row per interval, with ASA and abandonment
    tables = pg.locator("#contact-queues table")
    assert tables.count() == len(plan["queues"])
    first = tables.nth(0)
    assert "ASA (s)" in first.inner_text() and "Abandon" in first.inner_text()
    assert first.locator("tbody tr").count() == len(
        [r for r in plan["intervals"] if r["queue"] == plan["queues"][0]]
    )
    screenshot(pg, "contact")
    # another day from the form, by keyboard
    pg.select_option("#cc-day", "sat")
    pg.focus("#contact-form button[type=submit]")
    pg.keyboard.press("Enter")
    pg.wait_for_selector("#contact-head [data-day=sat]")
    saturday = app.get("cc/contact/staffing?day=sat&method=erlang")
    bars = pg.locator("svg[data-chart=contact-staffing] rect[data-series=required]").count()
    assert bars == len(saturday["intervals"])
    unlabelled = pg.evaluate(
        "[...document.querySelectorAll('main select, main input')]"
        ".filter(e => e.labels.length === 0).length"
    )
    assert unlabelled == 0


def test_casework_page_draws_the_backlog_fan_and_deadline_shares_with_small_cells(
    session: Any, app: App
) -> None:
    pg = session("ss", "casework")
    pg.wait_for_selector("svg[data-chart=casework-deadline]")
    assert pg.is_visible("nav >> text=Casework") and not pg.is_visible("nav >> text=Staffing")
    fc = app.get("ss/casework/forecast?days=28&reps=100&seed=1")
    eq = app.get("ss/casework/equity?days=182&reps=10&seed=1&target=0.9")
    fan = "svg[data-chart=casework-backlog]"
    assert _attr(pg, fan, "data-days") == ["28"]
    for band in ("90", "50", "median"):
        assert pg.locator(f"{fan} path[data-band='{band}']").count() == 1
    drawn = _attr(pg, f"{fan} path[data-band=median]", "data-values")[0].split()
    assert [float(v) for v in drawn] == pytest.approx([r["p50"] for r in fc["backlog"]], abs=1e-3)
    districts = [r for r in eq["model"] if r["group"].startswith("district=")]
    chart = "svg[data-chart=casework-deadline]"
    assert _attr(pg, chart, "data-districts") == [str(len(districts))]
    assert _attr(pg, f"{chart} line[data-series=target]", "data-value") == ["0.9"]
    bars = dict(zip(_attr(pg, f"{chart} rect", "data-district"),
                    _attr(pg, f"{chart} rect", "data-value"), strict=True))  # fmt: skip
    for r in districts:
        name = r["group"].split("=")[1]
        if r["decisions"] == "<5":
            assert name not in bars
        else:
            assert float(bars[name]) == pytest.approx(r["within_deadline"], abs=1e-4)
    assert pg.locator(f"{chart} circle[data-observed]").count() == len(districts)
    assert pg.locator("#casework-tables table").count() == 2
    screenshot(pg, "casework")
    # short runs, by keyboard: districts with fewer than 5 decisions show "<5" and no bar
    pg.fill("#cw-days", "7")
    pg.fill("#cw-eqdays", "3")
    pg.focus("#cw-seed")
    pg.keyboard.press("Enter")
    pg.wait_for_selector(f"{fan}[data-days='7']")
    short = app.get("ss/casework/equity?days=3&reps=10&seed=1&target=0.9")
    small = [r["group"].split("=")[1] for r in short["model"]
             if r["group"].startswith("district=") and r["decisions"] == "<5"]  # fmt: skip
    assert small, "three days should leave a district with fewer than 5 decisions"
    assert sorted(_attr(pg, f"{chart} text[data-suppressed]", "data-district")) == sorted(small)
    assert set(_attr(pg, f"{chart} text[data-suppressed]", "data-suppressed")) == {"<5"}
    assert not set(small) & set(_attr(pg, f"{chart} rect", "data-district"))
    assert "<5" in pg.inner_text("#casework-tables")
    screenshot(pg, "casework-small-cells")
    unlabelled = pg.evaluate(
        "[...document.querySelectorAll('main input')].filter(e => e.labels.length === 0).length"
    )
    assert unlabelled == 0
