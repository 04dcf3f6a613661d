"""Fork and rerun (docs/workflows.md "Fork and rerun"): the succeeded steps before
``from_step`` are copied, not executed again; the original run is untouched."""

from __future__ import annotations

import pytest

import pgqrs
from pgqrs.decorators import step, workflow
from test_workflows import serve, trigger


async def test_fork_copies_earlier_steps_and_rerun_executes_all(wf_store):
    store = wf_store
    calls = []
    broken = {"charge": True}

    @workflow(name="fork_wf")
    async def fork_wf(ctx, data):
        @step
        async def reserve(ctx, n):
            calls.append("reserve")
            return n + 100

        @step
        async def charge(ctx, n):
            calls.append("charge")
            if broken["charge"]:
                raise ValueError("card declined")
            return n + 1

        return {"charged": await charge(ctx, await reserve(ctx, data["n"]))}

    msg = await trigger(store, "fork_wf", {"n": 1})
    await serve(store, fork_wf)
    original = await pgqrs.run().message(msg).store(store).record()
    assert original.status == pgqrs.WorkflowStatus.Error

    broken["charge"] = False
    forked_msg = await pgqrs.fork(store, original.id, from_step="charge")
    assert forked_msg.payload == {"n": 1}
    await serve(store, fork_wf)
    assert await pgqrs.run().message(forked_msg).store(store).result(timeout=10) == {"charged": 102}
    assert calls == ["reserve", "charge", "charge"], "reserve was copied, not executed again"
    assert (await pgqrs.admin(store).get_run(original.id)).status == pgqrs.WorkflowStatus.Error

    rerun_msg = await pgqrs.rerun(store, original.id)
    bulk = await pgqrs.rerun_matching(store, workflow="fork_wf", status=pgqrs.WorkflowStatus.Error)
    assert [m.payload for m in bulk] == [{"n": 1}]
    await serve(store, fork_wf)
    for m in (rerun_msg, *bulk):
        assert await pgqrs.run().message(m).store(store).result(timeout=10) == {"charged": 102}

    with pytest.raises(pgqrs.ValidationError, match="'refund'"):
        await pgqrs.fork(store, original.id, from_step="refund")
    with pytest.raises(pgqrs.ValidationError, match="not found"):
        await pgqrs.rerun(store, original.id + 10_000)
