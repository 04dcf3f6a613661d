"""Drop-in rule 10 of issue 13 (the original pgqrs 0.15 S3 handle): as_s3 on another backend
is a TypeError saying expected 's3'; local mode gives each connected store its own working
copy; snapshot() with local writes says "unsynced writes"; sync() over an object another
store published is a conflict; Config.s3_mode is a DurabilityMode and s3_cache_dir a settable attribute."""

from __future__ import annotations

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


async def test_rule10_local_mode_working_copies_and_conflicts(backend):
    if backend.name != "s3":
        pytest.skip(f"{backend.name}: working copies and sync exist only for s3:// stores "
                    "(the as_s3 test above covers the other backends)")
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
