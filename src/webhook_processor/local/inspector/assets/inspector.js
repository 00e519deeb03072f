// The inspector page: plain DOM, no build step, nothing loaded from elsewhere.
// It polls /inspector/api/summary every second; when the processor's revision moves (an event
// stored, delivered, dead-lettered, redriven, a request rejected) it reloads what is on screen.
// Every value is put on the page as text (textContent), never as markup.
"use strict";

const API = "/inspector/api/";
const POLL_MS = 1000;
const views = ["transactions", "events", "dead-letters", "rejected", "completeness"];
// `asked` numbers each load of a list: an answer to an older one (a filter changed since) is
// dropped, so the list always shows what the filters now say.
const lists = {
  transactions: { url: "transactions", render: transactionRow, pages: 0, next: null, asked: 0 },
  events: { url: "events", render: eventRow, pages: 0, next: null, asked: 0 },
  "dead-letters": { url: "dead-letters", render: deadLetterRow, pages: 0, next: null, asked: 0 },
};
let revision = null;
let summary = null;
let openTimeline = null;
let span = "day";
let trafficAt = 0;
// A change seen since the chart last loaded: it reloads within TRAFFIC_CHANGED_MS of it.
let trafficChanged = false;
// Numbers each load of the chart, as `asked` does a list's: an answer to a span since changed
// is dropped.
let trafficAsked = 0;
// The chart reloads every 10 s, and within 2 s of a change (a delivery counted).
const TRAFFIC_MS = 10000;
const TRAFFIC_CHANGED_MS = 2000;
const SVG = "http://www.w3.org/2000/svg";

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (name === "class") node.className = value;
    else if (name.startsWith("data-") || name === "title" || name === "type") node.setAttribute(name, value);
    else node[name] = value;
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const cell = (value, cls) => el("td", cls ? { class: cls } : {}, value === null ? "–" : value);
const badge = (kind, text) => el("span", { class: `badge ${kind}` }, text === undefined ? kind : text);
const time = (iso) => (iso ? iso.slice(0, 19).replace("T", " ") : "–");

function sinkLabel(name) {
  // "file:/path/to/events.jsonl" -> "file events.jsonl"; "http:http://host/hook" -> "http host/hook"
  const [kind, ...rest] = name.split(":");
  const where = rest.join(":").replace(/^https?:\/\//, "");
  return `${kind} ${kind === "file" ? where.split("/").pop() : where}`;
}

async function getJson(path, params) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params || {})) if (value) query.set(name, value);
  const response = await fetch(`${API}${path}${query.size ? "?" + query : ""}`, { credentials: "same-origin" });
  return answer(response);
}

async function postJson(path, body) {
  const response = await fetch(API + path, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  return answer(response);
}

async function answer(response) {
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.detail || `HTTP ${response.status}`);
  return body;
}

// -- views ----------------------------------------------------------------------------------

function show(view) {
  if (!views.includes(view)) view = "transactions";
  for (const name of views) {
    document.getElementById(`view-${name}`).hidden = name !== view;
    document.querySelector(`[data-view="${name}"]`).setAttribute("aria-selected", String(name === view));
  }
  if (location.hash !== `#${view}`) history.replaceState(null, "", `#${view}`);
  if (lists[view]) load(view, false);
  if (view === "completeness") completeness();
}

const current = () => location.hash.slice(1) || "transactions";

function filters(name) {
  const form = document.querySelector(`form.filters[data-list="${name}"]`);
  return form ? Object.fromEntries(new FormData(form)) : {};
}

async function load(name, more) {
  const list = lists[name];
  const body = document.querySelector(`#${name} tbody`);
  const params = { ...filters(name), cursor: more ? list.next : "" };
  const asked = ++list.asked;
  let page;
  try {
    page = await getJson(list.url, params);
  } catch (error) {
    if (asked !== list.asked) return;
    body.replaceChildren(el("tr", { class: "empty" }, el("td", { colSpan: 9 }, error.message)));
    return;
  }
  if (asked !== list.asked) return;
  const shown = new Set([...body.querySelectorAll("tr[data-key]")].map((row) => row.dataset.key));
  const rows = page.items.map((item) => {
    const row = list.render(item);
    if (revision !== null && !shown.has(row.dataset.key) && !more) row.classList.add("fresh");
    return row;
  });
  if (more) body.append(...rows);
  else body.replaceChildren(...(rows.length ? rows : [el("tr", { class: "empty" }, el("td", { colSpan: 9 }, emptyText(page)))]));
  list.pages = more ? list.pages + 1 : 1;
  list.next = page.next;
  document.querySelector(`[data-more="${name}"]`).hidden = !page.next;
}

function emptyText(page) {
  // A page of delivered events looks at a bounded window of the newest events: it can be empty
  // and still have more to look at.
  return page.next ? "none among the newest looked at so far: press more to look further" : "nothing here yet";
}

function transactionRow(t) {
  const row = el(
    "tr",
    { class: "clickable", "data-key": `${t.provider}:${t.transaction_id}`, title: "show its timeline" },
    cell(t.transaction_id, "id"),
    cell(t.provider),
    el("td", {}, badge(t.status)),
    cell(t.amount, "num"),
    cell(t.refunded, "num"),
    cell(t.currency),
    cell(t.events, "num"),
    cell(time(t.updated_at)),
  );
  row.addEventListener("click", () => timeline(t.provider, t.transaction_id));
  if (openTimeline && openTimeline.key === row.dataset.key) row.classList.add("chosen");
  return row;
}

function eventRow(e) {
  const sinks = el(
    "div",
    { class: "sinks" },
    ...e.sinks.map((s) =>
      el("span", { class: "sink", "data-sink": s.sink, title: s.sink }, badge(s.state), " ", sinkLabel(s.sink),
        s.attempts ? ` (${s.attempts} attempts)` : ""),
    ),
  );
  return el(
    "tr",
    { "data-key": e.key, "data-delivery": e.delivery },
    cell(time(e.received_at)),
    cell(e.key, "id"),
    cell(e.transaction_id, "id"),
    cell(e.event_type),
    cell(`${e.amount} ${e.currency}`, "num"),
    el("td", {}, badge(e.status)),
    el("td", e.arrival === "reconciliation"
      ? { title: "its webhook never came: found in the provider's events API by reconcile" }
      : {}, badge(e.arrival === "reconciliation" ? "recovered" : "stored")),
    el("td", {}, sinks),
    cell(e.last_error, "error"),
  );
}

function deadLetterRow(d) {
  const redrive = el("button", { type: "button", class: "redrive" }, "Redrive");
  redrive.addEventListener("click", () => redriveKeys({ keys: [d.key] }));
  return el(
    "tr",
    { "data-key": `${d.key}|${d.sink}` },
    cell(time(d.failed_at)),
    cell(d.key, "id"),
    cell(sinkLabel(d.sink)),
    cell(d.transaction_id, "id"),
    cell(`${d.amount} ${d.currency}`, "num"),
    cell(d.attempts, "num"),
    cell(d.last_error, "error"),
    el("td", {}, redrive),
  );
}

async function timeline(provider, transactionId) {
  openTimeline = { provider, transactionId, key: `${provider}:${transactionId}` };
  const aside = document.getElementById("timeline");
  let data;
  try {
    data = await getJson("timeline", { provider, transaction_id: transactionId });
  } catch (error) {
    document.getElementById("timeline-summary").textContent = error.message;
    aside.hidden = false;
    return;
  }
  const t = data.transaction;
  document.getElementById("timeline-title").textContent = `${provider} ${t.transaction_id}`;
  const summaryLine = document.getElementById("timeline-summary");
  summaryLine.replaceChildren(badge(t.status),
    ` ${t.amount} ${t.currency}: authorized ${t.authorized}, captured ${t.captured}, refunded ${t.refunded}, disputed ${t.disputed}; ${t.events} events, ${t.late} late`);
  document.getElementById("timeline-movements").replaceChildren(
    ...data.movements.map((m) =>
      el("li", { "data-movement": m.movement_id },
        `${m.kind} ${m.movement_id} ${m.amount} ${m.currency} `, badge(m.status),
        m.counted === "yes" ? "" : " not counted")),
  );
  aside.querySelector("tbody").replaceChildren(
    ...data.timeline.map((r) =>
      el("tr", { "data-event": r.event_id },
        cell(r.version, "num"), cell(time(r.received_at)), cell(r.event_id, "id"), cell(r.event_type),
        el("td", {}, badge(r.says)), cell(r.amount, "num"),
        cell(`${r.before || "∅"} → ${r.after || "?"}`),
        cell([Number(r.reversed) > 0 ? `refund reversed ${r.reversed}` : (r.late || ""),
          r.arrival === "reconciliation" ? "recovered" : ""].filter(Boolean).join(", "))),
    ),
  );
  const note = document.getElementById("timeline-note");
  note.hidden = !data.truncated;
  note.textContent = data.truncated ? "only the first events are shown" : "";
  aside.hidden = false;
  for (const row of document.querySelectorAll("#transactions tbody tr")) {
    row.classList.toggle("chosen", row.dataset.key === openTimeline.key);
  }
}

async function completeness() {
  const body = document.querySelector("#completeness tbody");
  let data;
  try {
    data = await getJson("completeness");
  } catch (error) {
    body.replaceChildren(el("tr", { class: "empty" }, el("td", { colSpan: 7 }, error.message)));
    return;
  }
  document.getElementById("completeness-listable").textContent = data.listable.length
    ? `Reconciled with an events-API key: ${data.listable.join(", ")}.`
    : "No provider has an events-API key (WEBHOOK_API_KEY_STRIPE, WEBHOOK_API_KEY_SQUARE): nothing is reconciled.";
  body.replaceChildren(...data.items.map((r) =>
    el("tr", { "data-key": `${r.provider}:${r.day}`, "data-reconciled": r.reconciled },
      cell(r.day), cell(r.provider), cell(r.webhook, "num"),
      cell(r.recovered, "num" + (r.recovered ? " error" : "")), cell(r.ignored, "num"),
      cell(r.listed, "num"), el("td", {}, badge(r.reconciled.split(":")[0].replaceAll(" ", "-"), r.reconciled)))));
}

// -- traffic --------------------------------------------------------------------------------

function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

// "15 min", "4 h": a window or a step.
const minutes = (n) => (n % 60 ? `${n} min` : `${n / 60} h`);

function chart(provider, chartSpan, stepMinutes, points) {
  const width = 720, height = 90, pad = 4;
  const top = Math.max(1, ...points.map((p) => Math.max(p.received, p.high || 0)));
  const x = (i) => pad + (i * (width - 2 * pad)) / Math.max(1, points.length - 1);
  const y = (v) => height - pad - (v * (height - 2 * pad)) / top;
  const line = (values) => values.map((v, i) => (v === null ? null : `${x(i).toFixed(1)},${y(v).toFixed(1)}`)).filter(Boolean).join(" ");
  const step = points.length > 1 ? x(1) - x(0) : width;
  const quiet = points.filter((p) => p.verdict === "quiet").length;
  const banded = points.map((p, i) => [i, p]).filter(([, p]) => p.low !== null);
  const band = banded.length
    ? [...banded.map(([i, p]) => `${x(i).toFixed(1)},${y(p.high).toFixed(1)}`),
       ...banded.reverse().map(([i, p]) => `${x(i).toFixed(1)},${y(p.low).toFixed(1)}`)].join(" ")
    : "";
  const last = points[points.length - 1];
  const label = `${provider}: ${points.reduce((n, p) => n + p.received, 0)} deliveries over the last ${chartSpan}` +
    (last ? `, ${last.received} in the last ${minutes(stepMinutes)}` + (last.usual === null ? "" : ` against ${last.usual} usually`) : "") +
    (quiet ? `, quiet in ${quiet} of ${points.length} steps` : "");
  return svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img", "aria-label": label, "data-provider": provider },
    svg("title", {}, label),
    ...points.map((p, i) => (p.verdict === "quiet"
      ? svg("rect", { class: "quiet", x: (x(i) - step / 2).toFixed(1), y: 0, width: Math.max(step, 2).toFixed(1), height })
      : null)).filter(Boolean),
    band ? svg("polygon", { class: "band", points: band }) : svg("g", {}),
    svg("polyline", { class: "usual", points: line(points.map((p) => p.usual)) }),
    svg("polyline", { class: "received", points: line(points.map((p) => p.received)) }));
}

function verdictLine(s) {
  const attention = s.verdict === "quiet" || s.endpoint === "disabled" || s.endpoint === "missing";
  const figures = s.verdict === "learning"
    ? `${s.recent} in the last 15 min; learning: verdicts from ${time(s.ready_at)}`
    : s.verdict === "sparse"
      ? `${s.recent} in the last ${minutes(s.window_minutes)}, usually ${s.usual}: too few for silence to mean anything`
      : `${s.recent} in the last ${minutes(s.window_minutes)}, usually ${s.usual}`;
  return el("p", { class: `verdict${attention ? " attention" : ""}`, "data-verdict": s.verdict, "data-endpoint": s.endpoint },
    el("strong", {}, s.provider), " ", badge(s.verdict), " ", figures, " · endpoint ", badge(s.endpoint),
    s.endpoint === "unknown" ? "" : ` ${s.endpoint_detail}`);
}

async function traffic(afterMs) {
  if (Date.now() - trafficAt < afterMs) return;
  trafficAt = Date.now();
  trafficChanged = false;
  const asked = ++trafficAsked;
  const out = document.getElementById("traffic-providers");
  let status, volume;
  try {
    [status, volume] = await Promise.all([getJson("status"), getJson("volume", { span })]);
  } catch (error) {
    if (asked === trafficAsked) out.replaceChildren(el("p", { class: "note" }, error.message));
    return;
  }
  if (asked !== trafficAsked) return;
  const charts = Object.fromEntries(volume.providers.map((c) => [c.provider, c]));
  out.replaceChildren(...(status.providers.length
    ? status.providers.map((s) => {
      const c = charts[s.provider];
      return el("div", { class: "provider-traffic", "data-provider": s.provider },
        verdictLine(s), c ? chart(s.provider, volume.span, c.step_minutes, c.points) : null);
    })
    : [el("p", { class: "note" }, "no delivery counted yet: send one (webhook-processor send stripe)")]));
}

async function redriveKeys(body) {
  const out = document.getElementById("redrive-result");
  out.classList.remove("bad");
  try {
    const result = await postJson("redrive", body);
    const more = result.queued > result.keys.length ? ", …" : "";
    out.textContent = result.queued ? `queued ${result.queued}: ${result.keys.join(", ")}${more}` : "no dead letters";
  } catch (error) {
    out.classList.add("bad");
    out.textContent = error.message;
  }
  load("dead-letters", false);
}

// -- live -----------------------------------------------------------------------------------

function fillChoices() {
  for (const select of document.querySelectorAll("select[data-choices]")) {
    const options = summary[select.dataset.choices] || [];
    if (select.options.length > (select.options[0] && select.options[0].value === "" ? 1 : 0)) continue;
    for (const value of options) select.append(el("option", { value }, value));
    if (select.dataset.default) select.value = select.dataset.default;
  }
}

function renderSummary() {
  const counters = summary.counters;
  for (const node of document.querySelectorAll("[data-counter]")) node.textContent = counters[node.dataset.counter];
  document.getElementById("sinks").textContent = summary.sinks.map(sinkLabel).join(", ");
  document.getElementById("rejected-by-reason").replaceChildren(
    ...Object.entries(counters.rejected_by_reason).map(([reason, count]) =>
      el("div", {}, el("dt", {}, reason), el("dd", {}, count))),
  );
  document.querySelector("#rejected tbody").replaceChildren(
    ...(summary.rejections.length
      ? summary.rejections.map((r) => el("tr", {}, cell(time(r.at)), cell(r.provider), cell(r.reason), cell(r.status, "num")))
      : [el("tr", { class: "empty" }, el("td", { colSpan: 4 }, "none since start"))]),
  );
}

async function poll() {
  const live = document.getElementById("live");
  try {
    summary = await getJson("summary");
    live.textContent = `live · since ${time(summary.counters.started_at)}`;
    live.classList.remove("down");
    fillChoices();
    renderSummary();
    if (summary.counters.revision !== revision) trafficChanged = true;
    traffic(trafficChanged ? TRAFFIC_CHANGED_MS : TRAFFIC_MS);
    if (summary.counters.revision !== revision) {
      const first = revision === null;
      revision = summary.counters.revision;
      const view = current();
      if (!first && lists[view] && lists[view].pages <= 1) load(view, false);
      if (!first && view === "completeness") completeness();
      if (!first && openTimeline) timeline(openTimeline.provider, openTimeline.transactionId);
    }
  } catch (error) {
    live.textContent = `not connected: ${error.message}`;
    live.classList.add("down");
  }
  setTimeout(poll, POLL_MS);
}

function start() {
  for (const button of document.querySelectorAll("[data-view]")) {
    button.addEventListener("click", () => show(button.dataset.view));
  }
  for (const form of document.querySelectorAll("form.filters")) {
    let pending;
    form.addEventListener("submit", (event) => event.preventDefault());
    form.addEventListener("change", () => load(form.dataset.list, false));
    form.addEventListener("input", () => {
      clearTimeout(pending);
      pending = setTimeout(() => load(form.dataset.list, false), 300);
    });
  }
  for (const button of document.querySelectorAll("[data-more]")) {
    button.addEventListener("click", () => load(button.dataset.more, true));
  }
  document.getElementById("timeline-close").addEventListener("click", () => {
    openTimeline = null;
    document.getElementById("timeline").hidden = true;
    for (const row of document.querySelectorAll("#transactions tr.chosen")) row.classList.remove("chosen");
  });
  document.getElementById("redrive-all").addEventListener("click", () => {
    if (confirm("Queue every dead letter for delivery again?")) redriveKeys({ all: true });
  });
  document.getElementById("send").addEventListener("submit", async (event) => {
    event.preventDefault();
    const out = document.getElementById("send-result");
    const button = event.target.querySelector("button[type=submit]");
    out.classList.remove("bad");
    delete out.dataset.key;
    out.textContent = "sending…";
    button.disabled = true;
    try {
      const sent = await postJson("send", Object.fromEntries(new FormData(event.target)));
      out.textContent = `${sent.status}: ${sent.event_ids.map((id) => `${sent.provider}:${id}`).join(", ")}`;
      out.dataset.key = `${sent.provider}:${sent.event_ids[0]}`;
    } catch (error) {
      out.classList.add("bad");
      out.textContent = error.message;
    } finally {
      button.disabled = false;
    }
  });
  for (const button of document.querySelectorAll("[data-span]")) {
    button.addEventListener("click", () => {
      span = button.dataset.span;
      for (const other of document.querySelectorAll("[data-span]")) other.setAttribute("aria-pressed", String(other === button));
      traffic(0);
    });
  }
  window.addEventListener("hashchange", () => show(current()));
  show(current());
  poll();
}

document.addEventListener("DOMContentLoaded", start);
