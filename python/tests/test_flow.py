"""Flow control (issue 14; docs/flow-control.md) through the asyncio API, on every backend:
queue options as keyword arguments, per-message priority / dedup_key / concurrency_key."""

from __future__ import annotations

import pytest

import pgqrs


async def test_queue_options_are_stored_shown_and_updated(store):
    q = await store.queue("limited", concurrency=3, worker_concurrency=2, key_concurrency=1,
                          rate_limit=(100, 1.5), retain_archived=3600, retain_dead=86400)
    assert (q.concurrency, q.worker_concurrency, q.key_concurrency) == (3, 2, 1)
    assert q.rate_limit == (100, 1.5)
    assert (q.retain_archived, q.retain_dead) == (3600.0, 86400.0)
    assert await pgqrs.admin(store).get_queue("limited") == q
    after = await store.update_queue("limited", concurrency=10, rate_limit=None)
    assert after.concurrency == 10 and after.rate_limit is None
    assert after.worker_concurrency == 2 and after.retain_dead == 86400.0
    plain = await store.queue("plain")
    assert plain.concurrency is None and plain.retain_archived is None


@pytest.mark.parametrize("field,value", [("concurrency", 0), ("worker_concurrency", -1),
                                         ("key_concurrency", -3), ("rate_limit", (0, 1)),
                                         ("retain_dead", -5)])
async def test_bad_options_are_validation_errors_naming_the_field(store, field, value):
    with pytest.raises(pgqrs.ValidationError, match=field.split("_limit")[0]):
        await store.queue("never", **{field: value})
    await store.queue("kept", concurrency=4)
    with pytest.raises(pgqrs.ValidationError, match=field.split("_limit")[0]):
        await store.update_queue("kept", **{field: value})
    assert (await pgqrs.admin(store).get_queue("kept")).concurrency == 4
    with pytest.raises(pgqrs.QueueNotFoundError):
        await pgqrs.admin(store).get_queue("never")


async def test_unknown_option_is_a_validation_error(store):
    await store.queue("q")
    with pytest.raises(pgqrs.ValidationError, match="concurrancy"):
        await store.update_queue("q", concurrancy=3)
    with pytest.raises(TypeError):
        await store.queue("other", concurrancy=3)


async def test_priority_orders_delivery_fifo_within_a_priority(store):
    await store.queue("q")
    producer = await store.producer("q")
    for name, prio in [("a", 5), ("b", 0), ("c", -2), ("d", 5), ("e", -2)]:
        await producer.enqueue({"n": name}, priority=prio)
    consumer = await store.consumer("q")
    got = await consumer.dequeue(batch_size=10)
    assert [m.payload["n"] for m in got] == ["c", "e", "b", "a", "d"]
    assert [m.priority for m in got] == [-2, -2, 0, 5, 5]


async def test_dedup_key_returns_the_live_message_until_archived(store):
    await store.queue("q")
    producer = await store.producer("q")
    first = await producer.enqueue({"n": 1}, dedup_key="order-7")
    assert await producer.enqueue({"n": 2}, dedup_key="order-7") == first
    assert await pgqrs.produce(store, "q", {"n": 3}, dedup_key="order-7") == first
    consumer = await store.consumer("q")
    [m] = await consumer.dequeue(batch_size=5)
    assert m.dedup_key == "order-7"
    assert await consumer.archive(m.id)
    again = await pgqrs.enqueue(producer, {"n": 4}, dedup_key="order-7")
    assert again != first


async def test_key_concurrency_through_python(store):
    await store.queue("q", key_concurrency=1)
    for i, key in enumerate(["a", "a", "b"]):
        await pgqrs.produce(store, "q", {"n": i}, concurrency_key=key)
    consumer = await store.consumer("q")
    got = await consumer.dequeue(batch_size=10)
    assert [(m.payload["n"], m.concurrency_key) for m in got] == [(0, "a"), (2, "b")]


async def test_bad_message_fields_are_validation_errors(store):
    await store.queue("q")
    producer = await store.producer("q")
    with pytest.raises(pgqrs.ValidationError, match="dedup_key"):
        await producer.enqueue({"n": 1}, dedup_key="")
    with pytest.raises(pgqrs.ValidationError, match="concurrency_key"):
        await producer.enqueue({"n": 1}, concurrency_key="k" * 300)
    assert await pgqrs.admin(store).list_messages("q") == []


def test_guide_example_runs_as_written(tmp_path):
    """docs/flow-control.md's Python example (after its marker) runs and prints what the
    guide says: the invoice first, customer 7's newsletter held back, the dedup hit."""
    import os
    import re
    import subprocess
    import sys
    from pathlib import Path

    guide = (Path(__file__).resolve().parents[2] / "docs" / "flow-control.md").read_text()
    after = guide[guide.index("<!-- example: flow_guide_example.py"):]
    code = re.search(r"```python\n(.*?)```", after, re.S).group(1)
    script = tmp_path / "flow_example.py"
    script.write_text(code)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    done = subprocess.run([sys.executable, str(script), f"sqlite://{tmp_path}/flow.db"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines() == [
        "concurrency 10 rate_limit None",
        "leased {'invoice': 1042}",
        "leased {'newsletter': 8}",
        "deduplicated: yes",
    ], done.stdout


async def test_idempotent_workflow_trigger(store):
    await pgqrs.workflow().name("report").store(store).create()
    first = await pgqrs.workflow().name("report").store(store).trigger({"day": 1}) \
        .dedup_key("day-1").execute()
    again = await pgqrs.workflow().name("report").store(store).trigger({"day": 1}) \
        .dedup_key("day-1").execute()
    assert again.id == first.id
    other = await pgqrs.workflow().name("report").store(store).trigger({"day": 2}) \
        .dedup_key("day-2").priority(-1).execute()
    assert other.id != first.id and other.priority == -1
