"""Schedules and retention from Python, on every backend: the builder, lifecycle, ticks that
carry their time (ManualClock), bad input named by field, prune."""

from __future__ import annotations

import pytest

import pgqrs


async def test_schedule_lifecycle_and_ticks(clocked_store, clock):
    store = clocked_store
    await store.queue("q")
    s = await (pgqrs.schedule("five").cron("*/5 * * * * *").queue("q").payload({"k": 1})
               .store(store).create())
    assert s.name == "five" and s.cron == "*/5 * * * * *" and s.catch_up == "last"
    assert s.target_kind == "queue" and s.target == "q" and s.payload == {"k": 1}
    await pgqrs.schedule("every").every(10).queue("q").catch_up("all").store(store).create()
    names = [r.name for r in await pgqrs.list_schedules(store)]
    assert names == ["every", "five"]

    await pgqrs.pause_schedule(store, "five")
    clock.advance(30)
    # Only "every" fires (three missed ticks, catch_up all); "five" is paused.
    assert await pgqrs.fire_due_schedules(store) == 3
    assert await pgqrs.fire_due_schedules(store) == 0
    got = await (await store.consumer("q")).dequeue(batch_size=10)
    assert len(got) == 3
    resumed = await pgqrs.resume_schedule(store, "five")
    assert resumed.paused is False
    assert await pgqrs.remove_schedule(store, "five") is True
    assert await pgqrs.remove_schedule(store, "five") is False
    with pytest.raises(pgqrs.ValidationError):
        await pgqrs.get_schedule(store, "five")


async def test_workflow_target(clocked_store, clock):
    store = clocked_store
    await pgqrs.workflow().name("wf").store(store).create()
    s = await pgqrs.schedule("wf").every(5).workflow("wf").input({"d": 1}).store(store).create()
    assert s.target_kind == "workflow"
    clock.advance(5)
    assert await pgqrs.fire_due_schedules(store) == 1


@pytest.mark.parametrize("builder,field", [
    (lambda: pgqrs.schedule("a").cron("0 25 * * *").queue("q"), "cron: "),
    (lambda: pgqrs.schedule("a").cron("0 3 * * *").time_zone("Mars/Base").queue("q"),
     "time_zone: "),
    (lambda: pgqrs.schedule("a").every(-5).queue("q"), "every: "),
    (lambda: pgqrs.schedule("a").every(5).queue("q").catch_up("some"), "catch_up: "),
])
async def test_bad_input_names_the_field_and_stores_nothing(store, builder, field):
    await store.queue("q")
    with pytest.raises(pgqrs.ValidationError) as e:
        await builder().store(store).create()
    assert str(e.value).startswith(field), str(e.value)
    assert await pgqrs.list_schedules(store) == []


async def test_prune_dry_run_and_bad_input(store):
    await store.queue("q")
    r = await pgqrs.prune(store, archived_older_than=3600, dry_run=True)
    assert r["dry_run"] is True and r["archived"] == 0 and r["skipped"] is False
    with pytest.raises(pgqrs.ValidationError, match="archived_older_than"):
        await pgqrs.prune(store, archived_older_than=-1)
