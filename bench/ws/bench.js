// bench/websockets: Switchboard's WebSocket fan-out, idle memory and resume storm, with the same load
// generator against a minimal Node ws broadcast server (peer-server.js) for comparison. Loopback
// only, bounded in time; writes docs/benchmarks/websockets.md and .json. Run through bench/websockets.
"use strict";
const { spawn, spawnSync, fork, execFileSync } = require("node:child_process");
const fs = require("node:fs");
const http = require("node:http");
const net = require("node:net");
const os = require("node:os");
const path = require("node:path");

const ROOT = path.resolve(__dirname, "..", "..");
const QUICK = process.env.BENCH_QUICK === "1";
const JAVA = process.env.BENCH_JAVA || "java";
const ADMIN = "sb_admin_bench-0123456789abcdefghij";
const WORKERS = 2;
// Each process may hold this many descriptors (bench/websockets raises the limit as far as it may).
const FD_LIMIT = Number(process.env.BENCH_FD_LIMIT || 20000);
const WARMUP_MS = QUICK ? 1000 : 2000;
const MEASURE_MS = QUICK ? 3000 : 6000;
const DEADLINE = Date.now() + 20 * 60 * 1000; // stop escalating well inside 25 minutes
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (...a) => console.log(new Date().toISOString().slice(11, 19), ...a);
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

// Every process and data directory the run makes, so that a failure or a signal (the time limit's
// SIGTERM, Ctrl-C) still stops the servers and load generators and removes Switchboard's data.
const children = [];
const SERVER_LOG = path.join(os.tmpdir(), "switchboard-bench-server.log"); // kept after the data directory goes
const dataDirs = [];
const started = (proc) => { children.push(proc); return proc; };
function stopEverything() {
  const alive = (p) => { try { process.kill(p.pid, 0); return true; } catch { return false; } };
  children.filter(alive).forEach((p) => p.kill("SIGTERM"));
  // Switchboard stops its embedded PostgreSQL on SIGTERM: a few seconds for that before its data goes.
  for (let i = 0; i < 40 && children.some((p) => p.exitCode === null && alive(p)); i++) spawnSync("sleep", ["0.25"]);
  for (const dir of dataDirs) {
    if (fs.existsSync(path.join(dir, "server.log"))) fs.copyFileSync(path.join(dir, "server.log"), SERVER_LOG);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => { console.error(`bench/websockets: ${signal}: stopping`); stopEverything(); process.exit(1); });
}

function request(port, method, p, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const data = body == null ? null : Buffer.from(typeof body === "string" ? body : JSON.stringify(body));
    const req = http.request({ host: "127.0.0.1", port, method, path: p, agent,
      headers: { ...headers, ...(data ? { "content-type": "application/json", "content-length": data.length } : {}) } },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }));
      });
    req.on("error", reject);
    if (data) req.write(data);
    req.end();
  });
}

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

// CPU seconds (user + system) a process has used, from /proc.
function cpuSeconds(pid) {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch { return 0; }
}
function rssBytes(pid) {
  const m = fs.readFileSync(`/proc/${pid}/status`, "utf8").match(/VmRSS:\s+(\d+) kB/);
  return Number(m[1]) * 1024;
}
function pidsMatching(text) {
  return fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d)).filter((d) => {
    try { return fs.readFileSync(`/proc/${d}/cmdline`, "utf8").includes(text); } catch { return false; }
  }).map(Number);
}

function childrenOf(parents) {
  return fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d)).filter((d) => {
    try { return parents.includes(Number(fs.readFileSync(`/proc/${d}/stat`, "utf8").split(") ")[1].split(" ")[1])); } catch { return false; }
  }).map(Number);
}

// ---- load generator workers --------------------------------------------------------------------
let nextId = 0;
function startWorker(index) {
  const child = started(fork(path.join(__dirname, "client.js"), [], { stdio: ["ignore", "inherit", "inherit", "ipc"] }));
  const pending = new Map();
  const ready = new Promise((resolve) => child.once("message", resolve));
  child.on("message", (m) => { if (m.id != null && pending.has(m.id)) { pending.get(m.id)(m); pending.delete(m.id); } });
  const call = (msg) => new Promise((resolve) => { const id = nextId++; pending.set(id, resolve); child.send({ ...msg, id, workerIndex: index }); });
  return { child, ready, call };
}
const all = (workers, msg) => Promise.all(workers.map((w) => w.call(typeof msg === "function" ? msg(w) : msg)));

function percentiles(reports) {
  const merged = new Map();
  let count = 0;
  let step = 0.1;
  for (const r of reports) {
    step = r.step;
    for (const [b, n] of Object.entries(r.buckets)) { merged.set(Number(b), (merged.get(Number(b)) || 0) + n); count += n; }
  }
  const keys = [...merged.keys()].sort((a, b) => a - b);
  const at = (q) => {
    let seen = 0;
    for (const k of keys) { seen += merged.get(k); if (seen >= q * count) return (k + 1) * step; }
    return NaN;
  };
  return { count, p50: at(0.5), p99: at(0.99), max: keys.length ? (keys[keys.length - 1] + 1) * step : NaN };
}

// ---- the two servers ---------------------------------------------------------------------------
async function startSwitchboard() {
  const port = await freePort();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "switchboard-bench-"));
  dataDirs.push(dataDir);
  const env = { ...process.env, SWITCHBOARD_PORT: String(port), SWITCHBOARD_HOST: "127.0.0.1", SWITCHBOARD_DATA_DIR: dataDir,
    SWITCHBOARD_ADMIN_KEY: ADMIN, SWITCHBOARD_RATE_LIMIT_REQUESTS: "1000000",
    SWITCHBOARD_WEBSOCKETS_MAX_SOCKETS_PER_CONNECTION: "100000", SWITCHBOARD_LOG_FORMAT: "text" };
  // The heap is touched up front, so resident memory grows only with what lives outside it (buffers,
  // stacks): the idle test's RSS per connection is then the off-heap cost.
  const javaOpts = (process.env.BENCH_JAVA_OPTS || "-Xms2g -Xmx2g -XX:+AlwaysPreTouch").split(" ");
  if (process.env.BENCH_PROFILE === "1") {
    // A JFR profile of the whole run (CPU samples, and where threads wait), for `jfr view hot-methods`.
    fs.mkdirSync(path.join(ROOT, "bench", "results"), { recursive: true });
    javaOpts.push(`-XX:StartFlightRecording=filename=${path.join(ROOT, "bench", "results", "websockets.jfr")},settings=profile`);
  }
  const proc = started(spawn(JAVA, [...javaOpts, "-jar", path.join(ROOT, "target", "switchboard.jar")],
    { env, stdio: ["ignore", fs.openSync(path.join(dataDir, "server.log"), "a"), fs.openSync(path.join(dataDir, "server.log"), "a")] }));
  for (let i = 0; ; i++) {
    try { if ((await request(port, "GET", "/health/ready")).status === 200) break; } catch { /* starting */ }
    if (proc.exitCode !== null) throw new Error("Switchboard exited; see " + SERVER_LOG);
    if (i === 240) throw new Error("Switchboard was not ready within 60 s; see " + SERVER_LOG);
    await sleep(250);
  }
  const admin = { authorization: `Bearer ${ADMIN}` };
  await request(port, "POST", "/api/v1/tenants", { id: "bench", name: "bench" }, admin);
  const integration = JSON.parse((await request(port, "POST", "/api/v1/integrations",
    { name: "bench", permissions: { read: ["*"], write: ["*"] }, eventTypes: ["*"] }, admin)).body);
  const connection = JSON.parse((await request(port, "POST", `/api/v1/integrations/${integration.id}/connections`,
    { tenantId: "bench" }, admin)).body);
  const tenantHeaders = { ...admin, "switchboard-tenant": "bench" };
  // Records whose events carry the publisher's timestamp (eventFields), for fan-out triggered by creates.
  await request(port, "POST", "/api/v1/collections", { name: "bench", eventFields: ["t"] }, admin);
  const partner = { authorization: `Bearer ${connection.accessToken}` };
  let head = 0;
  return {
    name: "switchboard", proc, port, dataDir, accessToken: connection.accessToken,
    // What a partner does: creates a record with its access token; its event carries {"t"}.
    async publishRecord(t) {
      return (await request(port, "POST", "/api/v1/collections/bench/records", `{"data":{"t":${t}}}`, partner)).status;
    },
    url: `ws://127.0.0.1:${port}/api/v1/ws?access_token=${connection.accessToken}`,
    headers: {},
    async publish(t) {
      const r = await request(port, "POST", "/api/v1/events", `{"type":"bench.tick","subject":"s","data":{"t":${t}}}`, tenantHeaders);
      if (r.status === 201) head = Math.max(head, Number(/"seq":(\d+)/.exec(r.body)[1]));
      return r.status;
    },
    head: () => head,
    // The server's own share of a fan-out: the total and count of switchboard.websockets.fanout (from a
    // stream's wake-up after the commit to its batch handed to the last socket), from /metrics.
    async fanOutTotals() {
      const metrics = (await request(port, "GET", "/metrics")).body;
      const value = (name) => Number((new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "m").exec(metrics) || [0, 0])[1]);
      return { seconds: value("switchboard_websockets_fanout_seconds_sum"), count: value("switchboard_websockets_fanout_seconds_count") };
    },
    // The embedded PostgreSQL: its postmaster (started with the data directory) and the backends it forks.
    extraPids: () => {
      const postmasters = pidsMatching(dataDir).filter((p) => p !== proc.pid);
      return [...postmasters, ...childrenOf(postmasters)];
    },
    gc: async () => { execFileSync(path.join(path.dirname(JAVA), "jcmd"), [String(proc.pid), "GC.run"], { stdio: "ignore" }); },
    // Live heap: the total of a class histogram, which runs a full GC first.
    async heapBytes() {
      const histogram = execFileSync(path.join(path.dirname(JAVA), "jcmd"), [String(proc.pid), "GC.class_histogram"],
        { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
      return Number(histogram.match(/^Total\s+\d+\s+(\d+)/m)[1]);
    },
  };
}

async function startPeer() {
  const port = await freePort();
  const proc = started(spawn(process.execPath, ["--expose-gc", path.join(__dirname, "peer-server.js"), String(port)], { stdio: ["ignore", "pipe", "inherit"] }));
  await new Promise((resolve) => proc.stdout.once("data", resolve));
  let seq = 0;
  return {
    name: "node-ws", proc, port, url: `ws://127.0.0.1:${port}/?x=1`, headers: {},
    // A message shaped like Switchboard's events frame, so both send similar bytes.
    publish: async (t) => (await request(port, "POST", "/publish",
      `{"type":"events","events":[{"id":"evt_01m85wtgbfexdr8sx1c1ynsbyq","seq":${++seq},"type":"bench.tick","subject":"s","time":"${new Date().toISOString()}","data":{"t":${t}}}]}`)).status,
    extraPids: () => [],
    gc: async () => { await request(port, "POST", "/gc"); },
  };
}

// ---- scenarios -------------------------------------------------------------------------------------
async function publishSteadily(server, rate, durationMs, onTick) {
  const start = now();
  let inflight = 0, sent = 0, skipped = 0, errors = 0;
  const answered = [];
  for (let i = 0; ; i++) {
    const due = start + (i * 1000) / rate;
    if (due > start + durationMs) break;
    const wait = due - now();
    if (wait > 1) await sleep(wait);
    if (onTick) onTick(now() - start);
    if (inflight >= 256) { skipped++; continue; }
    inflight++;
    sent++;
    const t0 = now();
    server.publish(t0).then((s) => { if (s >= 300) errors++; answered.push(now() - t0); }, () => errors++)
      .finally(() => inflight--);
  }
  while (inflight > 0) await sleep(5);
  answered.sort((a, b) => a - b);
  const q = (p) => round(answered[Math.min(answered.length - 1, Math.floor(p * answered.length))]);
  return { sent, skipped, errors, publishP50Ms: q(0.5), publishP99Ms: q(0.99) };
}

async function fanOut(server, workers, connections, rates) {
  const opened = await all(workers, { cmd: "connect", url: server.url, headers: server.headers, count: connections / WORKERS, concurrency: 100 });
  const connected = opened.reduce((a, r) => a + r.connected, 0);
  log(`${server.name}: ${connected}/${connections} connected`);
  const steps = [];
  for (const rate of rates) {
    if (Date.now() > DEADLINE) { log("time budget reached: stopping"); break; }
    let cpuStart = null;
    let measureStart = 0;
    let reset = null;
    const pub = await publishSteadily(server, rate, WARMUP_MS + MEASURE_MS, (elapsed) => {
      if (!reset && elapsed >= WARMUP_MS) {
        measureStart = now();
        cpuStart = { server: cpuSeconds(server.proc.pid), extra: server.extraPids().reduce((a, p) => a + cpuSeconds(p), 0),
          clients: workers.reduce((a, w) => a + cpuSeconds(w.child.pid), 0), publisher: process.cpuUsage() };
        reset = all(workers, { cmd: "reset" });
      }
    });
    await reset;
    await sleep(300); // in-flight deliveries
    const reports = await all(workers, { cmd: "report" });
    const seconds = (now() - measureStart) / 1000;
    const p = percentiles(reports);
    const pubCpu = process.cpuUsage(cpuStart.publisher);
    const step = {
      server: server.name, connections: connected, eventsPerSecond: rate,
      expectedDeliveriesPerSecond: rate * connected,
      deliveriesPerSecond: Math.round(p.count / seconds), p50Ms: round(p.p50), p99Ms: round(p.p99), maxMs: round(p.max),
      cpu: {
        server: round2((cpuSeconds(server.proc.pid) - cpuStart.server) / seconds),
        database: round2((server.extraPids().reduce((a, q) => a + cpuSeconds(q), 0) - cpuStart.extra) / seconds),
        clients: round2((workers.reduce((a, w) => a + cpuSeconds(w.child.pid), 0) - cpuStart.clients) / seconds),
        publisher: round2((pubCpu.user + pubCpu.system) / 1e6 / seconds),
      },
      loadAverage: round(os.loadavg()[0]),
      publishP50Ms: pub.publishP50Ms, publishP99Ms: pub.publishP99Ms, publishErrors: pub.errors, publishSkipped: pub.skipped,
    };
    steps.push(step);
    log(`${server.name} ${connected} conns @ ${rate}/s: ${step.deliveriesPerSecond}/s delivered, p50 ${step.p50Ms} ms, p99 ${step.p99Ms} ms, cpu server ${step.cpu.server} db ${step.cpu.database} clients ${step.cpu.clients}`);
    const saturated = !(p.p99 < 3000) || step.deliveriesPerSecond < 0.8 * step.expectedDeliveriesPerSecond;
    if (saturated) { log(`${server.name}: saturated at ${rate}/s, not going higher`); break; }
  }
  await all(workers, { cmd: "close" });
  await sleep(1000);
  return steps;
}

async function idle(server, workers, connections) {
  const heapBefore = server.heapBytes ? await server.heapBytes() : null;
  const rssBefore = rssBytes(server.proc.pid);
  const cpuBefore = cpuSeconds(server.proc.pid);
  const started = now();
  const opened = await all(workers, { cmd: "connect", url: server.url, headers: server.headers, count: connections / WORKERS, concurrency: 200 });
  const connected = opened.reduce((a, r) => a + r.connected, 0);
  const connectSeconds = (now() - started) / 1000;
  await sleep(3000);
  const idleCpuStart = cpuSeconds(server.proc.pid);
  await sleep(QUICK ? 3000 : 10000);
  const idleCpu = (cpuSeconds(server.proc.pid) - idleCpuStart) / (QUICK ? 3 : 10);
  const heapAfter = server.heapBytes ? await server.heapBytes() : null;
  const rssAfter = rssBytes(server.proc.pid);
  const result = {
    server: server.name, connections: connected, connectSeconds: round(connectSeconds),
    heapPerConnectionBytes: heapBefore == null ? null : Math.round((heapAfter - heapBefore) / connected),
    rssPerConnectionBytes: Math.round((rssAfter - rssBefore) / connected),
    heapAfterBytes: heapAfter, rssAfterBytes: rssAfter, idleCpuCores: round(idleCpu),
    connectCpuSeconds: round(idleCpuStart - cpuBefore),
  };
  log(`${server.name} idle: ${connected} connections, heap ${result.heapPerConnectionBytes} B/conn, RSS ${result.rssPerConnectionBytes} B/conn, idle CPU ${result.idleCpuCores} cores`);
  await all(workers, { cmd: "close" });
  await sleep(2000);
  return result;
}

async function resumeStorm(server, workers, clients) {
  const opened = await all(workers, { cmd: "connect", url: server.url, headers: server.headers, count: clients / WORKERS, concurrency: 200, track: {} });
  const connected = opened.reduce((a, r) => a + r.connected, 0);
  await publishSteadily(server, 50, 1000);
  await waitCaughtUp(workers, server.head(), 30000);
  await all(workers, { cmd: "close" });
  await publishSteadily(server, 200, 1000); // missed while disconnected
  const target = server.head();
  // Keep writing during the storm (2 events/s, each to every connected client), so the seam between
  // replay and live is crossed under concurrent writes.
  let writing = true;
  const background = (async () => { while (writing) await publishSteadily(server, 2, 1000); })();
  const cpuStart = cpuSeconds(server.proc.pid) + server.extraPids().reduce((a, p) => a + cpuSeconds(p), 0);
  const started = now();
  const reconnects = all(workers, { cmd: "resume", url: server.url, headers: server.headers, concurrency: 500 });
  const caughtUpMs = await waitCaughtUp(workers, target, 180000, started, connected);
  const reconnected = (await reconnects).reduce((a, r) => a + r.reconnected, 0);
  const reconnectMs = now() - started;
  writing = false;
  await background;
  const finalHead = server.head();
  await waitCaughtUp(workers, finalHead, 60000);
  const status = await all(workers, { cmd: "resumeStatus", target: finalHead });
  const cpu = cpuSeconds(server.proc.pid) + server.extraPids().reduce((a, p) => a + cpuSeconds(p), 0) - cpuStart;
  const result = {
    clients: connected, reconnected, headAtReconnect: target, finalHead, allCaughtUpMs: round(caughtUpMs), allReconnectedMs: round(reconnectMs),
    clientsAtFinalHead: status.reduce((a, s) => a + s.caughtUp, 0),
    gaps: status.reduce((a, s) => a + s.gaps, 0), repeats: status.reduce((a, s) => a + s.repeats, 0),
    serverAndDatabaseCpuSeconds: round(cpu),
  };
  log(`resume storm: ${result.reconnected}/${connected} reconnected, all caught up to ${target} in ${result.allCaughtUpMs} ms; gaps ${result.gaps}, repeats ${result.repeats}`);
  await all(workers, { cmd: "close" });
  return result;
}

// The fan-out comparison the targets are stated for: one set of clients on Switchboard and one on
// node-ws, open at once, fed in turns by record creates (access token), custom events (admin key) and
// node-ws's POST /publish, after one unmeasured warm-up pass of each. Rounds rotate the order, so a
// busy moment of the shared machine does not always fall on the same feed; each round measures each
// feed for the same time at the same rate. Every socket checks its seqs (no gap, no repeat) and counts
// what it received, which must be every event accepted while it was open.
async function compare(sb, sbRecords, peer, workers, connections, rate, rounds) {
  const measureMs = Number(process.env.BENCH_MEASURE_S || 0) * 1000 || (QUICK ? 4000 : Math.max(10000, Math.ceil(30 / rate) * 1000));
  const open = async (server) => {
    const opened = await all(workers, { cmd: "connect", url: server.url, headers: server.headers, count: connections / WORKERS, concurrency: 100, group: server.name });
    return opened.reduce((a, r) => a + r.connected, 0);
  };
  const connected = { switchboard: await open(sb), "node-ws": await open(peer) };
  log(`compare ${connections} x ${rate}/s: ${connected.switchboard} clients on Switchboard, ${connected["node-ws"]} on node-ws`);
  await sleep(2000); // every socket subscribed before the first event
  // Opening thousands of sockets leaves a heap of young objects that live on; both servers collect
  // once now, so the first young collection (hundreds of ms on a busy machine) does not land in a
  // measured window: the comparison is of steady fan-out, not of the connection storm.
  await sb.gc();
  await peer.gc();
  const feeds = [sbRecords, sb, peer];
  const groupOf = (feed) => (feed === peer ? "node-ws" : "switchboard");
  const accepted = { switchboard: 0, "node-ws": 0 };
  const feed = async (server, ms) => {
    const pub = await publishSteadily(server, rate, ms);
    accepted[groupOf(server)] += pub.sent - pub.errors;
    return pub;
  };
  for (const server of feeds) { // warm-up pass
    await feed(server, WARMUP_MS);
    await sleep(500);
  }
  const runs = [];
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < feeds.length; k++) {
      const server = feeds[(round + k) % feeds.length];
      await all(workers, { cmd: "reset" });
      const cpuStart = { server: cpuSeconds(server.proc.pid), extra: server.extraPids().reduce((a, p) => a + cpuSeconds(p), 0) };
      const fanOutStart = server.fanOutTotals ? await server.fanOutTotals() : null;
      const started = now();
      const pub = await feed(server, measureMs);
      // Deliveries in flight: wait until every accepted event reached every socket (or 10 s), so a
      // slow tail is measured rather than cut off.
      const expected = (pub.sent - pub.errors) * connected[groupOf(server)];
      for (const until = now() + 10000; now() < until;) {
        await sleep(100);
        if ((await all(workers, { cmd: "count" })).reduce((a, r) => a + r.received, 0) >= expected) break;
      }
      const reports = await all(workers, { cmd: "report" });
      const seconds = (now() - started) / 1000;
      const p = percentiles(reports);
      const fanOutEnd = fanOutStart ? await server.fanOutTotals() : null;
      const fanOuts = fanOutEnd ? fanOutEnd.count - fanOutStart.count : 0;
      const run = { server: server.name, round, connections: connected[groupOf(server)], eventsPerSecond: rate,
        deliveries: p.count, expectedDeliveries: (pub.sent - pub.errors) * connected[groupOf(server)],
        p50Ms: round1(p.p50), p99Ms: round1(p.p99), maxMs: round1(p.max),
        publishP50Ms: pub.publishP50Ms, publishP99Ms: pub.publishP99Ms, publishErrors: pub.errors, publishSkipped: pub.skipped,
        serverFanOutMeanMs: fanOuts > 0 ? round1((fanOutEnd.seconds - fanOutStart.seconds) / fanOuts * 1000) : null,
        cpu: { server: round2((cpuSeconds(server.proc.pid) - cpuStart.server) / seconds),
          database: round2((server.extraPids().reduce((a, q) => a + cpuSeconds(q), 0) - cpuStart.extra) / seconds) },
        loadAverage: round1(os.loadavg()[0]) };
      runs.push(run);
      log(`compare ${connections} x ${rate}/s round ${round + 1} ${server.name}: p50 ${run.p50Ms} ms, p99 ${run.p99Ms} ms, max ${run.maxMs} ms,`
        + ` ${run.deliveries}/${run.expectedDeliveries} deliveries, publish p50 ${run.publishP50Ms} p99 ${run.publishP99Ms} ms,`
        + (run.serverFanOutMeanMs == null ? "" : ` server fan-out mean ${run.serverFanOutMeanMs} ms,`)
        + ` cpu server ${run.cpu.server} db ${run.cpu.database}, load ${run.loadAverage}`);
      await sleep(500);
    }
  }
  await sleep(1000);
  const checks = await all(workers, { cmd: "integrity" });
  const integrity = {};
  for (const group of Object.keys(accepted)) {
    const parts = checks.map((c) => c.groups[group]).filter(Boolean);
    const received = parts.reduce((a, g) => a + g.received, 0);
    const distinct = parts.reduce((a, g) => a + g.distinct, 0);
    const expected = accepted[group] * connected[group];
    // lost: accepted events a socket never received; repeated: events a socket received more than once;
    // outOfOrder: steps back or over in seq (Switchboard promises order; node-ws does not).
    integrity[group] = { sockets: connected[group], eventsAccepted: accepted[group], expected, received,
      fewestOnOneSocket: Math.min(...parts.map((g) => g.minDistinct)), mostOnOneSocket: Math.max(...parts.map((g) => g.maxDistinct)),
      lost: Math.max(0, expected - distinct), repeated: received - distinct,
      outOfOrder: parts.reduce((a, g) => a + g.gaps + g.repeats, 0) };
    const c = integrity[group];
    log(`compare ${connections} x ${rate}/s ${group}: ${received}/${expected} events received, ${c.lost} lost, ${c.repeated} repeated, ${c.outOfOrder} out of order`);
  }
  await all(workers, { cmd: "close" });
  await sleep(1000);
  const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : round1((s[s.length / 2 - 1] + s[s.length / 2]) / 2); };
  const summary = {};
  for (const server of feeds) {
    const mine = runs.filter((r) => r.server === server.name);
    summary[server.name] = { p50Ms: median(mine.map((r) => r.p50Ms)), p99Ms: median(mine.map((r) => r.p99Ms)),
      p99MsRounds: mine.map((r) => r.p99Ms), publishP50Ms: median(mine.map((r) => r.publishP50Ms)),
      serverFanOutMeanMs: mine[0].serverFanOutMeanMs == null ? null : median(mine.map((r) => r.serverFanOutMeanMs)) };
  }
  const recordsP99 = summary["switchboard-records"].p99Ms;
  const ratios = { recordsOverCustomP99: round2(recordsP99 / summary.switchboard.p99Ms), recordsOverPeerP99: round2(recordsP99 / summary["node-ws"].p99Ms) };
  log(`compare ${connections} x ${rate}/s medians: ${JSON.stringify(summary)}; ${JSON.stringify(ratios)}`);
  return { connections, eventsPerSecond: rate, rounds, measureSeconds: measureMs / 1000, summary, ratios, integrity, runs };
}

// Request -> response over one WebSocket (requests on the socket, several in flight) against the same
// operation over HTTP keep-alive (one connection per concurrent caller), on the same server, same token.
async function requestLatency(sb) {
  const WebSocket = require("ws");
  const auth = { authorization: `Bearer ${sb.accessToken}` };
  const record = JSON.parse((await request(sb.port, "POST", "/api/v1/collections/bench/records",
    '{"data":{"t":0,"name":"read me"}}', auth)).body);
  const ws = new WebSocket(`ws://127.0.0.1:${sb.port}/api/v1/ws?access_token=${sb.accessToken}`, { perMessageDeflate: false });
  await new Promise((resolve, reject) => { ws.once("open", resolve); ws.once("error", reject); });
  const waiting = new Map();
  ws.on("message", (data) => {
    const text = data.toString();
    if (text.startsWith('{"type":"response"')) {
      const id = /"id":"([^"]+)"/.exec(text)[1];
      const done = waiting.get(id);
      waiting.delete(id);
      if (done) done(/"status":(\d+)/.exec(text)[1]);
    }
  });
  // Only the answers: the creates' events would otherwise come on this socket too (HTTP gets none).
  ws.send('{"type":"subscribe","eventTypes":["bench.none"]}');
  let ids = 0;
  const overSocket = (method, params) => new Promise((resolve) => {
    const id = "q" + ids++;
    waiting.set(id, (status) => resolve(Number(status)));
    ws.send(JSON.stringify({ type: "request", id, method, params }));
  });
  const ops = {
    "records.get": {
      socket: () => overSocket("records.get", { collection: "bench", id: record.id }),
      http: (agent) => requestVia(agent, sb.port, "GET", `/api/v1/collections/bench/records/${record.id}`, null, auth),
    },
    "records.create": {
      socket: () => overSocket("records.create", { collection: "bench", data: { t: 1 } }),
      http: (agent) => requestVia(agent, sb.port, "POST", "/api/v1/collections/bench/records", '{"data":{"t":1}}', auth),
    },
  };
  const results = [];
  const warmupMs = QUICK ? 500 : 1000, measureMs = QUICK ? 2000 : 4000;
  // One unmeasured pass of every step first: this phase runs on a freshly started server, and without
  // it the first steps would also measure the JIT compiling the paths they take.
  for (const measured of [false, true]) {
    for (const concurrency of [1, 16]) {
      for (const [op, call] of Object.entries(ops)) {
        const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
        for (const transport of ["socket", "http"]) {
          const run = () => (transport === "socket" ? call.socket() : call.http(agent));
          const latencies = [];
          let errors = 0;
          const start = now(), measureFrom = start + warmupMs, end = measureFrom + (measured ? measureMs : warmupMs);
          await Promise.all(Array.from({ length: concurrency }, async () => {
            while (now() < end) {
              const t0 = now();
              const status = await run();
              const t1 = now();
              if (t0 >= measureFrom) {
                if (status >= 300) errors++;
                latencies.push(t1 - t0);
              }
            }
          }));
          if (!measured) continue;
          latencies.sort((a, b) => a - b);
          const q = (f) => round2(latencies[Math.min(latencies.length - 1, Math.floor(f * latencies.length))]);
          const step = { op, concurrency, transport, requestsPerSecond: Math.round(latencies.length / (measureMs / 1000)),
            p50Ms: q(0.5), p99Ms: q(0.99), errors, loadAverage: round(os.loadavg()[0]) };
          results.push(step);
          log(`${op} x${concurrency} over ${transport}: ${step.requestsPerSecond}/s, p50 ${step.p50Ms} ms, p99 ${step.p99Ms} ms, errors ${errors}`);
        }
        agent.destroy();
      }
    }
  }
  ws.close();
  return results;
}

function requestVia(agent, port, method, p, body, headers) {
  return new Promise((resolve, reject) => {
    const data = body == null ? null : Buffer.from(body);
    const req = http.request({ host: "127.0.0.1", port, method, path: p, agent,
      headers: { ...headers, ...(data ? { "content-type": "application/json", "content-length": data.length } : {}) } },
      (res) => { res.resume(); res.on("end", () => resolve(res.statusCode)); });
    req.on("error", reject);
    if (data) req.write(data);
    req.end();
  });
}

async function waitCaughtUp(workers, target, timeoutMs, since = now(), expected = null) {
  const deadline = now() + timeoutMs;
  let caught = 0, socketsOpen = 0, status = [];
  while (now() < deadline) {
    status = await all(workers, { cmd: "resumeStatus", target });
    caught = status.reduce((a, s) => a + s.caughtUp, 0);
    socketsOpen = status.reduce((a, s) => a + s.sockets, 0);
    if (caught === (expected ?? socketsOpen) && caught > 0) return now() - since;
    await sleep(20);
  }
  throw new Error(`clients did not catch up to ${target} within ${timeoutMs} ms: ${caught} of ${socketsOpen} sockets did;`
    + ` some behind: ${JSON.stringify(status.flatMap((s) => s.behind))}`);
}

const round = (x) => (Number.isFinite(x) ? Math.round(x * 10) / 10 : null);
const round1 = round;
const round2 = (x) => (Number.isFinite(x) ? Math.round(x * 100) / 100 : null);

// ---- report ----------------------------------------------------------------------------------------
function machine() {
  const cpu = os.cpus();
  return { cpu: `${cpu.length} × ${cpu[0].model}`, memoryGiB: Math.round(os.totalmem() / 2 ** 30), kernel: os.release(),
    node: process.version, loadAverageAtStart: os.loadavg().map(round) };
}

async function main() {
  const started = Date.now();
  const results = { date: new Date().toISOString(), quick: QUICK, only: process.env.BENCH_ONLY || null, machine: machine(),
    compare: [], fanOut: [], idle: [], resumeStorm: null, requests: [] };
  const props = spawnSync(JAVA, ["-XshowSettings:properties", "-version"], { encoding: "utf8" }).stderr;
  results.machine.java = "Java " + (props.match(/java\.runtime\.version = (.*)/)?.[1] ?? "?").trim();
  results.machine.openFileLimit = FD_LIMIT;
  const workers = Array.from({ length: WORKERS }, (_, i) => startWorker(i));
  await Promise.all(workers.map((w) => w.ready));
  const sb = await startSwitchboard();
  const peer = await startPeer();
  log(`Switchboard on ${sb.port} (data in ${sb.dataDir}), node-ws on ${peer.port}`);
  try {
    // Idle first, on fresh processes, so resident memory is not already grown by the fan-out runs.
    const only = (process.env.BENCH_ONLY || "idle,compare,fanout,storm,requests").split(",");
    if (only.includes("requests")) {
      results.requests = await requestLatency(sb);
    }
    // Fan-out triggered two ways: a custom event published with the admin key, and a record created
    // with the partner's access token (the whole record path: token, rate limit, validation, insert).
    const sbRecords = { ...sb, name: "switchboard-records", publish: (t) => sb.publishRecord(t) };
    if (only.includes("idle")) {
      // 20,000 connections, or as many as the server process may hold next to its own files.
      const idleConnections = QUICK ? 2000 : Math.min(20000, Math.floor((FD_LIMIT - 600) / 1000) * 1000);
      results.idle.push(await idle(sb, workers, idleConnections));
      results.idle.push(await idle(peer, workers, idleConnections));
    }
    if (only.includes("compare")) {
      // BENCH_COMPARE: the scenarios, as connections x events per second.
      const scenarios = (process.env.BENCH_COMPARE || (QUICK ? "1000x10" : "2000x10,10000x2")).split(",").map((x) => x.split("x").map(Number));
      for (const [connections, rate] of scenarios) {
        results.compare.push(await compare(sb, sbRecords, peer, workers, connections, rate, Number(process.env.BENCH_ROUNDS || (QUICK ? 2 : 3))));
      }
    }
    const plans = !only.includes("fanout") ? [] : QUICK
      ? [{ connections: 1000, rates: [10, 40] }]
      : [{ connections: 1000, rates: [10, 20, 40, 60, 80, 120, 160] },
         { connections: 2000, rates: [5, 10, 20, 30, 40, 60, 80] },
         { connections: 10000, rates: [1, 2, 4, 6, 8, 12, 16] }];
    for (const plan of plans) {
      // BENCH_SERVERS narrows the comparison (e.g. "switchboard-records" alone, for a profile of that path).
      const servers = [sb, sbRecords, peer].filter((x) => !process.env.BENCH_SERVERS || process.env.BENCH_SERVERS.split(",").includes(x.name));
      for (const server of servers) {
        results.fanOut.push(...await fanOut(server, workers, plan.connections, plan.rates));
      }
    }
    if (only.includes("storm")) {
      results.resumeStorm = await resumeStorm(sb, workers, QUICK ? 1000 : 5000);
    }
  } finally {
    results.seconds = Math.round((Date.now() - started) / 1000);
    results.machine.loadAverageAtEnd = os.loadavg().map(round);
    sb.proc.kill("SIGTERM");
    peer.proc.kill("SIGTERM");
    workers.forEach((w) => w.child.kill("SIGTERM"));
    await new Promise((r) => { if (sb.proc.exitCode !== null) r(); else sb.proc.once("exit", r); setTimeout(r, 10000); });
    fs.copyFileSync(path.join(sb.dataDir, "server.log"), SERVER_LOG);
    fs.rmSync(sb.dataDir, { recursive: true, force: true });
  }
  write(results);
  log(`done in ${results.seconds} s`);
  process.exit(0);
}

function write(r) {
  // Only a complete run replaces the committed report; a quick or partial one goes to bench/results.
  const official = !r.quick && !r.only;
  const out = official ? path.join(ROOT, "docs", "benchmarks") : path.join(ROOT, "bench", "results");
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, "websockets.json"), JSON.stringify(r, null, 2) + "\n");
  const lines = [];
  lines.push("# WebSocket benchmark", "");
  lines.push(`Run ${r.date} by \`bench/websockets\`${r.quick ? " (quick mode)" : ""} in ${r.seconds} s on ${r.machine.cpu}, ${r.machine.memoryGiB} GiB,`
    + ` Linux ${r.machine.kernel}, ${r.machine.java}, Node ${r.machine.node}. Load average at start: ${r.machine.loadAverageAtStart.join(", ")};`
    + ` at the end: ${(r.machine.loadAverageAtEnd || []).join(", ")}.`
    + " The load generator (two Node processes, no JSON parsing), the publisher and both servers share the machine;"
    + " CPU is in cores used during the measured window. Figures from a shared machine are noisy: compare ratios from one run.", "");
  if (r.compare && r.compare.length) {
    lines.push("## Fan-out: record creates against custom events and node-ws", "");
    lines.push("One set of clients on Switchboard and one on node-ws, open at once, fed in turns at the same rate after an unmeasured"
      + " warm-up pass of each: `switchboard-records` by record creates (`POST /api/v1/collections/bench/records`, access token),"
      + " `switchboard` by custom events (`POST /api/v1/events`, admin key), `node-ws` by `POST /publish`. Latency is from sending"
      + " the triggering request to each client's receipt. Each figure is the median over the rounds (order rotated each round);"
      + " the p99 of every round is in its own column. \"publish p50\" is the triggering request's answer (for Switchboard, after"
      + " the commit; for node-ws, after the broadcast); \"server fan-out\" is Switchboard's own part of each event's way, from the"
      + " stream's wake-up after the commit to the event handed to the last socket (the mean of `switchboard.websockets.fanout`"
      + " over the round); the rest of a client's latency is the commit before it and the client reading its frame.", "");
    lines.push("| connections × events/s | feed | p50 ms | p99 ms | p99 per round | publish p50 ms | server fan-out, mean ms | record-create p99 ÷ this p99 |",
      "|---|---|---:|---:|---|---:|---:|---:|");
    for (const c of r.compare) {
      for (const [name, s] of Object.entries(c.summary)) {
        lines.push(`| ${c.connections} × ${c.eventsPerSecond} | ${name} | ${s.p50Ms} | ${s.p99Ms} | ${s.p99MsRounds.join(", ")} | ${s.publishP50Ms ?? "–"} | ${s.serverFanOutMeanMs ?? "–"} | ${name === "switchboard-records" ? "–" : round2(c.summary["switchboard-records"].p99Ms / s.p99Ms)} |`);
      }
    }
    lines.push("", "Every socket recorded the seqs it received, checked against the events accepted while it was open (warm-up included):"
      + " lost is an accepted event a socket never received, repeated one it received twice, out of order a step other than +1"
      + " (Switchboard keeps each stream's order; node-ws broadcasts concurrent publishes in arrival order).", "");
    lines.push("| connections × events/s | server | sockets | events accepted | deliveries expected | received | lost | repeated | out of order |", "|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for (const c of r.compare) {
      for (const [name, g] of Object.entries(c.integrity)) {
        lines.push(`| ${c.connections} × ${c.eventsPerSecond} | ${name} | ${g.sockets} | ${g.eventsAccepted} | ${g.expected} | ${g.received} | ${g.lost} | ${g.repeated} | ${g.outOfOrder} |`);
      }
    }
    lines.push("");
  }
  lines.push("## Fan-out: one tenant, events at a steady rate", "");
  lines.push("Latency is from the publisher sending its HTTP request to a client receiving the event (Switchboard: `POST /api/v1/events`,"
    + " committed to PostgreSQL, then pushed; node-ws: `POST /publish`, broadcast from memory).", "");
  lines.push("| server | connections | events/s | deliveries/s (expected) | p50 ms | p99 ms | max ms | publish p50 / p99 ms | CPU server | CPU database | CPU clients | machine load |");
  lines.push("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const s of r.fanOut) {
    lines.push(`| ${s.server} | ${s.connections} | ${s.eventsPerSecond} | ${s.deliveriesPerSecond} (${s.expectedDeliveriesPerSecond}) | ${s.p50Ms} | ${s.p99Ms} | ${s.maxMs} | ${s.publishP50Ms} / ${s.publishP99Ms} | ${s.cpu.server} | ${s.cpu.database} | ${s.cpu.clients} | ${s.loadAverage} |`);
  }
  lines.push("", "\"machine load\" is the one-minute load average when the step ended: on 2 cores, anything above about 2 means"
    + " processes outside this benchmark were competing for the CPU, and latencies are inflated accordingly.");
  lines.push("", "\"publish\" is how long the publisher's request took to be answered: for Switchboard, the durable commit of the event"
    + " (the delivery latency includes it); for node-ws, the broadcast itself.");
  lines.push("", "Highest rate with p99 under 100 ms:", "");
  const byConn = [...new Set(r.fanOut.map((s) => s.connections))];
  lines.push("| connections | switchboard (custom events) deliveries/s | switchboard (record creates) deliveries/s | node-ws deliveries/s | ratio (custom events) |", "|---:|---:|---:|---:|---:|");
  for (const c of byConn) {
    const best = (name) => Math.max(0, ...r.fanOut.filter((s) => s.server === name && s.connections === c && s.p99Ms < 100).map((s) => s.deliveriesPerSecond));
    const a = best("switchboard"), rec = best("switchboard-records"), b = best("node-ws");
    lines.push(`| ${c} | ${a} | ${rec} | ${b} | ${b ? round(a / b) : "–"} |`);
  }
  lines.push("", "`switchboard` is fed by custom events (`POST /api/v1/events`, admin key); `switchboard-records` by record"
    + " creates (`POST /api/v1/collections/bench/records` with the partner's access token, the event carrying the timestamp as an eventField).");
  if (r.requests && r.requests.length) {
    lines.push("", "## Requests: one WebSocket against HTTP keep-alive", "");
    lines.push("The same operation, same token, same server: over one socket (requests in flight at once, answered by id) or over"
      + " HTTP/1.1 keep-alive (one connection per concurrent caller), after one unmeasured pass of every row. Latency from sending to"
      + " the answer, in the load generator.", "");
    lines.push("| operation | in flight | transport | requests/s | p50 ms | p99 ms | errors | machine load |", "|---|---:|---|---:|---:|---:|---:|---:|");
    for (const q of r.requests) {
      lines.push(`| ${q.op} | ${q.concurrency} | ${q.transport} | ${q.requestsPerSecond} | ${q.p50Ms} | ${q.p99Ms} | ${q.errors} | ${q.loadAverage} |`);
    }
  }
  lines.push("", "## Idle connections", "");
  lines.push("| server | connections | heap per connection | RSS per connection | idle CPU (cores) | connect time |", "|---|---:|---:|---:|---:|---:|");
  for (const i of r.idle) {
    lines.push(`| ${i.server} | ${i.connections} | ${i.heapPerConnectionBytes == null ? "–" : (i.heapPerConnectionBytes / 1024).toFixed(1) + " KiB"} | ${(i.rssPerConnectionBytes / 1024).toFixed(1)} KiB | ${i.idleCpuCores} | ${i.connectSeconds} s |`);
  }
  lines.push("", "Heap is the live heap (a class histogram, after a full GC) before and after opening the connections."
    + " Switchboard's heap is touched in full at start (`-XX:+AlwaysPreTouch`), so its RSS growth is what lives outside the heap;"
    + " node-ws's RSS growth includes its JavaScript heap. Kernel socket memory is not included."
    + " Switchboard pings every socket every 25 s (its idle CPU); the node-ws server sends no heartbeats.", "");
  if (r.resumeStorm) {
    const s = r.resumeStorm;
    lines.push("## Resume storm", "");
    lines.push(`${s.clients} clients, each having seen the stream up to its head, disconnected; ${s.headAtReconnect} events were then in the log.`
      + ` All reconnected at once with \`after=<their last seq>\` while events kept being written (2/s).`, "");
    lines.push(`- all ${s.reconnected} reconnected in ${s.allReconnectedMs} ms; all caught up to position ${s.headAtReconnect} within ${s.allCaughtUpMs} ms of the first reconnect`);
    lines.push(`- then followed live to the final head ${s.finalHead}: ${s.clientsAtFinalHead} clients reached it, with **${s.gaps} missed and ${s.repeats} repeated events** in total (each client checks that every seq is its previous + 1)`);
    lines.push(`- server and database CPU during the storm: ${s.serverAndDatabaseCpuSeconds} s`, "");
  }
  fs.writeFileSync(path.join(out, "websockets.md"), lines.join("\n") + "\n");
}

if (process.env.BENCH_REWRITE === "1") {
  // Rewrites the Markdown from the last run's JSON (after a change to the report's text).
  write(JSON.parse(fs.readFileSync(path.join(ROOT, "docs", "benchmarks", "websockets.json"), "utf8")));
} else {
  main().catch((e) => { console.error(e); stopEverything(); process.exit(1); });
}
