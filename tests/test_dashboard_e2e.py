"""The dashboard end to end in a real headless Chromium (Debian's ``/usr/bin/chromium`` driven
by Playwright; a browser is never downloaded): the app runs under uvicorn on a free port with a
twin made from emulated events; each page is loaded after signing in with a token, what is
drawn is checked from the SVG's data attributes (the 85% line, the 50%/90% bands, the survival
curves), a live update arrives after an event is posted, and a scenario is built and compared.
Screenshots are kept in ``tests/artifacts/dashboard/`` (not in git)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import twinsight
from _browser import launch_chromium, needs_chromium, new_page, screenshot, serve
from twinsight.emulate import emulate_hospital, write_events
from twinsight.govern import AccessStore

pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
pytestmark = needs_chromium
UNITS = {"ICU", "MED1", "MED2", "ORTHO", "SURG"}


class App:
    def __init__(self, url: str, tokens: dict[str, str]) -> None:
        self.url = url
        self.tokens = tokens


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    """A twin of 70 emulated days (120 beds), calibrated with a forecast, served by uvicorn."""
    tmp = tmp_path_factory.mktemp("e2e")
    home = tmp / "home"
    write_events(emulate_hospital(70, 5, beds=120).rows, tmp / "events.csv")
    with twinsight.HospitalTwin("ward", home=home, create=True) as twin:
        twin.ingest(tmp / "events.csv")
        twin.calibrate()
        twin.forecast(days=3, reps=60)
    access = AccessStore(home)
    try:
        tokens = {role: access.create(role)[0] for role in ("viewer", "analyst", "admin")}
    finally:
        access.close()
    with serve(home) as url:
        yield App(url, tokens)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launch_chromium() as chromium:
        yield chromium


@pytest.fixture
def page(browser: Any, app: App) -> Iterator[Any]:
    """A laptop-sized page signed in as an analyst; fails the test on any script error."""
    context, pg, errors = new_page(browser)
    pg.goto(f"{app.url}/#live")
    pg.fill("#token", app.tokens["analyst"])
    pg.click("#signin-form button[type=submit]")
    try:
        yield pg
    finally:
        context.close()
    assert errors == [], f"script errors: {errors}"




def _attr(pg: Any, selector: str, name: str) -> list[str]:
    return [
        str(x)
        for x in pg.eval_on_selector_all(selector, f"els => els.map(e => e.getAttribute('{name}'))")
    ]


def test_live_page_draws_occupancy_and_updates_when_events_arrive(page: Any, app: App) -> None:
    page.wait_for_selector("svg[data-chart=occupancy] rect.bar", state="attached")
    assert set(_attr(page, "rect.bar", "data-unit")) == UNITS
    for census, beds, share in zip(
        _attr(page, "rect.bar", "data-census"),
        _attr(page, "rect.bar", "data-beds"),
        _attr(page, "rect.bar", "data-occupancy"),
        strict=True,
    ):
        if census.isdigit():
            assert float(share) == pytest.approx(int(census) / int(beds), abs=1e-3)
    assert _attr(page, "svg[data-chart=occupancy] line.line-85", "data-share") == ["0.85"]
    assert page.locator("[data-tile=ed] .n").inner_text() != ""
    version = int(page.get_attribute("#live-meta", "data-version"))
    viewer = {"Authorization": f"Bearer {app.tokens['viewer']}"}
    state = httpx.get(f"{app.url}/api/v1/twins/ward/state", headers=viewer).json()
    event = {"v": 1, "event_id": "e2e-1", "type": "arrival", "time": state["at"], "unit": "ED",
             "patient_id": "E2E1", "acuity": 2}  # fmt: skip
    posted = httpx.post(f"{app.url}/api/v1/twins/ward/events", json=event,
                        headers={"Authorization": f"Bearer {app.tokens['admin']}"})  # fmt: skip
    assert posted.status_code == 200
    page.wait_for_function(
        f"Number(document.querySelector('#live-meta').dataset.version) > {version}",
        timeout=10_000,
    )
    screenshot(page, "live")


def test_forecast_page_draws_a_fan_per_ward_with_both_bands(page: Any) -> None:
    page.click("nav >> text=Forecast")
    page.wait_for_selector("svg[data-chart=fan]")
    units = set(_attr(page, "svg[data-chart=fan]", "data-unit"))
    assert units == UNITS | {"ED"}
    for unit in UNITS:
        chart = f"svg[data-chart=fan][data-unit={unit}]"
        assert page.locator(f"{chart} path[data-band='90']").count() == 1
        assert page.locator(f"{chart} path[data-band='50']").count() == 1
        assert page.locator(f"{chart} path[data-band=median]").count() == 1
        assert page.locator(f"{chart} line.line-85").count() == 1
    assert "No backtest yet" in page.inner_text("main")
    screenshot(page, "forecast")


def test_scenario_built_in_the_form_is_compared_with_sentences_and_chart(page: Any) -> None:
    page.click("nav >> text=Scenarios")
    page.wait_for_selector("#scenario-form")
    page.fill("#sc-name", "med1-plus6")
    page.fill("#sc-desc", "Six more MED1 beds")
    page.select_option("#iv-kind", "beds")
    page.fill("#iv-beds-unit", "MED1")
    page.fill("#iv-beds-change", "6")
    page.click("text=Add this change")
    page.fill("#sc-reps", "20")
    page.fill("#sc-days", "3")
    page.click("text=Compare with the baseline")
    page.wait_for_selector("li.sentence", timeout=90_000)
    sentences = page.locator("li.sentence").all_inner_texts()
    assert any(s.startswith("Six more MED1 beds") and "95% CI" in s for s in sentences)
    kpis = _attr(page, "svg[data-chart=differences] circle.dot", "data-kpi")
    assert "boarding" in kpis and "ed_4h" in kpis
    for low, mean, high in zip(
        _attr(page, "circle.dot", "data-low"),
        _attr(page, "circle.dot", "data-mean"),
        _attr(page, "circle.dot", "data-high"),
        strict=True,
    ):
        assert float(low) <= float(mean) <= float(high)
    page.wait_for_selector("text=compare")  # the run is listed
    screenshot(page, "scenarios")


def test_optimisation_form_finds_the_cheapest_beds(page: Any) -> None:
    page.click("nav >> text=Scenarios")
    page.wait_for_selector("#optimise-form")
    assert page.is_checked("#opt-use-ICU")  # the first ward is decided by default
    page.fill("#opt-days", "5")
    page.fill("#opt-reps", "4")
    page.click("text=Find the cheapest beds")
    page.wait_for_selector("[data-optimise]", timeout=90_000)
    outcome = page.get_attribute("[data-optimise]", "data-optimise")
    assert outcome in ("best", "infeasible")
    if outcome == "best":
        decision = json.loads(page.get_attribute("[data-optimise]", "data-decision"))
        low, high = int(page.input_value("#opt-lo-ICU")), int(page.input_value("#opt-hi-ICU"))
        assert low <= decision["ICU_beds"] <= high
        assert "met" in page.inner_text("#opt-result table")
    screenshot(page, "optimise")


def test_calibration_page_draws_fitted_against_data_per_unit(page: Any) -> None:
    page.click("nav >> text=Calibration")
    page.wait_for_selector("svg[data-chart=survival]")
    assert set(_attr(page, "svg[data-chart=survival]", "data-unit")) == UNITS
    assert page.locator("svg[data-chart=survival] path.fitted").count() == len(UNITS)
    assert page.locator("svg[data-chart=survival] path.empirical").count() == len(UNITS)
    page.wait_for_selector("text=Alarms")
    screenshot(page, "calibration")


def test_audit_page_needs_an_admin_and_lists_who_did_what(page: Any, app: App) -> None:
    page.click("nav >> text=Audit")
    page.wait_for_selector("text=Not allowed with this token")  # an analyst may not read it
    page.click("#signout")
    page.fill("#token", app.tokens["admin"])
    page.click("#signin-form button[type=submit]")
    page.wait_for_selector("table")
    text = page.inner_text("main")
    assert "The audit chain is intact" in text and "ingest" in text
    screenshot(page, "audit")


def test_keyboard_and_labels(page: Any) -> None:
    page.wait_for_selector("svg[data-chart=occupancy]")
    page.reload()  # focus back at the start of the document (the token stays in the tab)
    page.wait_for_selector("svg[data-chart=occupancy]")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('href')") == "#live"
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # the Forecast tab, by keyboard
    page.wait_for_selector("svg[data-chart=fan]")
    page.goto(page.url.split("#")[0] + "#scenarios")
    page.wait_for_selector("#scenario-form")
    unlabelled = page.evaluate(
        """[...document.querySelectorAll('input, select')].filter(e =>
             !e.labels || e.labels.length === 0).map(e => e.id || e.name)"""
    )
    assert unlabelled == []
    assert page.locator("svg.chart:not([aria-label])").count() == 0
    assert page.locator("main").count() == 1 and page.locator("nav").count() == 1
