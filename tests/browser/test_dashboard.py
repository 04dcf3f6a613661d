"""The dashboard in headless Chromium against `pgqrs serve` on SQLite and Postgres: every page
loads without console errors and shows what the API (and so the database) holds; actions work
only with --allow-actions, the CSRF token and (when set) the access token; a payload holding
markup stays text; /metrics parses with prometheus_client and matches `pgqrs queue metrics`."""
import json
import signal
import subprocess
import time
import urllib.parse

import pytest
from prometheus_client.parser import text_string_to_metric_families
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from conftest import CLI, open_page, screenshot


def wait_until(driver, predicate, seconds=10):
    """Waits for `predicate(driver)`; a re-render between finding and reading is retried."""
    return WebDriverWait(driver, seconds, ignored_exceptions=[StaleElementReferenceException]).until(predicate)


def cells(driver, testid, column):
    """Text of column `column` (0-based) in every body row of table data-testid=testid. The
    queues page re-renders every 2 s: a read that a re-render interrupted is retried."""
    for _ in range(5):
        try:
            rows = driver.find_elements(By.CSS_SELECTOR, f'table[data-testid="{testid}"] tbody tr')
            return [r.find_elements(By.TAG_NAME, "td")[column].text for r in rows]
        except StaleElementReferenceException:
            continue
    raise AssertionError(f"table {testid} kept changing while being read")


def dsn_password(dsn):
    return urllib.parse.urlsplit(dsn).password


def test_every_page_loads_and_shows_the_database(database, serve, browser):
    server = serve(database)
    ids = database.ids

    # Queues: one row per queue, numbers as the API has them.
    assert open_page(browser, server.url + "/queues") == []
    api_queues = server.api("/api/queues")
    assert cells(browser, "queues", 0) == [q["queue_name"] for q in api_queues]
    assert cells(browser, "queues", 1) == [str(q["pending"]) for q in api_queues]
    assert cells(browser, "queues", 4) == [str(q["dead"]) for q in api_queues]
    assert browser.find_element(By.CSS_SELECTOR, '[data-testid="total-dead"]').text == "1"
    password = dsn_password(database.dsn)
    if password:  # the Postgres DSN of scripts/pg-test-server has one: shown as ***
        assert password not in browser.page_source
        assert "***" in browser.page_source
    screenshot(browser, f"queues-{database.backend}")

    # A queue: its messages, payloads pretty-printed.
    assert open_page(browser, server.url + "/queues/emails") == []
    api_msgs = server.api("/api/queues/emails/messages?archived=1&limit=100")["messages"]
    assert cells(browser, "messages", 0) == [str(m["id"]) for m in api_msgs]
    payloads = [p.text for p in browser.find_elements(By.CSS_SELECTOR, '[data-testid="payload"] pre')]
    assert payloads == [json.dumps(m["payload"], indent=2) for m in api_msgs]
    screenshot(browser, f"queue-{database.backend}")

    # Dead letters.
    assert open_page(browser, server.url + "/dead-letters") == []
    assert cells(browser, "dead-letters", 0) == [str(ids["dead_letter"])]
    assert [str(m["id"]) for m in server.api("/api/dead-letters")["messages"]] == [str(ids["dead_letter"])]
    screenshot(browser, f"dead-letters-{database.backend}")

    # Workers: state and heartbeat age.
    assert open_page(browser, server.url + "/workers") == []
    api_workers = server.api("/api/workers")
    assert cells(browser, "workers", 0) == [str(w["id"]) for w in api_workers]
    assert cells(browser, "workers", 6) == [w["status"] for w in api_workers]
    assert "suspended" in cells(browser, "workers", 6)
    screenshot(browser, f"workers-{database.backend}")

    # Runs, filtered by definition and status through the form.
    assert open_page(browser, server.url + "/runs") == []
    assert cells(browser, "runs", 0) == [str(r["id"]) for r in server.api("/api/runs")["runs"]]
    browser.find_element(By.CSS_SELECTOR, '[data-testid="filter-workflow"] option[value="etl"]').click()
    browser.find_element(By.CSS_SELECTOR, '[data-testid="filter-status"] option[value="ERROR"]').click()
    browser.find_element(By.CSS_SELECTOR, '[data-testid="filter-apply"]').click()
    wait_until(browser, lambda d: "status=ERROR" in d.current_url)
    wait_until(browser, lambda d: d.execute_script("return document.body.dataset.loaded === 'true'"))
    assert cells(browser, "runs", 0) == [str(ids["run_error"])]
    assert cells(browser, "runs", 2) == ["ERROR"]
    open_page(browser, server.url + "/runs")
    screenshot(browser, f"runs-{database.backend}")

    # Schedules: what the API holds, paused or active, next fire times.
    assert open_page(browser, server.url + "/schedules") == []
    api_schedules = server.api("/api/schedules")
    assert cells(browser, "schedules", 0) == [s["name"] for s in api_schedules] == ["hourly-sync", "nightly-report"]
    assert cells(browser, "schedules", 4) == ["paused", "active"]
    assert cells(browser, "schedules", 5)[1] == ", ".join(api_schedules[1]["upcoming"])
    screenshot(browser, f"schedules-{database.backend}")

    # A run's step timeline: steps, attempts (retries + 1), errors.
    assert open_page(browser, server.url + f"/runs/{ids['run_success']}") == []
    steps = server.api(f"/api/runs/{ids['run_success']}")["steps"]
    assert cells(browser, "steps", 0) == [s["step_name"] for s in steps]
    assert cells(browser, "steps", 2) == [str(s["retry_count"] + 1) for s in steps]
    assert "3" in cells(browser, "steps", 2), "transform took three attempts"
    screenshot(browser, f"run-{database.backend}")
    assert open_page(browser, server.url + f"/runs/{ids['run_error']}") == []
    assert "column <b>amount</b> is missing" in browser.find_element(
        By.CSS_SELECTOR, 'table[data-testid="steps"]').text, "the error shows as text"


def test_older_and_newest_page_through_the_lists(database, serve, browser):
    """Keyset paging (issue 16): "Older" loads the next older page of a list, "Newest" goes
    back; following "Older" to the end shows every row once, in the API's order."""
    server = serve(database)

    def follow(testid, link):
        before = cells(browser, testid, 0)
        browser.find_element(By.CSS_SELECTOR, f'[data-testid="{testid}-{link}"]').click()
        wait_until(browser, lambda d: d.execute_script("return document.readyState") == "complete"
                   and d.execute_script("return document.body.dataset.loaded === 'true'")
                   and cells(d, testid, 0) != before)
        return cells(browser, testid, 0)

    messages = [str(m["id"]) for m in server.api("/api/queues/emails/messages?archived=1&limit=100")["messages"]]
    assert len(messages) >= 5
    assert open_page(browser, server.url + "/queues/emails?limit=2") == []
    assert cells(browser, "messages", 0) == messages[:2]
    assert browser.find_elements(By.CSS_SELECTOR, '[data-testid="messages-newest"]') == []
    assert follow("messages", "older") == messages[2:4], "the next two, older"
    assert "before_id=" + messages[1] in browser.current_url
    assert follow("messages", "older") == messages[4:6]
    screenshot(browser, f"queue-older-{database.backend}")
    assert follow("messages", "newest") == messages[:2]

    # Runs, one per page: "Older" to the end visits each once, then there is no "Older".
    runs = [str(r["id"]) for r in server.api("/api/runs?limit=100")["runs"]]
    assert len(runs) >= 3
    assert open_page(browser, server.url + "/runs?limit=1") == []
    seen = cells(browser, "runs", 0)
    while browser.find_elements(By.CSS_SELECTOR, '[data-testid="runs-older"]'):
        seen += follow("runs", "older")
    assert seen == runs
    assert browser.find_elements(By.CSS_SELECTOR, '[data-testid="runs-newest"]') != []
    assert follow("runs", "newest") == runs[:1]

    # One dead letter: a single page, so no pager at all.
    assert open_page(browser, server.url + "/dead-letters?limit=1") == []
    assert cells(browser, "dead-letters", 0) == [str(database.ids["dead_letter"])]
    assert browser.find_elements(By.CSS_SELECTOR, '[data-testid="dead-letters-pager"]') == []


def test_a_run_shows_its_messages_events_and_children(database, serve, browser):
    server = serve(database)
    run_id = database.ids["run_waiting"]
    assert open_page(browser, server.url + f"/runs/{run_id}") == []
    api_run = server.api(f"/api/runs/{run_id}")
    assert api_run["status"] == "PAUSED"
    assert browser.find_element(By.CSS_SELECTOR, '[data-testid="run-status"]').text == "PAUSED"
    # Messages: the unread "note" whose payload holds markup, shown as text.
    assert cells(browser, "run-messages", 0) == [str(m["id"]) for m in api_run["messages"]]
    assert cells(browser, "run-messages", 1) == ["note"]
    assert cells(browser, "run-messages", 3) == ["unread"]
    payloads = [p.text for p in browser.find_elements(By.CSS_SELECTOR, '[data-testid="run-message-payload"] pre')]
    assert payloads == [json.dumps(m["payload"], indent=2) for m in api_run["messages"]]
    time.sleep(0.3)  # an onerror handler would have fired by now
    assert browser.execute_script("return window.__pgqrs_xss === undefined")
    assert browser.find_elements(By.CSS_SELECTOR, "main script, main img") == []
    # Events and streams: the event, the stream's item and its end, in write order.
    assert cells(browser, "run-events", 1) == [e["kind"] for e in api_run["events"]] == ["event", "stream", "stream_end"]
    assert cells(browser, "run-events", 2) == ["progress", "log", "log"]
    assert "step one <b>done</b>" in browser.find_element(By.CSS_SELECTOR, 'table[data-testid="run-events"]').text
    # Children: the child run, linked to its own page.
    assert cells(browser, "run-children", 0) == [str(c["id"]) for c in api_run["children"]]
    assert cells(browser, "run-children", 2) == ["QUEUED"]
    assert api_run["messages_truncated"] is False and api_run["children_truncated"] is False
    assert browser.execute_script(
        "return Array.from(document.getElementById('main').childNodes).filter(n => n.nodeType === 3).length") == 0, \
        "no stray text (a 'null') between the sections"
    browser.execute_script("document.querySelector('[data-testid=run-messages]').scrollIntoView()")
    screenshot(browser, f"run-talk-{database.backend}")
    child = api_run["children"][0]["id"]
    browser.find_element(By.CSS_SELECTOR, f'table[data-testid="run-children"] a[href="/runs/{child}"]').click()
    wait_until(browser, lambda d: d.current_url.endswith(f"/runs/{child}"))
    wait_until(browser, lambda d: d.execute_script("return document.body.dataset.loaded === 'true'"))
    assert browser.find_elements(By.CSS_SELECTOR, '[data-testid="run-children-empty"]') != []


def test_script_payload_is_inert(database, serve, browser):
    server = serve(database)
    assert open_page(browser, server.url + "/queues/emails") == []
    time.sleep(0.3)  # an onerror handler would have fired by now
    assert browser.execute_script("return window.__pgqrs_xss === undefined")
    assert browser.find_elements(By.CSS_SELECTOR, "main script, main img") == []
    assert "<script>window.__pgqrs_xss = 1</script>" in browser.find_element(By.ID, "main").text


def test_actions_are_refused_without_allow_actions(database, serve, browser):
    server = serve(database)
    assert open_page(browser, server.url + "/dead-letters") == []
    assert browser.find_elements(By.CSS_SELECTOR, "[data-testid^=replay-]") == []
    assert open_page(browser, server.url + f"/runs/{database.ids['run_error']}") == []
    assert browser.find_elements(By.CSS_SELECTOR, '[data-testid="rerun-run"], [data-testid="fork-run"]') == []
    assert open_page(browser, server.url + f"/runs/{database.ids['run_waiting']}") == []
    assert browser.find_elements(By.CSS_SELECTOR, '[data-testid="resume-run"]') == []
    assert open_page(browser, server.url + "/schedules") == []
    assert browser.find_elements(By.CSS_SELECTOR, "[data-testid^=pause-], [data-testid^=resume-]") == []
    # Even a page script with the CSRF token cannot act.
    result = browser.execute_async_script("""
        const done = arguments[arguments.length - 1];
        fetch('/api/session').then(r => r.json()).then(s =>
          fetch('/api/dead-letters/' + arguments[0] + '/replay',
                {method: 'POST', headers: {'X-CSRF-Token': s.csrf_token}, body: '{}'}))
        .then(r => r.json().then(b => done([r.status, b.error.code])));
    """, database.ids["dead_letter"])
    assert result == [403, "actions_disabled"]
    assert len(server.api("/api/dead-letters")["messages"]) == 1
    status, body = server.request(f"/api/runs/{database.ids['run_waiting']}/resume", method="POST", body={})
    assert status == 403
    assert server.api(f"/api/runs/{database.ids['run_waiting']}")["steps"][-1]["status"] == "PAUSED"


def test_actions_work_with_allow_actions(database, serve, browser):
    server = serve(database, "--allow-actions")
    ids = database.ids
    # Without the CSRF token a POST is refused even here.
    status, body = server.request(f"/api/dead-letters/{ids['dead_letter']}/replay", method="POST", body={})
    assert (status, body["error"]["code"]) == (403, "csrf")

    assert open_page(browser, server.url + "/dead-letters") == []
    screenshot(browser, f"dead-letters-actions-{database.backend}")
    browser.find_element(By.CSS_SELECTOR, f'[data-testid="replay-{ids["dead_letter"]}"]').click()
    wait_until(browser, 
        lambda d: d.find_elements(By.CSS_SELECTOR, '[data-testid="empty"]'))
    assert server.api("/api/dead-letters")["messages"] == []
    assert database.cli_json("queue", "dlq") == [] or database.cli_json("queue", "dlq").get("messages") == []

    assert open_page(browser, server.url + f"/runs/{ids['run_queued']}") == []
    browser.find_element(By.CSS_SELECTOR, '[data-testid="cancel-run"]').click()
    wait_until(browser, 
        lambda d: d.find_element(By.CSS_SELECTOR, '[data-testid="run-status"]').text == "CANCELLING")
    assert server.api(f"/api/runs/{ids['run_queued']}")["status"] == "CANCELLING"

    # Resume now: the run waiting an hour in recv("approval") times out at once; no worker
    # serves it here, so the run stays PAUSED while its wait step is due and its message
    # visible (a worker would finish it now: tests/conformance/workflow_resume_test.cc).
    assert open_page(browser, server.url + f"/runs/{ids['run_waiting']}") == []
    recv_before = [s for s in server.api(f"/api/runs/{ids['run_waiting']}")["steps"] if s["step_name"] == "recv:1"][0]
    browser.find_element(By.CSS_SELECTOR, '[data-testid="resume-run"]').click()
    wait_until(browser, lambda d: [s for s in server.api(f"/api/runs/{ids['run_waiting']}")["steps"]
                                   if s["step_name"] == "recv:1"][0]["retry_at"] != recv_before["retry_at"])
    result = browser.execute_async_script("""
        const done = arguments[arguments.length - 1];
        fetch('/api/session').then(r => r.json()).then(s =>
          fetch('/api/runs/' + arguments[0] + '/resume',
                {method: 'POST', headers: {'X-CSRF-Token': s.csrf_token}, body: '{}'}))
        .then(r => r.json().then(b => done([r.status, b.error.code])));
    """, ids["run_success"])
    assert result == [409, "run_not_paused"]

    # Schedules: pause the active one.
    assert open_page(browser, server.url + "/schedules") == []
    browser.find_element(By.CSS_SELECTOR, '[data-testid="pause-nightly-report"]').click()
    wait_until(browser, lambda d: cells(d, "schedules", 4) == ["paused", "paused"])
    assert [s["paused"] for s in server.api("/api/schedules")] == [True, True]
    browser.find_element(By.CSS_SELECTOR, '[data-testid="resume-hourly-sync"]').click()
    wait_until(browser, lambda d: cells(d, "schedules", 4) == ["active", "paused"])

    # Rerun and fork the failed run: each starts a new run, linked from the page.
    assert open_page(browser, server.url + f"/runs/{ids['run_error']}") == []
    browser.find_element(By.CSS_SELECTOR, '[data-testid="fork-step"] option[value="transform"]').click()
    browser.find_element(By.CSS_SELECTOR, '[data-testid="fork-run"]').click()
    wait_until(browser, lambda d: "forked as run" in d.find_element(By.CSS_SELECTOR, '[data-testid="new-run"]').text)
    forked = int(browser.find_element(By.CSS_SELECTOR, '[data-testid="new-run"] a').text.split()[-1])
    assert server.api(f"/api/runs/{forked}")["status"] == "QUEUED"
    assert [s["step_name"] for s in server.api(f"/api/runs/{forked}")["steps"]] == ["extract"], \
        "the fork copies the step before 'transform'"
    screenshot(browser, f"run-actions-{database.backend}")
    browser.find_element(By.CSS_SELECTOR, '[data-testid="rerun-run"]').click()
    wait_until(browser, lambda d: "started run" in d.find_element(By.CSS_SELECTOR, '[data-testid="new-run"]').text)
    rerun = int(browser.find_element(By.CSS_SELECTOR, '[data-testid="new-run"] a').text.split()[-1])
    assert rerun != forked and server.api(f"/api/runs/{rerun}")["steps"] == []

    # Purge needs the queue name typed in.
    assert open_page(browser, server.url + "/queues/emails") == []
    purge = browser.find_element(By.CSS_SELECTOR, '[data-testid="purge"]')
    assert not purge.is_enabled()
    browser.find_element(By.CSS_SELECTOR, '[data-testid="purge-confirm"]').send_keys("emails")
    assert purge.is_enabled()
    purge.click()
    wait_until(browser, 
        lambda d: d.find_element(By.CSS_SELECTOR, '[data-testid="metric-pending"]').text == "0")
    assert server.api("/api/queues/emails")["metrics"]["pending"] == 0


def test_token_is_required_on_every_request(database, serve, browser):
    server = serve(database, "--allow-actions", env={"PGQRS_SERVE_TOKEN": "letmein-123"})
    assert server.request("/api/queues")[0] == 401
    assert server.request("/metrics")[0] == 401
    assert server.request("/api/queues", headers={"Authorization": "Bearer letmein-123"})[0] == 200

    browser.delete_all_cookies()
    open_page(browser, server.url + "/queues", wait_loaded=False)
    token_input = browser.find_element(By.ID, "token")
    screenshot(browser, f"login-{database.backend}")
    token_input.send_keys("letmein-123")
    browser.find_element(By.ID, "login").click()
    wait_until(browser, 
        lambda d: d.execute_script("return document.body.dataset.loaded === 'true'"))
    assert cells(browser, "queues", 0) == [q["queue_name"] for q in server.api(
        "/api/queues", headers={"X-Pgqrs-Token": "letmein-123"})]
    # Logged in, an action still needs the CSRF token.
    result = browser.execute_async_script("""
        const done = arguments[arguments.length - 1];
        fetch('/api/runs/' + arguments[0] + '/cancel', {method: 'POST', body: '{}'})
          .then(r => r.json().then(b => done([r.status, b.error.code])));
    """, database.ids["run_queued"])
    assert result == [403, "csrf"]
    browser.delete_all_cookies()


def test_metrics_parse_and_match_queue_metrics(database, serve):
    server = serve(database)
    _, text = server.request("/metrics")
    families = {f.name: f for f in text_string_to_metric_families(text)}
    cli = {m["queue_name"]: m for m in database.cli_json("queue", "metrics")}
    by_queue = lambda name: {s.labels["queue"]: s.value for s in families[name].samples}
    assert by_queue("pgqrs_queue_pending_messages") == {q: m["pending"] for q, m in cli.items()}
    assert by_queue("pgqrs_queue_leased_messages") == {q: m["leased"] for q, m in cli.items()}
    assert by_queue("pgqrs_queue_delayed_messages") == {q: m["delayed"] for q, m in cli.items()}
    assert by_queue("pgqrs_queue_dead_letters") == {q: m["dead"] for q, m in cli.items()}
    assert by_queue("pgqrs_queue_archived_messages") == {q: m["archived"] for q, m in cli.items()}
    assert by_queue("pgqrs_queue_oldest_pending_age_seconds")["emails"] > 0
    runs = {(s.labels["workflow"], s.labels["status"]): s.value for s in families["pgqrs_workflow_runs"].samples}
    assert runs == {("etl", "SUCCESS"): 1, ("etl", "ERROR"): 1, ("report", "QUEUED"): 2,
                    ("report", "RUNNING"): 1, ("approval", "PAUSED"): 1}  # + the waiting run's child
    retries = {s.labels["workflow"]: s.value for s in families["pgqrs_workflow_step_retries"].samples}
    assert retries["etl"] == 3  # transform 2 + extract 1
    workers = {(s.labels["queue"], s.labels["state"]): s.value for s in families["pgqrs_workers"].samples}
    assert workers[("emails", "ready")] == 1 and workers[("emails", "suspended")] == 1


def test_serve_refuses_a_public_address_without_token_and_stops_cleanly(database, serve):
    refused = subprocess.run([str(CLI), *database.args, "serve", "--listen", "0.0.0.0:0"],
                             capture_output=True, text=True, timeout=30)
    assert refused.returncode == 2
    assert "requires a token" in refused.stderr

    server = serve(database)
    server.proc.send_signal(signal.SIGINT)
    code, out, err = server.stop()
    assert code == 0 and "stopped (SIGINT)" in out
    password = dsn_password(database.dsn)
    if password:  # never printed, neither in the banner nor in the access log
        assert password not in out + err
        assert "***" in out
