"""The exception classes (SPEC §9) and the C++ -> Python error map, and Config."""

from __future__ import annotations

import builtins
import subprocess

import pytest

import pgqrs

ERRORS = ["PgqrsConnectionError", "QueueNotFoundError", "WorkerNotFoundError",
          "QueueAlreadyExistsError", "MessageNotFoundError", "SerializationError",
          "ConfigError", "RateLimitedError", "ValidationError", "TimeoutError",
          "InternalError", "StateTransitionError", "TransientStepError",
          "RetriesExhaustedError", "StepNotReadyError", "PausedError",
          "WorkflowCancelledError", "ExecutionFailedError", "ConflictError",
          "StorageFullError"]


def test_every_error_class_exists_under_pgqrs_error_with_a_unique_code():
    codes = set()
    for name in ERRORS:
        cls = getattr(pgqrs, name)
        assert issubclass(cls, pgqrs.PgqrsError) and cls is not pgqrs.PgqrsError, name
        codes.add(cls.code)
    assert len(codes) == len(ERRORS)
    assert issubclass(pgqrs.PgqrsError, Exception)
    assert issubclass(pgqrs.TimeoutError, builtins.TimeoutError)


async def test_cpp_errors_arrive_as_their_python_classes(store):
    admin = pgqrs.admin(store)
    with pytest.raises(pgqrs.QueueNotFoundError, match="nope"):
        await admin.get_queue("nope")
    with pytest.raises(pgqrs.QueueNotFoundError):
        await pgqrs.produce(store, "missing_queue", {"a": 1})
    with pytest.raises(pgqrs.ValidationError, match="queue name"):
        await store.queue("bad name!")
    with pytest.raises(pgqrs.MessageNotFoundError):
        await admin.get_message(424242)
    with pytest.raises(pgqrs.WorkerNotFoundError):
        await admin.get_worker(424242)
    await store.queue("busy")
    await pgqrs.produce(store, "busy", {"a": 1})
    with pytest.raises(pgqrs.ConflictError) as err:
        await admin.delete_queue("busy")
    assert err.value.code == "conflict" and err.value.retryable is False
    c = await store.consumer("busy")
    with pytest.raises(pgqrs.StateTransitionError):
        await c.interrupt()
    with pytest.raises(pgqrs.ValidationError):
        await c.dequeue(batch_size=0)


async def test_a_full_disk_is_a_storage_full_error_and_space_freed_heals_it(tmp_path):
    mnt = tmp_path / "small"
    mnt.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs (needs root with CAP_SYS_ADMIN): "
                    + mounted.stderr.strip())
    try:
        store = await pgqrs.connect(f"sqlite://{mnt}/q.db")
        await pgqrs.admin(store).install()
        await store.queue("q")
        await pgqrs.produce(store, "q", {"n": 1})
        filler = mnt / "filler"
        with open(filler, "wb", buffering=0) as f:
            for size in (65536, 4096, 512, 1):
                try:
                    while True:
                        f.write(b"x" * size)
                except OSError:
                    pass
        with pytest.raises(pgqrs.StorageFullError) as err:
            await pgqrs.produce(store, "q", {"big": "x" * 65536})
        assert err.value.code == "storage_full" and err.value.retryable is False
        assert str(mnt / "q.db") in str(err.value)
        filler.unlink()
        await pgqrs.produce(store, "q", {"n": 2})
        assert len(await pgqrs.admin(store).list_messages("q")) == 2
        del store  # closes the database before the unmount
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


async def test_rate_limit_is_a_rate_limited_error(backend):
    from conftest import open_store

    cfg = backend.config()
    cfg.max_enqueue_per_second = 1.0
    cfg.max_enqueue_burst = 2
    store = await open_store(backend, cfg)
    await pgqrs.admin(store).install()
    await store.queue("rl")
    with pytest.raises(pgqrs.RateLimitedError, match="burst") as err:
        await pgqrs.produce_batch(store, "rl", [1, 2, 3])
    assert err.value.retry_after is None, "a batch larger than the burst never fits"
    assert (await pgqrs.admin(store).queue_metrics("rl")).pending == 0


async def test_bad_dsn_and_config_values_are_config_errors(tmp_path):
    with pytest.raises(pgqrs.ConfigError):
        await pgqrs.connect("mysql://nope")
    cfg = pgqrs.Config(f"sqlite://{tmp_path}/c.db", max_connections=4)
    assert cfg.max_connections == 4 and cfg.dsn.endswith("c.db")
    with pytest.raises(pgqrs.ConfigError, match="max_connections"):
        cfg.max_connections = -1
    with pytest.raises(pgqrs.ConfigError, match="cache dir cannot be empty"):
        cfg.s3_cache_dir = "  "
    with pytest.raises(AttributeError):
        cfg.dsn = "sqlite::memory:"  # read-only
    cfg.max_connections = 0
    with pytest.raises(pgqrs.ConfigError, match="max_connections"):
        await pgqrs.connect_with(cfg)


def test_config_has_every_field_as_a_property(tmp_path):
    cfg = pgqrs.Config("postgresql://u:secret@localhost/db", schema="s1")
    values = {
        "schema": "s2", "max_connections": 3, "connection_timeout_seconds": 7,
        "default_lock_time_seconds": 11, "default_max_batch_size": 13, "max_read_ct": 2,
        "heartbeat_interval_seconds": 4, "poll_interval_ms": 99,
        "max_payload_size_bytes": 2048, "max_string_length": 512, "max_object_depth": 8,
        "forbidden_keys": ["x"], "required_keys": ["id"], "max_enqueue_per_second": 5.5,
        "max_enqueue_burst": 9, "sqlite_use_wal": False,
    }
    for k, v in values.items():
        setattr(cfg, k, v)
        assert getattr(cfg, k) == v, k
    cfg.s3_mode = pgqrs.DurabilityMode.Local
    assert cfg.s3_mode == pgqrs.DurabilityMode.Local
    cfg.s3_cache_dir = str(tmp_path)
    assert cfg.s3_cache_dir == str(tmp_path)
    assert "secret" not in repr(cfg)
    assert pgqrs.Config.from_dsn("sqlite::memory:").schema == "public"


def test_config_load_reads_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("PGQRS_DSN", f"sqlite://{tmp_path}/env.db")
    monkeypatch.setenv("PGQRS_MAX_READ_CT", "9")
    cfg = pgqrs.Config.load()
    assert cfg.max_read_ct == 9 and cfg.dsn.endswith("env.db")
    monkeypatch.setenv("PGQRS_MAX_READ_CT", "lots")
    with pytest.raises(pgqrs.ConfigError, match="PGQRS_MAX_READ_CT"):
        pgqrs.Config.load()


async def test_as_s3_of_another_backend_names_it(store):
    if store.backend == "s3":
        pytest.skip("s3: this store is on S3 (test_s3.py covers its handle)")
    with pytest.raises(pgqrs.ConfigError, match=store.backend) as err:
        pgqrs.as_s3(store)
    assert isinstance(err.value, TypeError), "also a TypeError, as the seed API raises"


def test_retry_after_must_be_finite_and_policy_validates():
    with pytest.raises(pgqrs.ValidationError):
        pgqrs.StepRetryPolicy(max_attempts=-1)
    p = pgqrs.StepRetryPolicy(2, pgqrs.BackoffStrategy.exponential(0.5, 4))
    assert p.max_attempts == 2 and p.backoff.kind == "exponential"
    e = pgqrs.TransientStepError("later", retry_after=1.5)
    assert e.retry_after == 1.5 and isinstance(e, pgqrs.PgqrsError)
