"""Durable workflows through the asyncio API (SPEC §5): decorators, retries, pause,
cancellation, driving a run by hand."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

import pgqrs
from pgqrs.decorators import step, workflow
from conftest import within


async def serve(store, wf, **kw):
    """Runs a worker for `wf` until no run message is deliverable; returns PollStats."""
    consumer = await store.consumer(wf.name)
    builder = pgqrs.dequeue().worker(consumer).handle_workflow(wf).poll_interval(20)
    return await within(builder.until_empty().poll(store), kw.get("timeout", 30))


async def trigger(store, name, payload):
    await pgqrs.workflow().name(name).store(store).create()
    return await pgqrs.workflow().name(name).store(store).trigger(payload).execute()


async def test_workflow_success_records_steps_and_output(wf_store):
    store = wf_store
    calls = []

    @workflow(name="ok_wf")
    async def ok_wf(ctx: pgqrs.Run, data: dict) -> dict:
        @step
        async def double(ctx, x):
            calls.append("double")
            return x * 2

        @step
        async def label(ctx, y):
            calls.append("label")
            return f"v={y}"

        y = await double(ctx, data["x"])
        return {"label": await label(ctx, y)}

    msg = await trigger(store, "ok_wf", {"x": 21})
    assert isinstance(ok_wf, pgqrs.WorkflowDef) and ok_wf.name == "ok_wf"
    stats = await serve(store, ok_wf)
    assert stats.processed == 1
    out = await pgqrs.run().message(msg).store(store).result(timeout=10)
    assert out == {"label": "v=42"}
    assert calls == ["double", "label"]
    record = await pgqrs.run().message(msg).store(store).record()
    assert record.status == pgqrs.WorkflowStatus.Success
    steps = await pgqrs.admin(store).run_steps(record.id)
    assert {s.step_name: s.output for s in steps} == {"double": 42, "label": "v=42"}
    assert all(s.status == pgqrs.WorkflowStatus.Success for s in steps)


async def test_permanent_error_fails_the_run(wf_store):
    store = wf_store

    class Broken(Exception):
        pass

    @workflow(name="bad_wf")
    async def bad_wf(ctx, data):
        @step
        async def explode(ctx):
            raise Broken("disk on fire")
        return await explode(ctx)

    msg = await trigger(store, "bad_wf", {})
    await serve(store, bad_wf)
    with pytest.raises(pgqrs.ExecutionFailedError, match="disk on fire"):
        await pgqrs.run().message(msg).store(store).result(timeout=10)
    record = await pgqrs.run().message(msg).store(store).record()
    assert record.status == pgqrs.WorkflowStatus.Error
    [s] = await pgqrs.admin(store).run_steps(record.id)
    assert s.status == pgqrs.WorkflowStatus.Error and "disk on fire" in str(s.error)


async def test_transient_errors_are_retried_under_the_policy(clocked_store, clock):
    store = clocked_store
    attempts = []

    @workflow(name="flaky_wf",
              retry_policy=pgqrs.StepRetryPolicy(3, pgqrs.BackoffStrategy.fixed(0.05)))
    async def flaky_wf(ctx, data):
        @step
        async def call_api(ctx):
            attempts.append(1)
            if len(attempts) < 3:
                raise pgqrs.TransientStepError("503 from upstream")
            return "fine"
        return {"r": await call_api(ctx)}

    msg = await trigger(store, "flaky_wf", {})
    for _ in range(20):
        await serve(store, flaky_wf)
        if (await pgqrs.run().message(msg).store(store).get()) is not None:
            break
        clock.advance(0.05)  # the fixed back-off, on the store's clock
    assert await pgqrs.run().message(msg).store(store).result(timeout=10) == {"r": "fine"}
    assert len(attempts) == 3
    record = await pgqrs.run().message(msg).store(store).record()
    [s] = await pgqrs.admin(store).run_steps(record.id)
    assert s.retry_count == 2


async def test_retries_exhausted_ends_the_run_in_error(wf_store):
    store = wf_store

    @workflow(name="doomed_wf")
    async def doomed_wf(ctx, data):
        @step(retry_policy=pgqrs.StepRetryPolicy(1, pgqrs.BackoffStrategy.fixed(0)))
        async def never(ctx):
            raise pgqrs.TransientStepError("still down", retry_after=0)
        return await never(ctx)

    msg = await trigger(store, "doomed_wf", {})
    for _ in range(10):
        await serve(store, doomed_wf)
        rec = await pgqrs.run().message(msg).store(store).record()
        if rec.status == pgqrs.WorkflowStatus.Error:
            break
    with pytest.raises(pgqrs.ExecutionFailedError, match="retries"):
        await pgqrs.run().message(msg).store(store).result(timeout=5)


async def test_pause_then_resume_without_rerunning_finished_steps(clocked_store, clock):
    store = clocked_store
    ran = []

    @workflow(name="pause_wf")
    async def pause_wf(ctx, data):
        @step
        async def before(ctx):
            ran.append("before")
            return 1

        await before(ctx)
        await ctx.sleep("approval", 1)  # the durable timer (pause() records only)
        ran.append("after")
        return {"done": True}

    msg = await trigger(store, "pause_wf", {})
    await serve(store, pause_wf)
    rec = await pgqrs.run().message(msg).store(store).record()
    assert rec.status == pgqrs.WorkflowStatus.Paused
    assert await pgqrs.run().message(msg).store(store).get() is None
    await serve(store, pause_wf)
    assert ran == ["before"], "the durable sleep has not come due on the clock"
    clock.advance(1)
    await serve(store, pause_wf)
    assert await pgqrs.run().message(msg).store(store).result(timeout=5) == {"done": True}
    assert ran == ["before", "after"]


async def test_cancel_before_start_and_while_running(wf_store):
    store = wf_store
    entered = asyncio.Event()
    release = asyncio.Event()

    @workflow(name="cancel_wf")
    async def cancel_wf(ctx, data):
        @step
        async def slow(ctx):
            entered.set()
            await release.wait()
            return "slow done"

        @step
        async def never(ctx):
            raise AssertionError("must not run after cancel")

        await slow(ctx)
        await never(ctx)
        return {}

    early = await trigger(store, "cancel_wf", {"n": 1})
    run_early = await pgqrs.run().message(early).store(store).execute()
    assert await run_early.cancel() is True
    await serve(store, cancel_wf)
    with pytest.raises(pgqrs.WorkflowCancelledError):
        await pgqrs.run().message(early).store(store).result(timeout=5)
    assert await run_early.cancel() is False, "cancelling a finished run changes nothing"

    late = await trigger(store, "cancel_wf", {"n": 2})
    worker = asyncio.create_task(serve(store, cancel_wf))
    await within(entered.wait(), 10)
    rec = await pgqrs.run().message(late).store(store).record()
    assert await pgqrs.admin(store).cancel_run(rec.id) is True
    release.set()
    await worker
    rec = await pgqrs.run().message(late).store(store).record()
    assert rec.status == pgqrs.WorkflowStatus.Cancelled
    steps = {s.step_name: s for s in await pgqrs.admin(store).run_steps(rec.id)}
    assert steps["slow"].output == "slow done", "the in-flight step finished and was recorded"
    assert "never" not in steps


async def test_driving_a_run_by_hand_with_step_guards(wf_store):
    store = wf_store
    msg = await trigger(store, "manual_wf", {"a": 1})
    run = await pgqrs.run().message(msg).store(store).execute()
    assert run.input == {"a": 1}
    await run.start()
    first = await run.acquire_step("s1")
    assert first.status == pgqrs.StepResultStatus.Execute and first.guard is not None
    await first.guard.success({"v": 1})
    res = await pgqrs.step().run(run).name("s2").execute()
    with pytest.raises(ValueError):
        await res.guard.fail_transient("E_NET", "flaky", retry_after=float("inf"))
    assert await res.guard.fail_transient("E_NET", "flaky", retry_after=30) is None
    replay = await pgqrs.run().message(msg).store(store).execute()
    again = await replay.acquire_step("s1")
    assert again.status == pgqrs.StepResultStatus.Skipped and again.value == {"v": 1}
    with pytest.raises(pgqrs.StepNotReadyError):
        await replay.acquire_step("s2")
    fresh = await pgqrs.run().message(msg).store(store).execute()
    later = fresh.with_time(
        datetime.fromisoformat(fresh.current_time) + timedelta(seconds=31))
    ready = await later.acquire_step("s2")
    assert ready.status == pgqrs.StepResultStatus.Execute
    await ready.guard.success(2)
    assert await run.success({"total": 3}) is True
    assert await pgqrs.run().message(msg).store(store).get() == {"total": 3}
    with pytest.raises(pgqrs.ValidationError, match="SUCCESS"):
        await run.start()
    assert (await run.refresh()).status == pgqrs.WorkflowStatus.Success


async def test_admin_create_workflow_and_records(wf_store):
    store = wf_store
    admin = pgqrs.admin(store)
    run = await admin.create_workflow("admin_wf", {"k": "v"})
    assert isinstance(run, pgqrs.Run) and run.input == {"k": "v"}
    await run.start()
    await run.fail(RuntimeError("nope"))
    with pytest.raises(pgqrs.ExecutionFailedError, match="nope"):
        await pgqrs.run().id(run.id()).store(store).get()
    workflows = await store.get_workflows()
    assert (await workflows.get_by_name("admin_wf")).name == "admin_wf"
    runs = await store.get_workflow_runs()
    assert [r.id for r in await runs.list()] == [run.id()]
    assert (await runs.get(run.id())).status == pgqrs.WorkflowStatus.Error
    listed = await admin.list_runs(workflow="admin_wf", status=pgqrs.WorkflowStatus.Error)
    assert [r.id for r in listed] == [run.id()]
    assert await (await store.get_workflow_steps()).list() == []


async def test_list_runs_pages_with_before_id(wf_store):
    admin = pgqrs.admin(wf_store)
    ids = [(await admin.create_workflow("paged_wf", {"n": n})).id() for n in range(3)]
    first = await admin.list_runs(workflow="paged_wf", limit=2)
    assert [r.id for r in first] == ids[:0:-1]
    rest = await admin.list_runs(workflow="paged_wf", limit=2, before_id=first[-1].id)
    assert [r.id for r in rest] == [ids[0]]


async def test_result_timeout_is_a_pgqrs_and_builtin_timeout(wf_store):
    msg = await trigger(wf_store, "slow_wf", {})
    with pytest.raises(pgqrs.TimeoutError) as err:
        await pgqrs.run().message(msg).store(wf_store).result(timeout=0.2)
    assert isinstance(err.value, TimeoutError) and isinstance(err.value, pgqrs.PgqrsError)
