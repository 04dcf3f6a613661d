"""Drop-in rule 10 of issue 13 (the original pgqrs 0.15 S3 handle): as_s3 on another backend
is a TypeError saying expected 's3'; local mode gives each connected store its own working
copy (opening downloads nothing; snapshot() does); snapshot() with local writes says
"unsynced writes"; install() changes only the working copy and the next sync() publishes it,
refused with "conflict" over an object another store published; sync() after the object
was deleted publishes it again; Config.s3_mode is a DurabilityMode and s3_cache_dir a
settable attribute."""

from __future__ import annotations

import tempfile

import pytest

import pgqrs
from conftest import open_store


async def test_rule10_as_s3_on_another_backend_is_a_type_error(store, backend):
    if backend.name == "s3":
        assert isinstance(pgqrs.as_s3(store), pgqrs.S3StoreHandle)
        return
    with pytest.raises(TypeError, match="expected 's3'"):
        pgqrs.as_s3(store)


def test_rule10_config_s3_attributes(tmp_path):
    cfg = pgqrs.Config("s3://bucket/key.sqlite")
    cfg.s3_mode = pgqrs.DurabilityMode.Local
    assert cfg.s3_mode is pgqrs.DurabilityMode.Local
    assert isinstance(cfg.s3_mode, pgqrs.DurabilityMode)
    cfg.s3_cache_dir = str(tmp_path)
    assert cfg.s3_cache_dir == str(tmp_path)


def _local(backend):
    cfg = backend.config()
    cfg.s3_mode = pgqrs.DurabilityMode.Local
    return cfg


def _s3_only(backend):
    if backend.name != "s3":
        pytest.skip(f"{backend.name}: working copies and sync exist only for s3:// stores "
                    "(the as_s3 test above covers the other backends)")


async def test_rule10_local_mode_working_copies_and_conflicts(backend):
    _s3_only(backend)
    # Two stores from the same config in one process: both connect, each with its own copy.
    first = await open_store(backend, _local(backend))
    second = await open_store(backend, _local(backend))
    await pgqrs.admin(first).install()
    await first.queue("q10")
    await pgqrs.produce(first, "q10", {"n": 1})
    s1, s2 = pgqrs.as_s3(first), pgqrs.as_s3(second)
    with pytest.raises(pgqrs.ConflictError, match="unsynced writes"):
        await s1.snapshot()
    await s1.sync()
    assert await s2.state() == pgqrs.SyncState.RemoteChanges, "opening downloads nothing"
    await s2.snapshot()
    [m] = await pgqrs.admin(second).list_messages("q10")
    assert m.payload == {"n": 1}, "the second store sees the remote state after snapshot()"

    # Both write; the first publishes; the second's sync over it is refused as a conflict.
    await pgqrs.produce(second, "q10", {"n": 3})
    await pgqrs.produce(first, "q10", {"n": 2})
    await s1.sync()
    with pytest.raises(pgqrs.ConflictError, match="conflict"):
        await s2.sync()
    assert await s2.state() == pgqrs.SyncState.ConcurrentChanges


async def test_rule10_fresh_install_is_refused_at_sync_not_at_install(backend):
    # The original's "fresh replacement writer": the object is published; a second store of
    # the same config installs on its own, empty working copy; install() succeeds and the
    # next sync() is refused as a conflict, overwriting nothing.
    _s3_only(backend)
    config = _local(backend)
    seed = await open_store(backend, config)
    await pgqrs.admin(seed).install()
    await seed.queue("seeded")
    await pgqrs.produce(seed, "seeded", {"job": "seeded"})
    await pgqrs.as_s3(seed).sync()

    replacement = await open_store(backend, config)
    await pgqrs.admin(replacement).install()
    with pytest.raises(pgqrs.PgqrsError) as exc_info:
        await pgqrs.as_s3(replacement).sync()
    assert "conflict" in str(exc_info.value).lower()
    assert isinstance(exc_info.value, pgqrs.ConflictError)

    # Nothing remote changed: a third store sees the seed's data only.
    reader = await open_store(backend, config)
    await pgqrs.as_s3(reader).snapshot()
    [m] = await pgqrs.admin(reader).list_messages("seeded")
    assert m.payload == {"job": "seeded"}
    # The replacement's working copy held only install(): snapshot() adopts the object.
    await pgqrs.as_s3(replacement).snapshot()
    assert await pgqrs.as_s3(replacement).state() == pgqrs.SyncState.InSync
    assert len(await pgqrs.admin(replacement).list_messages("seeded")) == 1


async def test_rule10_fresh_install_then_sync_publishes_a_missing_object(backend):
    _s3_only(backend)
    store = await open_store(backend, _local(backend))
    await pgqrs.admin(store).install()
    h = pgqrs.as_s3(store)
    assert await h.state() == pgqrs.SyncState.RemoteMissingDirty, "install() stays local"
    await h.sync()
    assert await h.state() == pgqrs.SyncState.InSync
    other = await open_store(backend, backend.config())  # durable: downloads at connect
    assert await pgqrs.admin(other).list_queues() == []


async def test_rule10_sync_after_remote_delete_publishes_again(backend):
    _s3_only(backend)
    store = await open_store(backend, _local(backend))
    await pgqrs.admin(store).install()
    await store.queue("kept")
    await pgqrs.produce(store, "kept", {"n": 1})
    h = pgqrs.as_s3(store)
    await h.sync()

    # Another store (durable, its own cache) deletes the object.
    deleter_cfg = backend.config()
    deleter_cfg.s3_cache_dir = tempfile.mkdtemp(prefix="pgqrs-s3-deleter-")
    deleter = await open_store(backend, deleter_cfg)
    await pgqrs.admin(deleter).uninstall()
    assert await h.state() == pgqrs.SyncState.RemoteMissingClean

    await store.queue("recreated")
    await h.sync()
    assert await h.state() == pgqrs.SyncState.InSync
    viewer_cfg = backend.config()
    viewer_cfg.s3_cache_dir = tempfile.mkdtemp(prefix="pgqrs-s3-viewer-")
    viewer = await open_store(backend, viewer_cfg)
    names = sorted(q.queue_name for q in await pgqrs.admin(viewer).list_queues())
    assert names == ["kept", "recreated"], "everything synced before the delete is back"
    [m] = await pgqrs.admin(viewer).list_messages("kept")
    assert m.payload == {"n": 1}
