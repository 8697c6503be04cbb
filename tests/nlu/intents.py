"""The shipped model's intent for each text, as the bot reads it (``qi-coach classify``)."""

from __future__ import annotations

import io
import json

from qi_coach.classify import DEFAULT_MODEL, classify_stream


def shipped_intents(texts: list[str]) -> dict[str, str]:
    """``{text: intent}``; texts go as JSON lines, so a pasted column stays one message."""
    lines = "".join(json.dumps({"text": t}) + "\n" for t in texts)
    out = io.StringIO()
    assert classify_stream(DEFAULT_MODEL, io.StringIO(lines), out, with_intent=True) == 0
    read = [json.loads(line) for line in out.getvalue().splitlines()]
    return {t: r["intent"] for t, r in zip(texts, read, strict=True)}
