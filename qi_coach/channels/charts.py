"""A run chart in a reply: the custom payload the action sends, and the picture behind it.

``action_draw_run_chart`` sends ``{"chart": {"token", "url", "title", "alt"}}``. Each output
channel shows it its own way: the web chat as an image (``url`` is relative to the web chat,
served by ``GET /webhooks/webchat/charts/<token>.png``), Slack as an uploaded file, Teams as an
image attachment, the terminal as its text alternative and the link. The token is the only key
to the picture: random, and deleted with the conversation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qi_coach.runcharts.drawing import RunCharts

TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
FILENAME = "run-chart.png"


def chart_path(token: str) -> str:
    """Where the web chat serves a chart's picture, relative to ``/webhooks/webchat/``."""
    return f"charts/{token}.png"


def chart_payload(token: str, title: str, alt: str) -> dict[str, Any]:
    """The custom payload ``action_draw_run_chart`` sends and ``chart_in`` reads back."""
    return {"chart": {"token": token, "url": chart_path(token), "title": title, "alt": alt}}


@dataclass(frozen=True)
class ChartReply:
    token: str
    url: str
    title: str
    alt: str

    def as_dict(self) -> dict[str, str]:
        return {"url": self.url, "title": self.title, "alt": self.alt}


def chart_in(json_message: Any) -> ChartReply | None:
    """The chart a custom payload carries, or None when it carries none (or a malformed one)."""
    chart = json_message.get("chart") if isinstance(json_message, dict) else None
    if not isinstance(chart, dict) or not TOKEN.match(str(chart.get("token") or "")):
        return None
    token = str(chart["token"])
    return ChartReply(token, chart_path(token), str(chart.get("title") or "Run chart")[:200],
                      str(chart.get("alt") or "A run chart")[:1000])


def picture(token: str, compact: bool = False) -> tuple[bytes, str] | None:
    """The PNG and text alternative kept under ``token`` (None: no such chart). Blocking: call
    it in a thread from the event loop."""
    if not TOKEN.match(token or ""):
        return None
    return run_charts().picture(token, compact=compact)


@cache
def run_charts() -> RunCharts:
    """The server's one ``RunCharts`` (its records make their tables once, not per picture).
    Imported on first use: drawing loads matplotlib, which a server without charts never needs."""
    from qi_coach.runcharts.drawing import RunCharts

    return RunCharts()
