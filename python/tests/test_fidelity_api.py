"""Drop-in rules 4, 5, 6, 8 and 9 of issue 13 (the original pgqrs 0.15 Python behaviours):
Messages.count counts live messages; a trigger message's payload is the input; Run.pause
records and returns True; a single-message handler needs batch 1; @workflow re-runs a run
that already succeeded."""

from __future__ import annotations

from datetime import datetime

import pytest

import pgqrs
from pgqrs.decorators import step, workflow
from conftest import open_store, within


async def test_rule4_messages_count_excludes_archived_and_dead(backend):
    cfg = backend.config()
    cfg.max_read_ct = 1
    store = await open_store(backend, cfg)
    await pgqrs.admin(store).install()
    await store.queue("live")
    await pgqrs.produce_batch(store, "live", [1, 2, 3, 4])
    consumer = await store.consumer("live")
    [a, b] = await consumer.dequeue(batch_size=2)
    await consumer.archive(a.id)                    # archived: not counted
    assert await consumer.release_messages([b.id]) == 1
    assert await consumer.dequeue(batch_size=1) != []  # leases 3 (b is dead: max_read_ct 1)
    dead = await pgqrs.admin(store).dlq("live")
    assert [d.id for d in dead] == [b.id]
    messages = await store.get_messages()
    # pending (4) + leased (3) = 2; the archived and the dead-lettered one are left out.
    assert await messages.count() == 2
    stats = await pgqrs.admin(store).system_stats()
    assert stats.archived == 1 and stats.dead == 1, "totals stay in system_stats()"


async def test_rule5_trigger_payload_is_the_input(wf_store):
    store = wf_store
    payload = {"order": 7, "run_id": "the user's own key"}
    await pgqrs.workflow().name("fid_pay").store(store).create()
    msg = await pgqrs.workflow().name("fid_pay").store(store).trigger(payload).execute()
    assert msg.payload == payload
    [listed] = await pgqrs.admin(store).list_messages("fid_pay")
    assert listed.payload == payload
    consumer = await store.consumer("fid_pay")
    [leased] = await consumer.dequeue(batch_size=1)
    assert leased.id == msg.id and leased.payload == payload
    record = await pgqrs.run().message(leased).store(store).record()
    assert record.input == payload and record.message_id == msg.id
    plain = await pgqrs.workflow().name("fid_pay").store(store).trigger([1, "x"]).execute()
    assert plain.payload == [1, "x"]


async def test_rule6_pause_records_and_start_resumes(wf_store):
    store = wf_store
    await pgqrs.workflow().name("fid_pause").store(store).create()
    msg = await pgqrs.workflow().name("fid_pause").store(store).trigger({}).execute()
    run = await pgqrs.run().message(msg).store(store).execute()
    await run.start()
    assert await run.pause("waiting for approval", 30) is True
    record = await run.refresh()
    assert record.status == pgqrs.WorkflowStatus.Paused
    assert record.error == {"message": "waiting for approval", "resume_after": 30}
    assert await run.steps() == [], "no step row"
    await run.start()
    assert (await run.refresh()).status == pgqrs.WorkflowStatus.Running
    await run.start()  # RUNNING: nothing to do
    assert await run.success({"ok": 1}) is True
    with pytest.raises(pgqrs.ValidationError, match=f"Run {run.id()} is in terminal SUCCESS state"):
        await run.start()


async def test_rule6_paused_error_from_a_worker_hides_the_message(wf_store):
    store = wf_store
    entered = []

    @workflow(name="fid_wait")
    async def fid_wait(ctx, data):
        entered.append(1)
        await ctx.pause("approval", 3600)
        raise pgqrs.PausedError("waiting for approval")

    await pgqrs.workflow().name("fid_wait").store(store).create()
    msg = await pgqrs.workflow().name("fid_wait").store(store).trigger({}).execute()
    consumer = await store.consumer("fid_wait")
    builder = pgqrs.dequeue().worker(consumer).handle_workflow(fid_wait).poll_interval(20)
    await within(builder.until_empty().poll(store))
    await within(builder.until_empty().poll(store))
    assert entered == [1], "hidden until the wake time"
    record = await pgqrs.run().message(msg).store(store).record()
    assert record.status == pgqrs.WorkflowStatus.Paused
    [m] = await pgqrs.admin(store).list_messages("fid_wait")
    wake = datetime.fromisoformat(m.vt) - datetime.fromisoformat(record.updated_at)
    assert 3590 <= wake.total_seconds() <= 3610


async def test_rule8_single_message_handler_needs_batch_one(store):
    await store.queue("b8")
    await pgqrs.produce_batch(store, "b8", [1, 2, 3])
    seen = []
    builder = pgqrs.dequeue().from_queue("b8").handle(seen.append).batch(3)
    with pytest.raises(pgqrs.ValidationError,
                       match="single-message handlers require batch size = 1, got 3"):
        await builder.until_empty().poll(store)
    assert seen == []
    assert (await pgqrs.admin(store).queue_metrics("b8")).pending == 3, "nothing leased"
    # batch() clamps to >= 1: batch(0) is batch(1), accepted by a single-message handler.
    stats = await within(pgqrs.dequeue().from_queue("b8").handle(seen.append).batch(0)
                         .until_empty().poll(store))
    assert stats.processed == 3 and len(seen) == 3
    with pytest.raises(ValueError):
        pgqrs.dequeue().handle(seen.append).handle_batch(seen.append)


async def test_rule9_workflow_on_a_succeeded_run_reruns_with_skipped_steps(wf_store):
    store = wf_store
    calls = []

    @step
    async def work(ctx, x):
        calls.append(x)
        return x * 2

    @workflow(name="fid_again")
    async def fid_again(ctx, data):
        return {"v": await work(ctx, data["x"])}

    await pgqrs.workflow().name("fid_again").store(store).create()
    msg = await pgqrs.workflow().name("fid_again").store(store).trigger({"x": 4}).execute()
    run = await pgqrs.run().message(msg).store(store).execute()
    assert await fid_again(run) == {"v": 8}, "no input argument: ctx.input"
    again = await pgqrs.run().message(msg).store(store).execute()
    assert await fid_again(again, {"x": 4}) == {"v": 8}
    assert calls == [4], "the step came back Skipped"
    record = await again.refresh()
    assert record.status == pgqrs.WorkflowStatus.Success and record.output == {"v": 8}
