"""Conversation locks that hold across any number of Rasa servers.

Rasa handles one conversation's messages one at a time by taking a ticket from a lock store
and waiting until it is served. Its open-source ``RedisLockStore`` issues and returns tickets by
reading the lock, changing it in Python and writing it back: two servers doing that at once
both get the same ticket, or one's write undoes the other's, and their turns interleave.

``AtomicRedisLockStore`` keeps each conversation's queue in Redis and changes it only inside Lua
scripts, which Redis runs one at a time, so every step (take a ticket, ask whether it is being
served, renew it, give it back) is atomic:

* ``{prefix}{<conversation>}:next`` counts tickets (``INCR``: no two are alike);
* ``{prefix}{<conversation>}:tickets`` maps each live ticket to when it lapses (Redis's own
  clock, so servers' clocks need not agree). The lowest live ticket is served.

A ticket is a lease of ``LEASE_SECONDS``, renewed every ``RENEW_EVERY`` while its holder is
alive (waiting or served) and for at most ``lock_lifetime`` (Rasa's ``TICKET_LOCK_LIFETIME``,
60 s) after it was taken. A server that dies therefore holds up the conversation for one lease,
not a minute, and a turn that hangs is overtaken after Rasa's usual lifetime. Both keys carry a
TTL, so a conversation's queue disappears from Redis when it is idle.

``ConfiguredLockStore`` (``endpoints.yml``) is this store when ``QI_COACH_REDIS_URL`` is set and
Rasa's ``InMemoryLockStore`` (right for one server) when it is not.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

from rasa.core.lock import Ticket, TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, InMemoryLockStore, LockError, LockStore

from qi_coach.shared_state import redis_url

logger = logging.getLogger(__name__)

KEY_PREFIX = "qi-coach:lock:"
#: How long a ticket lives without being renewed: a stopped server's tickets lapse this soon.
LEASE_SECONDS = 10.0
#: How often a live holder renews its ticket (well inside the lease).
RENEW_EVERY = 2.0
#: Waiting for a turn: the first look comes after this, later ones back off to ``POLL_MAX``.
POLL_MIN = 0.01
POLL_MAX = 0.05
#: A Redis command that takes longer than this is a failure (the turn is refused, not hung).
REDIS_TIMEOUT = 2.0

# Every script reads the time from Redis and keeps both keys for as long as a ticket could live.
_NOW = "local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000) "
_KEEP = "redis.call('PEXPIRE', KEYS[1], ARGV[2]) redis.call('PEXPIRE', KEYS[2], ARGV[2]) "

#: KEYS: next, tickets. ARGV: lease ms, key TTL ms. Returns the new ticket.
_ISSUE = _NOW + """
local ticket = redis.call('INCR', KEYS[1])
redis.call('HSET', KEYS[2], ticket, now + tonumber(ARGV[1]))
""" + _KEEP + "return ticket"

#: KEYS: next, tickets. ARGV: ticket. Drops lapsed tickets; returns -1 if this one
#: lapsed, 0 if it is served, else how many tickets are ahead of it.
_POSITION = _NOW + """
local ticket = tonumber(ARGV[1])
local entries = redis.call('HGETALL', KEYS[2])
local alive, ahead = false, 0
for i = 1, #entries, 2 do
  local number, lapses = tonumber(entries[i]), tonumber(entries[i + 1])
  if lapses <= now then
    redis.call('HDEL', KEYS[2], entries[i])
  elseif number == ticket then
    alive = true
  elseif number < ticket then
    ahead = ahead + 1
  end
end
if not alive then return -1 end
return ahead
"""

#: KEYS: next, tickets. ARGV: ticket, key TTL ms, lease ms. Returns 1 if renewed, 0 if lapsed.
_RENEW = _NOW + """
local lapses = redis.call('HGET', KEYS[2], ARGV[1])
if (not lapses) or tonumber(lapses) <= now then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], now + tonumber(ARGV[3]))
""" + _KEEP + "return 1"

#: KEYS: next, tickets. ARGV: ticket. Gives the ticket back; an empty queue is deleted.
_RELEASE = """
redis.call('HDEL', KEYS[2], ARGV[1])
if redis.call('HLEN', KEYS[2]) == 0 then redis.call('DEL', KEYS[1], KEYS[2]) end
return 1
"""


class AtomicRedisLockStore(LockStore):
    """Ticket locks in Redis whose every step is one atomic script (see the module)."""

    def __init__(self, url: str, key_prefix: str = KEY_PREFIX, lease: float = LEASE_SECONDS,
                 renew_every: float = RENEW_EVERY) -> None:
        import redis.asyncio

        self.url, self.key_prefix, self.lease, self.renew_every = url, key_prefix, lease, renew_every
        self.red = redis.asyncio.Redis.from_url(url, socket_timeout=REDIS_TIMEOUT,
                                                socket_connect_timeout=REDIS_TIMEOUT)
        self._issue = self.red.register_script(_ISSUE)
        self._position = self.red.register_script(_POSITION)
        self._renew = self.red.register_script(_RENEW)
        self._release = self.red.register_script(_RELEASE)
        super().__init__()

    def _keys(self, conversation_id: str) -> list[str]:
        # The braces make both keys one hash slot, so the scripts also run on a Redis Cluster.
        return [f"{self.key_prefix}{{{conversation_id}}}:next", f"{self.key_prefix}{{{conversation_id}}}:tickets"]

    def _ttl_ms(self) -> int:
        return int(self.lease * 1000) * 2

    @contextlib.asynccontextmanager
    async def lock(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME,
                   wait_time_in_seconds: float = POLL_MAX) -> AsyncIterator[TicketLock]:
        """Take a ticket, wait until it is served, and give it back afterwards (whatever happens).

        Raises ``LockError`` when Redis cannot be reached or the ticket lapsed while waiting."""
        keys = self._keys(conversation_id)
        try:
            ticket = int(await self._issue(keys=keys, args=[int(self.lease * 1000), self._ttl_ms()]))
        except Exception as error:
            raise LockError(f"could not take a ticket for a conversation: {type(error).__name__}") from error
        renewing = asyncio.create_task(self._keep_alive(keys, ticket, lock_lifetime))
        try:
            await self._wait_for_turn(conversation_id, keys, ticket, max(POLL_MIN, wait_time_in_seconds))
            yield TicketLock(conversation_id, deque([Ticket(ticket, time.time() + self.lease)]))
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing
            await self._give_back(keys, ticket)

    async def _wait_for_turn(self, conversation_id: str, keys: list[str], ticket: int, longest: float) -> None:
        pause = POLL_MIN
        while True:
            try:
                ahead = int(await self._position(keys=keys, args=[ticket]))
            except Exception as error:
                raise LockError(f"could not read a conversation's queue: {type(error).__name__}") from error
            if ahead == 0:
                return
            if ahead < 0:
                raise LockError(f"a ticket for conversation '{conversation_id}' lapsed while it waited")
            await asyncio.sleep(pause)
            pause = min(pause * 1.5, longest)

    async def _keep_alive(self, keys: list[str], ticket: int, lifetime: float) -> None:
        """Renew the ticket while its holder lives, up to ``lifetime`` after it was taken."""
        stop_at = time.monotonic() + lifetime
        while time.monotonic() + self.renew_every < stop_at:
            await asyncio.sleep(self.renew_every)
            try:
                renewed = await self._renew(keys=keys, args=[ticket, self._ttl_ms(), int(self.lease * 1000)])
            except Exception:
                logger.warning("could not renew a conversation's lock ticket; trying again", exc_info=True)
                continue
            if not renewed:
                logger.error("a conversation's lock ticket lapsed while its turn was still running")
                return
        logger.warning("a turn held its conversation's lock for its whole lifetime (%.0f s): letting it go", lifetime)

    async def _give_back(self, keys: list[str], ticket: int) -> None:
        try:
            await self._release(keys=keys, args=[ticket])
        except Exception:  # the ticket lapses by itself within one lease
            logger.warning("could not give back a conversation's lock ticket; it lapses in %.0f s", self.lease,
                           exc_info=True)

    # Rasa's other LockStore methods work on a whole TicketLock read into Python and written back:
    # exactly the read-change-write this store exists to avoid. Nothing in Rasa 3.6 calls them
    # outside ``lock()``, so they refuse loudly instead of silently breaking the queue.
    def get_lock(self, conversation_id: str) -> TicketLock | None:
        raise NotImplementedError("AtomicRedisLockStore is used only through lock()")

    def save_lock(self, lock: TicketLock) -> None:
        raise NotImplementedError("AtomicRedisLockStore is used only through lock()")

    def delete_lock(self, conversation_id: str) -> None:
        raise NotImplementedError("AtomicRedisLockStore is used only through lock()")


class ConfiguredLockStore(LockStore):
    """The lock store ``endpoints.yml`` names: atomic Redis locks when ``QI_COACH_REDIS_URL`` is
    set (several servers), Rasa's in-memory locks when it is not (one server).

    Rasa builds a custom lock store as ``cls(endpoint_config=...)``; this class answers with the
    store the environment asks for, so ``endpoints.yml`` stays free of variables (an unset one
    stops Rasa 3.6)."""

    def __new__(cls, endpoint_config: Any = None, **kwargs: Any) -> LockStore:
        url = redis_url()
        if url:
            logger.info("conversation locks: atomic, in Redis")
            return AtomicRedisLockStore(url)
        return InMemoryLockStore()
