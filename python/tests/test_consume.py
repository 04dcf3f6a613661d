"""Ephemeral consume (one attempt) and the consume_iter async iterator."""

from __future__ import annotations

import asyncio

import pytest

import pgqrs
from conftest import idle, within


class MyHandlerError(Exception):
    pass


async def test_consume_success_archives(store):
    await store.queue("e")
    msg_id = await pgqrs.produce(store, "e", {"hello": "world"})
    seen = []

    async def handler(msg):
        seen.append(msg)

    assert await pgqrs.consume(store, "e", handler) is True
    assert [m.id for m in seen] == [msg_id] and seen[0].payload == {"hello": "world"}
    assert (await pgqrs.admin(store).get_message(msg_id)).archived_at is not None
    assert await pgqrs.consume(store, "e", handler) is False, "no waiting when empty"


async def test_consume_failure_reraises_the_handlers_own_exception(store):
    await store.queue("ef")
    msg_id = await pgqrs.produce(store, "ef", {"x": 1})

    async def handler(msg):
        raise MyHandlerError(f"cannot process {msg.id}")

    with pytest.raises(MyHandlerError, match=f"cannot process {msg_id}"):
        await pgqrs.consume(store, "ef", handler)
    m = await pgqrs.admin(store).get_message(msg_id)
    assert m.archived_at is None and m.consumer_worker_id is None, "released, not archived"
    metrics = await pgqrs.admin(store).queue_metrics("ef")
    assert metrics.delayed == 1, "released with retry backoff"

    def sync_handler(msgs):
        raise KeyError("sync")

    await pgqrs.produce(store, "ef", {"x": 2})
    with pytest.raises(KeyError):
        await pgqrs.consume_batch(store, "ef", 5, sync_handler)


async def test_consume_batch_and_no_worker_rows_pile_up(store):
    await store.queue("eb")
    await pgqrs.produce_batch(store, "eb", [{"i": i} for i in range(4)])
    got = []
    assert await pgqrs.consume_batch(store, "eb", 3, lambda ms: got.extend(ms)) is True
    assert len(got) == 3
    for _ in range(5):
        await pgqrs.consume(store, "eb", lambda m: None)
    workers = await pgqrs.admin(store).list_workers("eb")
    assert len(workers) <= 1, "one-shot helpers reuse one ephemeral consumer"


async def test_consume_iter_yields_messages_and_closes(store):
    await store.queue("it")
    ids = await pgqrs.produce_batch(store, "it", [{"i": i} for i in range(3)])
    seen = []
    async with store.consume_iter("it", poll_interval_ms=20) as it:
        async for msg in it:
            seen.append(msg.id)
            if msg.payload["i"] == 1:
                assert await it.delete(msg.id) is True
            else:
                assert await it.archive(msg.id) is True
            if len(seen) == 3:
                break
    assert seen == ids
    metrics = await pgqrs.admin(store).queue_metrics("it")
    assert (metrics.pending, metrics.archived) == (0, 2)
    workers = await pgqrs.admin(store).list_workers("it")
    assert [w.status for w in workers] == [pgqrs.WorkerStatus.Stopped], "closed consumer"


async def test_consume_iter_waits_and_close_ends_a_waiting_iteration(clocked_store, clock):
    store = clocked_store
    await store.queue("itw")
    it = store.consume_iter("itw", poll_interval_ms=20)
    nxt = asyncio.create_task(it.__anext__())
    await idle(clock)
    assert not nxt.done(), "waits for a message"
    msg_id = await pgqrs.produce(store, "itw", {"w": 1})
    msg = await within(nxt, 10)
    assert msg.id == msg_id
    waiting = asyncio.create_task(it.__anext__())
    await idle(clock)  # the clock never moves: only close() can end this wait
    await within(it.close(), 10)
    with pytest.raises(StopAsyncIteration):
        await within(waiting, 10)
    m = await pgqrs.admin(store).get_message(msg_id)
    assert m.consumer_worker_id is None, "close() gave the unarchived message back"
