// The comparison server: a minimal broadcast server on Node's ws package, the way its README shows
// broadcasting. POST /publish with a JSON body sends that body, as one text message, to every
// connected client. No auth, no persistence, no resume: the cheapest possible fan-out.
"use strict";
const http = require("node:http");
const { WebSocketServer } = require("ws");

const port = Number(process.argv[2] || 0);
const server = http.createServer((req, res) => {
  if (req.method === "POST" && req.url === "/gc" && global.gc) {
    global.gc(); // the benchmark collects once after opening its connections (node --expose-gc)
    res.writeHead(204).end();
    return;
  }
  if (req.method !== "POST" || req.url !== "/publish") {
    res.writeHead(404).end();
    return;
  }
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks).toString("utf8");
    for (const client of wss.clients) {
      if (client.readyState === 1) client.send(body);
    }
    res.writeHead(204).end();
  });
});
const wss = new WebSocketServer({ server, perMessageDeflate: false });
server.listen(port, "127.0.0.1", () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
