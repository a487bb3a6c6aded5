"""The outbreak and patient pages of the dashboard end to end in a real headless Chromium
(Debian's ``/usr/bin/chromium`` driven by Playwright; a browser is never downloaded): twins made
from ``examples/outbreak`` and ``examples/patient`` are served by uvicorn; each page is loaded
after signing in, and what is drawn is checked from the SVG's data attributes against the API's
numbers (bands, observed counts, CHIME, readings, regimens, risk); the patient page's
decision-support banner must be present and stay in view. Screenshots are kept in
``tests/artifacts/dashboard/`` (not in git)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from _browser import launch_chromium, needs_chromium, new_page, screenshot, serve
from twinsight.govern import AccessStore
from twinsight.outbreak import ingest as outbreak_ingest
from twinsight.outbreak import run_calibration
from twinsight.patient import ingest_patient_file
from twinsight.twin import init_twin

pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
pytestmark = needs_chromium
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
NOTICE = "Decision support for clinicians, not medical advice"


class App:
    def __init__(self, url: str, tokens: dict[str, str]) -> None:
        self.url = url
        self.tokens = tokens

    def get(self, path: str, role: str = "analyst") -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"}
        response = httpx.get(f"{self.url}/api/v1/twins/{path}", headers=headers, timeout=60)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    """An outbreak twin (examples/outbreak, calibrated) and a patient twin (examples/patient)."""
    home = tmp_path_factory.mktemp("health-e2e") / "home"
    flu = init_twin("flu", template="outbreak", home=home)
    config = yaml.safe_load((flu.path / "twin.yaml").read_text(encoding="utf-8"))
    config.update(yaml.safe_load((EXAMPLES / "outbreak" / "twin.yaml").read_text("utf-8")))
    (flu.path / "twin.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    outbreak_ingest(flu, [EXAMPLES / "outbreak" / "admissions.csv"])
    run_calibration(flu)
    flu.close()
    bp = init_twin("bp", template="patient", home=home)
    for name in ("profile.yaml", "readings.csv"):
        ingest_patient_file(bp, EXAMPLES / "patient" / name)
    bp.close()
    access = AccessStore(home)
    try:
        tokens = {role: access.create(role)[0] for role in ("viewer", "analyst")}
    finally:
        access.close()
    with serve(home) as url:
        yield App(url, tokens)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launch_chromium() as chromium:
        yield chromium


def _open(browser: Any, app: App, role: str, twin: str, page_name: str) -> tuple[Any, Any]:
    """A laptop-sized page signed in as ``role`` showing ``twin``'s page ``page_name``."""
    context, pg, errors = new_page(browser)
    pg.goto(f"{app.url}/#{page_name}")
    pg.evaluate(f"localStorage.setItem('twinsight.twin', '{twin}')")
    pg.fill("#token", app.tokens[role])
    pg.click("#signin-form button[type=submit]")
    return context, (pg, errors)


@pytest.fixture
def session(browser: Any, app: App) -> Iterator[Any]:
    """Opens pages with ``session(role, twin, page)``; fails the test on any script error."""
    opened: list[tuple[Any, list[str]]] = []

    def make(role: str, twin: str, page_name: str) -> Any:
        context, (pg, errors) = _open(browser, app, role, twin, page_name)
        opened.append((context, errors))
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


def test_outbreak_page_draws_fans_with_bands_observed_counts_and_chime(
    session: Any, app: App
) -> None:
    pg = session("analyst", "flu", "outbreak")
    pg.wait_for_selector("svg[data-chart=outbreak-fan][data-metric=census]")
    # the nav shows this template's page only
    assert pg.is_visible("nav >> text=Outbreak") and not pg.is_visible("nav >> text=Patient")
    metrics = _attr(pg, "svg[data-chart=outbreak-fan]", "data-metric")
    assert metrics == ["census", "icu", "ventilated", "admissions"]
    for metric in metrics:
        chart = f"svg[data-chart=outbreak-fan][data-metric={metric}]"
        for band in ("90", "50", "median"):
            assert pg.locator(f"{chart} path[data-band='{band}']").count() == 1
        assert pg.locator(f"{chart} circle.observed").count() > 20
    api = app.get("flu/outbreak/forecast?days=28&runs=1000&seed=1")
    last = {o["date"]: o["value"] for o in api["observed"]["census"]}
    drawn = dict(
        zip(
            _attr(pg, "[data-metric=census] circle.observed", "data-date"),
            _attr(pg, "[data-metric=census] circle.observed", "data-value"),
            strict=True,
        )
    )
    assert drawn and all(float(v) == last[d] for d, v in drawn.items())
    assert _attr(pg, "svg[data-metric=census]", "data-capacity") == ["2100"]
    assert _attr(pg, "svg[data-metric=census]", "data-days") == ["28"]
    for metric in ("census", "icu", "ventilated"):  # CHIME's census beside each fan
        assert pg.locator(f"svg[data-metric={metric}] path[data-series=chime]").count() == 1
    assert "CHIME: doubling time" in pg.inner_text("#outbreak-head")
    assert pg.locator("#outbreak-tables table").count() == 4
    screenshot(pg, "outbreak")
    # a shorter forecast from the form, by keyboard
    pg.fill("#ob-days", "7")
    pg.focus("#ob-seed")
    pg.keyboard.press("Enter")
    pg.wait_for_selector("svg[data-metric=census][data-days='7']")
    unlabelled = pg.evaluate(
        "[...document.querySelectorAll('main input')].filter(e => e.labels.length === 0).length"
    )
    assert unlabelled == 0


def test_patient_page_shows_banner_readings_regimens_and_risk(session: Any, app: App) -> None:
    pg = session("analyst", "bp", "patient")
    pg.wait_for_selector("svg[data-chart=bp-trajectories]")
    assert pg.is_visible("nav >> text=Patient") and not pg.is_visible("nav >> text=Outbreak")
    banner = pg.locator("[role=note]#patient-notice")
    assert banner.count() == 1 and NOTICE in banner.inner_text()
    api = app.get("bp/patient/recommendation")
    readings = app.get("bp/patient/readings")
    pg.wait_for_selector("svg[data-chart=bp-readings]")
    assert _attr(pg, "svg[data-chart=bp-readings]", "data-readings") == [
        str(len(readings["readings"]))
    ]
    assert pg.locator("svg[data-chart=bp-readings] [data-series=systolic]").count() == len(
        readings["readings"]
    )
    # trajectories: the current regimen and the top options, median and 90% interval each
    regimens = [t["regimen"] for t in api["trajectories"]]
    for which in ("systolic", "diastolic"):
        chart = f"svg[data-chart=bp-trajectories][data-which={which}]"
        assert _attr(pg, f"{chart} path[data-band=median]", "data-regimen") == regimens
        assert pg.locator(f"{chart} path[data-band='90']").count() == len(regimens)
        lows = _attr(pg, f"{chart} path[data-band=median]", "data-lo90")
        mids = _attr(pg, f"{chart} path[data-band=median]", "data-last")
        highs = _attr(pg, f"{chart} path[data-band=median]", "data-hi90")
        for lo, mid, hi in zip(lows, mids, highs, strict=True):
            assert float(lo) <= float(mid) <= float(hi)
    rows = pg.locator("#pt-options tbody tr")
    assert rows.count() == len(api["options"])
    assert pg.get_attribute("svg[data-chart=risk]", "data-before") == str(api["risk_10y"]["before"])
    assert pg.get_attribute("svg[data-chart=risk]", "data-after") == str(api["risk_10y"]["after"])
    screenshot(pg, "patient")
    # the banner stays in view when the page is scrolled to the end
    pg.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    box = banner.bounding_box()
    assert box is not None and 0 <= box["y"] < 768


def test_patient_page_for_a_viewer_keeps_the_banner_and_hides_regimens(session: Any) -> None:
    pg = session("viewer", "bp", "patient")
    pg.wait_for_selector("svg[data-chart=bp-readings]")
    pg.wait_for_selector("text=Regimens are shown to clinicians only")
    assert NOTICE in pg.inner_text("[role=note]")
    assert pg.locator("svg[data-chart=bp-trajectories]").count() == 0
    assert pg.locator("svg.chart:not([aria-label])").count() == 0
    screenshot(pg, "patient-viewer")
