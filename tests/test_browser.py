"""The chat UI in a real headless Chromium (Debian's, driven by Playwright): search, click to refine, upload."""

from __future__ import annotations

import json
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


def wait_chat(page, text: str, after: str | None = None, timeout: int = 60_000) -> None:
    """Wait until the last bubble is a reply showing `text` (answering a message containing `after`, when given)."""
    js = f"""() => {{
        const bot = [...document.querySelectorAll('#chat [data-testid=bot], #chat [data-testid=user]')];
        const last = bot[bot.length - 1];
        const user = bot.filter(e => e.dataset.testid === 'user').slice(-1)[0];
        return last && last.dataset.testid === 'bot' && last.innerText.includes({text!r})
            && ({after is None and "true" or f"!!user && user.innerText.includes({after!r})"});
    }}"""
    page.wait_for_function(js, timeout=timeout)


def wait_saved(page, before: str) -> None:
    """Wait until the browser's copy of the session has changed from `before` and then held still for a second:
    each output of a turn may write it, and the one that counts is the last."""
    page.wait_for_function(f"JSON.stringify(localStorage) !== {json.dumps(before)}", timeout=30_000)
    page.wait_for_function(
        """() => {
            const now = JSON.stringify(localStorage), t = performance.now();
            if (window.__saved !== now) { window.__saved = now; window.__savedAt = t; }
            return t - window.__savedAt > 1000;
        }""",
        timeout=30_000,
        polling=100,
    )


def send(page, text: str) -> None:
    page.locator("#msg textarea").fill(text)
    page.locator("#msg textarea").press("Enter")


def fill_field(page, selector: str, value: str) -> None:
    """Type into a field until it holds: gradio mounts a closed accordion's fields when it first opens and sets
    their values a moment later, over anything typed at once."""
    field = page.locator(selector)
    for _ in range(40):
        field.fill(value)
        page.wait_for_timeout(250)
        if field.input_value() == value:
            return
    raise AssertionError(f"{selector} did not keep {value!r}")


def captions(page) -> list[str]:
    return [c.strip() for c in page.locator("#results .caption-label").all_inner_texts()]


def test_a_conversation_in_the_browser(app_url, page, tmp_path):  # noqa: F811
    """The whole UI as a person uses it: nothing-matches, questions as buttons, thumbs, stale state, filters both
    ways, upload, reload, New search, and no request to any host but the app's own."""
    url, gallery = app_url
    hosts = set()
    page.on("request", lambda r: hosts.add(r.url.split("/")[2] if "://" in r.url else r.url.split(":")[0]))
    page.goto(url)
    send(page, "asdkjh")
    wait_chat(page, "Nothing in this folder matches “asdkjh” well")

    send(page, "a boat")
    wait_chat(page, "Found", after="a boat")
    thumbs = page.locator("#results img")
    thumbs.first.wait_for(timeout=30_000)
    assert thumbs.count() >= 5 and "strong match" in captions(page)[0]
    # the agent's question comes with its options as buttons; a click answers it as a turn
    options = page.locator("#options label")
    options.first.wait_for(timeout=30_000)
    choice = options.first.inner_text().strip()
    options.first.click()
    wait_chat(page, "Found", after=choice)

    # details are a table with the match and its reason; new results clear the selection and the details
    thumbs.nth(1).click()  # a click shows the result's details
    page.wait_for_function("/Result\\s+#2/.test(document.querySelector('#detail')?.innerText)", timeout=30_000)
    page.locator("#details").click()
    page.wait_for_function("document.querySelector('#detail')?.innerText.includes('Match')", timeout=30_000)
    assert "match" in page.locator("#detail").inner_text() and "Taken" in page.locator("#detail").inner_text()
    send(page, "at night")
    wait_chat(page, "Found", after="at night")
    page.wait_for_function("!document.querySelector('#detail')?.innerText.includes('Match')", timeout=30_000)
    page.locator("#more").click()
    wait_chat(page, "Click a result first.")
    last = page.locator("#chat [data-testid=bot]").last.inner_text().strip()
    assert last == "Click a result first."  # its own bubble, not merged into the reply before it

    # thumbs up on #3 moves the next results toward it
    before = captions(page)
    thumbs.nth(2).click()
    page.locator("#good").click()
    wait_chat(page, "like 1 chosen image", after="#3 is right")
    labels = "[...document.querySelectorAll('#results .caption-label')].map(e => e.innerText.trim())"
    page.wait_for_function(f"JSON.stringify({labels}) !== {json.dumps(json.dumps(before))}", timeout=30_000)

    # a filter set in the accordion shows in the next reply; a filter said in chat shows in the accordion
    page.get_by_text("Filters", exact=True).click()
    fill_field(page, "#f-width input", "100")
    page.locator("#apply").click()
    wait_chat(page, "at least 100x? px", after="(filters changed)")
    send(page, "only landscape photos")
    wait_chat(page, "landscape orientation", after="only landscape photos")
    page.wait_for_function("document.querySelector('#f-orientation input')?.value === 'landscape'", timeout=30_000)
    assert page.locator("#f-width input").input_value() == "100"

    # an uploaded example: the upload is cleared once its results are shown
    example = tmp_path / "example.jpg"
    shutil.copy(gallery / "scene_00010.jpg", example)
    page.get_by_text("Search by example").click()
    page.locator("#upload input[type=file]").set_input_files(str(example))
    page.wait_for_function("document.querySelector('#upload')?.innerText.includes('example.jpg')", timeout=60_000)
    stored = page.evaluate("JSON.stringify(localStorage)")
    page.locator("#find").click()
    wait_chat(page, "like your example image", after="search by example image")
    # the browser keeps its copy of the session a moment after the reply shows (it is encrypted first)
    wait_saved(page, stored)
    page.wait_for_function("!document.querySelector('#upload')?.innerText.includes('example.jpg')", timeout=30_000)

    # a reload keeps the conversation and its results
    shown = captions(page)
    page.reload()
    wait_chat(page, "like your example image", after="search by example image")
    page.wait_for_function("document.querySelectorAll('#results img').length > 0", timeout=30_000)
    assert captions(page) == shown and "a boat" in chat_text(page)

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ui.png"), full_page=True)
    assert (ARTIFACTS / "ui.png").stat().st_size > 10_000
    # New search clears everything, and a reload then shows the blank page
    stored = page.evaluate("JSON.stringify(localStorage)")
    page.locator("#new").click()
    page.wait_for_function("!document.querySelector('#chat')?.innerText.includes('a boat')", timeout=30_000)
    wait_saved(page, stored)
    page.get_by_text("Filters", exact=True).click()  # closed again by the reload
    assert page.locator("#results img").count() == 0 and page.locator("#f-width input").input_value() == "0"
    assert page.locator("#f-orientation input").input_value() == "any"
    page.reload()
    page.locator("#msg textarea").wait_for(timeout=30_000)
    page.wait_for_timeout(1500)
    assert "a boat" not in chat_text(page)
    # an offline app: the page asked no host but the app's own (no webfonts, no CDN, no telemetry)
    assert hosts <= {url.split("/")[2], "data", "blob"}, hosts


def test_a_login_before_the_app(toy_index, toy_embedder, page):
    """With a login (as `picseek ui --host 0.0.0.0 --auth` requires), the browser first gets Gradio's login form,
    a wrong password is refused, and after logging in the app searches and shows its thumbnails."""
    import gradio as gr
    from picseek.agent.agent import Agent
    from picseek.tools.retrieve import Searcher
    from picseek.ui.server import launch

    _, store, _ = toy_index
    port = free_port()
    launch(Agent(Searcher(store, toy_embedder)), "toy", port=port, block=False, auth=("ann", "s3cret"))
    try:
        page.goto(f"http://127.0.0.1:{port}/")
        password = page.locator("input[type=password]")
        password.wait_for(timeout=60_000)
        assert page.locator("#msg textarea").count() == 0  # the app is not on the page before the login
        page.locator("input[type=text]").first.fill("ann")
        password.fill("wrong")
        page.get_by_role("button", name="Login").click()
        page.get_by_text("Incorrect", exact=False).first.wait_for(timeout=30_000)
        page.locator("input[type=text]").first.fill("ann")
        password.fill("s3cret")
        page.get_by_role("button", name="Login").click()
        page.locator("#msg textarea").wait_for(timeout=60_000)
        send(page, "a boat")
        wait_chat(page, "boat", after="a boat")
        page.locator("#results img").first.wait_for(timeout=30_000)
        assert page.locator("#results img").count() >= 5
        # every thumbnail the page shows loaded (the session cookie reaches the file route): wait until the browser
        # has finished each one (under load the last may still be on its way), then none may have failed
        page.wait_for_function("[...document.querySelectorAll('#results img')].every(i => i.complete)", timeout=30_000)
        broken = page.evaluate("[...document.querySelectorAll('#results img')].filter(i => !i.naturalWidth).length")
        assert broken == 0
    finally:
        gr.close_all()
