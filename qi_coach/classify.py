"""``qi-coach classify``: the trained bot's NLU as a command, one JSON line per description.

Reads one description per line on standard input, either plain text or a JSON object with a
``text`` field, and writes one JSON object per input line:
``{"text": ..., "barriers": [{"id", "confidence"}], "candidates": [...], "assessment": ...,
"levels": [...]}`` (candidates: the top three barriers a clarifying question would offer;
assessment: ``confident``, ``unsure`` or ``none``). It loads the model
archive with Rasa's own ``Agent``, so the figures it gives are those of the running bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
from pathlib import Path
from typing import IO

from qi_coach.paths import PROJECT_ROOT

DEFAULT_MODEL = PROJECT_ROOT / "models" / "qi-coach.tar.gz"


class NoModel(Exception):
    pass


def resolve_model(path: str | None) -> Path:
    """The archive to use: the given path, else the project's current model."""
    model = Path(path) if path else DEFAULT_MODEL
    if model.is_dir():
        archives = sorted(model.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
        model = archives[-1] if archives else model / "qi-coach.tar.gz"
    if not model.is_file():
        raise NoModel(f"No trained model at {model}. Train one first: `make train` (or `make run`).")
    return model


def read_text(line: str) -> str:
    """Plain text, or the ``text`` field of a JSON object on the line."""
    stripped = line.strip()
    if stripped.startswith("{"):
        try:
            record = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not valid JSON ({exc.msg})") from None
        if not isinstance(record.get("text"), str):
            raise ValueError("a JSON line needs a string field 'text'")
        return record["text"]
    return line.rstrip("\r\n")


def classify_stream(model: Path, lines: IO[str], out: IO[str], with_intent: bool = False) -> int:
    """Classify every line; returns the number of lines that could not be read.

    Rasa logs to standard output; everything it prints goes to standard error here, so
    ``out`` carries nothing but the JSON lines (and no user text reaches a debug log).
    """
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    with contextlib.redirect_stdout(sys.stderr):
        from rasa.core.agent import Agent
        from rasa.utils.log_utils import configure_structlog

        configure_structlog(logging.WARNING)
        agent = Agent.load(str(model))
        return _classify_lines(agent, lines, out, with_intent)


def _classify_lines(agent, lines: IO[str], out: IO[str], with_intent: bool) -> int:
    from qi_coach.readings import BARRIER_ASSESSMENT, BARRIER_CANDIDATES, BARRIERS, LEVELS, Assessment

    loop = asyncio.new_event_loop()
    errors = 0
    try:
        for number, line in enumerate(lines, 1):
            try:
                text = read_text(line)
            except ValueError as exc:
                errors += 1
                print(f"line {number}: {exc}", file=sys.stderr)
                out.write(json.dumps({"text": line.rstrip(), "error": str(exc), "barriers": [], "levels": []}) + "\n")
                continue
            parsed = loop.run_until_complete(agent.parse_message(text)) if text.strip() else {}
            result = {"text": text, "barriers": parsed.get(BARRIERS, []),
                      "candidates": parsed.get(BARRIER_CANDIDATES, []),
                      "assessment": parsed.get(BARRIER_ASSESSMENT, Assessment.NONE.value),
                      "levels": parsed.get(LEVELS, [])}
            if with_intent:
                result["intent"] = (parsed.get("intent") or {}).get("name")
            out.write(json.dumps(result, ensure_ascii=False) + "\n")
            out.flush()
    finally:
        loop.close()
    return errors
