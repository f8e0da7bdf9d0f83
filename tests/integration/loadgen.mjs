// loadgen.mjs — a small HTTP load generator for measuring attnserve (not a test): N keep-alive
// clients send the same request for D seconds; prints requests/s and latency percentiles.
// Usage: node tests/integration/loadgen.mjs URL METHOD PATH [JSON_BODY] [--clients N] [--seconds D]
import http from 'node:http';

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); if (i < 0) return dflt; const v = args[i + 1]; args.splice(i, 2); return Number(v); };
const clients = opt('--clients', 8), seconds = opt('--seconds', 10);
const [base, method, path, body] = args;
if (!base || !method || !path) { console.error('usage: loadgen.mjs URL METHOD PATH [JSON_BODY] [--clients N] [--seconds D]'); process.exit(2); }
const u = new URL(path, base);
const data = body ? Buffer.from(body) : null;
const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
const lat = [];
const statuses = {};
const end = Date.now() + seconds * 1000;

function once() {
  return new Promise(resolve => {
    const t0 = process.hrtime.bigint();
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method, agent,
      headers: data ? { 'Content-Type': 'application/json', 'Content-Length': data.length } : {} }, res => {
      res.resume();
      res.on('end', () => {
        lat.push(Number(process.hrtime.bigint() - t0) / 1e6);
        statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
        resolve();
      });
    });
    req.on('error', e => { statuses[e.code] = (statuses[e.code] ?? 0) + 1; resolve(); });
    if (data) req.write(data);
    req.end();
  });
}

const t0 = Date.now();
await Promise.all(Array.from({ length: clients }, async () => { while (Date.now() < end) await once(); }));
const secs = (Date.now() - t0) / 1000;
agent.destroy();
lat.sort((a, b) => a - b);
const p = q => lat[Math.min(lat.length - 1, Math.floor(q * lat.length))]?.toFixed(2);
console.log(JSON.stringify({ method, path, clients, seconds: +secs.toFixed(1), requests: lat.length,
  rps: +(lat.length / secs).toFixed(1), p50_ms: +p(0.5), p90_ms: +p(0.9), p99_ms: +p(0.99), statuses }));
