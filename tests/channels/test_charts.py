"""A run chart in a reply, as each channel receives it: the payload's checks, the Teams
attachment with and without a public address, and Slack when the picture is gone."""

from __future__ import annotations

import asyncio
import base64

import pytest

from qi_coach.channels import slack, teams
from qi_coach.channels.charts import chart_in

TOKEN = "AbCdEfGhIjKlMnOpQrStUvWx"
PNG = b"\x89PNG\r\n\x1a\nsmall"


@pytest.mark.parametrize("payload", [None, {}, {"chart": "x"}, {"chart": {"token": "../../etc/passwd"}},
                                     {"chart": {"token": "short"}}, {"chart": {"token": "a" * 65}}])
def test_a_payload_without_a_well_formed_chart_is_not_a_chart(payload):
    assert chart_in(payload) is None


def test_a_chart_payload_names_its_picture_under_the_web_chat():
    chart = chart_in({"chart": {"token": TOKEN, "title": "falls", "alt": "Run chart of falls", "url": "ignored"}})
    assert chart is not None and chart.url == f"charts/{TOKEN}.png"  # built from the token, never taken as given
    assert chart.as_dict() == {"url": f"charts/{TOKEN}.png", "title": "falls", "alt": "Run chart of falls"}


def test_teams_gets_the_public_picture_address_when_there_is_one(monkeypatch):
    monkeypatch.setenv("QI_COACH_PUBLIC_URL", "https://coach.example.nhs.uk/")
    attachment = asyncio.run(teams._chart_attachment(chart_in({"chart": {"token": TOKEN, "alt": "words"}})))
    assert attachment["text"] == "words"
    assert attachment["attachments"] == [{"contentType": "image/png", "name": "run-chart.png",
                                          "contentUrl": f"https://coach.example.nhs.uk/webhooks/webchat/charts/{TOKEN}.png"}]


def test_without_a_public_address_teams_gets_the_small_picture_inline(monkeypatch):
    monkeypatch.delenv("QI_COACH_PUBLIC_URL", raising=False)
    asked = []
    monkeypatch.setattr(teams, "picture", lambda token, compact: asked.append((token, compact)) or (PNG, "words"))
    attachment = asyncio.run(teams._chart_attachment(chart_in({"chart": {"token": TOKEN, "alt": "words"}})))
    assert asked == [(TOKEN, True)]
    [image] = attachment["attachments"]
    assert base64.b64decode(image["contentUrl"].removeprefix("data:image/png;base64,")) == PNG


def test_a_deleted_picture_is_sent_as_its_words(monkeypatch):
    monkeypatch.delenv("QI_COACH_PUBLIC_URL", raising=False)
    monkeypatch.setattr(teams, "picture", lambda token, compact: None)
    attachment = asyncio.run(teams._chart_attachment(chart_in({"chart": {"token": TOKEN, "alt": "words"}})))
    assert attachment == {"textFormat": "plain", "text": "words"}

    posted: list[str] = []
    monkeypatch.setattr(slack, "picture", lambda token: None)
    output = slack.SlackOutput("xoxb-test", "D123", None)

    async def post(text: str, buttons=None) -> None:
        posted.append(text)

    monkeypatch.setattr(output, "_post", post)
    asyncio.run(output.send_custom_json("someone", {"chart": {"token": TOKEN, "alt": "words"}}))
    assert posted == ["words"]


def test_the_web_chats_replayed_history_keeps_the_chart():
    from qi_coach.channels.webchat import history_messages

    events = [{"event": "user", "text": "weekly falls: 1 2 3 4 5 6"},
              {"event": "bot", "text": None, "data": {"custom": {"chart": {"token": TOKEN, "alt": "words"}}}},
              {"event": "bot", "text": "Here is the run chart", "data": {}},
              {"event": "bot", "text": None, "data": {"custom": {"something": "else"}}}]
    assert history_messages(events) == [
        {"from": "user", "text": "weekly falls: 1 2 3 4 5 6"},
        {"from": "bot", "chart": {"url": f"charts/{TOKEN}.png", "title": "Run chart", "alt": "words"}},
        {"from": "bot", "text": "Here is the run chart", "buttons": []}]
