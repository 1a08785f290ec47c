"""The dashboard in headless Chromium against the real gateway: log in, charts drawn from the spend rows, the live
feed connected over the WebSocket; a screenshot is kept under var/artifacts/."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from playwright.sync_api import sync_playwright

from apps.teams.models import User
from apps.teams.rollup import spend_rollup
from tests.conftest import ROOT, GatewayProcess
from tests.dashboard.conftest import row
from tests.teams.conftest import Cast

CHROMIUM = "/usr/bin/chromium"  # Debian's (apt-get install -y chromium); Playwright downloads no browser
ARTIFACTS = ROOT / "var" / "artifacts"


def test_dashboard_draws_its_charts_and_follows_the_live_feed(cast: Cast, gateway: GatewayProcess) -> None:
    User.objects.create_user("ops", password="pw-ops-123456", is_staff=True)
    today = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    for n in range(24):
        row(cast.bob if n % 3 else cast.mallory, f"web-{n}", today - timedelta(hours=7 * n), f"0.{n + 10}",
            model=("gpt-a", "gpt-b", "claude")[n % 3], tags=("prod",) if n % 2 else ())
    spend_rollup()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1800}, timezone_id="Europe/Berlin")
        page.goto(f"{gateway.url}/dashboard/")
        page.fill("input[name=username]", "ops")
        page.fill("input[name=password]", "pw-ops-123456")
        page.click("button[type=submit]")
        page.wait_for_selector("body[data-charts=drawn]", timeout=15_000)
        assert "tz=Europe%2FBerlin" in page.url  # the page asked again in the browser's zone
        page.wait_for_selector("body[data-feed=live]", timeout=15_000)
        drawn = page.evaluate("""() => Object.fromEntries(Object.entries(window.tollgateCharts).map(
            ([id, chart]) => [id, chart.data.datasets.reduce((n, d) => n + d.data.length, 0)]))""")
        team_names = page.evaluate("() => window.tollgateCharts['chart-team'].data.datasets.map(d => d.label)")
        shot = ARTIFACTS / "dashboard.png"
        page.screenshot(path=str(shot), full_page=True)
        browser.close()
    assert drawn["chart-model"] > 0 and drawn["chart-team"] > 0 and drawn["chart-keys"] == 3
    assert drawn["chart-live"] >= 3 * 60  # a minute of history, three lines
    assert sorted(team_names) == ["team-a", "team-b"]  # by alias
    assert Path(shot).stat().st_size > 10_000
