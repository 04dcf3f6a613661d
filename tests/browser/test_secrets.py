"""No secret reaches anything `pgqrs serve` says (issue 18, "files and secrets"): the Postgres
password and the AWS secret key and session token are grepped for in every API response,
page, /metrics, error body (including a database error), the banner and the access log, at
every log level. No browser needed: the server is driven over HTTP."""
import os
import subprocess
import uuid

import pytest

from conftest import CLI, Database, Server

LOG_LEVELS = ["error", "warn", "info", "debug", "trace"]
GETS = ["/", "/queues", "/schedules", "/api/session", "/api/overview", "/api/queues",
        "/api/queues/emails", "/api/queues/emails/messages?archived=1", "/api/dead-letters",
        "/api/workers", "/api/workflows", "/api/runs", "/api/schedules", "/metrics",
        # refusals: unknown queue and run, malformed id and limit, unknown path
        "/api/queues/no-such-queue", "/api/runs/999999", "/api/runs/x1", "/api/runs?limit=0",
        "/api/nope"]


class WithLogLevel(Database):
    """The same database, with `--log-level LEVEL` among the global options."""

    def __init__(self, db, level):  # pylint: disable=super-init-not-called
        self.backend, self.dsn, self.schema, self.ids = db.backend, db.dsn, db.schema, db.ids
        self.args = db.args + ["--log-level", level]


def everything_said(server, paths):
    """Every body the server answers for `paths`, then its banner, stdout and stderr."""
    said = []
    for path in paths:
        status, body = server.request(path)
        said.append(f"{path} {status} {body}")
    code, out, err = server.stop()
    assert code == 0, (code, out, err)
    return "\n".join(said) + out + err


def test_postgres_password_never_appears(request, tmp_path):
    dsn = os.environ.get("PGQRS_TEST_POSTGRES_DSN")
    if not dsn:
        pytest.skip("PGQRS_TEST_POSTGRES_DSN is not set: run under scripts/pg-test-server")
    password = dsn.split("//", 1)[1].split("@", 1)[0].split(":", 1)[1]
    assert len(password) >= 4
    schema = "pgqrs_secrets_" + uuid.uuid4().hex[:10]
    subprocess.run(["psql", "-q", dsn, "-c", f"CREATE SCHEMA {schema}"], check=True)
    try:
        db = Database("postgres", dsn, schema)
        for level in LOG_LEVELS:
            server = Server(WithLogLevel(db, level), "--allow-actions")
            text = everything_said(server, GETS)
            assert "/api/overview 200" in text and "***" in text, "the DSN is shown, redacted"
            assert password not in text, f"password shown at --log-level {level}"
        # A database error while serving (the schema disappears): a 5xx whose message is
        # scrubbed of the DSN's secrets.
        server = Server(WithLogLevel(db, "trace"))
        subprocess.run(["psql", "-q", dsn, "-c", f"DROP SCHEMA {schema} CASCADE"], check=True)
        status, body = server.request("/api/queues")
        assert status >= 500, (status, body)
        text = everything_said(server, ["/api/overview", "/metrics"]) + str(body)
        assert password not in text
    finally:
        subprocess.run(["psql", "-q", dsn, "-c", f"DROP SCHEMA IF EXISTS {schema} CASCADE"],
                       check=False, capture_output=True)


def test_aws_secret_and_session_token_never_appear(tmp_path, monkeypatch):
    bucket = os.environ.get("PGQRS_TEST_S3_BUCKET")
    if not bucket:
        pytest.skip("PGQRS_TEST_S3_BUCKET is not set: run under scripts/s3-test-server")
    secret = "AwsSecret" + uuid.uuid4().hex
    token = "AwsToken" + uuid.uuid4().hex
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    monkeypatch.setenv("AWS_SESSION_TOKEN", token)
    monkeypatch.setenv("PGQRS_S3_CACHE_DIR", str(tmp_path / "cache"))
    dsn = f"s3://{bucket}/secrets-{uuid.uuid4().hex}.sqlite"
    db = Database("s3", dsn)  # seeded by the same seed program as the dashboard tests
    for level in LOG_LEVELS:
        text = everything_said(Server(WithLogLevel(db, level)), GETS)
        assert "/api/overview 200" in text
        assert secret not in text and token not in text, f"AWS secret shown at --log-level {level}"
