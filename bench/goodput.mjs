// goodput.mjs — goodput under overload (not a test): an open-loop load generator that offers
// POST /translate requests at a fixed rate, one sentence each from a file, and honours
// Retry-After: a request answered 503 is sent again after the delay the server asked for (at
// most --retries times), so clients that behave well keep their work. It prints the offered
// rate, goodput (requests answered 200 per second), the 503s and the failures, and the p50/p99
// latency of the successful requests from their first attempt. Loopback servers only; bounded
// in time (--seconds of offered load, then at most --drain seconds for the retries in flight)
// and in count (--max-inflight requests at once; beyond, an arrival is counted as dropped).
//
//   node bench/goodput.mjs URL --rate R [--seconds 20] [--sentences FILE] [--retries 5]
//                          [--max-inflight 512] [--drain 30] [--body-extra '{"options":{}}']
//
// e.g. capacity first (bench/server_bench.sh: closed-loop requests/s), then R = 2x capacity.
import http from 'node:http';
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  if (i < 0) return dflt;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
};
const rate = Number(opt('--rate', 0));
const seconds = Number(opt('--seconds', 20));
const retries = Number(opt('--retries', 5));
const maxInflight = Number(opt('--max-inflight', 512));
const drain = Number(opt('--drain', 30));
const sentFile = opt('--sentences', null);
const extra = JSON.parse(opt('--body-extra', '{}'));
const base = args[0];
if (!base || !(rate > 0)) {
  console.error('usage: node bench/goodput.mjs URL --rate R [--seconds 20] [--sentences FILE] [--retries 5] [--max-inflight 512] [--drain 30]');
  process.exit(2);
}
const u = new URL('/translate', base);
if (!['127.0.0.1', 'localhost', '::1', '[::1]'].includes(u.hostname)) {
  console.error('goodput: loopback servers only');
  process.exit(2);
}
const sentences = sentFile
  ? readFileSync(sentFile, 'utf8').split('\n').filter(l => l.trim())
  : ['A man in an orange hat starring at something.', 'Two men are at the stove preparing food.'];
const agent = new http.Agent({ keepAlive: true, maxSockets: maxInflight });

const lat = [];
const counts = { offered: 0, ok: 0, busy503: 0, retried: 0, gaveUp: 0, failed: 0, dropped: 0 };
let inflight = 0;

function attempt(body) {
  return new Promise(resolve => {
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent,
      headers: { 'Content-Type': 'application/json', 'Content-Length': body.length } }, res => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode, retryAfter: Number(res.headers['retry-after'] ?? 1) }));
    });
    req.setTimeout(60000, () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ status: 0 }));
    req.end(body);
  });
}

async function one(i) {
  const body = Buffer.from(JSON.stringify({ text: sentences[i % sentences.length], ...extra }));
  const t0 = process.hrtime.bigint();
  inflight++;
  try {
    for (let k = 0; ; k++) {
      const r = await attempt(body);
      if (r.status === 200) {
        counts.ok++;
        lat.push(Number(process.hrtime.bigint() - t0) / 1e6);
        return;
      }
      if (r.status !== 503) { counts.failed++; return; }
      counts.busy503++;
      if (k >= retries) { counts.gaveUp++; return; }
      counts.retried++;
      const wait = Math.max(0, Math.min(30, Number.isFinite(r.retryAfter) ? r.retryAfter : 1));
      await new Promise(res => setTimeout(res, wait * 1000));
    }
  } finally { inflight--; }
}

const pending = [];
const start = Date.now();
const interval = 1000 / rate;
let sent = 0;
await new Promise(resolve => {
  const tick = () => {
    const due = Math.floor((Date.now() - start) / interval);
    while (sent < due && Date.now() - start < seconds * 1000) {
      counts.offered++;
      if (inflight >= maxInflight) counts.dropped++;
      else pending.push(one(sent));
      sent++;
    }
    if (Date.now() - start >= seconds * 1000) return resolve();
    setTimeout(tick, Math.max(1, interval / 2));
  };
  tick();
});
const loadEnd = Date.now();
await Promise.race([Promise.all(pending), new Promise(r => setTimeout(r, drain * 1000))]);
const wall = (Date.now() - start) / 1000;
lat.sort((a, b) => a - b);
const q = p => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(p * lat.length))].toFixed(0) : '-');
console.log(JSON.stringify({
  offered_rate: +(counts.offered / ((loadEnd - start) / 1000)).toFixed(1),
  goodput: +(counts.ok / wall).toFixed(1),
  ok: counts.ok, answered_503: counts.busy503, retried: counts.retried, gave_up: counts.gaveUp,
  failed: counts.failed, dropped: counts.dropped, seconds: +wall.toFixed(1),
  p50_ms: Number(q(0.5)), p99_ms: Number(q(0.99)),
}));
agent.destroy();
