// `--status`, seen by a person: the page at `/` in a real browser (Debian's
// chromium, headless, driven by puppeteer-core) shows three live members, then
// a crashed one going and the new view on the timeline; it leaves a screenshot
// in .tmp/status_page.png. And the status server under Node, from dist/mod.mjs.
import assert from "node:assert/strict";
import { test } from "node:test";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import {
  createStatusApp,
  type HostAddress,
  type Peer,
  PeerMetrics,
  serveStatus,
  startPeer,
  type StatusServer,
  type Tags,
} from "../../mod.ts";
import { freePorts, ROOT } from "../support/cluster.ts";
import { buildNode, nodeSkip, run } from "../support/node_build.ts";

const SCREENSHOT = `${ROOT}.tmp/status_page.png`;

/** Debian's chromium, or why the browser test cannot run here. */
function findChromium(): { path: string } | { skip: string } {
  for (const path of [Deno.env.get("CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"]) {
    try {
      if (path && Deno.statSync(path).isFile) return { path };
    } catch { /* not there */ }
  }
  return { skip: "no chromium (make test installs Debian's chromium when run as root; or set CHROMIUM)" };
}

const chromium = findChromium();
if ("skip" in chromium) console.log(`SKIPPED: the status page browser test: ${chromium.skip}`);

/** The page's members table: each row's id, state and tags, as a person reads them. */
function rows(page: Page): Promise<{ id: string; state: string; tags: string }[]> {
  return page.$$eval("#members tr", (trs) =>
    trs.filter((tr) => tr.querySelector(".state")).map((tr) => ({
      id: tr.cells[0].firstChild?.textContent ?? "",
      state: tr.querySelector(".state")?.textContent ?? "",
      tags: tr.querySelector(".tags")?.textContent ?? "",
    })));
}

async function waitUntil(
  what: string,
  page: Page,
  check: () => Promise<boolean>,
  ms = 15_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) {
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
      throw new Error(`timed out waiting until ${what}; page: ${JSON.stringify(await rows(page))}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test("status page: live members and timeline in headless chromium; a crash shows", {
  skip: "skip" in chromium ? chromium.skip : false,
}, async () => {
  const hosts: HostAddress[] = freePorts(3).map((port) => ({ hostname: "127.0.0.1", port }));
  const metrics = new PeerMetrics();
  const peers: Peer[] = [];
  let server: StatusServer | undefined;
  let browser: Browser | undefined;
  try {
    for (let id = 1; id <= 3; id++) {
      const tags: Tags = id === 2 ? {} : { role: id === 1 ? "db" : "web", zone: "a" };
      const options = { hosts, id, heartbeatMs: 50, listen: hosts[id - 1], tags };
      peers.push(await startPeer(id === 1 ? { ...options, metrics } : options));
    }
    const full = AbortSignal.timeout(10_000);
    await Promise.all(peers.map((p) => p.waitForView((v) => v.members.length === 3, full)));
    server = await serveStatus(createStatusApp(peers[0], metrics), { hostname: "127.0.0.1", port: 0 });

    browser = await puppeteer.launch({
      executablePath: (chromium as { path: string }).path,
      headless: true, // the new headless mode
      args: [
        ...(Deno.uid() === 0 ? ["--no-sandbox"] : []), // chromium refuses to run its sandbox as root
        "--disable-dev-shm-usage",
        "--disable-gpu",
      ],
    });
    const page = await browser.newPage();
    await page.setViewport({ width: 1100, height: 640 });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(`http://127.0.0.1:${server.port}/`, { waitUntil: "domcontentloaded" });

    await waitUntil("the table shows 3 members alive", page, async () => {
      const r = await rows(page);
      return r.length === 3 && r.every((m) => m.state === "alive");
    });
    assert.equal(await page.title(), "membership: peer 1 (leader)");
    assert.equal(await page.$eval("#view", (e) => e.textContent), "3");
    assert.equal(await page.$eval(".view.current .vid", (e) => e.textContent), "view 3");
    assert.equal(await page.$eval("#conn", (e) => e.textContent), "live");
    assert.deepEqual((await rows(page)).map((m) => m.tags), [
      "role=db, zone=a",
      "\u2013",
      "role=web, zone=a",
    ]);

    await peers[2].stop(); // a crash, as the others see it: no goodbye
    await waitUntil("peer 3 is suspected or removed, and view 4 is on the timeline", page, async () => {
      const three = (await rows(page)).find((m) => m.id === "3");
      const timeline = await page.$eval("#timeline", (e) => e.textContent ?? "");
      return /suspected|removed/.test(three?.state ?? "removed") && timeline.includes("view 4");
    });
    // The crash is marked between views 3 and 4, and the view without peer 3 is current.
    const strip = await page.$$eval("#timeline > *", (els) => els.map((e) => e.className));
    assert.deepEqual(strip, ["gap", "view", "mark unreachable", "view current"]);
    assert.equal(await page.$eval(".view.current .chips", (e) => e.textContent), "12");
    await waitUntil("the header shows view 4", page, async () => {
      return (await page.$eval("#view", (e) => e.textContent)) === "4";
    });
    await Deno.mkdir(`${ROOT}.tmp`, { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    console.log(`screenshot: ${SCREENSHOT}`);
    assert.deepEqual(errors, [], "no script errors on the page");
  } finally {
    await browser?.close();
    await server?.close();
    await Promise.all(peers.map((p) => p.stop()));
  }
});

const noNode = await nodeSkip("the status server on Node");

test("status server on Node (dist/mod.mjs): the routes answer, close() leaves nothing running", {
  skip: noNode,
}, async () => {
  await buildNode();
  const script = `
    import { createStatusApp, MemoryNetwork, PeerMetrics, serveStatus, startPeer } from "${ROOT}dist/mod.mjs";
    const metrics = new PeerMetrics();
    const net = new MemoryNetwork();
    const hosts = [{ hostname: "127.0.0.1", port: 7601 }];
    let reported;
    const viewReported = new Promise((resolve) => (reported = resolve));
    const onEvent = (e) => e.type === "view" && reported();
    const peer = await startPeer({ hosts, id: 1, heartbeatMs: 20, transport: net.transport(), metrics, onEvent });
    await viewReported;
    const server = await serveStatus(createStatusApp(peer, metrics), { hostname: "127.0.0.1", port: 0 });
    const url = "http://127.0.0.1:" + server.port;
    const status = await (await fetch(url + "/v1/status")).json();
    const metricsText = await (await fetch(url + "/metrics")).text();
    const page = await (await fetch(url + "/")).text();
    const events = (await fetch(url + "/events")).body.getReader();
    const first = new TextDecoder().decode((await events.read()).value);
    const started = Date.now();
    await server.close();
    const ended = (await events.read()).done;
    console.log(JSON.stringify({
      role: status.role, address: status.members[0].address,
      viewId: /^membership_view_id (\\d+)$/m.exec(metricsText)?.[1],
      title: /<title>(.*)<\\/title>/.exec(page)?.[1],
      first: first.split("\\n")[0], ended, closeMs: Date.now() - started,
    }));
    await peer.stop();
    await net.close();
  `;
  // Node exits by itself only if nothing is left running: a leak shows as the timeout.
  const out = await run(["node", "--input-type=module", "-e", script], { timeoutMs: 20_000 });
  assert.equal(out.code, 0, `node exited ${out.code}:\n${out.stdout}${out.stderr}`);
  const result = JSON.parse(out.stdout);
  assert.equal(result.role, "leader");
  assert.equal(result.address, "127.0.0.1:7601");
  assert.equal(result.viewId, "1");
  assert.equal(result.title, "membership status");
  assert.equal(result.first, "event: current");
  assert.equal(result.ended, true, "close() ended the open /events stream");
  assert.ok(result.closeMs < 2_000, `close() took ${result.closeMs} ms`);
});
