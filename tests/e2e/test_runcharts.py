"""Run charts, end to end, through the real servers and the trained model: numbers typed in a
message, a CSV uploaded on the web page, and what each channel shows (the web chat's image,
Slack's file upload, Teams' image attachment, the REST payload the terminal prints).

The web chat's chart is looked at in Chromium: ``reports/screenshots/webchat-11-run-chart.png``.
"""

from __future__ import annotations

import asyncio
import io
import json
import urllib.error
import urllib.request
import uuid

from PIL import Image
from playwright.sync_api import Page, expect

from tests.e2e import fakes
from tests.e2e.conftest import PUBLIC_URL, SCREENSHOTS, texts
from tests.e2e.test_checkins import _settle
from tests.e2e.test_slack import event as slack_event
from tests.e2e.test_slack import post_event, posted, section_text
from tests.e2e.test_teams import send as teams_send
from tests.e2e.test_webchat import WebClient

FALLS = "weekly falls: 12 15 11 9 14 10 13 12 8 7 9 6 5 7 8 6, changes after point 8"
CSV = """week,falls,change
05/01/2026,12,
12/01/2026,15,
19/01/2026,11,
26/01/2026,9,
02/02/2026,14,
09/02/2026,10,
16/02/2026,13,
23/02/2026,12,
02/03/2026,8,new falls huddle
09/03/2026,7,
16/03/2026,9,
23/03/2026,6,
30/03/2026,5,
06/04/2026,6,
"""


def chart_of(replies: list[dict]) -> dict:
    [chart] = [r["custom"]["chart"] for r in replies if isinstance(r.get("custom"), dict) and "chart" in r["custom"]]
    return chart


def fetch(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as reply:
            return reply.status, reply.headers.get("Content-Type", ""), reply.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read()


def test_numbers_typed_over_rest_give_a_chart_and_what_the_rules_find(bot, sender):
    replies = bot.say(FALLS, sender)
    chart = chart_of(replies)
    words = texts(replies)
    assert "**A shift:** the last eight points all sit below your baseline median" in words
    assert "evidence the change made a difference" in words and "sources#perla_2011" in words
    status, kind, png = fetch(f"{bot.url}/webhooks/webchat/{chart['url']}")
    assert status == 200 and kind == "image/png" and Image.open(io.BytesIO(png)).format == "PNG"
    assert fetch(f"{bot.url}/webhooks/webchat/charts/{'x' * 32}.png")[0] == 404  # no such chart
    fakes.save_transcript("runchart-rest", [{"user": FALLS}, {"bot": words, "chart": chart}])


def test_asking_for_a_chart_then_bad_answers_then_numbers(bot, sender):
    asked = texts(bot.say("can you draw a run chart of my data", sender))
    assert "Send me your measure's numbers" in asked
    again = texts(bot.say("hmm let me find them", sender))
    assert "numbers" in again and "Send the numbers when you have them" in again
    plan = texts(bot.say("show my plan", sender))  # a question on the way is answered, then back to asking
    assert "You don't have a plan yet" in plan and "Send the numbers when you have them" in plan
    one = texts(bot.say("42", sender))
    assert "at least 2" in one
    replies = bot.say("3 5 4 6 5 7", sender)
    assert "With 6 points I can draw it" in texts(replies) and chart_of(replies)


def test_a_sentence_with_a_few_numbers_is_not_taken_for_a_measure(bot, sender):
    replies = bot.say("we had 3 meetings in 2 weeks and ward 7 lost 2 nurses", sender)
    assert all("custom" not in r for r in replies)


def test_a_csv_uploaded_on_the_page_is_read_and_drawn(bot):
    async def conversation() -> tuple[dict, list[dict]]:
        client = WebClient(bot.url)
        token = (await client.connect())["token"]
        refused = await asyncio.to_thread(upload, bot.url, token, "falls\nn/a\n3\n")
        answer = await asyncio.to_thread(upload, bot.url, token, CSV)
        await client.say(token, "/give_measure" + json.dumps({"run_chart": answer[1]["token"]}),
                         display="falls.csv")
        got = await client.replies_until("Rules from")
        await client.close()
        return {"refused": refused, "answer": answer}, got

    result, got = asyncio.run(conversation())
    status, body = result["refused"]
    assert status == 400 and "Row" in body["error"]
    status, body = result["answer"]
    assert status == 200 and body["points"] == 14
    charts = [m["chart"] for m in got if "chart" in m]
    assert charts and charts[0]["url"].startswith("charts/") and "14 points" in charts[0]["alt"]
    assert "once your change (new falls huddle) was in place" in "\n".join(m.get("text") or "" for m in got)
    assert upload(bot.url, "not-a-session-token", CSV)[0] == 401


def upload(url: str, token: str, csv_text: str) -> tuple[int, dict]:
    request = urllib.request.Request(f"{url}/webhooks/webchat/measure", data=csv_text.encode(), method="POST",
                                     headers={"X-Session-Token": token, "Content-Type": "text/csv"})
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def test_a_chart_in_a_slack_dm_is_an_uploaded_file_with_its_alt_text(bot, slack_api):
    channel = "D" + uuid.uuid4().hex[:8].upper()
    assert post_event(bot, slack_event(FALLS, channel=channel))[0] == 200
    posts = _settle(lambda: posted(slack_api, channel))
    uploads = _settle(lambda: fakes.slack_uploads(slack_api, channel))
    [(completed, png)] = uploads
    assert json.loads(completed["files"])[0]["title"] == "weekly falls"
    assert Image.open(io.BytesIO(png)).format == "PNG"
    asked = [r.params() for r in slack_api.received("POST", "/api/files.getUploadURLExternal")]
    assert any(f.get("alt_txt", "").startswith("Run chart of weekly falls") for f in asked)
    assert any("A shift" in section_text(p) for p in posts)
    fakes.save_transcript("runchart-slack", [{"user": FALLS}, {"bot (file)": completed},
                                             *({"bot": section_text(p)} for p in posts)])


def test_a_chart_in_teams_is_an_image_attachment(bot, microsoft):
    conv = f"a:1{uuid.uuid4().hex}"
    assert teams_send(bot, microsoft.activity(FALLS, conv), microsoft.token()) == 200
    replies = [r.json() for r in _settle(lambda: microsoft.replies(conv))]
    [image] = [a for r in replies for a in r.get("attachments") or [] if a["contentType"] == "image/png"]
    assert image["contentUrl"].startswith(f"{PUBLIC_URL}/webhooks/webchat/charts/")  # the public address is set
    status, _, png = fetch(image["contentUrl"].replace(PUBLIC_URL, bot.url))
    assert status == 200 and png.startswith(b"\x89PNG")
    assert any("A shift" in (r.get("text") or "") for r in replies)
    fakes.save_transcript("runchart-teams", [{"user": FALLS}, *({"bot": r.get("text"),
                                                                  "attachments": r.get("attachments")}
                                                                 for r in replies)])


def test_the_chart_in_the_web_page(bot, browser):
    context = browser.new_context(viewport={"width": 1000, "height": 1100})
    page: Page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        page.goto(f"{bot.url}/webhooks/webchat/")
        log = page.get_by_role("log", name="Conversation")
        expect(log.locator(".message.bot").first).to_be_visible()
        box = page.get_by_label("Your message")
        box.fill(FALLS)
        box.press("Enter")
        image = log.locator("figure.chart img")
        expect(image).to_be_visible()
        assert image.get_attribute("alt").startswith("Run chart of weekly falls: 16 points")
        page.wait_for_function("() => document.querySelector('figure.chart img').naturalWidth > 0")
        expect(log).to_contain_text("A shift")
        page.screenshot(path=SCREENSHOTS / "webchat-11-run-chart.png", full_page=False)
        page.reload()  # the chart is in the replayed history too
        log = page.get_by_role("log", name="Conversation")
        expect(log.locator("figure.chart img")).to_be_visible()

        # a CSV with a mistake is refused in words; the corrected file is drawn
        page.set_input_files("#measure-file", files=[{"name": "falls.csv", "mimeType": "text/csv",
                                                      "buffer": b"week,falls\n1,12\n2,n/a\n3,9\n"}])
        expect(page.get_by_role("status")).to_contain_text('Row 3 has no number I can read ("n/a")')
        page.set_input_files("#measure-file", files=[{"name": "falls.csv", "mimeType": "text/csv",
                                                      "buffer": CSV.encode()}])
        expect(log.locator(".message.user").last).to_contain_text("falls.csv (14 values)")
        expect(log.locator("figure.chart img")).to_have_count(2)
        page.wait_for_function("() => [...document.querySelectorAll('figure.chart img')].every(i => i.naturalWidth)")
        expect(log).to_contain_text("once your change (new falls huddle) was in place")
        log.locator("figure.chart").last.scroll_into_view_if_needed()
        page.screenshot(path=SCREENSHOTS / "webchat-12-run-chart-from-a-csv.png")
    finally:
        context.close()
