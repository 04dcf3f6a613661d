"""The S3 handle (SPEC §6): as_s3(store).state / sync / snapshot on an s3:// store backed by
the moto test server (scripts/s3-test-server); skipped with the reason elsewhere."""

from __future__ import annotations

import pytest

import pgqrs
from conftest import open_store


async def test_s3_handle_sync_snapshot_state(backend):
    if backend.name != "s3":
        pytest.skip(f"{backend.name}: the S3 handle exists only for s3:// stores "
                    "(test_errors checks as_s3 refuses other backends)")
    cfg = backend.config()
    cfg.s3_mode = pgqrs.DurabilityMode.Local
    store = await open_store(backend, cfg)
    await pgqrs.admin(store).install()
    s3 = pgqrs.as_s3(store)
    assert isinstance(s3, pgqrs.S3StoreHandle)
    await store.queue("s3q")
    assert await s3.state() == pgqrs.SyncState.RemoteMissingDirty, \
        "local mode: install() and the queue are not published yet"
    await s3.sync()
    assert await s3.state() == pgqrs.SyncState.InSync
    msg_id = await pgqrs.produce(store, "s3q", {"on": "s3"})
    await s3.sync()

    # A second store (its own cache dir) sees the published state after a snapshot.
    other_cfg = backend.config()
    other_cfg.s3_mode = pgqrs.DurabilityMode.Local
    import tempfile
    other_cfg.s3_cache_dir = tempfile.mkdtemp(prefix="pgqrs-s3-cache-")
    other = await open_store(backend, other_cfg)
    s3_other = pgqrs.as_s3(other)
    assert await s3_other.state() == pgqrs.SyncState.RemoteChanges, "opening downloads nothing"
    await s3_other.snapshot()
    [m] = await pgqrs.admin(other).list_messages("s3q")
    assert m.id == msg_id and m.payload == {"on": "s3"}

    # The first store writes and publishes; the second has unsynced writes of its own, so
    # publishing them conflicts and nothing remote is lost.
    await pgqrs.produce(store, "s3q", {"n": 2})
    await s3.sync()
    await pgqrs.produce(other, "s3q", {"n": 3})
    with pytest.raises(pgqrs.ConflictError):
        await s3_other.sync()
    assert await s3_other.state() == pgqrs.SyncState.ConcurrentChanges
    with pytest.raises(pgqrs.ConflictError):
        await s3_other.snapshot()
