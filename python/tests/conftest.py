"""Fixtures for the Python bindings' tests: one `store` fixture parameterized over every
backend (SPEC: one behaviour suite, every backend). A backend that cannot run here is
skipped with the reason written next to the skip:

* sqlite   -- a fresh file per test (always runs)
* postgres -- PGQRS_TEST_POSTGRES_DSN (scripts/pg-test-server, which `make test` starts);
              every test gets a fresh schema, dropped afterwards
* turso    -- turso:// file per test, when this build has the Turso backend
* s3       -- s3://$PGQRS_TEST_S3_BUCKET/<test>.sqlite on $AWS_ENDPOINT_URL (moto), when
              both are set and this build has the S3 backend
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import uuid
from dataclasses import dataclass
from typing import AsyncIterator, Optional

import pytest

import pgqrs

BACKENDS = ["sqlite", "postgres", "turso", "s3"]


@dataclass
class BackendCase:
    """What a test (or a subprocess it starts) needs to reach the same database."""

    name: str
    dsn: str
    schema: Optional[str] = None

    def config(self) -> pgqrs.Config:
        cfg = pgqrs.Config(self.dsn)
        if self.schema:
            cfg.schema = self.schema
        cfg.poll_interval_ms = 50
        return cfg

    def env(self) -> dict:
        """Environment for a subprocess that connects with pgqrs.Config.load()."""
        out = {"PGQRS_DSN": self.dsn, "PGQRS_POLL_INTERVAL_MS": "50"}
        if self.schema:
            out["PGQRS_SCHEMA"] = self.schema
        return out


def _psql(dsn: str, sql: str) -> None:
    # Without LD_PRELOAD: under `make asan-python` it holds the ASan runtime, which Debian's
    # psql (a Perl wrapper, not instrumented) must not load.
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", dsn, "-c", sql], check=True,
                   capture_output=True, timeout=60, env=env)


@pytest.fixture(params=BACKENDS)
def backend(request, tmp_path) -> BackendCase:
    name = request.param
    if name == "sqlite":
        yield BackendCase(name, f"sqlite://{tmp_path}/pgqrs.db")
    elif name == "postgres":
        dsn = os.environ.get("PGQRS_TEST_POSTGRES_DSN")
        if not dsn:
            pytest.skip("postgres: PGQRS_TEST_POSTGRES_DSN is not set (run under "
                        "scripts/pg-test-server, as `make test` does)")
        schema = "py_" + uuid.uuid4().hex[:12]
        _psql(dsn, f'CREATE SCHEMA "{schema}"')
        try:
            yield BackendCase(name, dsn, schema)
        finally:
            _psql(dsn, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    elif name == "turso":
        yield BackendCase(name, f"turso://{tmp_path}/pgqrs.db")
    elif name == "s3":
        bucket = os.environ.get("PGQRS_TEST_S3_BUCKET")
        if not bucket or not os.environ.get("AWS_ENDPOINT_URL"):
            pytest.skip("s3: PGQRS_TEST_S3_BUCKET and AWS_ENDPOINT_URL are not set (no "
                        "S3-compatible test server in this run)")
        yield BackendCase(name, f"s3://{bucket}/py-{uuid.uuid4().hex[:12]}.sqlite")


async def open_store(case: BackendCase, config: Optional[pgqrs.Config] = None,
                     clock: Optional[pgqrs.ManualClock] = None) -> pgqrs.Store:
    """A store for the case (or for `config`, made from case.config()), on `clock` when
    given; skips the test when this build lacks the backend."""
    try:
        store = await pgqrs.connect_with(config or case.config(), clock=clock)
    except pgqrs.ConfigError as e:
        if "backend is not available in this build" in str(e):
            pytest.skip(f"{case.name}: this build has no {case.name} backend ({e})")
        raise
    return store


@pytest.fixture
async def store(backend: BackendCase) -> AsyncIterator[pgqrs.Store]:
    s = await open_store(backend)
    await pgqrs.admin(s).install()
    yield s


@pytest.fixture
def clock() -> pgqrs.ManualClock:
    """A ManualClock starting on a whole second (tests move it; nothing sleeps)."""
    return pgqrs.ManualClock(pgqrs.ManualClock().now().replace(microsecond=0))


@pytest.fixture
async def clocked_store(backend: BackendCase, clock: pgqrs.ManualClock) -> pgqrs.Store:
    """A store on the `clock` fixture: engine time (leases, heartbeats, poll waits, until,
    retries, durable sleeps, result timeouts) moves only when the test moves the clock."""
    s = await open_store(backend, clock=clock)
    await pgqrs.admin(s).install()
    return s


async def idle(clock: pgqrs.ManualClock, waiters: int = 2, timeout: float = 10.0) -> None:
    """Waits (real time, bounded) until `waiters` engine threads are blocked on `clock`: an
    idle poll loop is two (the loop and its lease keeper)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while clock.waiting() < waiters:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"fewer than {waiters} threads ever waited on the clock")
        await asyncio.sleep(0.001)


@pytest.fixture
async def wf_store(store: pgqrs.Store) -> pgqrs.Store:
    """The store for workflow tests. Every backend implements workflows, so nothing is
    skipped: a backend that failed here would fail its tests, not hide them."""
    return store


async def within(coro, seconds: float = 30):
    """Awaits coro, failing the test instead of hanging when it takes too long."""
    return await asyncio.wait_for(coro, seconds)
