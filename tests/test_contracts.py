"""Contracts between the domain, the actions, the training data and the taxonomy."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

import yaml
from rasa_sdk import Action

import actions
from knowledge.schema import BARRIER_IDS

ROOT = Path(__file__).resolve().parent.parent
DOMAIN = yaml.safe_load((ROOT / "domain.yml").read_text())


def registered_actions() -> dict[str, list[type]]:
    """What the action server would register: every concrete Action in the package."""
    for module in pkgutil.iter_modules(actions.__path__):
        importlib.import_module(f"actions.{module.name}")
    served: dict[str, list[type]] = {}
    stack = list(Action.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if cls.__module__.startswith("actions.") and not inspect.isabstract(cls):
            served.setdefault(cls().name(), []).append(cls)
    return served


def test_every_domain_action_is_served_by_exactly_one_action():
    served = registered_actions()
    for name in DOMAIN["actions"]:
        assert len(served.get(name, [])) == 1, name
    assert set(served) == set(DOMAIN["actions"])


def test_every_barrier_has_its_own_training_file_with_enough_examples():
    for barrier in BARRIER_IDS:
        data = yaml.safe_load((ROOT / "data" / "nlu" / "barriers" / f"{barrier}.yml").read_text())
        examples = [e for block in data["nlu"] for e in block["examples"]]
        assert len(examples) >= 60, barrier
        for example in examples:
            labels = example["metadata"]["barriers"]
            assert barrier in labels and set(labels) <= set(BARRIER_IDS), example["text"]


def test_a_quarter_of_barrier_examples_carry_several_barriers():
    labels = [e["metadata"]["barriers"] for path in (ROOT / "data" / "nlu" / "barriers").glob("*.yml")
              for block in yaml.safe_load(path.read_text())["nlu"] for e in block["examples"]]
    assert sum(len(x) > 1 for x in labels) >= len(labels) / 4


def form_answer_intents() -> set[str]:
    """Intents that only answer a form's question (its buttons send them; the form reads them)."""
    payloads = [b["payload"] for name, variants in DOMAIN["responses"].items() if name.startswith("utter_ask_")
                for v in variants for b in v.get("buttons") or []]
    return {p[1:].split("{")[0] for p in payloads if p.startswith("/")}


def test_every_intent_has_a_rule_or_story():
    text = (ROOT / "data" / "rules.yml").read_text() + (ROOT / "data" / "stories.yml").read_text()
    answers = form_answer_intents()
    assert answers == {"inform"}
    for intent in DOMAIN["intents"]:
        assert f"intent: {intent}" in text or intent in answers, intent


def test_every_slot_an_action_sets_is_in_the_domain():
    from actions import slots

    declared = {v for k, v in vars(slots).items() if k.isupper() and isinstance(v, str)}
    assert declared == set(slots.SLOT_NAMES) | set(slots.AWAITING_VALUES)  # nothing undeclared
    assert set(slots.SLOT_NAMES) <= set(DOMAIN["slots"])
    assert set(slots.AWAITING_VALUES) == set(DOMAIN["slots"]["awaiting"]["values"])
    assert slots.TRIAGE_QUESTIONS == DOMAIN["forms"]["triage_form"]["required_slots"]


def test_no_channel_or_endpoint_reads_an_environment_variable():
    for name in ("credentials.yml", "endpoints.yml"):
        assert "${" not in (ROOT / name).read_text(), name
