"""Workers, poll loops with handlers, interrupt and cancellation (SPEC §3-§4)."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

import pgqrs
from conftest import idle, within


async def wait_until(pred, timeout: float = 20.0, interval: float = 0.02):
    deadline = time.monotonic() + timeout
    while True:
        if await pred():
            return
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(interval)


async def test_worker_status_transitions(store):
    await store.queue("w")
    c = await store.consumer("w")
    assert await c.status() == pgqrs.WorkerStatus.Ready
    with pytest.raises(pgqrs.StateTransitionError, match="ready"):
        await c.interrupt()  # not polling
    await c.heartbeat()
    await c.suspend()
    assert await c.status() == pgqrs.WorkerStatus.Suspended
    await c.resume()
    await c.suspend()
    await c.shutdown()
    assert await c.status() == pgqrs.WorkerStatus.Stopped
    named = await pgqrs.Consumer.new_consumer(pgqrs.admin(store), "w", "named-consumer")
    assert named.name == "named-consumer" and named.queue == "w"
    prod = await pgqrs.Producer.new_producer(pgqrs.admin(store), "w", "named-producer")
    assert (await prod.info()).name == "named-producer"


async def test_poll_with_async_handler_runs_on_the_loop_and_interrupt_stops_it(store):
    await store.queue("p")
    consumer = await store.consumer("p")
    loop_thread = threading.get_ident()
    seen, threads = [], set()

    async def handler(msg: pgqrs.QueueMessage) -> None:
        threads.add(threading.get_ident())
        await asyncio.sleep(0)  # really a coroutine on the loop
        seen.append(msg.payload["n"])

    task = asyncio.create_task(pgqrs.dequeue().worker(consumer).handle(handler).poll(store))
    await pgqrs.produce_batch(store, "p", [{"n": i} for i in range(5)])

    async def all_seen():
        return len(seen) == 5
    await wait_until(all_seen)
    assert sorted(seen) == list(range(5))
    assert threads == {loop_thread}, "async handlers run on the event loop"
    assert await consumer.status() == pgqrs.WorkerStatus.Polling
    started = time.monotonic()
    await consumer.interrupt()
    with pytest.raises(pgqrs.PgqrsError, match="interrupted"):
        await within(task, 10)
    assert time.monotonic() - started < 3.0, "interrupt() ends poll promptly"
    assert await consumer.status() == pgqrs.WorkerStatus.Suspended
    assert (await pgqrs.admin(store).queue_metrics("p")).archived == 5


async def test_sync_batch_handler_runs_off_the_loop(store):
    await store.queue("sb")
    consumer = await store.consumer("sb")
    loop_thread = threading.get_ident()
    batches, threads = [], set()

    def handler(msgs):
        threads.add(threading.get_ident())
        batches.append([m.payload for m in msgs])

    await pgqrs.produce_batch(store, "sb", list(range(6)))
    stats = await within(pgqrs.dequeue().worker(consumer).batch(4).handle_batch(handler)
                         .until_empty().poll(store))
    assert isinstance(stats, pgqrs.PollStats)
    assert stats.processed == 6 and stats.stop == "empty"
    assert sorted(x for b in batches for x in b) == list(range(6))
    assert max(len(b) for b in batches) <= 4
    assert loop_thread not in threads, "plain handlers run on the engine's thread"


async def test_handler_failure_in_poll_releases_with_backoff_and_goes_on(store):
    await store.queue("f")
    consumer = await store.consumer("f")
    await pgqrs.produce_batch(store, "f", [{"ok": False}, {"ok": True}])

    async def handler(msg):
        if not msg.payload["ok"]:
            raise RuntimeError("boom")

    stats = await within(pgqrs.dequeue().worker(consumer).handle(handler).until_empty()
                         .poll(store))
    assert (stats.processed, stats.failed) == (1, 1)
    metrics = await pgqrs.admin(store).queue_metrics("f")
    assert (metrics.archived, metrics.delayed) == (1, 1), "failed message backs off"


async def test_cancelling_the_poll_task_stops_the_loop(store):
    await store.queue("c")
    consumer = await store.consumer("c")
    task = asyncio.create_task(pgqrs.dequeue().worker(consumer).handle(lambda m: None)
                               .poll(store))

    async def polling():
        return await consumer.status() == pgqrs.WorkerStatus.Polling
    await wait_until(polling)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await within(task, 10)
    assert await consumer.status() == pgqrs.WorkerStatus.Ready, "the loop ended cleanly"


async def test_poll_without_handler_waits_for_a_message(clocked_store, clock):
    store = clocked_store
    await store.queue("wait")
    consumer = await store.consumer("wait")
    task = asyncio.create_task(pgqrs.dequeue().worker(consumer).poll_interval(20).poll(store))
    await idle(clock)
    assert not task.done()
    # The clock never moves: the enqueue's wake-up must end the wait.
    msg_id = await pgqrs.produce(store, "wait", {"late": True})
    got = await within(task, 10)
    assert [m.id for m in got] == [msg_id]
    # until() is measured on the store's clock: not over at 0.199 s, over at 0.2 s.
    until = asyncio.create_task(pgqrs.dequeue().worker(consumer).until(0.2).poll(store))
    await idle(clock)
    clock.advance(0.199)
    await idle(clock)
    assert not until.done()
    clock.advance(0.001)
    assert await within(until, 10) == []


async def test_zombie_reclaim_and_worker_admin(clocked_store, clock):
    store = clocked_store
    admin = pgqrs.admin(store)
    await store.queue("z")
    await pgqrs.produce(store, "z", {"z": 1})
    consumer = await store.consumer("z")
    [m] = await consumer.dequeue(batch_size=1)
    assert [x.id for x in await admin.worker_messages(consumer.worker_id)] == [m.id]
    assert await admin.reclaim_messages("z", older_than_seconds=1) == 0, "it just beat"
    clock.advance(1.1)
    assert await admin.reclaim_messages("z", older_than_seconds=1) == 1
    assert (await admin.get_worker(consumer.worker_id)).status == pgqrs.WorkerStatus.Stopped
    stats = await admin.worker_stats("z")
    assert stats.stopped >= 1
    health = await admin.worker_health(timeout_seconds=60)
    assert consumer.worker_id not in [h.worker.id for h in health]
