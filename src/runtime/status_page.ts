/**
 * The page `GET /` of `--status` serves: plain HTML, CSS and JavaScript in
 * one string, nothing fetched from elsewhere (lab hosts have no internet).
 * It polls `/v1/status` every second for the header and the members table,
 * and draws the timeline of views from `/events` (server-sent events).
 *
 * @module
 */

/**
 * The status page, a complete HTML document.
 *
 * @example
 * ```ts
 * import { STATUS_PAGE } from "./status_page.ts";
 * console.log(STATUS_PAGE.includes("<title>")); // true
 * ```
 */
export const STATUS_PAGE: string = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>membership status</title>
<style>
  :root {
    --bg: #f6f7f9; --card: #fff; --ink: #1d2430; --muted: #6b7480; --line: #e2e5ea;
    --accent: #2f6fdb; --alive: #1f9d55; --suspected: #d64545; --leaving: #c27c0e; --gone: #8a929c;
    --formed: #7b4fd6;
    --sans: system-ui, -apple-system, "Segoe UI", Roboto, "Liberation Sans", "DejaVu Sans", sans-serif;
    --mono: ui-monospace, "SF Mono", Menlo, "Liberation Mono", "DejaVu Sans Mono", monospace;
  }
  * { box-sizing: border-box; }
  body { margin: 0; background: var(--bg); color: var(--ink); font: 14px/1.45 var(--sans); }
  header {
    display: flex; flex-wrap: wrap; align-items: center; gap: 12px 28px;
    padding: 14px 24px; background: var(--card); border-bottom: 1px solid var(--line);
  }
  h1 { margin: 0; font-size: 18px; font-weight: 600; }
  h1 .dim { color: var(--muted); font-weight: 400; }
  .facts { display: flex; flex-wrap: wrap; gap: 6px 22px; margin: 0; }
  .facts div { display: flex; align-items: baseline; gap: 6px; }
  .facts dt { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
  .facts dd { margin: 0; font-weight: 600; font-variant-numeric: tabular-nums; }
  .conn { margin-left: auto; font-size: 13px; color: var(--muted); display: flex; align-items: center; gap: 6px; }
  .conn::before { content: ""; width: 8px; height: 8px; border-radius: 50%; background: var(--gone); }
  .conn.live::before { background: var(--alive); }
  .conn.down { color: var(--suspected); }
  .conn.down::before { background: var(--suspected); }
  main { padding: 20px 24px; display: grid; gap: 20px; max-width: 1200px; }
  section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 14px 18px; }
  h2 { margin: 0 0 10px; font-size: 13px; font-weight: 600; color: var(--muted);
       text-transform: uppercase; letter-spacing: .05em; }
  table { width: 100%; border-collapse: collapse; }
  th { text-align: left; font-size: 12px; font-weight: 600; color: var(--muted); padding: 6px 10px;
       border-bottom: 1px solid var(--line); }
  td { padding: 7px 10px; border-bottom: 1px solid var(--line); font-variant-numeric: tabular-nums; }
  tr:last-child td { border-bottom: none; }
  td.num, th.num { text-align: right; }
  .mono { font-family: var(--mono); font-size: 13px; }
  tr.self td:first-child { font-weight: 700; }
  .you { color: var(--muted); font-weight: 400; font-size: 12px; margin-left: 4px; }
  tr.gone td { color: var(--gone); }
  .state { display: inline-flex; align-items: center; gap: 6px; padding: 1px 9px; border-radius: 10px;
           font-size: 12px; font-weight: 600; background: #eef0f3; }
  .state::before { content: ""; width: 7px; height: 7px; border-radius: 50%; background: currentColor; }
  .state.alive { color: var(--alive); background: #e6f5ec; }
  .state.suspected { color: var(--suspected); background: #fbeaea; }
  .state.leaving { color: var(--leaving); background: #fbf1e1; }
  .state.removed, .state.left { color: var(--gone); }
  .role-leader { font-weight: 600; }
  .empty { color: var(--muted); padding: 10px; }
  .timeline { display: flex; align-items: stretch; gap: 10px; overflow-x: auto; padding: 4px 2px 10px; }
  .view { flex: none; min-width: 118px; border: 1px solid var(--line); border-radius: 6px; padding: 7px 10px;
          background: #fafbfc; }
  .view.current { border: 2px solid var(--accent); background: #f2f6fe; padding: 6px 9px; }
  .view .vid { font-weight: 700; }
  .view .meta { color: var(--muted); font-size: 12px; }
  .chips { display: flex; flex-wrap: wrap; gap: 3px; margin: 5px 0 3px; }
  .chip { font-family: var(--mono); font-size: 12px; min-width: 22px; text-align: center; padding: 0 5px;
          border-radius: 4px; background: #e8ebf0; }
  .chip.leader { background: var(--accent); color: #fff; font-weight: 700; }
  .mark { flex: none; align-self: center; display: flex; flex-direction: column; align-items: center;
          font-size: 12px; font-weight: 600; padding: 0 2px; }
  .mark .sym { font-size: 16px; line-height: 1; }
  .mark.unreachable { color: var(--suspected); }
  .mark.left { color: var(--leaving); }
  .mark.formed { color: var(--formed); }
  .mark.event { color: var(--dim, inherit); }
  .mark .when { color: var(--muted); font-weight: 400; font-size: 11px; }
  .gap { flex: none; border: 1px dashed #c5cad2; border-radius: 6px; padding: 7px 10px; color: var(--muted); }
  .legend { margin: 6px 0 0; color: var(--muted); font-size: 12px; }
  .legend span { margin-right: 14px; }
  footer { padding: 0 24px 20px; color: var(--muted); font-size: 12px; }
  footer a { color: var(--accent); }
</style>
</head>
<body>
<header>
  <h1>membership <span class="dim" id="title-peer"></span></h1>
  <dl class="facts">
    <div><dt>Role</dt><dd id="role">&ndash;</dd></div>
    <div><dt>Leader</dt><dd id="leader">&ndash;</dd></div>
    <div><dt>View</dt><dd id="view">&ndash;</dd></div>
    <div><dt>Members</dt><dd id="count">&ndash;</dd></div>
  </dl>
  <span class="conn" id="conn">connecting&hellip;</span>
</header>
<main>
  <section>
    <h2>Members</h2>
    <table>
      <thead><tr>
        <th>ID</th><th>Address</th><th>State</th><th>Role</th><th class="num">Incarnation</th>
        <th class="num">Last heard</th><th>Tags</th>
      </tr></thead>
      <tbody id="members"><tr><td colspan="7" class="empty">waiting for the peer&hellip;</td></tr></tbody>
    </table>
  </section>
  <section>
    <h2>Timeline of views</h2>
    <div class="timeline" id="timeline"></div>
    <p class="legend">
      <span>&#9633; a view installed (leader highlighted)</span>
      <span style="color: var(--suspected)">&#10005; unreachable</span>
      <span style="color: var(--leaving)">&#8617; left</span>
      <span style="color: var(--formed)">&#10033; formed anew</span>
    </p>
  </section>
</main>
<footer>
  Members refresh every second; the timeline is live.
  Raw data: <a href="v1/status">/v1/status</a> &middot; <a href="metrics">/metrics</a> &middot;
  <a href="events">/events</a>
</footer>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
/** Members seen before and no longer in the view: id -> their last row, marked removed or left. */
const gone = new Map();
const leftIds = new Set();
let lastMembers = new Map();
let lastViewId = 0;

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = String(text);
  return e;
}

function clock(date) {
  return date.toLocaleTimeString([], { hour12: false });
}

function ago(ms) {
  if (ms < 1000) return Math.round(ms) + " ms ago";
  const s = Math.round(ms / 1000);
  if (s < 60) return s + " s ago";
  return Math.floor(s / 60) + " min " + (s % 60) + " s ago";
}

function setConn(state, text) {
  const c = $("conn");
  c.className = "conn " + state;
  c.textContent = text;
}

function render(status) {
  document.title = "membership: peer " + status.id + " (" + status.role + ")";
  $("title-peer").textContent = "peer " + status.id;
  $("role").textContent = status.role;
  $("leader").textContent = status.leader === null ? "none yet" : "peer " + status.leader;
  $("view").textContent = status.view ? status.view.id : "joining";
  $("count").textContent = status.members.length;

  const now = new Map(status.members.map((m) => [m.id, m]));
  for (const [id, m] of lastMembers) {
    if (!now.has(id) && status.view && status.view.id > lastViewId) {
      gone.set(id, { ...m, state: leftIds.has(id) ? "left" : "removed", goneIn: status.view.id });
    }
  }
  for (const id of now.keys()) gone.delete(id);
  lastMembers = now;
  if (status.view) lastViewId = status.view.id;

  const body = $("members");
  body.replaceChildren();
  if (status.members.length === 0) {
    const tr = el("tr");
    const td = el("td", "empty", "not in a view yet: joining");
    td.colSpan = 7;
    tr.append(td);
    body.append(tr);
  }
  const rows = [...status.members, ...[...gone.values()].sort((a, b) => a.id - b.id)];
  for (const m of rows) {
    const self = m.id === status.id;
    const isGone = m.goneIn !== undefined;
    const tr = el("tr", (self ? "self " : "") + (isGone ? "gone" : ""));
    const id = el("td", "", m.id);
    if (self) id.append(el("span", "you", "(this peer)"));
    const state = el("span", "state " + m.state, isGone ? m.state + " in view " + m.goneIn : m.state);
    const stateCell = el("td");
    stateCell.append(state);
    const role = isGone ? "\\u2013" : self ? status.role : m.id === status.leader ? "leader" : "member";
    const roleCell = el("td", role === "leader" ? "role-leader" : "", role);
    const inc = el("td", "num mono", m.incarnation);
    if (m.incarnation > 1e12) inc.title = "started " + new Date(m.incarnation).toLocaleString();
    const heard = el("td", "num", self || isGone ? "\\u2013" : ago(m.last_heard_ms));
    const tags = Object.entries(m.tags || {}).map(([k, v]) => k + "=" + v).join(", ");
    tr.append(id, el("td", "mono", m.address), stateCell, roleCell, inc, heard, el("td", "mono tags", tags || "\\u2013"));
    body.append(tr);
  }
}

async function poll() {
  try {
    const res = await fetch("v1/status", { cache: "no-store", signal: AbortSignal.timeout(3000) });
    if (!res.ok) throw new Error("HTTP " + res.status);
    render(await res.json());
    if (events.readyState === EventSource.OPEN) setConn("live", "live");
    else setConn("polling", "timeline reconnecting\\u2026");
  } catch (e) {
    setConn("down", "cannot reach the peer (" + (e.message || e) + ")");
  }
  setTimeout(poll, 1000);
}

// ---- the timeline ----
const seenViews = new Set();

function add(node) {
  const strip = $("timeline");
  const atEnd = strip.scrollLeft + strip.clientWidth >= strip.scrollWidth - 20;
  strip.append(node);
  while (strip.children.length > 300) strip.firstElementChild.remove();
  if (atEnd) strip.scrollLeft = strip.scrollWidth;
}

let newestSeen = 0;

/** A box for an installed view; \`live\` when it was installed while the page was open. */
function addView(view, live) {
  if (seenViews.has(view.id)) return;
  if (view.id > newestSeen + 1) {
    const from = newestSeen + 1, to = view.id - 1;
    const gap = el("div", "gap");
    gap.append(el("div", "vid", from === to ? "view " + from : "views " + from + "\\u2013" + to));
    gap.append(el("div", "meta", newestSeen === 0 ? "before this page" : "not seen"));
    add(gap);
  }
  seenViews.add(view.id);
  newestSeen = Math.max(newestSeen, view.id);
  for (const old of document.querySelectorAll(".view.current")) old.classList.remove("current");
  const box = el("div", "view current");
  box.append(el("div", "vid", "view " + view.id));
  const chips = el("div", "chips");
  for (const m of view.members) chips.append(el("span", "chip" + (m === view.leader ? " leader" : ""), m));
  box.append(chips);
  box.append(el("div", "meta", "leader " + view.leader + " \\u00b7 " + (live ? clock(new Date()) : "earlier")));
  add(box);
}

function addMark(kind, symbol, text) {
  const mark = el("div", "mark " + kind);
  mark.append(el("span", "sym", symbol), el("span", "", text), el("span", "when", clock(new Date())));
  add(mark);
}

// An event as /events sends it: the shape --format json prints (view: the view id).
const viewOf = (e) => ({ id: e.view, leader: e.leader, members: e.members });

function onEvent(e) {
  switch (e.event) {
    case "view": return addView(viewOf(e), true);
    case "unreachable": return addMark("unreachable", "\\u2715", "peer " + e.member);
    case "left": leftIds.add(e.member); return addMark("left", "\\u21a9", "peer " + e.member);
    case "formed": return addMark("formed", "\\u2731", "formed above " + e.above);
    case "event": return addMark("event", "\\u2709", e.name + " from peer " + e.from);
  }
}

let events;
function listen() {
  events = new EventSource("events");
  events.onopen = () => setConn("live", "live");
  events.onmessage = (m) => onEvent(JSON.parse(m.data));
  // On (re)connecting: the view installed before.
  events.addEventListener("current", (m) => addView(viewOf(JSON.parse(m.data)), false));
  events.onerror = () => setConn("polling", "timeline reconnecting\\u2026");
}

listen();
poll();
</script>
</body>
</html>
`;
