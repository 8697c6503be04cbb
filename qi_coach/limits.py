"""How much of what people type is read and kept: one owner for every length limit.

Every channel (REST, web chat, Slack, Teams) refuses a message over ``CHANNEL_MAX_CHARS`` with
``TOO_LONG``; below that, the assistant reads (and keeps, in the triage and the records) the
first ``MESSAGE_CHARS``, and says so when it cut anything.
"""

from __future__ import annotations

#: What the NLU reads of one message, and what the triage and the records keep of an answer.
MESSAGE_CHARS = 1500
#: Longer messages are refused, not cut: nobody's essay is half-read silently.
CHANNEL_MAX_CHARS = 5000
#: The largest request body any webhook reads: bigger is answered 413 before it is read.
REQUEST_BODY_BYTES = 64 * 1024
TOO_LONG = (f"That message is very long. Could you say what is getting in the way in a few sentences "
            f"(under {CHANNEL_MAX_CHARS:,} characters)?")
#: The same refusal for a long list of numbers: it was meant for a run chart.
TOO_LONG_TO_CHART = ("That's too many numbers for one message. A run chart shows up to 500 points clearly: add them "
                     "up (or average them) by week or month and send those, or upload a CSV file on the web page.")


def truncate(text: str, limit: int = MESSAGE_CHARS) -> str:
    """``text`` cut to ``limit`` characters (at a word boundary when there is one nearby)."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    space = head.rfind(" ")
    return head[:space] if space > limit * 0.8 else head
