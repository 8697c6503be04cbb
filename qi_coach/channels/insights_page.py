"""The barrier insights page for a trust's QI lead, served by the web chat
(``/webhooks/webchat/insights``, and ``insights.csv?table=...`` for each table).

Only a QI lead may see it. ``QI_COACH_LEAD_TOKEN`` holds their token; unset (or shorter than
``MIN_TOKEN_CHARS``) the page is switched off and says how to switch it on. The token comes as
``Authorization: Bearer <token>`` or, from a browser, through the sign-in form on the 401 page:
the form POSTs it here, and the answer sets a cookie and redirects (303) to the page. The cookie
holds not the token but the time it was issued with an HMAC of it keyed by the token (so
changing the token signs everyone out); it is HttpOnly, SameSite=Strict, limited to the page's
path and its CSV's, and lasts ``SIGNED_IN``. Tokens are compared in constant time. A token in
the query string is refused outright: addresses end up in logs and browser history.

Like the web chat's other endpoints behind a secret (``/plan``), every request counts against
the per-address rate limit (``intake.RateLimits``), which also makes guessing the token slow.
The figures and plots are made in a worker thread, never on the event loop. ``demo=1`` shows
the synthetic data set (``qi_coach.insights.demo``), behind the same token, under a banner.

The headers are the web chat's (``webchat.security_headers``) with two changes: the pages send
forms to themselves (``form-action 'self'``, not ``'none'``), and nothing is cached
(``no-store``): these are a trust's figures.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import date, datetime, timezone
from enum import Enum
from functools import lru_cache
from html import escape
from urllib.parse import urlencode

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from qi_coach.channels.formatting import public_base_url
from qi_coach.channels.intake import RateLimits, shared_intake
from qi_coach.channels.webchat import security_headers
from qi_coach.insights.figures import TABLES, Figures, Period, PeriodError

logger = logging.getLogger(__name__)

LEAD_TOKEN = "QI_COACH_LEAD_TOKEN"
MIN_TOKEN_CHARS = 24
COOKIE = "qi_coach_lead"
SIGNED_IN = 8 * 3600  # seconds a browser stays signed in
QUERY_TOKENS = ("token", "access_token", "lead_token", "key", "auth")  # refused in an address
KEPT = ("from", "to", "demo")  # the query a redirect or a form carries on


class Access(Enum):
    OFF = "off"  # no token configured (or too short a one)
    NONE = "none"  # none given
    WRONG = "wrong"
    EXPIRED = "expired"
    IN_ADDRESS = "in_address"
    OK = "ok"


_SAID = {
    Access.NONE: "This page is for the trust's QI lead. Sign in with the token you were given.",
    Access.WRONG: "That token is not right. Try again, or ask whoever runs qi-coach for it.",
    Access.EXPIRED: "You were signed out after eight hours. Sign in again with your token.",
    Access.IN_ADDRESS: "A token is never accepted in the page's address: addresses are kept in server logs and "
                       "in the browser's history. Sign in with the form below (or send an Authorization header), "
                       "and treat the token you put in the address as seen by others: ask for a new one.",
}


def lead_token() -> str | None:
    """The configured token, if it is long enough to be one."""
    token = os.environ.get(LEAD_TOKEN, "").strip()
    return token if len(token) >= MIN_TOKEN_CHARS else None


def _same(given: str, token: str) -> bool:
    """Constant time, whatever the lengths."""
    return hmac.compare_digest(hashlib.sha256(given.encode()).digest(), hashlib.sha256(token.encode()).digest())


def cookie_value(token: str, issued: int) -> str:
    mac = hmac.new(token.encode(), f"qi-coach insights sign-in {issued}".encode(), hashlib.sha256).hexdigest()
    return f"{issued}.{mac}"


def _cookie_ok(value: str, token: str, now: float) -> bool | None:
    """True: a valid cookie; False: a forged or old one; None: one that timed out."""
    issued, _, _ = value.partition(".")
    if not issued.isdigit() or not hmac.compare_digest(value, cookie_value(token, int(issued))):
        return False
    return True if int(issued) <= now + 60 and now - int(issued) < SIGNED_IN else None


def access(request: Request, now: float | None = None) -> Access:
    """Whether ``request`` is the QI lead's."""
    token = lead_token()
    if token is None:
        return Access.OFF
    if any(name in request.args for name in QUERY_TOKENS):
        return Access.IN_ADDRESS
    scheme, _, given = (request.headers.get("Authorization") or "").partition(" ")
    if scheme.lower() == "bearer" and given.strip():
        return Access.OK if _same(given.strip(), token) else Access.WRONG
    cookie = request.cookies.get(COOKIE)
    if cookie:
        verdict = _cookie_ok(cookie, token, time.time() if now is None else now)
        return Access.OK if verdict else Access.EXPIRED if verdict is None else Access.WRONG
    return Access.NONE


def add_insights_routes(blueprint: Blueprint, *, engine: Engine | None = None, rate_limits: RateLimits | None = None,
                        today: Callable[[], date] | None = None) -> None:
    """Add the page and its CSV downloads to the web chat's ``blueprint``.

    ``engine``: the records to count (default: the project's database); ``today``: the day a
    default period ends (tests fix it)."""
    day = today or (lambda: datetime.now(timezone.utc).date())

    def limited(request: Request) -> HTTPResponse | None:
        address = request.remote_addr or request.ip
        if (rate_limits or shared_intake().rate_limits).allow(f"insights:{address}", address):
            return None
        return response.text("Too many requests: wait a minute.", status=429, headers=_headers())

    @blueprint.route("/insights", methods=["GET", "POST"])
    async def insights_page(request: Request) -> HTTPResponse:
        """The page (GET), or the sign-in form's answer (POST)."""
        refused = limited(request)
        if refused:
            return refused
        verdict = access(request)
        if request.method == "POST" and verdict in (Access.NONE, Access.EXPIRED, Access.WRONG, Access.OK):
            return _sign_in(request)
        if verdict is not Access.OK:
            return _refusal(verdict, request)
        try:
            period, demo = _asked(request, day())
        except PeriodError as error:
            return _bad_request(str(error))
        try:
            html = await asyncio.to_thread(_page, period, demo, engine, day())
        except SQLAlchemyError:
            logger.exception("insights: the records could not be read")
            return _message_page("The records could not be read just now. Try again in a minute.", 503)
        return response.html(html, headers=_headers())

    @blueprint.route("/insights.csv", methods=["GET"])
    async def insights_csv(request: Request) -> HTTPResponse:
        """One table as CSV (``table=`` one of ``figures.TABLES``), for the same period."""
        refused = limited(request)
        if refused:
            return refused
        verdict = access(request)
        if verdict is not Access.OK:
            return _refusal(verdict, request)
        table = request.args.get("table", "")
        if table not in TABLES:
            return _bad_request(f"Unknown table {table[:40]!r}: ask for one of {', '.join(TABLES)}.")
        try:
            period, demo = _asked(request, day())
        except PeriodError as error:
            return _bad_request(str(error))
        from qi_coach.insights.report import csv_filename, csv_text

        try:
            figures = await asyncio.to_thread(_figures, period, demo, engine, day())
        except SQLAlchemyError:
            logger.exception("insights: the records could not be read")
            return _message_page("The records could not be read just now. Try again in a minute.", 503)
        return response.text(csv_text(figures, table), content_type="text/csv; charset=utf-8", headers={
            **_headers(), "Content-Disposition": f'attachment; filename="{csv_filename(figures, table)}"'})


def _asked(request: Request, today: date) -> tuple[Period, bool]:
    return Period.parse(request.args.get("from"), request.args.get("to"), today), request.args.get("demo") == "1"


def _kept_query(request: Request) -> str:
    return urlencode([(name, request.args.get(name)) for name in KEPT if request.args.get(name)])


def _sign_in(request: Request) -> HTTPResponse:
    """Check the form's token; if right, the cookie (for the page and its CSVs) and the page."""
    token = lead_token()
    given = (request.form.get("token") or "") if request.form else ""
    if token is None or not given.strip() or not _same(given.strip(), token):
        logger.warning("insights: a sign-in with a wrong token was refused")
        return _refusal(Access.WRONG, request)
    query = _kept_query(request)
    answer = response.redirect("insights" + (f"?{query}" if query else ""), status=303, headers=_headers())
    value = cookie_value(token, int(time.time()))
    secure = request.scheme == "https" or (public_base_url() or "").startswith("https:")
    for path in (request.path, f"{request.path}.csv"):
        answer.headers.add("Set-Cookie", f"{COOKIE}={value}; Path={path}; Max-Age={SIGNED_IN}; HttpOnly; "
                                         f"SameSite=Strict" + ("; Secure" if secure else ""))
    return answer


def _headers() -> dict[str, str]:
    headers = security_headers()
    headers["Content-Security-Policy"] = headers["Content-Security-Policy"].replace(
        "form-action 'none'", "form-action 'self'")
    headers["Cache-Control"] = "no-store"
    return headers


# --- the figures, in a worker thread ---------------------------------------------------------

_DEMO_LOCK = threading.Lock()  # the demonstration database is one in-memory connection


@lru_cache(maxsize=1)
def _demo_engine(day: date) -> Engine:
    from qi_coach.insights.demo import demo_engine

    return demo_engine(today=day)


def _figures(period: Period, demo: bool, engine: Engine | None, today: date) -> Figures:
    from qi_coach.insights.figures import compute
    from qi_coach.records import UserRecords

    if demo:  # made up to today: its twelve months are the default period's
        with _DEMO_LOCK:
            return compute(_demo_engine(today), period, synthetic=True)
    return compute(engine or UserRecords().engine, period)


def _page(period: Period, demo: bool, engine: Engine | None, today: date) -> str:
    from qi_coach.insights.report import page_html, render

    figures = _figures(period, demo, engine, today)
    shown = {"from": period.start.isoformat(), "to": period.end.isoformat(), **({"demo": "1"} if demo else {})}
    return page_html(figures, render(figures, "png"), image_src=lambda plot: plot.data_uri,
                     csv_href=lambda name: "insights.csv?" + urlencode({"table": name, **shown}),
                     stylesheet="static/chat.css", period_form=_period_form(period, demo),
                     back_link='<p class="actions"><a href="./">Back to the chat</a></p>')


def _period_form(period: Period, demo: bool) -> str:
    other = ('<a href="insights">Show the real figures</a>' if demo
             else '<a href="insights?demo=1">Show the demonstration data</a>')
    return ('<form class="insights-period" method="get" action="insights">'
            f'<label>From <input type="date" name="from" value="{period.start}" required></label>'
            f'<label>To <input type="date" name="to" value="{period.end}" required></label>'
            + ('<input type="hidden" name="demo" value="1">' if demo else "")
            + f'<button type="submit">Show this period</button><span>{other}</span></form>')


# --- the pages that say no -------------------------------------------------------------------


def _message_page(message: str, status: int, form: str = "") -> HTTPResponse:
    html = ('<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<title>qi-coach: barrier insights</title><link rel="stylesheet" href="static/chat.css"></head>'
            '<body class="insights"><header class="top"><h1>Barrier insights</h1></header><main>'
            f'<section class="insights-section"><p>{escape(message)}</p>{form}</section></main></body></html>')
    return response.html(html, status=status, headers=_headers())


def _bad_request(message: str) -> HTTPResponse:
    return _message_page(message, 400)


def _refusal(verdict: Access, request: Request) -> HTTPResponse:
    """401: what is needed, and (unless switched off) the form to sign in."""
    if verdict is Access.OFF:
        configured = os.environ.get(LEAD_TOKEN, "").strip()
        why = (f"{LEAD_TOKEN} is shorter than {MIN_TOKEN_CHARS} characters" if configured
               else f"{LEAD_TOKEN} is not set")
        answer = _message_page(
            f"Barrier insights are switched off ({why}). To switch them on, set {LEAD_TOKEN} on every qi-coach "
            f"server to a long random secret (for example the output of: python3 -c \"import secrets; "
            f"print(secrets.token_urlsafe(32))\"), restart the servers, and give the secret to the trust's QI lead. "
            "docs/insights.md has the details.", 401)
    else:
        query = _kept_query(request)
        form = ('<form class="insights-signin" method="post" action="insights' + (f"?{escape(query)}" if query else "")
                + '"><label>QI lead token <input type="password" name="token" autocomplete="current-password" '
                'required></label><button type="submit">Sign in</button></form>'
                '<p class="insights-note">A program can send the token as the header '
                "<code>Authorization: Bearer &lt;token&gt;</code> instead.</p>")
        answer = _message_page(_SAID[verdict], 401, form)
    answer.headers["WWW-Authenticate"] = 'Bearer realm="qi-coach insights"'
    return answer
