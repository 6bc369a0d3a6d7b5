"""The chat UI in a real headless Chromium (Debian's, driven by Playwright): search, click to refine, upload."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.test_ui import app_url, free_port  # noqa: F401  (fixture reuse)

pytestmark = pytest.mark.e2e
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


@pytest.fixture
def page():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("CI must install Debian's chromium for the browser test (see .ci/run)")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        pg = browser.new_page(viewport={"width": 1400, "height": 1000})
        yield pg
        browser.close()


def chat_text(page) -> str:
    return page.locator("#chat").inner_text()


def test_search_click_refine_and_upload_in_a_browser(app_url, page, tmp_path):  # noqa: F811
    url, gallery = app_url
    hosts = set()
    page.on("request", lambda r: hosts.add(r.url.split("/")[2] if "://" in r.url else r.url.split(":")[0]))
    page.goto(url)
    page.locator("#msg textarea").fill("a boat")
    page.locator("#msg textarea").press("Enter")
    page.wait_for_function("document.querySelector('#chat')?.innerText.includes('Found')", timeout=60_000)
    thumbs = page.locator("#results img")
    thumbs.first.wait_for(timeout=30_000)
    assert thumbs.count() >= 5
    assert "for “boat”" in chat_text(page)

    # the agent's question comes with its options as buttons; a click answers it as a turn
    options = page.locator("#options label")
    options.first.wait_for(timeout=30_000)
    choice = options.first.inner_text().strip()
    options.first.click()
    page.wait_for_function(f"document.querySelector('#chat')?.innerText.split({choice!r}).length > 2", timeout=60_000)

    thumbs.nth(1).click()
    page.locator("#good").click()  # thumbs up: the same path as typing "#2 is right"
    page.wait_for_function("document.querySelector('#chat')?.innerText.includes('#2 is right')", timeout=60_000)
    page.wait_for_function("document.querySelector('#chat')?.innerText.includes('like 1 chosen image')", timeout=60_000)
    thumbs.nth(2).click()
    page.locator("#more").click()
    page.wait_for_function(
        "document.querySelector('#chat')?.innerText.includes('like 2 chosen images')", timeout=60_000
    )
    page.locator("#details").click()
    page.wait_for_function("document.querySelector('#detail')?.innerText.includes('metadata')", timeout=30_000)

    example = tmp_path / "example.jpg"
    shutil.copy(gallery / "scene_00010.jpg", example)
    page.get_by_text("Search by example").click()
    page.locator("#upload input[type=file]").set_input_files(str(example))
    page.wait_for_timeout(1000)
    page.locator("#find").click()
    page.wait_for_function(
        "document.querySelector('#chat')?.innerText.includes('search by example image')", timeout=60_000
    )
    page.wait_for_function(
        "[...document.querySelectorAll('#results img')].length > 0 && "
        "document.querySelector('#chat').innerText.split('search by example image')[1]?.includes('Found')",
        timeout=60_000,
    )
    # an offline app: the page asked no host but the app's own (no webfonts, no CDN, no telemetry)
    assert hosts <= {url.split("/")[2], "data", "blob"}, hosts
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ui.png"), full_page=True)
    assert (ARTIFACTS / "ui.png").stat().st_size > 10_000
