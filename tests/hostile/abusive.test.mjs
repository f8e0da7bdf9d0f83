// abusive.test.mjs — slow and abusive clients against the real attnserve (issue 15): a client
// that drips its header (slowloris), idle connections up to and past the connection limit, a
// client that never reads a large answer, and pipelined requests. Each checks its outcome
// (closed in bounded time, other clients unaffected, memory bounded); under the sanitizer build
// (make test-integration-asan) the server's exit status also covers leaks and memory errors.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { startServer, testConfig } from '../integration/lib/server.mjs';
import { request } from '../integration/lib/http.mjs';
import { buildRequest, parseResponse } from '../integration/lib/raw.mjs';

const sleep = ms => new Promise(r => setTimeout(r, ms));

/** A raw connection that records when the server closed it. */
function connect(port) {
  const sock = net.connect(port, '127.0.0.1');
  const c = { sock, data: Buffer.alloc(0), closedAt: null, error: null, openedAt: Date.now() };
  c.closed = new Promise(res => sock.on('close', () => { c.closedAt = Date.now(); res(c.closedAt); }));
  c.connected = new Promise(res => { sock.once('connect', () => res(true)); sock.once('error', () => res(false)); });
  sock.on('data', d => { c.data = Buffer.concat([c.data, d]); });
  sock.on('error', e => { c.error = e; });
  return c;
}

/** Resolves true when c closes within ms, false otherwise. */
async function closesWithin(c, ms) {
  return Promise.race([c.closed.then(() => true), sleep(ms).then(() => false)]);
}

/** GET /healthz on a fresh connection: { status, ms }. */
async function healthz(srv) {
  const t0 = Date.now();
  const r = await request(srv.url, 'GET', '/healthz');
  return { status: r.status, ms: Date.now() - t0 };
}

/** The server process's resident memory in MB (Linux). */
function rssMb(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m[1]) / 1024;
}

describe('a client that drips its request header (slowloris)', () => {
  let srv;
  before(async () => {
    srv = await startServer({ config: testConfig({ limits: { header_timeout_ms: 1500, idle_timeout_s: 30 } }) });
  });
  after(async () => assert.equal((await srv.stop()).code, 0));

  test('is closed at the header deadline although it never idles, and others are served meanwhile', async t => {
    const c = connect(srv.port);
    assert.ok(await c.connected);
    c.sock.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    // one header byte every 100 ms: libmicrohttpd's idle timeout (30 s here) never fires
    let sent = 0;
    const drip = setInterval(() => {
      if (c.closedAt || c.sock.destroyed) return clearInterval(drip);
      c.sock.write(sent++ % 2 ? '\r\n' : 'X-Drip: a');
    }, 100);
    const others = [];
    for (let i = 0; i < 5; i++) { others.push(await healthz(srv)); await sleep(100); }
    const closed = await closesWithin(c, 4000);
    clearInterval(drip);
    c.sock.destroy();
    assert.ok(closed, 'the dripping connection was closed');
    const after = c.closedAt - c.openedAt;
    t.diagnostic(`dripping connection closed after ${after} ms; concurrent /healthz ${others.map(o => o.ms).join(', ')} ms`);
    assert.ok(after >= 1400 && after < 3500, `closed ${after} ms after it opened (header_timeout_ms 1500)`);
    for (const o of others) {
      assert.equal(o.status, 200);
      assert.ok(o.ms < 1000, `a concurrent GET /healthz took ${o.ms} ms`);
    }
  });

  test('a kept-alive connection gets its idle time plus the header deadline for the next request', async () => {
    const c = connect(srv.port);
    assert.ok(await c.connected);
    c.sock.write(buildRequest('GET', '/healthz'));
    await sleep(2000); // past header_timeout_ms, but within idle_timeout_s after the answer
    assert.equal(c.closedAt, null, 'open while idle after an answer');
    const r = parseResponse(c.data);
    assert.equal(r?.status, 200);
    c.data = Buffer.alloc(0);
    c.sock.write(buildRequest('GET', '/healthz'));
    await sleep(300);
    assert.equal(parseResponse(c.data)?.status, 200, 'the second request on it is answered');
    c.sock.destroy();
  });

  test('a header larger than the connection memory is refused in bounded time', async () => {
    const c = connect(srv.port);
    assert.ok(await c.connected);
    const line = 'X-Big: ' + 'a'.repeat(1000) + '\r\n';
    c.sock.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    for (let i = 0; i < 200 && !c.closedAt; i++) {
      if (!c.sock.write(line)) await sleep(5);
    }
    assert.ok(await closesWithin(c, 3000), 'closed');
    const r = parseResponse(c.data, { final: true });
    if (r) assert.ok([400, 413, 431].includes(r.status), `answered ${r.status}`);
    assert.equal((await healthz(srv)).status, 200);
  });
});

describe('idle connections and the connection limit', () => {
  let srv;
  before(async () => {
    srv = await startServer({ config: testConfig({ limits: { max_connections: 8, idle_timeout_s: 2, header_timeout_ms: 60000 } }) });
  });
  after(async () => assert.equal((await srv.stop()).code, 0));

  test('connections that send nothing are closed after idle_timeout_s', async () => {
    const cs = Array.from({ length: 6 }, () => connect(srv.port));
    await Promise.all(cs.map(c => c.connected));
    const t0 = Date.now();
    const closed = await Promise.all(cs.map(c => closesWithin(c, 6000)));
    assert.deepEqual(closed, cs.map(() => true), 'every idle connection closed');
    const last = Math.max(...cs.map(c => c.closedAt)) - t0;
    assert.ok(last >= 1500 && last < 5000, `closed ${last} ms after opening (idle_timeout_s 2)`);
    assert.equal((await healthz(srv)).status, 200);
  });

  test('past max_connections a new connection waits unanswered, and is served once the idle ones are closed', async () => {
    const held = Array.from({ length: 8 }, () => connect(srv.port));
    await Promise.all(held.map(c => c.connected));
    await sleep(200);
    // the ninth: the daemon stops accepting at the limit, so it waits in the listen backlog
    const t0 = Date.now();
    const extra = connect(srv.port);
    await extra.connected;
    extra.sock.write(buildRequest('GET', '/healthz'));
    await sleep(1000);
    assert.equal(parseResponse(extra.data), null, 'not answered while 8 connections are held');
    // the held connections send nothing: idle_timeout_s (2 s) closes them, the ninth is served
    let r = null;
    for (let t = 0; t < 80 && !r; t++) { await sleep(100); r = parseResponse(extra.data); }
    const waited = Date.now() - t0;
    assert.equal(r?.status, 200, 'answered once the idle connections were closed');
    assert.ok(waited < 5000, `answered after ${waited} ms`);
    assert.ok((await Promise.all(held.map(c => closesWithin(c, 100)))).every(Boolean), 'the held ones were closed');
    extra.sock.destroy();
  });
});

describe('a client that never reads a large answer', () => {
  let srv;
  before(async () => {
    srv = await startServer({ config: testConfig({ limits: { idle_timeout_s: 2, max_text_bytes: 8192 } }) });
  });
  after(async () => assert.equal((await srv.stop()).code, 0));

  // Encoder self-attention of every layer and head of a 512-token input (the tiny T5 has
  // relative positions, so no position table caps it): about 14 MB of JSON.
  const text = Array.from({ length: 20 }, (_, i) => `The house number ${i} is small and old`).join(' and ') + '.';
  const body = { model: 'tiny-sum', text, kinds: ['encoder', 'cross'], heads: [0, 1, 2, 3], layers: [0, 1], options: { max_new_tokens: 8 } };

  test('the answer is several MB (so it cannot sit in the socket buffers)', async () => {
    const r = await request(srv.url, 'POST', '/attention', { body });
    assert.equal(r.status, 200, r.text?.slice(0, 300));
    assert.ok(r.body.length > 8e6, `answer of ${r.body.length} bytes`);
  });

  test('stalls only itself: others are served, the stalled connections are closed and memory stays bounded', async t => {
    const rss0 = rssMb(srv.proc.pid);
    const stalled = [];
    for (let i = 0; i < 6; i++) {
      const c = connect(srv.port);
      await c.connected;
      c.sock.pause(); // never read: the server's writes block once the socket buffers fill
      c.sock.write(buildRequest('POST', '/attention', { headers: { 'Content-Type': 'application/json' }, body }));
      stalled.push(c);
    }
    await sleep(1500);
    const h = await healthz(srv);
    assert.equal(h.status, 200);
    assert.ok(h.ms < 1000, `GET /healthz took ${h.ms} ms beside 6 stalled readers`);
    const tr = await request(srv.url, 'POST', '/translate', { body: { text: 'Hello world.' } });
    assert.equal(tr.status, 200, 'translation served beside them');
    const rss1 = rssMb(srv.proc.pid);
    // closed by the idle timeout once no byte has moved for idle_timeout_s (2 s): reading after
    // that shows each answer cut short
    await sleep(3500);
    for (const c of stalled) c.sock.resume();
    const closed = await Promise.all(stalled.map(c => closesWithin(c, 8000)));
    assert.deepEqual(closed, stalled.map(() => true), 'every stalled connection closed');
    for (const c of stalled) {
      const end = c.data.indexOf('\r\n\r\n');
      assert.ok(end > 0, 'the answer had begun');
      const len = Number(/content-length: (\d+)/i.exec(c.data.subarray(0, end).toString())?.[1]);
      assert.ok(c.data.length - end - 4 < len, 'cut short: the server gave up on the reader');
    }
    await sleep(500);
    const rss2 = rssMb(srv.proc.pid);
    t.diagnostic(`RSS ${Math.round(rss0)} MB before, ${Math.round(rss1)} MB with 6 stalled 14 MB answers, ${Math.round(rss2)} MB after they closed; /healthz beside them ${h.ms} ms`);
    // each stalled answer is held until its connection closes (~14 MB of JSON plus the attention
    // kept to write it); the sanitizer build's allocator quarantine roughly doubles that
    const bound = process.env.ASAN_OPTIONS ? 800 : 400;
    assert.ok(rss1 - rss0 < bound, `RSS grew ${Math.round(rss1 - rss0)} MB with 6 stalled answers`);
    assert.ok(rss2 <= rss1 + 16, `RSS ${Math.round(rss2)} MB after they closed (was ${Math.round(rss1)} MB)`);
    assert.equal((await healthz(srv)).status, 200);
  });
});

describe('pipelined requests', () => {
  let srv;
  before(async () => { srv = await startServer(); });
  after(async () => assert.equal((await srv.stop()).code, 0));

  test('three requests in one write are answered in order on the one connection', async () => {
    const c = connect(srv.port);
    await c.connected;
    c.sock.write(Buffer.concat([
      buildRequest('GET', '/healthz'),
      buildRequest('POST', '/translate', { headers: { 'Content-Type': 'application/json' }, body: { text: 'Good morning.' } }),
      buildRequest('GET', '/nope'),
    ]));
    const answers = [];
    for (let t = 0; t < 100 && answers.length < 3; t++) {
      const r = parseResponse(c.data);
      if (r) { answers.push(r); c.data = c.data.subarray(r.length); continue; }
      await sleep(50);
    }
    c.sock.destroy();
    assert.deepEqual(answers.map(a => a.status), [200, 200, 404]);
    assert.equal(typeof answers[1].json.translations[0].text, 'string');
    assert.equal(answers[2].json.error.code, 'not_found');
  });

  test('a pipelined request after a refused body is still read as a request of its own', async () => {
    const c = connect(srv.port);
    await c.connected;
    c.sock.write(Buffer.concat([
      buildRequest('POST', '/translate', { headers: { 'Content-Type': 'application/json' }, body: '{"text": ' }),
      buildRequest('GET', '/healthz'),
    ]));
    const answers = [];
    for (let t = 0; t < 100 && answers.length < 2; t++) {
      const r = parseResponse(c.data);
      if (r) { answers.push(r); c.data = c.data.subarray(r.length); continue; }
      if (c.closedAt) break;
      await sleep(50);
    }
    c.sock.destroy();
    assert.equal(answers[0]?.status, 400, 'the malformed JSON body is a 400');
    assert.equal(answers[1]?.status, 200, 'the next request on the connection is answered');
  });
});
