"""pgqrs.ManualClock: engine time that moves only when the test moves it (decision K1)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

import pgqrs
from conftest import within

START = datetime(2030, 1, 1, tzinfo=timezone.utc)


def test_manual_clock_moves_only_when_told():
    c = pgqrs.ManualClock(START)
    assert c.now() == START
    c.advance(1.5)
    assert c.now() == START + timedelta(seconds=1.5)
    c.set("2031-06-01T12:00:00+00:00")
    assert c.now() == datetime(2031, 6, 1, 12, tzinfo=timezone.utc)
    c.set(START)  # backwards too
    assert c.now() == START
    assert c.waiting() == 0
    now = datetime.now(timezone.utc)
    assert abs((pgqrs.ManualClock().now() - now).total_seconds()) < 60, "default start: now"


def test_manual_clock_rejects_bad_input_by_name():
    c = pgqrs.ManualClock(START)
    with pytest.raises(pgqrs.ValidationError, match="advance"):
        c.advance(-1)
    with pytest.raises(pgqrs.ValidationError, match="advance"):
        c.advance(float("nan"))
    with pytest.raises(pgqrs.ValidationError, match="UTC offset"):
        pgqrs.ManualClock(datetime(2030, 1, 1))  # naive: its time zone is a guess
    with pytest.raises(pgqrs.ValidationError, match="ManualClock.set"):
        c.set("not a time")
    assert c.now() == START, "a refused move moves nothing"


async def test_connect_takes_only_a_manual_clock(backend):
    with pytest.raises(pgqrs.ValidationError, match="clock"):
        await pgqrs.connect_with(backend.config(), clock=object())


async def test_store_reads_now_from_its_clock(clocked_store, clock):
    await clocked_store.queue("t")
    msg_id = await pgqrs.produce(clocked_store, "t", {"a": 1})
    m = await pgqrs.admin(clocked_store).get_message(msg_id)
    assert datetime.fromisoformat(m.enqueued_at) == clock.now()


async def test_a_slow_handlers_lease_is_extended_as_the_clock_moves(clocked_store, clock):
    store = clocked_store
    admin = pgqrs.admin(store)
    await store.queue("slow")
    msg_id = await pgqrs.produce(store, "slow", {"n": 1})
    consumer = await store.consumer("slow")
    other = await store.consumer("slow")
    extended, stolen = [], []

    async def handler(msg: pgqrs.QueueMessage) -> None:
        # 4 s of clock against a 3 s lease, one extension period (lease / 3) at a time.
        for _ in range(4):
            clock.advance(1)
            want = clock.now() + timedelta(seconds=3)
            for _ in range(2000):  # real time only waits for the keeper thread's write
                vt = datetime.fromisoformat((await admin.get_message(msg_id)).vt)
                if vt >= want:
                    extended.append(vt)
                    break
                await asyncio.sleep(0.005)
            stolen.extend(await other.dequeue(batch_size=1))

    stats = await within(pgqrs.dequeue().worker(consumer).vt(3).until_empty().handle(handler)
                         .poll(store))
    assert len(extended) == 4, "the lease was not moved to now + 3 s every 1 s of the clock"
    assert stolen == []
    assert stats.processed == 1
