"""The insights page on the real server, in Chromium, as a QI lead opens it: refused without the
token, signed in through its form, its headline matching a count straight from the database
(the conversations the other e2e tests had), and the demonstration data under its banner.

Screenshots: ``reports/screenshots/insights-1-sign-in.png``, ``insights-2-real.png`` and
``insights-3-demonstration.png``.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request

from playwright.sync_api import Page, expect
from sqlalchemy import distinct, func, select

from knowledge.db import create_engine_for
from qi_coach.records import ConfirmedBarrier
from tests.e2e.conftest import LEAD_TOKEN, SCREENSHOTS, describe_on_the_page

WHAT_STOPS_US = "the consultants think it's a management fad and won't come to the meetings"


def status_of(url: str, headers: dict | None = None) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=60) as reply:
            return reply.status
    except urllib.error.HTTPError as error:
        return error.code


def test_the_page_is_refused_without_the_token_and_its_figures_are_the_databases(bot, browser):
    page_url = f"{bot.url}/webhooks/webchat/insights"
    assert status_of(page_url) == 401
    assert status_of(page_url, {"Authorization": "Bearer not-the-lead-token-at-all"}) == 401
    assert status_of(f"{page_url}?token={LEAD_TOKEN}") == 401  # never in the address
    assert status_of(page_url, {"Authorization": f"Bearer {LEAD_TOKEN}"}) == 200

    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page: Page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        log = describe_on_the_page(page, bot.url, WHAT_STOPS_US)  # one more conversation to count
        page.get_by_role("button", name="Yes, that's it").click()
        expect(log).to_contain_text("Was this useful?")

        page.goto(page_url)
        expect(page.get_by_label("QI lead token")).to_be_visible()
        page.screenshot(path=SCREENSHOTS / "insights-1-sign-in.png")
        page.get_by_label("QI lead token").fill(LEAD_TOKEN)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Barrier insights")).to_be_visible()
        headline = page.locator("text=conversations with a confirmed barrier").locator("xpath=..").inner_text()
        with create_engine_for(bot.env["DATABASE_URL"]).connect() as conn:
            confirmed = conn.execute(select(func.count(distinct(ConfirmedBarrier.conversation_id)))).scalar_one()
        assert confirmed >= 1
        shown = re.match(r"\s*(<5|\d+)", headline).group(1)
        assert shown == (str(confirmed) if confirmed >= 5 else "<5"), (headline, confirmed)
        expect(page.get_by_text("Demonstration data: synthetic")).to_have_count(0)
        page.screenshot(path=SCREENSHOTS / "insights-2-real.png", full_page=True)

        page.get_by_role("link", name="Show the demonstration data").click()
        expect(page.get_by_text("Demonstration data: synthetic, not from real conversations")).to_be_visible()
        page.wait_for_function("() => [...document.images].every(i => i.complete && i.naturalWidth > 0)")
        page.screenshot(path=SCREENSHOTS / "insights-3-demonstration.png", full_page=True)
    finally:
        context.close()
