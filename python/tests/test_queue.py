"""Queues and messages (SPEC §3) through the asyncio API, on every backend."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

import pgqrs
from conftest import open_store


def _at(seconds: float) -> str:
    return (datetime.now(timezone.utc) + timedelta(seconds=seconds)).isoformat()


async def test_queue_create_enqueue_dequeue_archive(store):
    q = await store.queue("basics")
    assert q.queue_name == "basics" and q.id > 0
    producer = await store.producer("basics")
    consumer = await store.consumer("basics")
    payload = {"task": "email", "n": 3, "ok": True, "x": 1.5, "tags": ["a", "é"], "none": None}
    msg_id = await producer.enqueue(payload)
    got = await consumer.dequeue(batch_size=1)
    assert [m.id for m in got] == [msg_id]
    m = got[0]
    assert m.payload == payload
    assert m.read_ct == 1
    assert m.producer_worker_id == producer.worker_id
    assert m.consumer_worker_id == consumer.worker_id
    for stamp in (m.vt, m.enqueued_at, m.dequeued_at):
        parsed = datetime.fromisoformat(stamp)
        assert parsed.utcoffset() == timedelta(0), stamp
    assert await consumer.archive(m.id) is True
    assert await consumer.archive(m.id) is False, "archiving twice does not apply"
    assert await consumer.dequeue(batch_size=1) == []
    archived = await pgqrs.admin(store).get_message(m.id)
    assert archived.archived_at is not None


async def test_queue_listing_and_duplicates(store):
    await store.queue("dup")
    with pytest.raises(pgqrs.QueueAlreadyExistsError):
        await store.queue("dup")
    admin = pgqrs.admin(store)
    assert [q.queue_name for q in await admin.list_queues()] == ["dup"]
    assert (await admin.get_queue("dup")).queue_name == "dup"
    queues = await store.get_queues()
    assert await queues.count() == 1


async def test_batches_keep_order_and_owner_ops_report_per_id(store):
    await store.queue("batch")
    ids = await pgqrs.produce_batch(store, "batch", [{"i": i} for i in range(7)])
    assert len(ids) == 7 and ids == sorted(ids)
    consumer = await store.consumer("batch")
    got = await consumer.dequeue(batch_size=5)
    assert [m.payload["i"] for m in got] == [0, 1, 2, 3, 4]
    assert await consumer.archive_many([got[0].id, got[1].id, 999999]) == [True, True, False]
    assert await consumer.delete_many([got[2].id]) == [True]
    assert await consumer.release_messages([got[3].id, got[4].id]) == 2
    rest = await consumer.dequeue(batch_size=10)
    assert sorted(m.payload["i"] for m in rest) == [3, 4, 5, 6]
    producer = await store.producer("batch")
    more = await pgqrs.enqueue_batch(producer, [1, "two", [3]])
    assert len(more) == 3


async def test_delayed_messages_become_visible_at_their_time(store):
    await store.queue("later")
    producer = await store.producer("later")
    consumer = await store.consumer("later")
    msg_id = await producer.enqueue_delayed({"d": 1}, 30)
    assert await consumer.dequeue(batch_size=1) == [], "delayed 30 s"
    metrics = await pgqrs.admin(store).queue_metrics("later")
    assert (metrics.pending, metrics.delayed) == (0, 1)
    early = await consumer.dequeue_at(1, 10, _at(20))
    assert early == []
    got = await consumer.dequeue_at(1, 10, _at(31))
    assert [m.id for m in got] == [msg_id]
    with pytest.raises(pgqrs.ValidationError):
        await producer.enqueue_delayed({"d": 2}, -1)


async def test_lease_is_exclusive_until_it_expires(store):
    await store.queue("lease")
    await pgqrs.produce(store, "lease", {"job": 1})
    first = await store.consumer("lease")
    second = await store.consumer("lease")
    got = await first.dequeue_many_with_delay(1, 5)
    assert len(got) == 1
    assert await second.dequeue(batch_size=1) == [], "leased by the first consumer"
    assert await second.archive(got[0].id) is False, "owner-only"
    assert await first.extend_vt(got[0].id, 60) is True
    assert await second.dequeue_at(1, 5, _at(30)) == [], "lease extended to 60 s"
    again = await second.dequeue_at(1, 5, _at(61))
    assert [m.id for m in again] == [got[0].id], "redelivered after the lease expired"
    assert again[0].read_ct == 2
    assert await first.archive(got[0].id) is False, "the first consumer lost ownership"


async def test_release_with_visibility_and_module_helpers(store):
    await store.queue("vis")
    consumer = await store.consumer("vis")
    producer = await store.producer("vis")
    msg_id = await pgqrs.enqueue(producer, {"v": 1})
    [m] = await pgqrs.dequeue(consumer, 1)
    assert await consumer.release_with_visibility(m.id, _at(3600)) is True
    assert await consumer.dequeue(batch_size=1) == []
    [m2] = await consumer.dequeue_at(1, 30, _at(3601))
    assert m2.id == msg_id
    assert await pgqrs.extend_vt(consumer, m2, 30) is True
    assert await pgqrs.archive(consumer, m2) is True
    other = await pgqrs.enqueue_delayed(producer, {"v": 2}, 0)
    [m3] = await consumer.dequeue(batch_size=1)
    assert m3.id == other
    assert await pgqrs.delete(consumer, m3) is True
    ids = await pgqrs.produce_batch(store, "vis", [{"a": 1}, {"a": 2}])
    msgs = await consumer.dequeue(batch_size=2)
    assert await pgqrs.archive_batch(consumer, msgs) == [True, True]
    assert sorted(m.id for m in msgs) == ids


async def test_dequeue_builder_fetch(store):
    await store.queue("fetch")
    await pgqrs.produce_batch(store, "fetch", [{"i": i} for i in range(4)])
    one = await pgqrs.dequeue().from_queue("fetch").fetch_one(store)
    assert one is not None and one.payload == {"i": 0}
    consumer = await store.consumer("fetch")
    many = await pgqrs.dequeue().worker(consumer).batch(2).vt(5).fetch_all(store)
    assert [m.payload["i"] for m in many] == [1, 2]
    at = await pgqrs.dequeue().worker(consumer).at(_at(1)).fetch_all(store)
    assert [m.payload["i"] for m in at] == [3]
    assert await pgqrs.dequeue().from_queue("fetch").fetch_one(store) is None


async def test_dead_letters_and_replay(backend):
    # A store whose messages dead-letter after one delivery.
    cfg = backend.config()
    cfg.max_read_ct = 1
    store = await open_store(backend, cfg)
    admin = pgqrs.admin(store)
    await admin.install()
    await store.queue("dead")
    msg_id = await pgqrs.produce(store, "dead", {"poison": True})
    consumer = await store.consumer("dead")
    [m] = await consumer.dequeue(batch_size=1)
    assert await consumer.release_messages([m.id]) == 1
    assert await consumer.dequeue(batch_size=1) == [], "delivered max_read_ct times"
    dlq = await admin.dlq("dead")
    assert [d.id for d in dlq] == [msg_id] and dlq[0].dead_at is not None
    assert await admin.replay_dlq(msg_id) is True
    [again] = await consumer.dequeue(batch_size=1)
    assert again.id == msg_id



async def test_lists_page_with_before_id(backend):
    """Keyset paging (issue 16): list_messages, dlq and list_runs take before_id."""
    cfg = backend.config()
    cfg.max_read_ct = 1
    store = await open_store(backend, cfg)
    admin = pgqrs.admin(store)
    await admin.install()
    await store.queue("paged")
    ids = [await pgqrs.produce(store, "paged", {"n": n}) for n in range(5)]
    newest = ids[::-1]
    first = await admin.list_messages("paged", 2)
    assert [m.id for m in first] == newest[:2]
    rest = await admin.list_messages("paged", 10, before_id=first[-1].id)
    assert [m.id for m in rest] == newest[2:]

    consumer = await store.consumer("paged")
    got = await consumer.dequeue(batch_size=5)
    assert await consumer.release_messages([m.id for m in got]) == 5
    assert [m.id for m in await admin.dlq("paged")] == newest
    assert [m.id for m in await admin.dlq("paged", limit=2, before_id=newest[1])] == newest[2:4]
    with pytest.raises(pgqrs.ValidationError):
        await admin.list_messages("paged", 10, before_id=0)


async def test_metrics_and_record_tables(store):
    admin = pgqrs.admin(store)
    await store.queue("m")
    await pgqrs.produce_batch(store, "m", [1, 2, 3])
    consumer = await store.consumer("m")
    [first] = await consumer.dequeue(batch_size=1)
    await consumer.archive(first.id)
    metrics = await admin.queue_metrics("m")
    assert (metrics.pending, metrics.archived) == (2, 1)
    assert [x.queue_name for x in await admin.all_queues_metrics()] == ["m"]
    stats = await admin.system_stats()
    assert stats.backend == store.backend and stats.queues == 1
    messages = await store.get_messages()
    assert await messages.count() == 2, "live messages only (the archived one is not counted)"
    archived = await messages.list_archived_by_queue(first.queue_id)
    assert [a.id for a in archived] == [first.id]
    workers = await store.get_workers()
    assert consumer.worker_id in [w.id for w in await workers.list()]
    info = await workers.get(consumer.worker_id)
    assert info.status == pgqrs.WorkerStatus.Ready
    assert (await admin.verify()).version >= 1


async def test_payloads_that_are_not_json_are_refused_and_nothing_is_stored(store):
    await store.queue("bad")
    with pytest.raises(pgqrs.SerializationError, match="payload"):
        await pgqrs.produce(store, "bad", {"s": {1, 2}})
    with pytest.raises(pgqrs.SerializationError, match="keys must be str"):
        await pgqrs.produce(store, "bad", {1: "x"})
    with pytest.raises(pgqrs.ValidationError):
        await pgqrs.produce(store, "bad", {"x": float("nan")})
    with pytest.raises(pgqrs.SerializationError):
        await pgqrs.produce_batch(store, "bad", [{"ok": 1}, {"b": b"bytes"}])
    assert (await pgqrs.admin(store).queue_metrics("bad")).pending == 0
