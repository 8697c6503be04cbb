"""One reply, rendered for each channel: Slack mrkdwn and Block Kit, Teams Markdown, plain text."""

from __future__ import annotations

from qi_coach.channels.formatting import (
    resolve_links,
    slack_blocks,
    teams_hero_card,
    to_plain,
    to_slack_mrkdwn,
    to_teams_markdown,
)

CARD = ("**1. Measure a few things well**\nTrack three or four measures.\n*First step:* Write down the measures.\n"
        "*Evidence:* expert opinion; [Pannick et al. 2016, BMJ Quality & Safety](sources#seed_002); "
        "[Langley et al. 2009](https://example.org/langley)")


def test_relative_links_become_absolute_under_the_public_address_or_just_their_label():
    assert resolve_links(CARD, "https://coach.example.nhs.uk").count(
        "](https://coach.example.nhs.uk/webhooks/webchat/sources#seed_002)") == 1
    without = resolve_links(CARD, None)
    assert "Pannick et al. 2016, BMJ Quality & Safety;" in without and "sources#" not in without
    assert "[Langley et al. 2009](https://example.org/langley)" in without  # absolute links stay


def test_slack_mrkdwn_bold_italic_and_links():
    text = to_slack_mrkdwn(CARD, "https://coach.example.nhs.uk")
    assert text.startswith("*1. Measure a few things well*\n")
    assert "_First step:_ Write" in text and "_Evidence:_" in text and "**" not in text
    assert "<https://coach.example.nhs.uk/webhooks/webchat/sources#seed_002|Pannick et al. 2016, " in text
    assert "<https://example.org/langley|Langley et al. 2009>" in text


def test_text_cannot_form_a_slack_mention_or_link():
    text = to_slack_mrkdwn("ask <!channel> about <https://evil.example|the audit> & more")
    assert "<!channel>" not in text and "<https://evil" not in text
    assert "&lt;!channel&gt;" in text and "&amp; more" in text


def test_slack_blocks_keep_each_section_within_slacks_limit_and_buttons_in_one_actions_block():
    long_text = "\n".join(f"**{i}.** " + "word " * 150 for i in range(12))
    buttons = [{"title": f"Option {i} " + "x" * 80, "payload": f"/choose{{\"n\":\"{i}\"}}"} for i in range(3)]
    blocks = slack_blocks(long_text, buttons)
    sections = [b for b in blocks if b["type"] == "section"]
    assert len(sections) > 1 and all(len(b["text"]["text"]) <= 3000 for b in sections)
    assert "".join(b["text"]["text"].replace("\n", "") for b in sections) == \
        to_slack_mrkdwn(long_text).replace("\n", "")  # nothing lost
    [actions] = [b for b in blocks if b["type"] == "actions"]
    assert [e["value"] for e in actions["elements"]] == [b["payload"] for b in buttons]
    assert all(len(e["text"]["text"]) <= 75 for e in actions["elements"])
    assert len({e["action_id"] for e in actions["elements"]}) == 3


def test_teams_markdown_makes_lines_paragraphs_and_keeps_lists_together():
    text = to_teams_markdown("**Steps:**\n1. Agree the aim\n2. Pick measures\nThen start.")
    assert text == "**Steps:**\n\n1. Agree the aim\n2. Pick measures\n\nThen start."


def test_teams_buttons_send_the_payload_and_show_the_title():
    card = teams_hero_card([{"title": "Yes, that's it", "payload": "/affirm"}])
    [button] = card["content"]["buttons"]
    assert button == {"type": "messageBack", "title": "Yes, that's it", "displayText": "Yes, that's it",
                      "text": "/affirm", "value": {"display": "Yes, that's it"}}


def test_plain_text_drops_the_markup_but_keeps_every_word():
    assert to_plain(CARD).startswith("1. Measure a few things well\n")
    assert "First step: Write" in to_plain(CARD) and "Pannick et al. 2016, BMJ Quality & Safety" in to_plain(CARD)


def test_headings_become_bold_lines_in_slack_and_plain_words_in_text():
    plan = "# Your action plan\n**Aim:** fewer falls\n## 1. No time for the project\n- **Protect an hour**: book it."
    slack = to_slack_mrkdwn(plan)
    assert slack.splitlines()[0] == "*Your action plan*" and "*1. No time for the project*" in slack
    assert "#" not in slack and "**" not in slack
    assert to_plain(plan).splitlines()[:3] == ["Your action plan", "Aim: fewer falls", "1. No time for the project"]
    assert to_teams_markdown(plan).startswith("# Your action plan\n\n**Aim:** fewer falls\n\n## 1.")
