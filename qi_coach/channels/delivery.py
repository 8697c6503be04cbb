"""Sending a reply to Slack or Teams: retried when the platform stumbles, never fatal to the turn.

Rasa sends replies in the middle of a turn and saves the conversation at its end; a send that
raises stops the turn before the save, so the person's message is lost as well as the reply.
Here a send is tried ``ATTEMPTS`` times with a short back-off; if it still fails, the failure
is logged (the channel and the error, not the text) and the turn goes on, so the person's
message and the bot's reply are both kept in the conversation.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

logger = logging.getLogger(__name__)

ATTEMPTS = 3
BACKOFF_SECONDS = (0.5, 2.0)


class Permanent(Exception):
    """A refusal that trying again will not change (a 4xx other than 429)."""


async def deliver(send: Callable[[], Awaitable[object]], channel: str) -> bool:
    """Run ``send`` until it succeeds, at most ``ATTEMPTS`` times; whether it got through."""
    for attempt in range(ATTEMPTS):
        try:
            await send()
            return True
        except Permanent as error:
            logger.error("%s: a reply was refused and not sent: %s", channel, error)
            return False
        except Exception as error:  # the platform's errors, network errors, timeouts
            if attempt == ATTEMPTS - 1:
                logger.error("%s: a reply could not be sent after %d attempts: %s: %s", channel, ATTEMPTS,
                             type(error).__name__, str(error)[:200])
                return False
            logger.warning("%s: sending a reply failed (%s); trying again", channel, type(error).__name__)
            await asyncio.sleep(BACKOFF_SECONDS[min(attempt, len(BACKOFF_SECONDS) - 1)])
    return False
