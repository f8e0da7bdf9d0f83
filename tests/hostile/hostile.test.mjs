// hostile.test.mjs — replays every request of tests/hostile/cases/ over a raw socket against the
// real attnserve and checks its expected status and error code (and, where documented, the body
// against openapi.yaml); after each, the server must still answer GET /healthz.
//
// A case file: { "description", "server"?: "keys", "request": { "method", "path", "headers",
//   "body" | "body_hex" | "body_repeat": { "prefix", "unit", "count", "suffix" }, "chunked"?: n
//   (chunk size), "slow"?: { "send_first", "delay_ms" } | { "drip", "delay_ms" } } | { "raw" },
//   "expect": { "status", "code"?, "message"?, "allow"?, "libre"? (LibreTranslate's error shape) } | { "closed": true, "within_ms"? } }
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, testConfig } from '../integration/lib/server.mjs';
import { request } from '../integration/lib/http.mjs';
import { rawExchange } from '../integration/lib/raw.mjs';
import { check, template, SPEC, validateSchema } from '../integration/lib/openapi.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const files = readdirSync(join(HERE, 'cases')).filter(f => f.endsWith('.json')).sort();
const servers = {};

before(async () => {
  servers.default = await startServer();
  const keys = join(servers.default.dir, 'keys.txt');
  writeFileSync(keys, 'hostile-test-key\n');
  servers.keys = await startServer({ config: testConfig({ api_keys_file: keys }) });
});
after(async () => {
  for (const s of Object.values(servers)) assert.equal((await s.stop()).code, 0, 'exit 0 after the hostile run');
});

function bodyOf(r) {
  if (r.body_hex !== undefined) return Buffer.from(r.body_hex, 'hex');
  if (r.body_repeat) {
    const { prefix = '', unit, count, suffix = '' } = r.body_repeat;
    return Buffer.from(prefix + unit.repeat(count) + suffix);
  }
  if (r.body === undefined || r.body === null) return null;
  return Buffer.from(r.body, 'utf8');
}

/** The request as a list of { data, delayMs } parts. */
function partsOf(r) {
  if (r.raw !== undefined) return [{ data: Buffer.from(r.raw, 'latin1') }];
  let body = bodyOf(r);
  const headers = { Host: '127.0.0.1', ...(r.headers ?? {}), Connection: 'close' };
  if (r.chunked) {
    headers['Transfer-Encoding'] = 'chunked';
    const chunks = [];
    for (let i = 0; i < body.length; i += r.chunked) {
      const c = body.subarray(i, i + r.chunked);
      chunks.push(Buffer.from(c.length.toString(16) + '\r\n'), c, Buffer.from('\r\n'));
    }
    chunks.push(Buffer.from('0\r\n\r\n'));
    body = Buffer.concat(chunks);
  } else if (body && !Object.keys(headers).some(k => k.toLowerCase() === 'content-length')) {
    headers['Content-Length'] = String(body.length);
  }
  const head = Buffer.from(`${r.method} ${r.path} HTTP/1.1\r\n` +
    Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('') + '\r\n', 'latin1');
  const all = body ? Buffer.concat([head, body]) : head;
  if (r.slow?.send_first !== undefined) {
    const n = head.length + r.slow.send_first;
    return [{ data: all.subarray(0, n) }, { data: all.subarray(n), delayMs: r.slow.delay_ms }];
  }
  if (r.slow?.drip) {
    const parts = [{ data: head }];
    for (let i = 0; i < body.length; i += r.slow.drip) parts.push({ data: body.subarray(i, i + r.slow.drip), delayMs: r.slow.delay_ms });
    return parts;
  }
  return [{ data: all }];
}

assert.ok(files.length >= 60, `at least 60 hostile requests (found ${files.length})`);

for (const f of files) {
  const c = JSON.parse(readFileSync(join(HERE, 'cases', f), 'utf8'));
  test(`${f}: ${c.description}`, async () => {
    const srv = servers[c.server ?? 'default'];
    const t0 = Date.now();
    const res = await rawExchange(srv.port, partsOf(c.request), { timeout: 20000 });
    const e = c.expect;
    if (e.closed) {
      assert.equal(res.closed, true, `expected the connection to be cut, got ${res.status} ${res.text}`);
      assert.ok(!res.timedOut, 'the server never closed the connection (the test gave up after 20 s)');
      if (e.within_ms) assert.ok(Date.now() - t0 <= e.within_ms, `closed after ${Date.now() - t0} ms, expected within ${e.within_ms} ms`);
    } else {
      assert.ok(!res.closed, `no answer (${res.error ?? 'closed'})`);
      assert.equal(res.status, e.status, res.text);
      if (!e.http_parser) {
        assert.match(res.headers['content-type'] ?? '', /^application\/json/);
        assert.ok(res.json, `JSON body: ${res.text}`);
        assert.deepEqual(Object.keys(res.json), ['error']);
        // a request in LibreTranslate's shape gets its {"error": "..."} (no code)
        const message = e.libre ? res.json.error : res.json.error.message;
        if (e.libre) assert.equal(typeof message, 'string', res.text);
        else assert.equal(res.json.error.code, e.code, res.text);
        if (e.message) assert.ok(message.includes(e.message), `message "${message}" lacks "${e.message}"`);
        if (e.allow) assert.equal(res.headers.allow, e.allow);
        assert.ok(!/\/(tmp|work|home|usr)\//.test(message), 'no file paths in messages');
        const t = template(c.request.path ?? '/');
        const op = t && SPEC.paths[t][c.request.method.toLowerCase()];
        if (op && op.responses[String(res.status)]) check(c.request.method, c.request.path, res);
        else assert.equal(validateSchema({ $ref: `#/components/schemas/${e.libre ? 'LibreTranslateError' : 'Error'}` }, res.json), null);
      }
    }
    // the server is still up
    assert.equal(srv.proc.exitCode, null, 'attnserve is running');
    const h = await request(srv.url, 'GET', '/healthz');
    assert.equal(h.status, 200);
  });
}
