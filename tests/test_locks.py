"""The conversation lock store against the real Redis on 127.0.0.1:6379.

The "servers" here are separate processes, each with its own lock store and Redis connections,
all taking tickets for one conversation at once: what several Rasa servers behind a load
balancer do when a burst of messages for one conversation lands on all of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import signal
import time
import uuid

import pytest
import redis
from rasa.core.lock_store import InMemoryLockStore, LockError, LockStore
from rasa.utils.endpoints import EndpointConfig, read_endpoint_config

from qi_coach import locks
from qi_coach.locks import AtomicRedisLockStore, ConfiguredLockStore
from qi_coach.paths import PROJECT_ROOT

pytestmark = pytest.mark.redis

URL = "redis://127.0.0.1:6379/0"
SERVERS = 6
TURNS_PER_SERVER = 20


@pytest.fixture
def prefix():
    """A key prefix of this test's own, so tests (and CI beside a running cluster) never meet;
    what is left afterwards is deleted."""
    prefix = f"qi-coach-test:{uuid.uuid4().hex}:"
    yield prefix
    client = redis.Redis.from_url(URL)
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)


def _server(prefix: str, conversation: str, use_lock: bool, start: float) -> None:
    """One "server": ``TURNS_PER_SERVER`` concurrent turns on one conversation, each doing a
    read, a pause and a write of a shared count (lost updates show any overlap), and recording
    how many turns were inside at once and the order tickets were served in."""
    client = redis.Redis.from_url(URL)
    store = AtomicRedisLockStore(URL, key_prefix=prefix)

    async def turn() -> None:
        guard = store.lock(conversation) if use_lock else contextlib.nullcontext()
        async with guard as lock:
            inside = client.incr(f"{prefix}inside")
            client.set(f"{prefix}most-inside", max(inside, int(client.get(f"{prefix}most-inside") or 0)))
            count = int(client.get(f"{prefix}count") or 0)
            await asyncio.sleep(0.002)
            client.set(f"{prefix}count", count + 1)
            if lock is not None:
                client.rpush(f"{prefix}served", lock.tickets[0].number)
            client.decr(f"{prefix}inside")

    async def main() -> None:
        await asyncio.sleep(max(0.0, start - time.time()))  # every server starts at the same moment
        await asyncio.gather(*(turn() for _ in range(TURNS_PER_SERVER)))

    asyncio.run(main())


def _run_servers(prefix: str, use_lock: bool) -> redis.Redis:
    context = multiprocessing.get_context("fork")
    start = time.time() + 1.0
    servers = [context.Process(target=_server, args=(prefix, "one-conversation", use_lock, start))
               for _ in range(SERVERS)]
    for server in servers:
        server.start()
    for server in servers:
        server.join(timeout=120)
        assert server.exitcode == 0
    return redis.Redis.from_url(URL, decode_responses=True)


def test_turns_from_many_servers_on_one_conversation_never_overlap_and_keep_ticket_order(prefix):
    client = _run_servers(prefix, use_lock=True)

    assert int(client.get(f"{prefix}count")) == SERVERS * TURNS_PER_SERVER  # no update lost
    assert int(client.get(f"{prefix}most-inside")) == 1
    served = [int(t) for t in client.lrange(f"{prefix}served", 0, -1)]
    assert served == list(range(1, SERVERS * TURNS_PER_SERVER + 1))  # each ticket once, in order
    assert not list(client.scan_iter(f"{prefix}{{*"))  # an idle conversation leaves no queue behind


def test_the_same_turns_without_the_lock_do_overlap_so_the_test_above_can_fail(prefix):
    client = _run_servers(prefix, use_lock=False)

    assert int(client.get(f"{prefix}most-inside")) > 1
    assert int(client.get(f"{prefix}count")) < SERVERS * TURNS_PER_SERVER


def run_together(*steps) -> None:
    async def together() -> None:
        await asyncio.gather(*(step() for step in steps))

    asyncio.run(together())


def test_different_conversations_do_not_wait_for_each_other(prefix):
    store = AtomicRedisLockStore(URL, key_prefix=prefix)

    async def scenario() -> None:
        async with store.lock("first"):
            async with store.lock("second"):  # would wait forever if the queues were shared
                pass

    asyncio.run(asyncio.wait_for(scenario(), timeout=10))


def who_goes_in(holder: AtomicRedisLockStore, follower: AtomicRedisLockStore, hold_for: float,
                holder_lifetime: float = locks.LOCK_LIFETIME) -> list[str]:
    """A holder takes one conversation's lock for ``hold_for`` seconds; a follower asks for it
    just after. The order they went in and out."""
    order: list[str] = []

    async def hold() -> None:
        async with holder.lock("talk", lock_lifetime=holder_lifetime):
            order.append("holder in")
            await asyncio.sleep(hold_for)
            order.append("holder out")

    async def follow() -> None:
        await asyncio.sleep(0.05)
        async with follower.lock("talk"):
            order.append("follower in")

    run_together(hold, follow)
    return order


def test_a_second_message_waits_until_the_first_turn_is_over(prefix):
    one, two = AtomicRedisLockStore(URL, key_prefix=prefix), AtomicRedisLockStore(URL, key_prefix=prefix)
    assert who_goes_in(one, two, hold_for=0.3) == ["holder in", "holder out", "follower in"]


def test_a_turn_longer_than_the_lease_keeps_its_place(prefix):
    """The holder renews its ticket, so a lease shorter than the turn does not let the next in."""
    holder = AtomicRedisLockStore(URL, key_prefix=prefix, lease=0.5, renew_every=0.1)
    follower = AtomicRedisLockStore(URL, key_prefix=prefix, lease=0.5, renew_every=0.1)
    assert who_goes_in(holder, follower, hold_for=2.0) == ["holder in", "holder out", "follower in"]  # 4 leases


def _hold_forever(prefix: str, ready) -> None:
    store = AtomicRedisLockStore(URL, key_prefix=prefix, lease=1.0, renew_every=0.2)

    async def hold() -> None:
        async with store.lock("server-dies"):
            ready.set()
            await asyncio.sleep(3600)

    asyncio.run(hold())


def test_a_server_that_dies_holding_the_lock_holds_up_its_conversation_for_one_lease_only(prefix):
    context = multiprocessing.get_context("fork")
    ready = context.Event()
    server = context.Process(target=_hold_forever, args=(prefix, ready))
    server.start()
    assert ready.wait(timeout=30)
    os.kill(server.pid, signal.SIGKILL)  # no clean-up runs: its ticket stays in Redis
    server.join()
    survivor = AtomicRedisLockStore(URL, key_prefix=prefix, lease=1.0, renew_every=0.2)

    async def take() -> float:
        started = time.monotonic()
        async with survivor.lock("server-dies"):
            return time.monotonic() - started

    waited = asyncio.run(take())
    assert waited < locks.LOCK_LIFETIME  # Rasa's own tickets would block it for a whole minute


def test_a_turn_that_hangs_is_overtaken_after_rasas_lock_lifetime(prefix):
    hung = AtomicRedisLockStore(URL, key_prefix=prefix, lease=0.3, renew_every=0.1)
    follower = AtomicRedisLockStore(URL, key_prefix=prefix, lease=0.3, renew_every=0.1)
    assert who_goes_in(hung, follower, hold_for=3.0, holder_lifetime=1.0) == \
        ["holder in", "follower in", "holder out"]


def test_redis_out_of_reach_refuses_the_turn_with_a_lock_error():
    store = AtomicRedisLockStore("redis://127.0.0.1:1/0")

    async def take() -> None:
        async with store.lock("anyone"):
            pass

    with pytest.raises(LockError):
        asyncio.run(take())


def test_endpoints_yml_gives_atomic_redis_locks_when_redis_is_configured(monkeypatch):
    config = read_endpoint_config(str(PROJECT_ROOT / "endpoints.yml"), "lock_store")
    assert config is not None and config.type == "qi_coach.locks.ConfiguredLockStore"

    monkeypatch.setenv("QI_COACH_REDIS_URL", URL)
    assert isinstance(LockStore.create(config), AtomicRedisLockStore)
    monkeypatch.setenv("QI_COACH_REDIS_URL", "")
    assert type(LockStore.create(config)) is InMemoryLockStore
    assert type(ConfiguredLockStore(endpoint_config=EndpointConfig())) is InMemoryLockStore
