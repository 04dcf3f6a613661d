"""A workflow worker process for test_crash.py. Connects with pgqrs.Config.load() (the test
passes PGQRS_DSN / PGQRS_SCHEMA / PGQRS_DEFAULT_LOCK_TIME), serves "crash_wf" and appends
one line per step body execution to the journal file argv[1]. With CRASH_IN_STEP2=1 it
writes argv[2] when step 2 begins and then hangs until it is killed."""

import asyncio
import os
import sys
import time

import pgqrs
from pgqrs.decorators import step, workflow

JOURNAL, MARKER = sys.argv[1], sys.argv[2]


def journal(line: str) -> None:
    with open(JOURNAL, "a") as f:
        f.write(line + "\n")
        f.flush()
        os.fsync(f.fileno())


@workflow(name="crash_wf")
async def crash_wf(ctx, data):
    @step
    async def step1(ctx):
        journal("step1")
        return data["n"] + 1

    @step
    async def step2(ctx, x):
        journal("step2")
        if os.environ.get("CRASH_IN_STEP2") == "1":
            with open(MARKER, "w") as f:
                f.write(str(os.getpid()))
            while True:  # killed here with SIGKILL
                time.sleep(1)
        return x * 10

    return {"out": await step2(ctx, await step1(ctx))}


async def main() -> None:
    store = await pgqrs.connect_with(pgqrs.Config.load())
    consumer = await store.consumer("crash_wf")
    await pgqrs.dequeue().worker(consumer).handle_workflow(crash_wf).poll(store)


asyncio.run(main())
