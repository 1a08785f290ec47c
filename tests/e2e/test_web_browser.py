"""The web side in headless Chromium (Debian's, driven by Playwright), behind a path prefix, end to end.

An admin logs in, makes a team with a member and a key in the admin, copies the secret with the copy button and
calls the gateway with it from the `openai` SDK and sees its spend on the dashboard; tests a deployment; a member generates a key in the portal,
streams an answer with it in the playground and revokes it. Every page is kept as a screenshot under
var/artifacts/web/. Every link of every page stays under the prefix.
"""
from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from django.conf import settings
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright

from apps.providers.mock_upstream import REPLY_PREFIX
from apps.teams import services
from apps.teams.models import SpendLog, User, VirtualKey
from apps.teams.spend import spend_flush
from tests.conftest import ROOT, WEB_PREFIX, GatewayProcess
from tests.teams.conftest import wait_for_spend_rows

PREFIX = WEB_PREFIX
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "var" / "artifacts" / "web"
PASSWORD = "browser-test-password"

# CI installs the browser (.ci/run), so there a missing one fails the test instead of skipping it.
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists() and not os.environ.get("CI"),
                                reason="needs Debian's chromium: apt-get install -y chromium")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    # Playwright's sync API keeps an event loop on this thread; the test's own ORM calls are still plain sync calls.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()
    del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.fixture
def page(browser: Browser, prefixed_gateway: GatewayProcess) -> Iterator[Page]:
    context = browser.new_context(base_url=prefixed_gateway.url, viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=prefixed_gateway.url)
    tab = context.new_page()
    tab.set_default_timeout(20_000)
    expect.set_options(timeout=20_000)  # a shared CI machine can take seconds per page; the default is 5
    yield tab
    context.close()


@pytest.fixture
def people(example_models: None) -> None:
    User.objects.create_superuser(username="root", email="root@example.com", password=PASSWORD,
                                  user_role=User.Role.PROXY_ADMIN)
    services.user_new(user_id="bob", fields={"email": "bob@example.com"}, password=PASSWORD)


def shot(page: Page, name: str) -> None:
    """Keep the page as an artifact, and check that each of its links stays under the prefix."""
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    links = page.eval_on_selector_all("a[href], form[action], link[href], script[src]",
                                      "els => els.map(e => e.getAttribute('href') || e.getAttribute('action') "
                                      "|| e.getAttribute('src'))")
    local = [link for link in links if link.startswith("/")]
    outside = [link for link in local if not link.startswith(f"{PREFIX}/")]
    assert local and not outside, outside


def log_in(page: Page, username: str, next_path: str = "/portal/") -> None:
    page.goto(f"{PREFIX}{next_path}")
    assert page.url.endswith(f"{PREFIX}/accounts/login/?next={PREFIX}{next_path}"), page.url
    shot(page, "login")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(f"**{PREFIX}{next_path}")


def admin_makes_team_and_key(page: Page) -> str:
    page.goto(f"{PREFIX}/admin/")
    shot(page, "admin-index")
    page.goto(f"{PREFIX}/admin/teams/team/add/")
    page.fill("#id_team_id", "web")
    page.fill("#id_team_alias", "Web team")
    page.fill("#id_max_budget", "25")
    page.click("text=Add another Team membership")
    page.fill("#id_memberships-0-user", "bob")
    page.select_option("#id_memberships-0-role", "user")
    shot(page, "admin-team-add")
    page.click("input[name=_save]")
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    page.goto(f"{PREFIX}/admin/teams/virtualkey/add/")
    page.fill("#id_key_alias", "web-admin-key")
    page.fill("#id_team", "web")
    page.fill("#id_max_budget", "5")
    page.fill("#id_duration", "30d")
    page.click("input[name=_save]")
    secret = page.inner_text("#key-secret").strip()
    page.click("#copy-key-secret")
    expect(page.locator("#copy-key-secret")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == secret
    shot(page, "admin-key-secret")
    return secret


def test_admin_and_portal_in_a_browser(page: Page, prefixed_gateway: GatewayProcess, people: None) -> None:
    log_in(page, "root")
    shot(page, "portal-home-admin")
    secret = admin_makes_team_and_key(page)
    sdk = openai.OpenAI(api_key=secret, base_url=f"{prefixed_gateway.url}{PREFIX}/v1", max_retries=0, timeout=30)
    only_this_tests_spend()
    reply = sdk.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    assert reply.choices[0].message.content == f"{REPLY_PREFIX} hi"
    spend_appears_on_the_dashboard(page, VirtualKey.objects.get(key_alias="web-admin-key").pk)
    page.goto(f"{PREFIX}/admin/teams/virtualkey/")
    expect(page.locator("#result_list")).to_contain_text("web-admin-key")
    assert secret not in page.content()
    shot(page, "admin-keys")
    page.goto(f"{PREFIX}/admin/teams/team/")
    shot(page, "admin-teams")
    page.goto(f"{PREFIX}/admin/routing/deployment/")
    shot(page, "admin-deployments")
    page.click("#result_list tbody tr:first-child th a")
    page.click("#test-deployment")
    expect(page.locator("#test-answer")).to_have_text(f"{REPLY_PREFIX} Reply with one short greeting.")
    shot(page, "admin-deployment-test")
    page.goto(f"{PREFIX}/admin/portal/auditlog/")
    expect(page.locator("#result_list")).to_contain_text("teams.virtualkey")
    shot(page, "admin-audit-log")
    page.goto(f"{PREFIX}/portal/")
    page.click(".tg-user button")  # log out: the member's turn
    page.wait_for_url(f"**{PREFIX}/accounts/login/")
    member_generates_streams_and_revokes(page, prefixed_gateway)


def only_this_tests_spend() -> None:
    """Earlier tests' calls still in the shared spend buffer (with Redis, tests flush it themselves) are stored and
    dropped first, so the dashboard's totals are this test's call alone."""
    if settings.REDIS_URL:
        spend_flush()
    SpendLog.objects.all().delete()


def spend_appears_on_the_dashboard(page: Page, key_id: int) -> None:
    """The SDK call's spend, once stored (flushed by this test with Redis, by the gateway's loop embedded), is on
    the dashboard: in the total and as the web team's series in the spend-by-team chart."""
    [row] = wait_for_spend_rows(1, key_id=key_id)
    assert row.cost > 0
    deadline = time.monotonic() + 20
    while True:  # the page reads the roll-up plus the rows stored since: the row is there once it is stored
        page.goto(f"{PREFIX}/dashboard/?tz=UTC")
        calls = page.inner_text("#total-requests").strip()
        if calls != "0" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert (calls, page.inner_text("#total-spend").strip()) == ("1", f"${row.cost:.4f}")
    # The chart holds the unrounded spend (a "hi" costs about $0.00002, below the total's four places).
    team = page.evaluate("(() => { const c = window.tollgateCharts['chart-team'].data; return c.datasets.map("
                         "d => [d.label, d.data.reduce((a, b) => a + b, 0)]); })()")
    assert [label for label, _ in team] == ["Web team"] and abs(team[0][1] - float(row.cost)) < 1e-9, team
    shot(page, "dashboard")


def member_generates_streams_and_revokes(page: Page, gateway: GatewayProcess) -> None:
    log_in(page, "bob")
    expect(page.locator("#my-teams")).to_contain_text("Web team")
    assert "web-admin-key" not in page.content()  # the admin's key is not bob's
    page.click("text=Generate a key")
    page.select_option("#id_team", "web")
    page.fill("#id_key_alias", "bob-web")
    page.select_option("#id_models", ["gpt-4o-mini"])
    page.fill("#id_max_budget", "2")
    page.select_option("#id_duration", "7d")
    shot(page, "portal-key-new")
    page.click("#key-form button[type=submit]")
    secret = page.inner_text("#new-key-secret").strip()
    assert VirtualKey.objects.get(key_alias="bob-web").team_id == "web"
    shot(page, "portal-key-created")
    page.click("text=Try it in the playground")
    page.fill("#pg-key", secret)
    page.select_option("#id_model", "gpt-4o-mini")
    page.fill("#id_prompt", "stream to me")
    page.click("#pg-send")
    expect(page.locator("#pg-status")).to_contain_text("Done in")
    expect(page.locator("#pg-output")).to_have_text(f"{REPLY_PREFIX} stream to me")
    shot(page, "portal-playground")
    page.goto(f"{PREFIX}/portal/models/")
    expect(page.locator("#models")).to_contain_text("gpt-4o-mini")
    shot(page, "portal-models")
    page.goto(f"{PREFIX}/portal/")
    shot(page, "portal-home-member")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("tr[data-key-alias=bob-web] button")
    expect(page.locator(".tg-messages")).to_contain_text("revoked")
    assert not VirtualKey.objects.filter(key_alias="bob-web").exists()
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(api_key=secret, base_url=f"{gateway.url}{PREFIX}/v1", max_retries=0).models.list()
    shot(page, "portal-after-revoke")


def test_a_key_typed_before_the_playground_script_runs_is_kept(page: Page, people: None) -> None:
    """On a loaded machine the key was filled in before playground.js ran, which then put the tab's last key (none:
    an empty `Bearer `) over it, and the call was refused with 401."""
    log_in(page, "bob", "/portal/playground/")
    page.evaluate("() => sessionStorage.setItem('tollgate-playground-key', 'sk-used-before')")
    held: list[Route] = []
    page.route("**/playground.js", lambda route: held.append(route))  # the script waits until the key is typed
    page.goto(f"{PREFIX}/portal/playground/", wait_until="commit")
    page.fill("#pg-key", "sk-typed-now")
    deadline = time.monotonic() + 20
    while not held:  # the page asks for its script once the parser reaches it
        assert time.monotonic() < deadline, "the page never asked for playground.js"
        page.wait_for_timeout(50)
    held[0].continue_()
    page.unroute("**/playground.js")
    page.wait_for_load_state("load")
    assert page.input_value("#pg-key") == "sk-typed-now"
    page.goto(f"{PREFIX}/portal/playground/")  # with nothing typed, the tab's last key comes back
    assert page.input_value("#pg-key") == "sk-used-before"
