"""The timeline page at /_sandbox/, in a real headless browser (Debian's chromium, driven by
Playwright; never a downloaded browser), and as HTTP.

The browser test creates activities through the client, sees them appear without a reload,
checks that a note written as HTML stays text, and saves a screenshot. To refresh the one
the README shows: `SPP_UPDATE_SCREENSHOT=1 .venv/bin/pytest tests/sandbox/test_timeline_page.py`.

Where chromium is missing the browser test is skipped, except in CI (CI=true), where
`.ci/run` installs it and its absence is a failure.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from spp_activities import NotFoundError, RetryPolicy, SPPClient
from spp_activities.sandbox import Sandbox
from spp_activities.sandbox.app import TIMELINE_ASSET

SCREENSHOT = Path(__file__).resolve().parent / "screenshots" / "timeline.png"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SCRIPT_NOTE = "<script>alert(1)</script>"
IMG_NOTE = '<img src=x onerror="alert(2)"> left a voicemail'
WAIT_MS = 30_000  # a generous bound for the page's one-second refresh on a busy machine


def chromium_or_skip() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        message = "chromium is not installed (apt-get install chromium); .ci/run installs it"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return found


@contextlib.contextmanager
def chromium_page(profile: Path, *extra_args: str) -> Iterator[Any]:
    """A page in headless chromium with a fresh profile (its --user-data-dir)."""
    chromium = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=chromium,
            headless=True,
            args=[*CHROMIUM_ARGS, *extra_args],
            viewport={"width": 1100, "height": 900},
            device_scale_factor=1,
        )
        try:
            yield context.new_page()
        finally:
            context.close()


@pytest.fixture
def browser_page(tmp_path: Path) -> Iterator[Any]:
    with chromium_page(tmp_path / "chromium-profile") as page:
        yield page


def test_the_timeline_shows_what_arrives_without_a_reload_and_notes_as_text(
    browser_page: Any, sandbox_factory: Any, tmp_path: Path
) -> None:
    page = browser_page
    # Seeded faults: the client's retries meet the same 503s on every run.
    sandbox: Sandbox = sandbox_factory(db=tmp_path / "sandbox.db", faults={"503": 0.3}, seed=4)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    script_errors: list[str] = []  # uncaught exceptions, and anything the CSP blocked
    page.on("pageerror", lambda error: script_errors.append(str(error)))
    page.on(
        "console",
        lambda message: (
            "Content Security Policy" in message.text and script_errors.append(message.text)
        ),
    )
    page.goto(f"{sandbox.url}/_sandbox/")
    page.wait_for_selector("#live.on", timeout=WAIT_MS)
    assert page.is_visible("#empty")
    assert "loopback only" in page.inner_text("#notice")
    assert "No token needed" in page.inner_text("#notice")
    page.evaluate("window.loadedOnce = true")  # gone if the page reloads

    notes = [
        (1, "Called about the invoice; sending the corrected PDF today."),
        (2, SCRIPT_NOTE),
        (1, "Follow-up: client confirmed the new billing address."),
        (3, IMG_NOTE),
        (2, "Kick-off call\nAgenda: scope, timeline, budget."),
    ]
    policy = RetryPolicy(backoff_initial=0.01, backoff_max=0.05)
    with SPPClient(sandbox.workspace_url, sandbox.token, retry_policy=policy) as client:
        created = [client.activities.create(cid, content) for cid, content in notes]
        with pytest.raises(NotFoundError):
            client.activities.create(999999, "an unknown client")

    page.wait_for_function(
        "n => document.querySelectorAll('.activity').length === n", arg=len(notes), timeout=WAIT_MS
    )
    assert page.evaluate("window.loadedOnce") is True, "the page reloaded"
    assert not page.is_visible("#empty")

    # Each client's activities, newest first, with their ids and timestamps.
    by_client = page.eval_on_selector_all(
        ".client",
        "cards => cards.map(card => [Number(card.dataset.clientId),"
        " [...card.querySelectorAll('.activity')].map(a => Number(a.dataset.activityId))])",
    )
    assert by_client == [
        [2, [created[4].id, created[1].id]],
        [3, [created[3].id]],
        [1, [created[2].id, created[0].id]],
    ]
    stored = {a["id"]: a for a in sandbox.activities()}
    for activity in created:
        item = f'[data-activity-id="{activity.id}"]'
        assert page.inner_text(f"{item} .id") == f"#{activity.id}"
        assert page.inner_text(f"{item} time") == stored[activity.id]["created_at"]
        assert page.text_content(f"{item} .content") == stored[activity.id]["content"]

    # HTML in a note is shown as the text it is and never runs.
    assert page.text_content(f'[data-activity-id="{created[1].id}"] .content') == SCRIPT_NOTE
    assert page.text_content(f'[data-activity-id="{created[3].id}"] .content') == IMG_NOTE
    assert (
        page.eval_on_selector_all("#timeline script, #timeline img", "found => found.length") == 0
    )
    assert dialogs == []
    assert script_errors == []

    # The stats, as /_sandbox/stats has them once everything arrived.
    stats = sandbox.stats()
    assert stats["faults_injected"] > 0  # the seed gives the page some 503s to show
    expected = {
        "#stat-requests": stats["requests"],
        "#stat-created": stats["created"],
        "#stat-faults": stats["faults_injected"],
        "#stat-throttled": stats["rate_limited"],
        "#stat-dropped": stats["dropped"],
    }
    page.wait_for_function(
        "expected => Object.entries(expected).every("
        "([selector, value]) => document.querySelector(selector).textContent === String(value))",
        arg=expected,
        timeout=WAIT_MS,
    )
    assert "404 \u00d7 1" in page.inner_text("#by-status")  # 404 (times sign) 1

    # A reset empties the page, again without a reload.
    httpx.post(f"{sandbox.url}/_sandbox/reset")
    page.wait_for_selector("#empty", state="visible", timeout=WAIT_MS)
    assert page.evaluate("window.loadedOnce") is True

    # Back to the full timeline for the README's screenshot.
    with SPPClient(sandbox.workspace_url, sandbox.token, retry_policy=policy) as client:
        for cid, content in notes:
            client.activities.create(cid, content)
    page.wait_for_function(
        "n => document.querySelectorAll('.activity').length === n", arg=len(notes), timeout=WAIT_MS
    )
    page.wait_for_timeout(1800)  # let the arrival highlight fade before the picture
    shot = tmp_path / "timeline.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("SPP_UPDATE_SCREENSHOT"):
        SCREENSHOT.write_bytes(shot.read_bytes())


def test_reached_at_a_name_that_is_not_loopback_the_page_warns_instead(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    # Chromium resolves sandbox.example to the sandbox's loopback address; the page only
    # sees that it was not opened at a loopback name.
    rule = f"--host-resolver-rules=MAP sandbox.example {sandbox.host}"
    with chromium_page(tmp_path / "chromium-profile", rule) as page:
        page.goto(f"http://sandbox.example:{sandbox.port}/_sandbox/")
        page.wait_for_selector("#live.on", timeout=WAIT_MS)
        notice = page.inner_text("#notice")
    assert "not on loopback" in notice
    assert "anyone who can reach it can read this page" in notice
    assert "No token needed" not in notice


def test_the_page_is_served_with_a_policy_that_runs_only_its_own_code(sandbox: Sandbox) -> None:
    reply = httpx.get(f"{sandbox.url}/_sandbox/")
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "text/html; charset=utf-8"
    policy = reply.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert re.search(r"script-src 'sha256-[A-Za-z0-9+/]+=*';", policy)
    assert "unsafe-inline" not in policy
    assert "connect-src 'self'" in policy
    assert reply.headers["x-content-type-options"] == "nosniff"
    # The bare path leads to the page.
    assert httpx.get(f"{sandbox.url}/_sandbox", follow_redirects=True).url.path == "/_sandbox/"


def test_the_page_needs_no_network_and_writes_data_only_as_text(sandbox: Sandbox) -> None:
    html = httpx.get(f"{sandbox.url}/_sandbox/").text
    assert not re.search(r"(src|href)\s*=|https?://|@import|url\(", html), "no outside resource"
    script = html[html.index("<script>") : html.index("</script>")]
    assert "innerHTML" not in script
    assert "insertAdjacentHTML" not in script
    assert "document.write" not in script
    assert "textContent" in script


def test_the_page_ships_in_the_package() -> None:
    import importlib.resources

    asset = importlib.resources.files("spp_activities.sandbox").joinpath(TIMELINE_ASSET)
    assert asset.is_file()
