"""Workflows that talk (docs/workflows.md "Messages, events and child workflows"):
``ctx.recv`` / ``pgqrs.send``, ``ctx.set_event`` / ``pgqrs.get_event``, streams, and child
runs with ``ctx.start_child`` / ``child.result()`` / ``ctx.gather``, on every backend."""

from __future__ import annotations

import pytest

import pgqrs
from pgqrs.decorators import step, workflow
from test_workflows import serve, trigger


async def run_id_of(store, msg) -> int:
    return (await pgqrs.run().message(msg).store(store).record()).id


async def test_recv_waits_durably_and_a_send_wakes_it(wf_store):
    store = wf_store
    calls: list = []

    @workflow(name="approval_wf")
    async def approval_wf(ctx, data):
        @step
        async def prepare(ctx):
            calls.append("prepare")
            return 1

        await prepare(ctx)
        answer = await ctx.recv("approval", timeout=3600)
        await ctx.set_event("answer", answer)
        return {"answer": answer}

    msg = await trigger(store, "approval_wf", {})
    run_id = await run_id_of(store, msg)
    await serve(store, approval_wf)
    record = await pgqrs.run().message(msg).store(store).record()
    assert record.status == pgqrs.WorkflowStatus.Paused
    assert await pgqrs.get_event(store, run_id, "answer") is None

    await pgqrs.send(store, run_id, "approval", {"ok": True})
    await serve(store, approval_wf)
    assert await pgqrs.run().message(msg).store(store).result(timeout=10) == {"answer": {"ok": True}}
    assert calls == ["prepare"]
    assert await pgqrs.get_event(store, run_id, "answer", timeout=1) == {"ok": True}
    [m] = await pgqrs.run_messages(store, run_id)
    assert m["topic"] == "approval" and m["received_by"] == "recv:1"

    with pytest.raises(pgqrs.ValidationError):
        await pgqrs.send(store, run_id + 1000, "approval", 1)
    with pytest.raises(pgqrs.ValidationError):
        await pgqrs.send(store, run_id, "bad topic", 1)


async def test_a_stream_is_read_in_order_until_it_is_closed(wf_store):
    store = wf_store

    @workflow(name="stream_wf")
    async def stream_wf(ctx, data):
        for i in range(3):
            await ctx.write_stream("progress", i)
        await ctx.close_stream("progress")
        return "done"

    msg = await trigger(store, "stream_wf", {})
    run_id = await run_id_of(store, msg)
    await serve(store, stream_wf)
    values = [v async for v in pgqrs.read_stream(store, run_id, "progress", timeout=5)]
    assert values == [0, 1, 2]
    kinds = [e["kind"] for e in await pgqrs.run_events(store, run_id)]
    assert kinds == ["stream", "stream", "stream", "stream_end"]


async def test_children_are_gathered_and_a_failed_child_fails_the_await(wf_store):
    store = wf_store

    @workflow(name="square_wf")
    async def square_wf(ctx, data):
        if data.get("fail"):
            raise RuntimeError("cannot square")
        return data["n"] * data["n"]

    @workflow(name="fanout_wf")
    async def fanout_wf(ctx, data):
        children = [await ctx.start_child("square_wf", {"n": n}) for n in data["ns"]]
        if data.get("bad"):
            bad = await ctx.start_child(square_wf, {"fail": True})
            return await bad.result()
        return await ctx.gather(*children)

    await pgqrs.workflow().name("square_wf").store(store).create()
    ok = await trigger(store, "fanout_wf", {"ns": [1, 2, 3]})
    bad = await trigger(store, "fanout_wf", {"ns": [], "bad": True})
    await serve(store, fanout_wf)
    await serve(store, square_wf)
    await serve(store, fanout_wf)
    assert await pgqrs.run().message(ok).store(store).result(timeout=10) == [1, 4, 9]
    kids = await pgqrs.child_runs(store, await run_id_of(store, ok))
    assert [k.status for k in kids] == [pgqrs.WorkflowStatus.Success] * 3
    with pytest.raises(pgqrs.ExecutionFailedError, match="cannot square"):
        await pgqrs.run().message(bad).store(store).result(timeout=10)


async def test_runs_of_another_app_version_are_stranded_until_migrated(backend, wf_store):
    if backend.name == "sqlite_memory" or backend.name.startswith("s3"):
        pytest.skip("needs a second writer on the same database")
    from conftest import open_store
    store = wf_store
    config = backend.config()
    config.app_version = "v1"
    v1 = await open_store(backend, config)

    @workflow(name="versioned_wf")
    async def versioned_wf(ctx, data):
        return data["n"]

    await pgqrs.workflow().name("versioned_wf").store(store).create()
    msg = await pgqrs.workflow().name("versioned_wf").store(v1).trigger({"n": 7}).execute()
    [stranded] = await pgqrs.stranded_runs(store)
    assert stranded["app_version"] == "v1" and stranded["workflow"] == "versioned_wf"
    assert await pgqrs.migrate_runs(store, "", from_version="v1") == 1
    assert await pgqrs.stranded_runs(store) == []
    await serve(store, versioned_wf)
    assert await pgqrs.run().message(msg).store(store).result(timeout=10) == 7
    with pytest.raises(pgqrs.ValidationError):
        await pgqrs.migrate_runs(store, "bad version")


async def test_resume_run_ends_a_paused_runs_wait_now(wf_store):
    store = wf_store

    @workflow(name="resume_wf")
    async def resume_wf(ctx, data):
        answer = await ctx.recv("go", timeout=3600)
        return {"answer": answer}

    msg = await trigger(store, "resume_wf", {})
    run_id = await run_id_of(store, msg)
    admin = pgqrs.admin(store)
    assert await admin.resume_run(run_id) is False  # QUEUED: nothing to resume
    await serve(store, resume_wf)
    assert (await pgqrs.run().message(msg).store(store).record()).status == pgqrs.WorkflowStatus.Paused
    assert await admin.resume_run(run_id) is True
    await serve(store, resume_wf)  # the hour-long recv has timed out now
    assert await pgqrs.run().message(msg).store(store).result(timeout=10) == {"answer": None}
    with pytest.raises(pgqrs.ValidationError):
        await admin.resume_run(run_id + 1000)
