"""Drop-in rules 1-3 of issue 13 (the original pgqrs 0.15 step protocol): acquire_step
depends only on the stored step row; StepGuard.fail_transient records and returns None; a
step waiting for its retry is ERROR with retry_at set. Time is driven with current_time,
never by sleeping."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

import pgqrs
from pgqrs.decorators import step, workflow
from conftest import within

T0 = datetime(2030, 1, 1, tzinfo=timezone.utc)


def at(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat()


async def hand_run(store, name="fid_wf", payload=None):
    await pgqrs.workflow().name(name).store(store).create()
    msg = await pgqrs.workflow().name(name).store(store).trigger(payload or {}).execute()
    return await pgqrs.run().message(msg).store(store).execute(), msg


async def step_row(store, run, name):
    for s in await pgqrs.admin(store).run_steps(run.id()):
        if s.step_name == name:
            return s
    return None


async def test_rule1_acquire_depends_only_on_the_stored_row(wf_store):
    store = wf_store
    run, msg = await hand_run(store)
    # The run need not be started; the same name may be acquired again and again.
    first = await run.acquire_step("s", current_time=at(0))
    assert first.status == pgqrs.StepResultStatus.Execute and first.guard is not None
    again = await run.acquire_step("s", current_time=at(0))
    assert again.status == pgqrs.StepResultStatus.Execute, "RUNNING -> Execute again"
    other = await pgqrs.run().message(msg).store(store).execute()
    assert (await other.acquire_step("s")).status == pgqrs.StepResultStatus.Execute
    row = await step_row(store, run, "s")
    assert row.status == pgqrs.WorkflowStatus.Running and row.retry_count == 0

    await again.guard.success({"v": 1})
    for handle in (run, other):
        done = await handle.acquire_step("s")
        assert done.status == pgqrs.StepResultStatus.Skipped
        assert done.value == {"v": 1} and done.guard is None

    with pytest.raises(ValueError):
        await run.acquire_step("t", current_time="not a time")
    with pytest.raises(ValueError):
        await pgqrs.step().run(run).name("t").current_time("2030-13-01").execute()


async def test_rule1_error_rows_ready_not_ready_and_exhausted(wf_store):
    store = wf_store
    run, _ = await hand_run(store)
    res = await run.acquire_step("net", current_time=at(0))
    assert await res.guard.fail_transient("E_NET", "down", retry_after=30) is None
    row = await step_row(store, run, "net")
    before = (row.status, row.retry_count, row.retry_at, row.error)

    for _ in range(2):  # not ready: raises every time, changes nothing
        with pytest.raises(pgqrs.StepNotReadyError):
            await run.acquire_step("net", current_time=at(29))
    with pytest.raises(pgqrs.StepNotReadyError):
        await pgqrs.step().run(run).name("net").current_time(at(29)).execute()
    row = await step_row(store, run, "net")
    assert (row.status, row.retry_count, row.retry_at, row.error) == before

    ready = await run.acquire_step("net", current_time=at(30))
    assert ready.status == pgqrs.StepResultStatus.Execute
    row = await step_row(store, run, "net")
    assert row.status == pgqrs.WorkflowStatus.Running
    assert row.retry_at is None and row.error is None and row.retry_count == 1

    # A permanent failure: every later acquire raises RetriesExhaustedError, which is
    # also an ExecutionFailedError.
    await ready.guard.fail(RuntimeError("bad input"))
    for _ in range(2):
        with pytest.raises(pgqrs.RetriesExhaustedError) as info:
            await run.acquire_step("net", current_time=at(1000))
        assert isinstance(info.value, pgqrs.ExecutionFailedError)


async def test_rule2_fail_transient_records_and_counts_attempts(wf_store):
    store = wf_store
    run, _ = await hand_run(store)
    t = 0.0
    executions = 0
    for n in range(3):
        res = await run.acquire_step("api", current_time=at(t))
        assert res.status == pgqrs.StepResultStatus.Execute
        executions += 1
        assert await res.guard.fail_transient("TIMEOUT", f"try {n}") is None
        row = await step_row(store, run, "api")
        assert row.status == pgqrs.WorkflowStatus.Error and row.retry_count == n + 1
        assert row.error == {"is_transient": True, "code": "TIMEOUT", "message": f"try {n}"}
        delay = (datetime.fromisoformat(row.retry_at) - (T0 + timedelta(seconds=t)))
        base = min(60, 2 ** n)
        assert base - base // 4 <= max(1, delay.total_seconds()) <= base + base // 4, delay
        assert delay.total_seconds() >= 1 and delay.total_seconds() == int(delay.total_seconds())
        t += delay.total_seconds()
    # The fourth execution (max_attempts 3 + 1) is the last: no retry_at any more.
    res = await run.acquire_step("api", current_time=at(t))
    executions += 1
    await res.guard.fail_transient("TIMEOUT", "last", retry_after=2.9)
    row = await step_row(store, run, "api")
    assert row.status == pgqrs.WorkflowStatus.Error and row.retry_at is None
    assert row.error["retry_after"] == 2.9 and row.retry_count == 3
    assert executions == 4
    with pytest.raises(pgqrs.RetriesExhaustedError):
        await run.acquire_step("api", current_time=at(t + 3600))


async def test_rule2_retry_after_is_floored_and_validated(wf_store):
    store = wf_store
    run, _ = await hand_run(store)
    res = await run.acquire_step("s", current_time=at(0))
    for bad in (-1, float("nan"), float("inf")):
        with pytest.raises(ValueError):
            await res.guard.fail_transient("C", "m", retry_after=bad)
    await res.guard.fail_transient("C", "m", retry_after=2.7)
    row = await step_row(store, run, "s")
    assert datetime.fromisoformat(row.retry_at) == T0 + timedelta(seconds=2)


async def test_rule3_step_records_user_code_and_worker_hides_the_run(wf_store, backend):
    store = wf_store
    seen = []

    @workflow(name="fid_flaky")
    async def fid_flaky(ctx, data):
        @step
        async def fetch(ctx):
            seen.append(len(seen))
            err = pgqrs.TransientStepError("upstream timeout", retry_after=120)
            err.code = "TIMEOUT"  # a writable attribute never changes the classification
            raise err
        return await fetch(ctx)

    await pgqrs.workflow().name("fid_flaky").store(store).create()
    msg = await pgqrs.workflow().name("fid_flaky").store(store).trigger({}).execute()
    consumer = await store.consumer("fid_flaky")
    builder = pgqrs.dequeue().worker(consumer).handle_workflow(fid_flaky).poll_interval(20)
    await within(builder.until_empty().poll(store))
    await within(builder.until_empty().poll(store))
    assert seen == [0], "the message is hidden until retry_at: no busy polling"
    record = await pgqrs.run().message(msg).store(store).record()
    assert record.status == pgqrs.WorkflowStatus.Running, "the run waits, it did not fail"
    [row] = await pgqrs.admin(store).run_steps(record.id)
    assert row.status == pgqrs.WorkflowStatus.Error and row.retry_at is not None
    assert row.error == {"is_transient": True, "code": "TIMEOUT",
                         "message": "upstream timeout", "retry_after": 120}
    delay = datetime.fromisoformat(row.retry_at) - datetime.fromisoformat(row.updated_at)
    assert timedelta(seconds=119) <= delay <= timedelta(seconds=121)


async def test_rule3_step_default_code_and_reraise(wf_store):
    store = wf_store
    run, _ = await hand_run(store)

    @step
    async def flaky(ctx):
        raise pgqrs.TransientStepError("busy")

    with pytest.raises(pgqrs.TransientStepError, match="busy"):
        await flaky(run)
    row = await step_row(store, run, "flaky")
    assert row.status == pgqrs.WorkflowStatus.Error and row.retry_at is not None
    assert row.error["code"] == "TRANSIENT_ERROR" and row.error["is_transient"] is True
