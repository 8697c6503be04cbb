"""How replies read: short, warm, specific, with every strategy's evidence shown.

Plain functions that turn store answers into text and buttons, so every action formats the
same way and tests can check the wording without a dialogue. Text uses light Markdown (bold,
numbered lists, links to sources); each channel renders it (qi_coach/channels/formatting.py).
No blank lines inside a message: Rasa's own output channels split a message there.
"""

from __future__ import annotations

import json

from knowledge.repository import Recommendation, SourceRef, StrategyInfo, ToolInfo
from qi_coach.coaching.said import you_said


def join_words(items: list[str]) -> str:
    """"a", "a and b", "a, b and c"."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def payload(intent: str, **entities: str) -> str:
    return f"/{intent}" + (json.dumps(entities, separators=(",", ":")) if entities else "")


def button(title: str, intent: str, **entities: str) -> dict:
    return {"title": title, "payload": payload(intent, **entities)}


def source_link(source: SourceRef) -> str:
    """A source as a Markdown link to its entry on the web chat's sources page. The target is
    relative: each channel makes it absolute or shows the label alone (qi_coach/channels)."""
    label = source.short.replace("[", "(").replace("]", ")")
    return f"[{label}](sources#{source.id})"


def sources_line(sources: tuple[SourceRef, ...]) -> str:
    return "; ".join(source_link(s) for s in sources)


def reflect_barriers(phrases: list[str]) -> str:
    """The bot's reading of the description, in plain words, as a question."""
    verb, noun = ("is", "block") if len(phrases) == 1 else ("are", "blocks")
    return f"It sounds like **{join_words(phrases)}** {verb} the main {noun}. Is that right?"


def confirm_buttons() -> list[dict]:
    return [button("Yes, that's it", "affirm"), button("Not quite", "deny")]


def strategy_card(index: int, rec: Recommendation, quote: bool = True) -> str:
    """One suggestion; ``quote=False`` leaves out "why this for you" (a sentence already quoted
    for an earlier card in the same reply)."""
    tool = f"\n*Tool:* {rec.tools[0].name}" if rec.tools else ""
    fits = f"*Why this for you:* {you_said(rec.because_you_said)}\n" if quote and rec.because_you_said else ""
    return (
        f"**{index}. {rec.title}**\n"
        f"{rec.summary}\n"
        f"{fits}"
        f"*Why it helps:* {first_sentence(rec.why_it_works)}\n"
        f"*First step:* {rec.first_step}{tool}\n"
        f"*Evidence:* {rec.evidence_label}; {sources_line(rec.sources)}"
        + (f"\n*Reported:* {rec.reported}" if rec.reported else "")
    )


#: The QI tool the coach can draw from the person's own numbers (``actions/runcharts.py``).
RUN_CHART_TOOL = "run_chart"


def draw_chart_button(title: str = "Draw my run chart") -> dict:
    """Offered wherever a run chart is part of the advice: after a strategy or tool that uses
    one, and at a check-in."""
    return button(title, "run_chart")


def commit_option(rec: Recommendation) -> dict:
    """What the person can choose to try (``commit_options``): the strategy, and the barrier it
    was suggested for (the one it serves most)."""
    return {"id": rec.strategy_id, "title": rec.title, "barrier": rec.reasons[0].barrier_id if rec.reasons else None}


def numbered(items: tuple[str, ...]) -> str:
    return "\n".join(f"{i}. {item}" for i, item in enumerate(items, 1))


def strategy_details(info: StrategyInfo) -> str:
    cautions = "\n".join(f"- {c}" for c in info.cautions)
    tools = ", ".join(t.name for t in info.tools) or "none in particular"
    return (
        f"**{info.title}**\n{info.summary}\n"
        f"*Why it works:* {info.why_it_works}\n"
        f"*Steps:*\n{numbered(info.steps)}\n"
        f"*Watch out for:*\n{cautions}\n"
        f"*Tools:* {tools}\n"
        f"*Evidence:* {info.evidence_label}; {sources_line(info.sources)}"
    )


def tool_card(tool: ToolInfo) -> str:
    return (
        f"**{tool.name}**\n{tool.what_it_is}\n"
        f"*When to use it:* {tool.when_to_use}\n"
        f"*How:*\n{numbered(tool.how_to_use)}\n"
        f"*Time:* {tool.time_needed}\n"
        f"*Who to involve:* {tool.who_to_involve}\n"
        f"*Sources:* {sources_line(tool.sources)}"
    )


def first_sentence(text: str) -> str:
    """The first sentence (a reply shows why in one line; details show the rest)."""
    for end in (". ", "? ", "! "):
        cut = text.find(end)
        if 0 < cut < 320:
            return text[: cut + 1]
    return text if len(text) <= 320 else text[:317].rstrip() + "..."
