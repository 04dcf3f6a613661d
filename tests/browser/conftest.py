"""Fixtures of the dashboard's browser suite (tests/browser/README.md).

Each test gets a seeded database (pgqrs_serve_seed) on a backend — sqlite always, postgres
when PGQRS_TEST_POSTGRES_DSN is set (scripts/pg-test-server) — a `pgqrs serve` process on a
free loopback port, and one shared headless Chromium driven by Selenium.
"""
import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("PGQRS_BUILD_DIR", REPO / "build" / "dev"))
CLI = BUILD / "cli" / "pgqrs"
SEED = BUILD / "tests" / "browser" / "pgqrs_serve_seed"
SCREENSHOTS = os.environ.get("PGQRS_SCREENSHOTS")  # directory: save a PNG of every page


def pytest_collection_modifyitems(config, items):
    missing = [str(p) for p in (CLI, SEED) if not p.exists()]
    if missing:
        raise pytest.UsageError(f"build first (cmake --build --preset dev): missing {missing}")


class Database:
    """A fresh, seeded pgqrs database; `args` are the CLI's global options for it."""

    def __init__(self, backend, dsn, schema=None):
        self.backend, self.dsn, self.schema = backend, dsn, schema
        self.args = ["--dsn", dsn] + (["--schema", schema] if schema else [])
        seed = [str(SEED), dsn] + ([schema] if schema else [])
        self.ids = json.loads(subprocess.run(seed, check=True, capture_output=True, text=True).stdout)

    def cli_json(self, *args):
        out = subprocess.run([str(CLI), *self.args, "--format", "json", *args], check=True,
                             capture_output=True, text=True).stdout
        return json.loads(out)


@pytest.fixture(params=["sqlite", "postgres"])
def database(request, tmp_path):
    if request.param == "sqlite":
        yield Database("sqlite", f"sqlite:///{tmp_path}/dashboard.db")
        return
    dsn = os.environ.get("PGQRS_TEST_POSTGRES_DSN")
    if not dsn:
        pytest.skip("PGQRS_TEST_POSTGRES_DSN is not set: run under scripts/pg-test-server")
    schema = "pgqrs_browser_" + uuid.uuid4().hex[:10]
    subprocess.run(["psql", "-q", dsn, "-c", f"CREATE SCHEMA {schema}"], check=True)
    try:
        yield Database("postgres", dsn, schema)
    finally:
        subprocess.run(["psql", "-q", dsn, "-c", f"DROP SCHEMA {schema} CASCADE"], check=False,
                       capture_output=True)


class Server:
    """A running `pgqrs serve`; stop() sends SIGTERM and returns the exit code and output."""

    def __init__(self, db, *extra, env=None):
        self.log = tempfile.NamedTemporaryFile("w+", prefix="pgqrs-serve-", suffix=".log")
        self.proc = subprocess.Popen(
            [str(CLI), *db.args, "serve", "--listen", "127.0.0.1:0", *extra],
            stdout=subprocess.PIPE, stderr=self.log, text=True,
            env=dict(os.environ, **(env or {})))
        self.banner = self.proc.stdout.readline()
        m = re.search(r"listening on (http://127\.0\.0\.1:(\d+))", self.banner)
        if not m:
            self.proc.kill()
            self.log.seek(0)
            raise RuntimeError(f"pgqrs serve did not start: {self.banner!r} {self.log.read()}")
        self.url = m.group(1)

    def request(self, path, method="GET", body=None, headers=None):
        """(status, parsed JSON or text) of a request made outside the browser."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers=dict({"Content-Type": "application/json"}, **(headers or {})))
        try:
            with urllib.request.urlopen(req, timeout=30) as res:
                status, raw, ctype = res.status, res.read().decode(), res.headers.get("Content-Type", "")
        except urllib.error.HTTPError as e:
            status, raw, ctype = e.code, e.read().decode(), e.headers.get("Content-Type", "")
        return status, (json.loads(raw) if ctype.startswith("application/json") else raw)

    def api(self, path, **kw):
        status, body = self.request(path, **kw)
        assert status == 200, (path, status, body)
        return body

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise
        rest = self.proc.stdout.read()
        self.log.seek(0)
        return code, self.banner + rest, self.log.read()


@pytest.fixture
def serve():
    started = []

    def start(db, *extra, env=None):
        s = Server(db, *extra, env=env)
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


@pytest.fixture(scope="session")
def browser():
    if not shutil.which("chromium") or not shutil.which("chromedriver"):
        pytest.skip("chromium and chromium-driver are not installed (scripts/bootstrap installs them)")
    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium Manager fetch drivers
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium")
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,860", "--no-proxy-server", "--disable-extensions",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--force-device-scale-factor=1"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=opts)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def open_page(driver, url, wait_loaded=True):
    """Loads `url`, waits until app.js has rendered it, returns the browser's console errors."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get_log("browser")  # drop what earlier pages logged
    driver.get(url)
    if wait_loaded:
        WebDriverWait(driver, 15).until(
            lambda d: d.execute_script("return document.body.dataset.loaded === 'true'"))
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def screenshot(driver, name):
    if SCREENSHOTS:
        pathlib.Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        time.sleep(0.2)
        driver.save_screenshot(str(pathlib.Path(SCREENSHOTS) / f"{name}.png"))
