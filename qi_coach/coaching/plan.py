"""The action plan at the end of the guided triage: what to do about the top barriers, and
what to ask of each organisational level that is not yet involved.

``build_plan`` picks the content (from the knowledge store) and returns a plain dict, which is
what is stored (``action_plans.plan``); the follow-up adds to it what the person chose to try
(``save_with_commitments``) and how it went at each check-in (``save_with_checkin``), keeping
each version. ``plan_markdown`` writes it for people: the chat, the web page's download and
``qi-coach plan export`` all show the same text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from knowledge.ranking import Reports, Said
from knowledge.repository import KnowledgeStore, Recommendation
from qi_coach.coaching.said import first_mentions, you_said
from qi_coach.coaching.triage import missing_levels
from qi_coach.coaching.when import spoken
from qi_coach.followup import CheckinView
from qi_coach.readings import BarrierReading
from qi_coach.records import UserRecords

MAX_BARRIERS = 3
STRATEGIES_PER_BARRIER = 3
STAGE_NAMES = {"planning": "planning", "testing": "testing changes", "spreading": "spreading",
               "sustaining": "sustaining"}
PROGRESS_NAMES = {"done": "done", "partly": "partly done", "not_started": "not started"}


def build_plan(store: KnowledgeStore, barriers: Sequence[BarrierReading], *, levels: Iterable[str] = (),
               stage: str | None = None, aim: str | None = None, stuck_for: str | None = None,
               tried_text: str | None = None, tried_ids: Iterable[str] = (),
               said: Said | None = None, reports: Mapping[tuple[str, str], Reports] | None = None) -> dict[str, Any]:
    """A plan for the first of ``barriers`` (most pressing first; at most three): up to three
    strategies each, ranked as the conversation ranks them (the reading's weight, what the
    person said, the user's levels first and topped up from the others), never one already
    tried or already in the plan; ``reports`` are the outcomes people reported (``qi_coach.followup``)."""
    levels = list(levels)
    used = set(tried_ids)
    sections = []
    for reading in barriers[:MAX_BARRIERS]:
        barrier = store.get_barrier(reading.id)
        recs = store.recommend({reading.id: reading.weight}, levels=levels, exclude=used,
                               limit=STRATEGIES_PER_BARRIER, top_up=True, said=said, reports=reports)
        used.update(r.strategy_id for r in recs)
        sections.append({
            "barrier": barrier.id, "name": barrier.name, "in_short": barrier.in_short,
            "confidence": reading.confidence, "origin": reading.origin.value,
            "strategies": [_strategy(r) for r in recs],
        })
    guides = {g.id: g for g in store.level_guides()}
    asks = [{"level": level, "name": guides[level].name, "role": guides[level].role, "asks": list(guides[level].asks),
             "sources": [s.short for s in guides[level].sources]}
            for level in (missing_levels(levels) if levels else []) if level in guides]
    return {
        "version": 1,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "aim": aim, "stage": stage, "levels": levels, "stuck_for": stuck_for,
        "tried": tried_text, "excluded_strategies": sorted(set(tried_ids)),
        "barriers": sections, "level_asks": asks,
    }


def _empty_plan() -> dict[str, Any]:
    """A plan for someone who chose strategies without the triage: what they try, and check-ins."""
    return {"version": 1, "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "aim": None,
            "stage": None, "levels": [], "stuck_for": None, "tried": None, "excluded_strategies": [],
            "barriers": [], "level_asks": []}


def save_with_commitments(records: UserRecords, conversation_id: str, checkin: CheckinView) -> None:
    """Add what the person chose to try, and when they'll be asked, to their latest plan (or to a
    new one), and keep it."""
    saved = records.latest_plan(conversation_id)
    plan = dict(saved.plan) if saved else _empty_plan()
    plan["trying"] = list(plan.get("trying") or []) + [
        {"checkin": checkin.id, "strategy": c.strategy_id, "title": c.title, "barrier": c.barrier_id,
         "ask_on": checkin.due_at.date().isoformat()} for c in checkin.commitments]
    records.save_plan(conversation_id, plan, plan_markdown(plan))


def save_with_checkin(records: UserRecords, conversation_id: str, checkin: CheckinView, when: datetime) -> None:
    """Add how each strategy went at a check-in to the latest plan, and keep it."""
    saved = records.latest_plan(conversation_id)
    plan = dict(saved.plan) if saved else _empty_plan()
    plan["checkins"] = list(plan.get("checkins") or []) + [{
        "checkin": checkin.id, "on": when.date().isoformat(),
        "strategies": [{"strategy": c.strategy_id, "title": c.title, "progress": c.progress, "helped": c.helped,
                        "obstacle": c.obstacle} for c in checkin.commitments if c.progress]}]
    records.save_plan(conversation_id, plan, plan_markdown(plan))


def _strategy(rec: Recommendation) -> dict[str, Any]:
    return {
        "id": rec.strategy_id, "title": rec.title, "first_step": rec.first_step,
        "because_you_said": rec.because_you_said,
        "tool": rec.tools[0].name if rec.tools else None,
        "evidence": rec.evidence_label,
        "sources": [{"id": s.id, "label": s.short} for s in rec.sources],
        "reported": rec.reported,
    }


def plan_markdown(plan: dict[str, Any]) -> str:
    """The plan as a person reads it: Markdown, no blank lines (chat channels split on them)."""
    lines = ["# Your action plan"]
    facts = []
    if plan.get("aim"):
        facts.append(f"**Aim:** {plan['aim']}")
    if plan.get("stage"):
        facts.append(f"**Stage:** {STAGE_NAMES.get(plan['stage'], plan['stage'])}")
    if plan.get("stuck_for"):
        facts.append(f"**Stuck for:** {plan['stuck_for']}")
    lines += facts
    reasons = iter(first_mentions(strategy.get("because_you_said") for section in plan.get("barriers") or []
                                  for strategy in section["strategies"]))
    for n, section in enumerate(plan.get("barriers") or [], 1):
        lines.append(f"## {n}. {section['name']}")
        if not section["strategies"]:
            lines.append("No strategy in the library fits this one yet that you have not tried.")
        for strategy in section["strategies"]:
            sources = "; ".join(f"[{s['label']}](sources#{s['id']})" for s in strategy["sources"])
            tool = f" *Tool:* {strategy['tool']}." if strategy.get("tool") else ""
            because = next(reasons)
            why = f" *Why this for you:* {you_said(because)}" if because else ""
            reported = f" *Reported:* {strategy['reported']}." if strategy.get("reported") else ""
            lines.append(f"- **{strategy['title']}**: {strategy['first_step']}{tool}{why} "
                         f"*Evidence:* {strategy['evidence']}; {sources}{reported}")
    if plan.get("level_asks"):
        lines.append("## Who else to bring in")
        for level in plan["level_asks"]:
            lines.append(f"**{level['name']}** ({'; '.join(level['sources'])}): {level['role']}")
            lines += [f"- {ask}" for ask in level["asks"]]
    if plan.get("trying"):
        lines.append("## What you're trying")
        asked = {checkin["checkin"]: checkin["on"] for checkin in plan.get("checkins") or []}
        lines += [f"- **{item['title']}**: " + (f"you told me how it went on {spoken(_day(asked[item['checkin']]))}."
                                                 if item.get("checkin") in asked else
                                                 f"I'll ask how it went on {spoken(_day(item['ask_on']))}.")
                  for item in plan["trying"]]
    for checkin in plan.get("checkins") or []:
        lines.append(f"## Check-in, {spoken(_day(checkin['on']))}")
        for item in checkin["strategies"]:
            helped = f"; helped {item['helped']} out of 5" if item.get("helped") else ""
            obstacle = f" In the way: {item['obstacle']}" if item.get("obstacle") else ""
            lines.append(f"- **{item['title']}**: {PROGRESS_NAMES.get(item['progress'], item['progress'])}{helped}."
                         f"{obstacle}")
    lines.append("Take this to your next team meeting: agree who does each first step, and by when.")
    return "\n".join(lines)


def _day(iso: str) -> datetime:
    return datetime.fromisoformat(iso)
