// pgqrs dashboard. Renders the page for location.pathname from /api JSON.
//
// Safety contract: every value from the database reaches the page through el()/text nodes
// (textContent), never parsed as HTML, so a payload holding markup shows as text. The server's
// Content-Security-Policy forbids inline scripts as a second line of defence.
//
// Adding a page (e.g. schedules): add an entry to `pages` below, a route in
// cli/serve/http_server.cc kPageRoutes, and the /api endpoint it reads.
"use strict";

const state = { session: null, history: {}, timer: null };
const HISTORY_SAMPLES = 60;   // points kept per queue for the charts
const REFRESH_MS = 2000;      // queues page refresh (and sample) interval

// ---- DOM helpers -------------------------------------------------------------------------
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== null && v !== undefined && v !== false) node.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}
function svg(tag, attrs) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}
function link(href, text) { return el("a", { href }, text); }
function pretty(value) { return el("pre", { class: "json" }, JSON.stringify(value, null, 2)); }
function num(v) { return el("td", { class: "num" }, v === null || v === undefined ? "—" : v); }
function table(headers, rows, testid) {
  return el("table", { "data-testid": testid },
    el("thead", {}, el("tr", {}, headers.map((h) => el("th", {}, h)))),
    el("tbody", {}, rows));
}
function ago(ms) {
  if (ms === null || ms === undefined) return "—";
  const s = ms / 1000;
  if (s < 60) return s.toFixed(1) + " s";
  if (s < 3600) return (s / 60).toFixed(1) + " min";
  return (s / 3600).toFixed(1) + " h";
}
function setMain(...children) {
  const main = document.getElementById("main");
  main.replaceChildren(...children.filter((c) => c !== null && c !== undefined));
}
function showError(err) {
  setMain(el("div", { class: "notice error", "data-testid": "error" }, "Error: " + err.message));
}

// ---- API ---------------------------------------------------------------------------------
async function api(path, options) {
  const res = await fetch(path, Object.assign({ credentials: "same-origin" }, options || {}));
  const body = await res.json();
  if (!res.ok) throw new Error(body.error ? body.error.message : "HTTP " + res.status);
  return body;
}
async function action(path, body) {
  return api(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": state.session.csrf_token },
    body: JSON.stringify(body || {}),
  });
}
function actionButton(label, testid, run, danger) {
  const btn = el("button", { "data-testid": testid, class: danger ? "danger" : "" }, label);
  btn.addEventListener("click", async () => {
    btn.disabled = true;
    try {
      await run();
      await render();
    } catch (err) {
      btn.disabled = false;
      btn.after(el("span", { class: "error", "data-testid": "action-error" }, " " + err.message));
    }
  });
  return btn;
}

// An action whose result is shown in place (`done(result)`), without re-rendering the page.
function actionButtonNoRender(label, testid, run, done) {
  const btn = el("button", { "data-testid": testid }, label);
  btn.addEventListener("click", async () => {
    btn.disabled = true;
    try {
      done(await run());
    } catch (err) {
      btn.after(el("span", { class: "error", "data-testid": "action-error" }, " " + err.message));
    }
    btn.disabled = false;
  });
  return btn;
}

// ---- pages -------------------------------------------------------------------------------
function recordSample(queues) {
  const t = Date.now();
  for (const q of queues) {
    const h = (state.history[q.queue_name] = state.history[q.queue_name] || []);
    h.push({ t, pending: q.pending, archived: q.archived });
    if (h.length > HISTORY_SAMPLES) h.shift();
  }
}
function rate(h) {
  if (!h || h.length < 2) return null;
  const a = h[0], b = h[h.length - 1];
  const dt = (b.t - a.t) / 1000;
  return dt > 0 ? Math.max(0, (b.archived - a.archived) / dt).toFixed(2) : null;
}
function sparkline(h) {
  const w = 160, height = 28;
  const box = svg("svg", { class: "spark", width: w, height, viewBox: `0 0 ${w} ${height}` });
  if (!h || h.length === 0) return box;
  const max = Math.max(1, ...h.map((p) => p.pending));
  const step = h.length > 1 ? w / (HISTORY_SAMPLES - 1) : 0;
  const points = h.map((p, i) => `${(i * step).toFixed(1)},${(height - 2 - (p.pending / max) * (height - 4)).toFixed(1)}`);
  box.append(svg("polyline", { points: points.join(" ") }));
  return box;
}

async function queuesPage() {
  const [overview, queues] = await Promise.all([api("/api/overview"), api("/api/queues")]);
  recordSample(queues);
  const card = (k, v, id) => el("div", { class: "card" }, el("div", { class: "v", "data-testid": id }, v), el("div", { class: "k" }, k));
  const rows = queues.map((q) => el("tr", { "data-queue": q.queue_name },
    el("td", {}, link("/queues/" + encodeURIComponent(q.queue_name), q.queue_name)),
    num(q.pending), num(q.leased), num(q.delayed), num(q.dead), num(q.archived),
    el("td", {}, ago(q.oldest_pending_age_ms)),
    num(rate(state.history[q.queue_name])),
    el("td", {}, sparkline(state.history[q.queue_name]))));
  setMain(
    el("h1", {}, "Queues"),
    el("div", { class: "cards" },
      card("queues", overview.queues, "total-queues"), card("pending", overview.pending, "total-pending"),
      card("leased", overview.leased, "total-leased"), card("dead letters", overview.dead, "total-dead"),
      card("active workers", overview.active_workers, "total-workers")),
    el("p", { class: "muted" }, `Backend ${overview.backend} · database ${overview.dsn} · schema v${overview.schema_version}`),
    table(["Queue", "Pending", "Leased", "Delayed", "Dead", "Archived", "Oldest pending", "Processed/s", "Pending (recent)"], rows, "queues"));
  state.timer = setTimeout(() => render(), REFRESH_MS);
}

// Keyset paging of a list (/api lists answer next_before_id): "Newest" drops the page's
// before_id, "Older" sets it to the list's next_before_id. Other query parameters (filters)
// are kept. Full navigations, so the browser's back button walks the pages.
// The page's own ?limit= (default `limit`) and ?before_id= go to the /api list it reads.
function currentBeforeId() { return new URLSearchParams(location.search).get("before_id"); }
function listQuery(limit, extra) {
  const params = new URLSearchParams(location.search);
  const query = new URLSearchParams(Object.assign({ limit: params.get("limit") || limit }, extra || {}));
  if (params.get("before_id")) query.set("before_id", params.get("before_id"));
  return query;
}
function pager(page, testid) {
  const params = new URLSearchParams(location.search);
  const href = () => location.pathname + (params.toString() ? "?" + params : "");
  const parts = [];
  if (params.get("before_id")) {
    params.delete("before_id");
    parts.push(el("a", { href: href(), "data-testid": testid + "-newest" }, "Newest"));
  }
  if (page.next_before_id !== null && page.next_before_id !== undefined) {
    params.set("before_id", String(page.next_before_id));
    if (parts.length) parts.push(" · ");
    parts.push(el("a", { href: href(), "data-testid": testid + "-older" }, "Older"));
  }
  return parts.length ? el("p", { class: "pager", "data-testid": testid + "-pager" }, parts) : null;
}

function messageRows(messages, withReplay) {
  return messages.map((m) => el("tr", { "data-message": m.id },
    num(m.id),
    el("td", {}, m.archived_at ? "archived" : m.dead_at ? "dead" : "live"),
    num(m.read_ct), el("td", {}, m.enqueued_at), el("td", {}, m.vt),
    el("td", { "data-testid": "payload" }, pretty(m.payload)),
    withReplay ? el("td", {}, actionButton("Replay", "replay-" + m.id, () => action(`/api/dead-letters/${m.id}/replay`))) : null));
}

async function queuePage(name) {
  const [q, page] = await Promise.all([
    api("/api/queues/" + encodeURIComponent(name)),
    api("/api/queues/" + encodeURIComponent(name) + "/messages?" + listQuery("100", { archived: "1" }))]);
  const m = q.metrics;
  const parts = [
    el("h1", {}, "Queue ", el("span", { "data-testid": "queue-name" }, q.queue_name)),
    el("div", { class: "cards" },
      ["pending", "leased", "delayed", "dead", "archived"].map((k) =>
        el("div", { class: "card" }, el("div", { class: "v", "data-testid": "metric-" + k }, m[k]), el("div", { class: "k" }, k)))),
    el("p", { class: "muted" }, `Oldest pending: ${ago(m.oldest_pending_age_ms)} · workers: ${q.workers.total} (${q.workers.polling} polling)`),
  ];
  if (state.session.actions_allowed) {
    const input = el("input", { "data-testid": "purge-confirm", placeholder: "type the queue name to purge" });
    const btn = actionButton("Purge queue", "purge", () => action(`/api/queues/${encodeURIComponent(name)}/purge`, { confirm: input.value }), true);
    btn.disabled = true;
    input.addEventListener("input", () => { btn.disabled = input.value !== q.queue_name; });
    parts.push(el("div", { class: "notice" }, "Purge deletes every message of this queue. ", input, " ", btn));
  }
  const before = currentBeforeId();
  parts.push(el("h2", {}, before ? `Messages (${page.limit} older than id ${before})` : `Messages (newest ${page.limit})`),
    table(["Id", "State", "Reads", "Enqueued", "Visible at", "Payload"], messageRows(page.messages, false), "messages"),
    pager(page, "messages"));
  setMain(...parts);
}

async function deadLettersPage() {
  const page = await api("/api/dead-letters?" + listQuery("200"));
  const allowed = state.session.actions_allowed;
  const before = currentBeforeId();
  setMain(el("h1", {}, "Dead letters"),
    page.truncated || before ? el("p", { class: "muted" },
      before ? `Showing ${page.limit} at most, older than id ${before}.` : `Showing the newest ${page.limit}.`) : null,
    page.messages.length === 0 ? el("p", { "data-testid": "empty" }, before ? "No older dead letters." : "No dead letters.") : null,
    table(["Id", "State", "Reads", "Enqueued", "Visible at", "Payload"].concat(allowed ? ["Action"] : []),
      messageRows(page.messages, allowed), "dead-letters"),
    pager(page, "dead-letters"));
}

async function workersPage() {
  const [workers, queues] = await Promise.all([api("/api/workers"), api("/api/queues")]);
  const names = Object.fromEntries(queues.map((q) => [q.queue_id, q.queue_name]));
  const rows = workers.map((w) => el("tr", { "data-worker": w.id },
    num(w.id), el("td", {}, w.name), el("td", {}, w.kind),
    el("td", {}, w.queue_id === null ? "—" : names[w.queue_id] || String(w.queue_id)),
    el("td", {}, w.hostname), num(w.pid), el("td", { "data-testid": "worker-status" }, w.status),
    el("td", { class: w.healthy === null ? "muted" : w.healthy ? "healthy" : "unhealthy" }, ago(w.since_heartbeat_ms)),
    el("td", {}, w.started_at)));
  setMain(el("h1", {}, "Workers"),
    table(["Id", "Name", "Kind", "Queue", "Host", "PID", "State", "Heartbeat age", "Started"], rows, "workers"));
}

async function runsPage() {
  const params = new URLSearchParams(location.search);
  const query = listQuery("100");
  for (const k of ["workflow", "status"]) if (params.get(k)) query.set(k, params.get(k));
  const [workflows, page] = await Promise.all([api("/api/workflows"), api("/api/runs?" + query)]);
  const select = (name, values) => el("select", { name, "data-testid": "filter-" + name },
    el("option", { value: "" }, "any " + name),
    values.map((v) => el("option", { value: v, selected: params.get(name) === v ? "selected" : null }, v)));
  const filters = el("form", { class: "filters", method: "get", action: "/runs" },
    select("workflow", workflows.map((w) => w.name)),
    select("status", ["QUEUED", "RUNNING", "PAUSED", "CANCELLING", "CANCELLED", "SUCCESS", "ERROR"]),
    el("button", { type: "submit", "data-testid": "filter-apply" }, "Filter"));
  const rows = page.runs.map((r) => el("tr", { "data-run": r.id },
    el("td", {}, link("/runs/" + r.id, String(r.id))), el("td", {}, r.workflow_name),
    el("td", { class: "status-" + r.status }, r.status), el("td", {}, r.created_at), el("td", {}, r.updated_at)));
  setMain(el("h1", {}, "Workflow runs"), filters,
    table(["Run", "Workflow", "Status", "Created", "Updated"], rows, "runs"),
    pager(page, "runs"));
}

async function runPage(id) {
  const run = await api("/api/runs/" + encodeURIComponent(id));
  const t = (s) => Date.parse(s);
  const start = Math.min(t(run.created_at), ...run.steps.map((s) => t(s.created_at)));
  const end = Math.max(t(run.updated_at), ...run.steps.map((s) => t(s.updated_at)), start + 1);
  const span = end - start;
  const rows = run.steps.map((s) => {
    const bar = el("div", { class: "bar status-" + s.status });
    bar.style.left = ((t(s.created_at) - start) / span * 100).toFixed(2) + "%";
    bar.style.width = Math.max(0.5, (t(s.updated_at) - t(s.created_at)) / span * 100).toFixed(2) + "%";
    return el("tr", { "data-step": s.step_name },
      el("td", {}, s.step_name), el("td", { class: "status-" + s.status }, s.status),
      num(s.retry_count + 1), el("td", {}, ((t(s.updated_at) - t(s.created_at)) / 1000).toFixed(3) + " s"),
      el("td", {}, el("div", { class: "timeline" }, bar)),
      el("td", {}, s.error === null ? "" : pretty(s.error)));
  });
  const parts = [
    el("h1", {}, `Run ${run.id} · ${run.workflow_name} · `, el("span", { class: "status-" + run.status, "data-testid": "run-status" }, run.status)),
    el("p", { class: "muted" }, `Created ${run.created_at} · updated ${run.updated_at}`),
  ];
  const final = ["SUCCESS", "ERROR", "CANCELLED", "CANCELLING"].includes(run.status);
  if (state.session.actions_allowed && !final) {
    parts.push(el("p", {}, actionButton("Cancel run", "cancel-run", () => action(`/api/runs/${run.id}/cancel`), true),
      // A PAUSED run waits (a durable sleep, a recv, its children): end the wait now.
      run.status === "PAUSED" ? [" ", actionButton("Resume now", "resume-run", () => action(`/api/runs/${run.id}/resume`))] : null));
  }
  if (state.session.actions_allowed) {
    // Rerun from the start, or fork from a step (the steps before it are copied, not run).
    const created = el("span", { "data-testid": "new-run" });
    const started = (label) => (r) => created.replaceChildren(" ", label, " ", link("/runs/" + r.run_id, "run " + r.run_id));
    const rerun = actionButtonNoRender("Rerun", "rerun-run", () => action(`/api/runs/${run.id}/rerun`), started("started"));
    const from = el("select", { "data-testid": "fork-step" }, run.steps.map((s) => el("option", { value: s.step_name }, s.step_name)));
    const fork = actionButtonNoRender("Fork from step", "fork-run", () => action(`/api/runs/${run.id}/fork`, { from_step: from.value }), started("forked as"));
    fork.disabled = run.steps.length === 0;
    parts.push(el("p", {}, rerun, " ", from, " ", fork, created));
  }
  parts.push(el("h2", {}, "Steps"),
    table(["Step", "Status", "Attempts", "Duration", "Timeline", "Error"], rows, "steps"),
    el("h2", {}, "Input"), pretty(run.input),
    el("h2", {}, "Output"), pretty(run.output),
    el("h2", {}, "Error"), pretty(run.error),
    ...runTalkPanels(run));
  setMain(...parts);
}

// The run's messages, events and streams, and children (the API sends at most 100 of each).
function runTalkPanels(run) {
  const more = (flag) => flag ? el("p", { class: "muted" }, "Only the first 100 are shown (pgqrs workflow messages|events|children lists all).") : null;
  const messages = run.messages.map((m) => el("tr", { "data-run-message": m.id },
    num(m.id), el("td", {}, m.topic), el("td", {}, m.created_at),
    el("td", {}, m.received_by === null ? "unread" : `${m.received_by} at ${m.received_at}`),
    el("td", { "data-testid": "run-message-payload" }, pretty(m.payload))));
  const events = run.events.map((e) => el("tr", { "data-run-event": e.id },
    num(e.id), el("td", {}, e.kind), el("td", {}, e.key), el("td", {}, e.created_at),
    el("td", { "data-testid": "run-event-value" }, e.kind === "stream_end" ? "(end)" : pretty(e.value))));
  const children = run.children.map((c) => el("tr", { "data-child-run": c.id },
    el("td", {}, link("/runs/" + c.id, String(c.id))), el("td", {}, c.workflow_name),
    el("td", { class: "status-" + c.status }, c.status), el("td", {}, c.updated_at)));
  return [
    el("h2", {}, "Messages"),
    messages.length ? table(["Id", "Topic", "Sent", "Received by", "Payload"], messages, "run-messages") : el("p", { class: "muted", "data-testid": "run-messages-empty" }, "None."),
    more(run.messages_truncated),
    el("h2", {}, "Events and streams"),
    events.length ? table(["Id", "Kind", "Key", "Written", "Value"], events, "run-events") : el("p", { class: "muted", "data-testid": "run-events-empty" }, "None."),
    more(run.events_truncated),
    el("h2", {}, "Children"),
    children.length ? table(["Run", "Workflow", "Status", "Updated"], children, "run-children") : el("p", { class: "muted", "data-testid": "run-children-empty" }, "None."),
    more(run.children_truncated),
  ];
}

async function schedulesPage() {
  const schedules = await api("/api/schedules");
  const allowed = state.session.actions_allowed;
  const rows = schedules.map((s) => el("tr", { "data-schedule": s.name },
    el("td", {}, s.name),
    el("td", {}, s.cron !== null ? s.cron : "every " + s.every_seconds + " s"),
    el("td", {}, s.time_zone),
    el("td", {}, s.target_kind + " " + s.target),
    el("td", { "data-testid": "schedule-state" }, s.paused ? "paused" : "active"),
    el("td", {}, s.upcoming.length ? s.upcoming.join(", ") : "—"),
    el("td", {}, s.last_fire_at || "—"),
    el("td", { class: "num", "data-testid": "schedule-lag" }, s.lag_seconds.toFixed(1) + " s"),
    allowed ? el("td", {}, s.paused
      ? actionButton("Resume", "resume-" + s.name, () => action(`/api/schedules/${encodeURIComponent(s.name)}/resume`))
      : actionButton("Pause", "pause-" + s.name, () => action(`/api/schedules/${encodeURIComponent(s.name)}/pause`))) : null));
  setMain(el("h1", {}, "Schedules"),
    schedules.length === 0 ? el("p", { "data-testid": "empty" }, "No schedules.") : null,
    table(["Name", "When", "Time zone", "Target", "State", "Next fires", "Last fired", "Lag"].concat(allowed ? ["Action"] : []),
      rows, "schedules"));
}

// Path pattern -> page. Captured groups are passed decoded.
const pages = [
  { nav: "queues", re: /^\/(queues)?$/, render: queuesPage },
  { nav: "queues", re: /^\/queues\/([^/]+)$/, render: queuePage },
  { nav: "dead-letters", re: /^\/dead-letters$/, render: deadLettersPage },
  { nav: "workers", re: /^\/workers$/, render: workersPage },
  { nav: "runs", re: /^\/runs$/, render: runsPage },
  { nav: "runs", re: /^\/runs\/([^/]+)$/, render: runPage },
  { nav: "schedules", re: /^\/schedules$/, render: schedulesPage },
];

async function render() {
  clearTimeout(state.timer);
  const path = location.pathname;
  const page = pages.find((p) => p.re.test(path));
  for (const a of document.querySelectorAll("header nav a")) {
    a.classList.toggle("active", page !== undefined && a.dataset.nav === page.nav);
  }
  if (!page) return showError(new Error("no page at " + path));
  const args = path.match(page.re).slice(1).filter((x) => x !== undefined && x !== "queues").map(decodeURIComponent);
  try {
    await page.render(...args);
    document.body.dataset.loaded = "true";
  } catch (err) {
    showError(err);
    document.body.dataset.loaded = "true";
  }
}

async function start() {
  state.session = await api("/api/session");
  document.getElementById("mode").textContent = state.session.actions_allowed ? "actions allowed" : "read-only";
  await render();
}

start().catch(showError);
