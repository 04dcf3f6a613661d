"""Safe upgrades (docs/workflows.md "Safe upgrades"): ``ctx.patched(name)`` is True for a
run that reaches the patch point on patched code, False for a run that older code had
already taken past it, and the recorded answer stands."""

from __future__ import annotations

import pytest

import pgqrs
from pgqrs.decorators import step, workflow
from test_workflows import serve, trigger


def patched_workflow(calls: list):
    @workflow(name="patch_wf")
    async def patch_wf(ctx, data):
        @step
        async def a(ctx):
            calls.append("a")
            return 1

        @step
        async def b_old(ctx):
            calls.append("b_old")
            return 2

        @step
        async def b_new(ctx):
            calls.append("b_new")
            return 3

        await a(ctx)
        if await ctx.patched("fix-b"):
            return {"b": await b_new(ctx)}
        return {"b": await b_old(ctx)}

    return patch_wf


async def test_new_runs_take_the_patch_and_runs_past_the_point_keep_the_old_path(wf_store):
    store = wf_store
    calls: list = []
    wf = patched_workflow(calls)

    fresh = await trigger(store, "patch_wf", {})
    # A run that older code (a, b_old, ...) had taken past the patch point before a crash.
    old = await trigger(store, "patch_wf", {})
    run = await pgqrs.run().message(old).store(store).execute()
    await run.start()
    for name in ("a", "b_old"):
        result = await run.acquire_step(name)
        await result.guard.success(100)

    await serve(store, wf)
    assert await pgqrs.run().message(fresh).store(store).result(timeout=10) == {"b": 3}
    assert await pgqrs.run().message(old).store(store).result(timeout=10) == {"b": 100}
    assert calls.count("b_new") == 1 and "b_old" not in calls

    with pytest.raises(pgqrs.ValidationError, match="patch name"):
        await run.patched("")
