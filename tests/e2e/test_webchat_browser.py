"""The web chat in a real browser: headless Chromium (Debian's package, driven by Playwright)
against the running servers. Screenshots go to ``reports/screenshots/`` for a person to look at."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import SCREENSHOTS, describe_on_the_page

DESCRIPTION = "The consultants won't come to the meetings and we can't get data out of the EPR"
TIMEOUT = 60_000


@pytest.fixture
def phone(browser) -> Page:
    """A phone-width page (390 x 844, as an iPhone 12-15)."""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    yield page
    context.close()


def test_a_conversation_in_the_browser_survives_a_reload(bot, phone: Page):
    errors: list[str] = []
    phone.on("pageerror", lambda error: errors.append(str(error)))
    phone.goto(f"{bot.url}/webhooks/webchat/")
    expect(phone).to_have_title("qi-coach: get a stalled improvement project moving")
    log = phone.get_by_role("log", name="Conversation")
    expect(log.locator(".message.bot").first).to_contain_text("quality-improvement")

    box = phone.get_by_label("Your message")
    box.fill(DESCRIPTION)
    box.press("Enter")
    expect(log.locator(".message.user").last).to_have_text(f"You said: {DESCRIPTION}")
    expect(log).to_contain_text("Is that right?")
    phone.screenshot(path=SCREENSHOTS / "webchat-1-barriers.png", full_page=True)

    phone.get_by_role("button", name="Yes, that's it").click()
    expect(log).to_contain_text("Was this useful?")
    cards = log.locator(".message.bot .markdown", has_text="First step:")
    expect(cards).to_have_count(3)
    source = cards.first.locator("a[href^='sources#']").first
    expect(source).to_have_attribute("rel", "noopener noreferrer")
    phone.screenshot(path=SCREENSHOTS / "webchat-2-strategies.png", full_page=True)
    before = log.locator(".message").count()

    phone.reload()
    expect(log).to_contain_text("Was this useful?")
    expect(log.locator(".message")).to_have_count(before)
    # the latest buttons can still be pressed after the reload; older ones cannot
    expect(phone.get_by_role("button", name="Yes, useful")).to_be_enabled()
    expect(phone.get_by_role("button", name="Yes, that's it")).to_be_disabled()
    phone.screenshot(path=SCREENSHOTS / "webchat-3-after-reload.png")
    assert errors == []


def test_a_message_is_shown_as_text_and_never_run_as_html(bot, phone: Page):
    phone.goto(f"{bot.url}/webhooks/webchat/")
    log = phone.get_by_role("log", name="Conversation")
    expect(log.locator(".message.bot").first).to_contain_text("quality-improvement")
    attack = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script> our audit data is **late**'
    box = phone.get_by_label("Your message")
    box.fill(attack)
    box.press("Enter")
    expect(log.locator(".message.user").last).to_have_text(f"You said: {attack}")
    expect(log.locator(".message.bot")).to_have_count(2)
    assert phone.evaluate("window.pwned") is None
    assert log.locator("img, script").count() == 0


def test_the_page_is_usable_with_the_keyboard_alone(bot, phone: Page):
    phone.goto(f"{bot.url}/webhooks/webchat/")
    log = phone.get_by_role("log", name="Conversation")
    expect(log.locator(".message.bot").first).to_contain_text("quality-improvement")
    box = phone.get_by_label("Your message")
    box.focus()
    phone.keyboard.type("the registrars rotate every four months and nobody owns the project")
    phone.keyboard.press("Enter")
    reply = log.locator(".message.bot").last
    expect(reply.locator("button").first).to_be_enabled()
    expect(log.locator(".message.bot").first.locator("button")).to_be_disabled()  # the greeting's, now old
    # Tab from the message box reaches the upload button, then send; Shift+Tab walks back to the
    # reply buttons
    box.focus()
    phone.keyboard.press("Tab")
    expect(phone.get_by_role("button", name="Upload your measure as a CSV file for a run chart")).to_be_focused()
    phone.keyboard.press("Tab")
    expect(phone.get_by_role("button", name="Send")).to_be_focused()
    for _ in range(3):
        phone.keyboard.press("Shift+Tab")
    focused = phone.evaluate("document.activeElement.closest('.buttons') !== null")
    assert focused
    phone.keyboard.press("Enter")
    expect(log.locator(".message.user")).to_have_count(2)


def test_the_triage_starts_from_the_page_and_its_plan_downloads(bot, phone: Page):
    phone.goto(f"{bot.url}/webhooks/webchat/")
    log = phone.get_by_role("log", name="Conversation")
    expect(log.locator(".message.bot").first).to_contain_text("quality-improvement")
    phone.get_by_role("button", name="Help me work out why my project is stuck").first.click()
    expect(log).to_contain_text("What is your project trying to achieve?")
    box = phone.get_by_label("Your message")
    for answer in ("cut missed doses of time-critical medicines on our ward",):
        box.fill(answer)
        box.press("Enter")
    expect(log).to_contain_text("What stage is the project at?")
    # each answer once its question is on the page, as a person would
    phone.get_by_role("button", name="Testing changes").click()
    expect(log).to_contain_text("Who is involved so far?")
    phone.get_by_role("button", name="Front-line staff only").click()
    expect(log).to_contain_text("How long has it been stuck?")
    phone.get_by_role("button", name="1 to 3 months").click()
    expect(log).to_contain_text("What have you tried already")
    for answer, question in (("nothing yet", "What is getting in the way?"),
                             ("the nurses never get protected time for the audits", "Anything else getting in the way?")):
        box.fill(answer)
        box.press("Enter")
        expect(log.locator(".message.user").last).to_contain_text(answer)
        expect(log.locator(".message.bot").last).to_contain_text(question)
    phone.get_by_role("button", name="No, that's all").click()
    expect(log).to_contain_text("Is this the right order?")
    phone.get_by_role("button", name="Yes, make my plan").click()
    expect(log.locator(".markdown h1", has_text="Your action plan")).to_be_visible()
    phone.screenshot(path=SCREENSHOTS / "webchat-4-action-plan.png", full_page=True)
    with phone.expect_download() as download:
        phone.get_by_role("button", name="Download my plan").click()
    saved = download.value
    assert saved.suggested_filename == "qi-coach-action-plan.md"
    assert Path(saved.path()).read_text().startswith("# Your action plan\n**Aim:** cut missed doses")

    # the plan offers the stalled-project review: three questions, answered by the buttons
    phone.get_by_role("button", name="Why did it stall? Review each level").click()
    for question, answer in (("front-line staff's priorities", "Yes"), ("middle managers' priorities", "No"),
                             ("senior leaders and the board", "Not sure")):
        expect(log.locator(".message.bot").last).to_contain_text(question)
        log.locator(".message.bot").last.get_by_role("button", name=answer, exact=True).click()
    review = log.locator(".markdown", has_text="Why it stalled, level by level")
    expect(review).to_contain_text("never reached middle managers")
    expect(review.locator("a[href='sources#seed_002']")).to_contain_text("Pannick et al. 2016, BMJ Quality & Safety")
    phone.screenshot(path=SCREENSHOTS / "webchat-13-stall-review.png", full_page=True)


def test_with_the_action_server_down_the_page_says_so_within_ten_seconds(bot, phone: Page):
    phone.goto(f"{bot.url}/webhooks/webchat/")
    log = phone.get_by_role("log", name="Conversation")
    expect(log.locator(".message.bot").first).to_contain_text("quality-improvement")
    bot.stop_actions()
    try:
        box = phone.get_by_label("Your message")
        box.fill(DESCRIPTION)
        box.press("Enter")
        expect(log.locator(".message.bot").last).to_contain_text("I can't reach my knowledge store just now",
                                                                 timeout=10_000)
        phone.screenshot(path=SCREENSHOTS / "webchat-5-knowledge-store-down.png", full_page=True)
    finally:
        bot.start_actions()


def test_details_typed_on_the_page_are_taken_out_and_the_person_is_told(bot, phone: Page):
    phone.goto(f"{bot.url}/webhooks/webchat/")
    log = phone.get_by_role("log", name="Conversation")
    expect(log.locator(".message.bot").first).to_contain_text("quality-improvement")
    box = phone.get_by_label("Your message")
    box.fill("Mrs Patel (943 476 5919) fell again and the consultants won't come to the falls meeting")
    box.press("Enter")
    expect(log).to_contain_text("I've taken a name and an NHS number out of your message")
    expect(log).to_contain_text(re.compile(r"Is that right\?|Is it mainly one of these\?"))
    phone.screenshot(path=SCREENSHOTS / "webchat-6-details-removed.png", full_page=True)
    phone.reload()  # what was kept is what the history shows
    expect(log.locator(".message.user").last).to_have_text(
        "You said: [name] ([NHS number]) fell again and the consultants won't come to the falls meeting")


def test_delete_my_data_on_the_page_asks_first_then_starts_afresh(bot, phone: Page):
    log = describe_on_the_page(phone, bot.url, DESCRIPTION)
    old_token = phone.evaluate("window.localStorage.getItem('qi-coach.session')")
    phone.once("dialog", lambda dialog: dialog.dismiss())
    phone.get_by_role("button", name="Delete my data").click()
    expect(log).to_contain_text("Is that right?")  # dismissed: nothing happened
    phone.once("dialog", lambda dialog: dialog.accept())
    phone.get_by_role("button", name="Delete my data").click()
    expect(log).not_to_contain_text("Is that right?")
    expect(log.locator(".message.bot").first).to_contain_text("quality-improvement")  # a new conversation
    expect(phone.get_by_role("status")).to_contain_text("were deleted")  # still said after the greeting
    assert phone.evaluate("window.localStorage.getItem('qi-coach.session')") != old_token
    phone.screenshot(path=SCREENSHOTS / "webchat-7-data-deleted.png")
