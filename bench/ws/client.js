// One load-generator process: holds many WebSocket connections and measures, for every event it
// receives, the time from the moment the publisher sent its request (the "t" field the publisher put
// in the event's data) to now. It never parses JSON: a regular expression finds the "t" (and, for
// the resume check, "seq") fields. Driven by the orchestrator (bench.js) over IPC.
"use strict";
const WebSocket = require("ws");

const HIST_STEP = 0.1; // ms per histogram bucket
const HIST_SIZE = 200000; // up to 20 s
let hist = new Uint32Array(HIST_SIZE);
let received = 0;
let sockets = [];
let parked = [];
const T = /"t": ?([0-9.]+)/g;
const SEQ = /"seq":([0-9]+)/g;
const now = () => performance.timeOrigin + performance.now();

function record(text) {
  const t1 = now();
  T.lastIndex = 0;
  let m;
  while ((m = T.exec(text)) !== null) {
    const ms = t1 - Number(m[1]);
    const bucket = Math.min(HIST_SIZE - 1, Math.max(0, Math.floor(ms / HIST_STEP)));
    hist[bucket]++;
    received++;
  }
}

// Resume and fan-out bookkeeping: every socket's last seq, how many events it received, and any gap
// or repeat it saw.
function trackSeqs(state, text) {
  SEQ.lastIndex = 0;
  let m;
  while ((m = SEQ.exec(text)) !== null) {
    const seq = Number(m[1]);
    state.received++;
    if (state.group != null) markSeen(state, seq);
    if (state.last !== null) {
      if (seq <= state.last) state.repeats++;
      else if (seq > state.last + 1) state.gaps += seq - state.last - 1;
    }
    if (state.last === null || seq > state.last) state.last = seq;
  }
}

// Which seqs a socket has seen, as a bitmap from a little below the first one: counts the distinct
// events it received, whatever their order (node-ws broadcasts concurrent publishes in the order they
// arrive, not in the order their seqs were taken).
function markSeen(state, seq) {
  if (state.base == null) { state.base = Math.max(0, seq - 4096); state.seen = new Uint8Array(1024); state.distinct = 0; }
  const i = seq - state.base;
  if (i < 0) { state.distinct++; return; } // far out of order; cannot happen with Switchboard
  if ((i >> 3) >= state.seen.length) {
    const grown = new Uint8Array(Math.max(state.seen.length * 2, (i >> 3) + 1));
    grown.set(state.seen);
    state.seen = grown;
  }
  const bit = 1 << (i & 7);
  if (!(state.seen[i >> 3] & bit)) { state.seen[i >> 3] |= bit; state.distinct++; }
}

function open(url, headers, localAddress, state) {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers, perMessageDeflate: false, localAddress, handshakeTimeout: 30000 });
    let settled = false;
    ws.on("open", () => { settled = true; resolve(ws); });
    ws.on("message", (data, isBinary) => {
      if (isBinary) return;
      const text = data.toString();
      if (text.charCodeAt(9) === 101 /* {"type":"events"… from both servers */) {
        record(text);
        if (state) trackSeqs(state, text);
      } else if (state && text.startsWith('{"type":"live"')) {
        state.live = true;
      }
    });
    ws.on("error", () => { if (!settled) { settled = true; resolve(null); } });
    ws.on("close", (code) => { if (state) state.closeCode = code; if (!settled) { settled = true; resolve(null); } });
  });
}

// Opens `count` sockets; with `track` (or a `group`, which tracks from the first event received) each
// socket checks the seqs it receives.
async function connect({ url, count, headers, concurrency, track, group, workerIndex }) {
  let failed = 0;
  let next = 0;
  const before = sockets.length;
  async function lane() {
    while (next < count) {
      const i = next++;
      const localAddress = `127.0.0.${2 + ((i + workerIndex) % 16)}`;
      const state = track || group
        ? { last: track?.after ?? null, gaps: 0, repeats: 0, live: false, received: 0, group: group ?? null } : null;
      const ws = await open(url + (track && track.after != null ? `&after=${track.after}` : ""), headers, localAddress, state);
      if (ws) sockets.push({ ws, state }); else failed++;
    }
  }
  await Promise.all(Array.from({ length: concurrency }, lane));
  return { connected: sockets.length - before, failed };
}

async function closeAll() {
  const closing = sockets.map(({ ws }) => new Promise((resolve) => {
    if (ws.readyState === WebSocket.CLOSED) return resolve();
    ws.once("close", resolve);
    ws.close();
    setTimeout(() => { ws.terminate(); resolve(); }, 5000);
  }));
  await Promise.all(closing);
  parked = sockets.map((s) => s.state);
  sockets = [];
}

// Reopens every socket closed by the last "close" at once, each with after=<its last seq>.
async function resumeAll({ url, headers, concurrency }) {
  const states = parked;
  parked = [];
  const started = now();
  let next = 0;
  let failed = 0;
  async function lane() {
    while (next < states.length) {
      const i = next++;
      const state = states[i];
      const localAddress = `127.0.0.${2 + (i % 16)}`;
      state.live = false;
      const ws = await open(`${url}&after=${state.last ?? 0}`, headers, localAddress, state);
      if (ws) sockets.push({ ws, state }); else failed++;
    }
  }
  await Promise.all(Array.from({ length: concurrency }, lane));
  return { started, reconnected: sockets.length, failed };
}

function resumeStatus(target) {
  let caughtUp = 0, gaps = 0, repeats = 0;
  const behind = [];
  for (const { ws, state } of sockets) {
    if (state.last !== null && state.last >= target) caughtUp++;
    else if (behind.length < 5) behind.push({ last: state.last, live: state.live, open: ws.readyState === WebSocket.OPEN, closeCode: state.closeCode });
    gaps += state.gaps;
    repeats += state.repeats;
  }
  return { caughtUp, sockets: sockets.length, gaps, repeats, behind, at: now() };
}

// Per group of sockets (one per server): how many sockets, the events they received in total and the
// distinct ones (fewest and most on one socket), and the gaps and backward steps in their seqs' order.
function integrity() {
  const groups = {};
  for (const { state } of sockets) {
    if (!state || state.group == null) continue;
    const g = groups[state.group] ??= { sockets: 0, received: 0, distinct: 0, minDistinct: Infinity, maxDistinct: 0, gaps: 0, repeats: 0 };
    const distinct = state.distinct ?? 0;
    g.sockets++;
    g.received += state.received;
    g.distinct += distinct;
    g.minDistinct = Math.min(g.minDistinct, distinct);
    g.maxDistinct = Math.max(g.maxDistinct, distinct);
    g.gaps += state.gaps;
    g.repeats += state.repeats;
  }
  return { groups };
}

function report() {
  const buckets = {};
  for (let i = 0; i < HIST_SIZE; i++) if (hist[i]) buckets[i] = hist[i];
  const out = { received, buckets, step: HIST_STEP };
  hist = new Uint32Array(HIST_SIZE);
  received = 0;
  return out;
}

process.on("message", async (msg) => {
  let reply;
  switch (msg.cmd) {
    case "connect": reply = await connect(msg); break;
    case "reset": report(); reply = {}; break;
    case "report": reply = report(); break;
    case "close": await closeAll(); reply = {}; break;
    case "resume": reply = await resumeAll(msg); break;
    case "resumeStatus": reply = resumeStatus(msg.target); break;
    case "integrity": reply = integrity(); break;
    case "count": reply = { received }; break;
    case "exit": process.exit(0);
  }
  process.send({ id: msg.id, ...reply });
});
process.send({ ready: true });
