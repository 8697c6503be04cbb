"""One reply, written once in light Markdown, rendered as each channel expects.

The actions write replies in a small Markdown subset (``**bold**``, ``*italic*``, numbered
and dashed lists, ``[label](target)`` links; see ``actions/render.py``). Links to the
evidence point at the web chat's sources page with a relative target (``sources#seed_002``).
Each channel turns that into what it can show:

- web chat: Markdown as it is (the page renders and sanitises it; relative links work there);
- Slack: Block Kit sections in ``mrkdwn`` (``*bold*``, ``_italic_``, ``<url|label>``), with
  buttons as an actions block;
- Microsoft Teams: Markdown with paragraph breaks, buttons as hero-card actions;
- plain text (terminal, notifications): the words without the markup.

Relative links become absolute where the web chat has a public address
(``QI_COACH_PUBLIC_URL``); without one, Slack and Teams show the label alone, never a dead link.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

LINK = re.compile(r"\[([^\]\n]+)\]\(([^)\s]+)\)")
BOLD = re.compile(r"\*\*(.+?)\*\*")
ITALIC = re.compile(r"(?<![*\w])\*(?!\s)([^*\n]+?)(?<!\s)\*(?![*\w])")
LIST_ITEM = re.compile(r"^\s*(?:[-*]|\d+\.)\s")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*$", re.MULTILINE)
WEBCHAT_PATH = "/webhooks/webchat/"

SLACK_SECTION_LIMIT = 3000  # characters of text in one section block
SLACK_BUTTON_TEXT_LIMIT = 75
SLACK_MAX_BUTTONS = 25  # elements in one actions block


def public_base_url() -> str | None:
    """Where the web chat is reachable from outside (for links in Slack and Teams), if set."""
    url = (os.environ.get("QI_COACH_PUBLIC_URL") or "").strip().rstrip("/")
    return url or None


def _is_absolute(target: str) -> bool:
    return bool(re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target))


def resolve_links(markdown: str, base_url: str | None) -> str:
    """Relative links made absolute under the web chat's public address, or reduced to their
    label when there is none; absolute (``https:``) links are left as they are."""

    def fix(match: re.Match) -> str:
        label, target = match.group(1), match.group(2)
        if _is_absolute(target):
            return match.group(0)
        if base_url:
            return f"[{label}]({base_url}{WEBCHAT_PATH}{target.lstrip('/')})"
        return label

    return LINK.sub(fix, markdown)


def to_plain(markdown: str) -> str:
    """The words without the markup: for terminals and notification previews."""
    text = LINK.sub(lambda m: m.group(1), markdown)
    text = HEADING.sub(r"\1", text)
    text = BOLD.sub(r"\1", text)
    return ITALIC.sub(r"\1", text)


# --- Slack -----------------------------------------------------------------------------------


def slack_escape(text: str) -> str:
    """Slack's three control characters (its docs: escape &, < and > in message text)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_slack_mrkdwn(markdown: str, base_url: str | None = None) -> str:
    """Markdown to Slack's ``mrkdwn``: ``*bold*``, ``_italic_``, ``<url|label>``, headings as
    bold lines (Slack has none); the user's or content's own ``<``, ``>`` and ``&`` escaped so
    they cannot form a mention or link."""
    text = HEADING.sub(lambda m: f"**{m.group(1).replace('**', '')}**", resolve_links(markdown, base_url))
    parts, last = [], 0
    for match in LINK.finditer(text):  # only absolute links are left
        parts.append(_slack_inline(slack_escape(text[last:match.start()])))
        label = _slack_inline(slack_escape(match.group(1))).replace("|", "/")
        parts.append(f"<{match.group(2).replace('>', '%3E').replace('|', '%7C')}|{label}>")
        last = match.end()
    parts.append(_slack_inline(slack_escape(text[last:])))
    return "".join(parts)


def _slack_inline(text: str) -> str:
    text = ITALIC.sub(r"_\1_", text)  # before bold, so **x** is not read as *(*x*)*
    return BOLD.sub(r"*\1*", text)


def _chunks(lines: list[str], limit: int) -> list[str]:
    """Lines grouped into pieces of at most ``limit`` characters (a longer line is cut)."""
    chunks, current = [], ""
    for line in lines:
        while len(line) > limit:
            if current:
                chunks.append(current)
                current = ""
            chunks.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            chunks.append(current)
            candidate = line
        current = candidate
    if current:
        chunks.append(current)
    return chunks


def slack_blocks(markdown: str, buttons: Sequence[dict] = (), base_url: str | None = None) -> list[dict]:
    """Block Kit for one reply: its text as ``mrkdwn`` sections, its buttons as one actions block."""
    mrkdwn = to_slack_mrkdwn(markdown, base_url)
    blocks: list[dict] = [{"type": "section", "text": {"type": "mrkdwn", "text": chunk}}
                          for chunk in _chunks(mrkdwn.splitlines(), SLACK_SECTION_LIMIT) if chunk.strip()]
    if buttons:
        blocks.append({"type": "actions", "block_id": "qi_coach_buttons", "elements": [
            {"type": "button", "action_id": f"qi_coach_button_{i}", "value": str(b.get("payload", b.get("title", ""))),
             "text": {"type": "plain_text", "emoji": True,
                      "text": _clip(str(b.get("title") or b.get("payload") or "?"), SLACK_BUTTON_TEXT_LIMIT)}}
            for i, b in enumerate(buttons[:SLACK_MAX_BUTTONS])]})
    return blocks


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


# --- Microsoft Teams ---------------------------------------------------------------------------


def to_teams_markdown(markdown: str, base_url: str | None = None) -> str:
    """Markdown for a Teams message (``textFormat: markdown``). Teams joins single line breaks,
    so lines become paragraphs; consecutive list items stay one list."""
    lines = resolve_links(markdown, base_url).splitlines()
    out: list[str] = []
    for i, line in enumerate(lines):
        if i:
            in_list = LIST_ITEM.match(line) and LIST_ITEM.match(lines[i - 1])
            out.append("\n" if in_list else "\n\n")
        out.append(line)
    return "".join(out)


def teams_hero_card(buttons: Sequence[dict]) -> dict:
    """Buttons as a hero card. ``messageBack`` shows the user the button's title while the bot
    receives its payload (``imBack`` would post "/affirm" into the chat)."""
    return {
        "contentType": "application/vnd.microsoft.card.hero",
        "content": {"buttons": [
            {"type": "messageBack", "title": _clip(str(b.get("title") or "?"), 256),
             "displayText": str(b.get("title") or ""), "text": str(b.get("payload") or b.get("title") or ""),
             "value": {"display": str(b.get("title") or "")}}
            for b in buttons]},
    }
