"""The Python side-by-side workload: the same script drains a Postgres queue with whichever
`pgqrs` package is importable (ours, or the original pgqrs==0.15.3 in its own venv), so users
switching see both rates measured the same way, on the same server, in the same run.

    python bench/python_drain.py --dsn DSN --consumers N --batch B --messages M --label L

Workload (what a user of the original writes): prefill M messages with
`pgqrs.enqueue_batch(producer, chunk)`, then N consumers (asyncio tasks, each its own
`store.consumer(queue)`) loop `await consumer.dequeue(batch_size=B)` +
`await consumer.archive_many(ids)` until the queue is empty. Prints one JSON line:
{"scenario": "python.drain", "package": L, "consumers", "batch", "messages", "seconds",
"msgs_per_s", "errors"}; errors counts messages delivered twice or never (must be 0).
Only the API both packages share is used.
"""
import argparse
import asyncio
import json
import sys
import time
import uuid

import pgqrs

PREFILL_CHUNK = 1000


async def drain(args):
    config = pgqrs.Config(args.dsn)
    # The original defaults to an enqueue rate limit (1,000/s, burst 50); the prefill is
    # setup, not the measured drain, so both packages run it unlimited.
    config.max_enqueue_per_second = None
    config.max_enqueue_burst = None
    store = await pgqrs.connect_with(config)
    await pgqrs.admin(store).install()
    queue = "pydrain_" + uuid.uuid4().hex[:12]
    await store.queue(queue)
    producer = await store.producer(queue)
    for start in range(0, args.messages, PREFILL_CHUNK):
        n = min(PREFILL_CHUNK, args.messages - start)
        await pgqrs.enqueue_batch(producer, [{"n": start + i} for i in range(n)])

    seen = []

    async def consume():
        consumer = await store.consumer(queue)
        while True:
            msgs = await consumer.dequeue(batch_size=args.batch)
            if not msgs:
                return
            ids = [m.id for m in msgs]
            seen.extend(ids)
            await consumer.archive_many(ids)

    started = time.perf_counter()
    await asyncio.gather(*(consume() for _ in range(args.consumers)))
    seconds = time.perf_counter() - started
    errors = (len(seen) - len(set(seen))) + abs(args.messages - len(set(seen)))
    return {"scenario": "python.drain", "backend": "postgres", "package": args.label,
            "consumers": args.consumers, "batch": args.batch, "messages": args.messages,
            "seconds": round(seconds, 3), "msgs_per_s": round(args.messages / seconds, 1),
            "errors": errors}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dsn", required=True)
    ap.add_argument("--consumers", type=int, default=1)
    ap.add_argument("--batch", type=int, default=10)
    ap.add_argument("--messages", type=int, default=10000)
    ap.add_argument("--label", default="pgqrs")
    args = ap.parse_args()
    if min(args.consumers, args.batch, args.messages) < 1:
        sys.exit("--consumers, --batch and --messages must be at least 1")
    print(json.dumps(asyncio.run(drain(args))), flush=True)


if __name__ == "__main__":
    main()
