// The webhooks benchmark's Node receiver (`bench/webhooks --receiver node`): a plain node:http server
// on loopback that answers 200 at once and counts the events it receives, as WebhookReceiver does in
// the harness's JVM: /hang never answers, /slow answers after SLOW_MS and counts nothing. Started by the
// harness, which reads the port from the first line printed and drives it through /_bench/ (counts,
// keeping bodies for the raw ceiling, latencies). No packages.
'use strict';
const http = require('node:http');

// The envelope fields of each event, as the server writes them (no full JSON parse, like the Jetty receiver)
const EVENT = /"seq":\d+,"type":"[^"]*","subject":(?:null|"[^"]*"),"time":"([^"]+)"/g;

const SLOW_MS = Number(process.argv[2] || 4900);

let events = 0;
let requests = 0;
let kept = null; // bodies received since /_bench/keep
let latencies = null; // microseconds from each event's time to its arrival, since /_bench/measure

function nowMicros() {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

// "2026-12-04T13:45:01.123456Z" to microseconds since the epoch (Date.parse keeps milliseconds only)
function micros(time) {
  const dot = time.indexOf('.');
  if (dot < 0) return Date.parse(time) * 1000;
  const fraction = time.slice(dot + 1, -1);
  return Date.parse(time.slice(0, dot) + 'Z') * 1000 + Number((fraction + '000000').slice(0, 6));
}

function record(body, arrived) {
  requests++;
  if (kept) kept.push(body);
  for (const m of body.matchAll(EVENT)) {
    events++;
    if (latencies) latencies.push(Math.max(0, arrived - micros(m[1])));
  }
}

function control(req, res) {
  let answer;
  switch (`${req.method} ${req.url}`) {
    case 'GET /_bench/counts': answer = { events, requests }; break;
    case 'POST /_bench/keep': kept = []; answer = {}; break;
    case 'GET /_bench/kept': answer = kept || []; kept = null; break;
    case 'POST /_bench/measure': latencies = []; answer = {}; break;
    case 'POST /_bench/stop': answer = latencies || []; latencies = null; break;
    default:
      res.writeHead(404).end();
      return;
  }
  const json = JSON.stringify(answer);
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) }).end(json);
}

const server = http.createServer((req, res) => {
  const arrived = nowMicros();
  if (req.url.startsWith('/_bench/')) {
    req.resume();
    req.on('end', () => control(req, res));
    return;
  }
  if (req.url === '/hang') {
    req.resume(); // answered never: the sender times out
    return;
  }
  if (req.url === '/slow') {
    req.resume();
    req.on('end', () => setTimeout(() => res.writeHead(200, { 'content-length': 0 }).end(), SLOW_MS));
    return;
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    record(Buffer.concat(chunks).toString('utf8'), arrived);
    res.writeHead(200, { 'content-length': 0 }).end();
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
process.stdin.on('end', () => process.exit(0)); // the harness is gone
process.stdin.resume();
