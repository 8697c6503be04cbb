"""The insights page over HTTP (a real Sanic server, the routes mounted where the web chat's are):
only for the QI lead's token, by header or the sign-in form's cookie, never in the address; bad
dates refused clearly; CSV downloads; the demonstration data under its banner."""

from __future__ import annotations

import csv
import io
import time
from urllib.parse import urlencode

import pytest

from qi_coach.channels import insights_page
from qi_coach.channels.insights_page import COOKIE, SIGNED_IN, cookie_value
from tests.insights.conftest import LEAD, OBSTACLE, PREFIX

PAGE = "/webhooks/webchat/insights"
CSV = "/webhooks/webchat/insights.csv"


def bearer(token: str = LEAD) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_switched_off_without_a_token_configured(served, monkeypatch):
    monkeypatch.delenv("QI_COACH_LEAD_TOKEN", raising=False)
    for path in (PAGE, f"{CSV}?table=strategies"):
        reply = served.request("GET", path, bearer("anything-at-all-anything-at-all"))
        assert reply.status == 401 and "switched off" in reply.text and "QI_COACH_LEAD_TOKEN" in reply.text
        assert "<form" not in reply.text  # nothing to sign in to
    monkeypatch.setenv("QI_COACH_LEAD_TOKEN", "short")  # too short to be a secret: still off
    reply = served.request("GET", PAGE, bearer("short"))
    assert reply.status == 401 and "shorter than 24 characters" in reply.text


def test_without_the_right_token_the_answer_is_401_with_a_sign_in_form(served, lead_token):
    for headers in ({}, bearer("not-the-lead-token-not-the-lead-token"), {"Authorization": f"Basic {LEAD}"},
                    {"Cookie": f"{COOKIE}=123.forged"}):
        reply = served.request("GET", PAGE, headers)
        assert reply.status == 401, headers
        assert reply.headers["WWW-Authenticate"].startswith("Bearer")
        assert '<form class="insights-signin" method="post" action="insights">' in reply.text
        assert "Barrier insights" in reply.text and "<img" not in reply.text
    assert served.request("GET", f"{CSV}?table=strategies", bearer("wrong-wrong-wrong-wrong-wrong")).status == 401


def test_the_bearer_token_opens_the_page_with_the_web_chats_security_headers(served, lead_token):
    reply = served.request("GET", PAGE, bearer())
    assert reply.status == 200 and reply.headers["Content-Type"].startswith("text/html")
    policy = reply.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "img-src 'self' data:" in policy and "style-src 'self'" in policy
    assert "form-action 'self'" in policy and "script-src 'self'" in policy
    assert reply.headers["X-Content-Type-Options"] == "nosniff" and reply.headers["Cache-Control"] == "no-store"
    html = reply.text
    assert html.count('<img src="data:image/png;base64,') == 4 and html.count(' alt="') == 4
    assert '<link rel="stylesheet" href="static/chat.css">' in html and "<script" not in html and "style=" not in html
    assert "conversations with a confirmed barrier" in html and "&lt;5" in html
    assert "insights.csv?table=barrier_pairs&amp;from=2025-12-01&amp;to=2026-11-20" in html  # the default period
    assert "Demonstration data" not in html
    assert OBSTACLE not in html and PREFIX not in html and "ZEBRA" not in html


def test_a_token_in_the_address_is_refused_even_with_the_right_header(served, lead_token):
    for query in (f"token={LEAD}", f"access_token={LEAD}", f"key={LEAD}"):
        reply = served.request("GET", f"{PAGE}?{query}", bearer())
        assert reply.status == 401 and "never accepted in the page" in reply.text
        assert LEAD not in reply.text
    assert served.request("GET", f"{CSV}?table=strategies&token={LEAD}", bearer()).status == 401


def sign_in(served, token: str, query: str = "") -> tuple[int, str | None, list[str]]:
    reply = served.request("POST", PAGE + (f"?{query}" if query else ""),
                           {"Content-Type": "application/x-www-form-urlencoded"}, urlencode({"token": token}))
    return reply.status, reply.headers.get("Location"), reply.headers.get_all("Set-Cookie") or []


def test_the_sign_in_form_sets_a_strict_http_only_cookie_for_the_page_and_its_csvs(served, lead_token):
    status, location, cookies = sign_in(served, LEAD, "from=2026-02-01&to=2026-06-30&demo=0&evil=1")
    assert status == 303 and location == "insights?from=2026-02-01&to=2026-06-30&demo=0"
    assert sorted(c.split("Path=")[1].split(";")[0] for c in cookies) == [PAGE, CSV]
    for cookie in cookies:
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and f"Max-Age={SIGNED_IN}" in cookie
        assert LEAD not in cookie  # the cookie is a signature, not the token
    value = cookies[0].split(";")[0]
    assert served.request("GET", PAGE, {"Cookie": value}).status == 200
    reply = served.request("GET", f"{CSV}?table=barriers_by_month", {"Cookie": value})
    assert reply.status == 200 and reply.text.startswith("source,barrier_id")

    status, _, cookies = sign_in(served, "not-the-token-not-the-token-not")
    assert status == 401 and cookies == []
    assert sign_in(served, "")[0] == 401


def test_a_cookie_expires_and_dies_with_a_new_token(served, lead_token, monkeypatch):
    old = cookie_value(LEAD, int(time.time()) - SIGNED_IN - 5)
    reply = served.request("GET", PAGE, {"Cookie": f"{COOKIE}={old}"})
    assert reply.status == 401 and "signed out after eight hours" in reply.text
    fresh = cookie_value(LEAD, int(time.time()))
    assert served.request("GET", PAGE, {"Cookie": f"{COOKIE}={fresh}"}).status == 200
    monkeypatch.setenv("QI_COACH_LEAD_TOKEN", "a-new-token-for-the-new-lead-0001")
    assert served.request("GET", PAGE, {"Cookie": f"{COOKIE}={fresh}"}).status == 401


@pytest.mark.parametrize(("query", "says"), [
    ("from=2026-02-30", "&#x27;from&#x27; must be a date written like 2026-01-31"),
    ("to=soon", "&#x27;to&#x27; must be a date"),
    ("from=2026-06-01&to=2026-05-01", "starts (2026-06-01) after it ends (2026-05-01)"),
    ("from=2001-01-01&to=2026-01-01", "at most 36 months"),
    ("from=<script>alert(1)</script>", "&lt;script&gt;"),
])
def test_bad_dates_are_a_clear_400(served, lead_token, query, says):
    for path in (f"{PAGE}?{query}", f"{CSV}?table=strategies&{query}"):
        reply = served.request("GET", path, bearer())
        assert reply.status == 400 and says in reply.text, reply.text
        assert "<script>" not in reply.text


def test_csv_downloads_name_their_period_and_refuse_unknown_tables(served, lead_token):
    reply = served.request("GET", f"{CSV}?table=strategies&from=2026-02-10&to=2026-09-17", bearer())
    assert reply.status == 200 and reply.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert reply.headers["Content-Disposition"] == \
        'attachment; filename="qi-coach-insights-strategies-2026-02-10-to-2026-09-17.csv"'
    rows = list(csv.DictReader(io.StringIO(reply.text)))
    assert rows and {r["source"] for r in rows} == {"qi-coach records"}
    assert any(r["suppressed"] == "small_cell" and r["value"] == "" for r in rows)
    assert OBSTACLE not in reply.text and PREFIX not in reply.text
    for table in ("users", "", "../etc/passwd"):
        reply = served.request("GET", f"{CSV}?table={table}", bearer())
        assert reply.status == 400 and "barriers_by_month" in reply.text


def test_the_demonstration_data_comes_with_its_banner(served, lead_token):
    reply = served.request("GET", f"{PAGE}?demo=1", bearer())
    assert reply.status == 200
    assert '<p class="insights-demo" role="note"><strong>Demonstration data: synthetic, not from real ' \
           'conversations</strong></p>' in reply.text
    assert "demo=1" in reply.text.split("insights.csv?table=strategies")[1][:80]
    rows = list(csv.DictReader(io.StringIO(served.request("GET", f"{CSV}?table=checkins&demo=1", bearer()).text)))
    assert {r["source"] for r in rows} == {"synthetic demonstration data"}
    assert served.request("GET", f"{PAGE}?demo=1").status == 401  # still only for the lead


def test_requests_are_rate_limited_per_address(served, lead_token):
    limited = f"/limited{PAGE}"  # the same routes with a limit of 3 a minute
    statuses = [served.request("GET", limited, bearer("wrong-wrong-wrong-wrong-wrong")).status for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    assert served.request("GET", limited, bearer()).status == 429  # the right token waits too
    assert served.request("GET", PAGE, bearer()).status == 200  # another limiter: another server


def test_the_web_chat_mounts_the_page_beside_its_sources():
    from qi_coach.channels.webchat import WebChatInput

    async def nothing(_):
        return None

    blueprint = WebChatInput(keys=[b"k" * 40]).blueprint(nothing)
    routes = {route.uri: route.methods for route in blueprint._future_routes}
    assert {"/sources", "/insights", "/insights.csv"} <= set(routes)
    assert set(routes["/insights"]) == {"GET", "POST"}
    assert insights_page.MIN_TOKEN_CHARS == 24
