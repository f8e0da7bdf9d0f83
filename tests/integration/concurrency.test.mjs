// concurrency.test.mjs — many parallel clients on several routes: no errors but deliberate
// 503s, every accepted request answered correctly (equal to its answer when sent alone).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startServer, testConfig } from './lib/server.mjs';
import { request } from './lib/http.mjs';
import { check } from './lib/openapi.mjs';

let srv;
// the store keeps every result of the run, so the slices asked for below are never evicted
before(async () => { srv = await startServer({ config: testConfig({ workers: 2, queue_depth: 8, http_threads: 4, attention_store: { max_entries: 1000 } }) }); });
after(async () => { assert.equal((await srv.stop()).code, 0); });

const texts = ['The bridge over the river.', 'Children walk to school.', 'Fresh bread every morning.',
  'The train leaves at four.', 'A new park opened.', 'Thank you for the pictures.'];
const jobs = [];
for (const t of texts) {
  jobs.push({ method: 'POST', path: '/translate', body: { text: t } });
  jobs.push({ method: 'POST', path: '/translate', body: { text: [t, t.toUpperCase()], options: { num_beams: 3 } } });
  jobs.push({ method: 'POST', path: '/translate', body: { q: t, source: 'en', target: 'de' } });
  jobs.push({ method: 'POST', path: '/summarize', body: { text: `${t} ${t}` } });
  jobs.push({ method: 'POST', path: '/attention', body: { task: 'translate', text: t, kinds: ['cross'], heads: 'mean' } });
}
jobs.push({ method: 'GET', path: '/models' }, { method: 'GET', path: '/languages' }, { method: 'GET', path: '/healthz' });

/** The part of an answer that must not depend on load (timings and ids excluded). */
function essence(job, res) {
  const j = res.json;
  if (job.method === 'GET') return j ?? res.text; // an SVG slice is compared as text
  if (j.translatedText !== undefined) return j;
  if (j.translations) return j.translations.map(t => t.text);
  if (j.summaries) return j.summaries.map(t => t.text);
  return { output: j.output, src: j.source_tokens, tgt: j.target_tokens, cross: j.cross_attention };
}

test('parallel clients get correct answers or deliberate 503s', async () => {
  // slices of a kept attention result, read while other requests add results to the store
  const kept = await request(srv.url, 'POST', '/attention', { body: { task: 'translate', text: 'The old castle is now a hotel.' } });
  assert.equal(kept.status, 200, kept.text);
  for (const q of ['kind=cross&layer=1&head=mean', 'kind=encoder&layer=0&head=2', 'kind=decoder&head=max', 'kind=cross&layer=0&head=3&format=svg'])
    jobs.push({ method: 'GET', path: `/attention/${kept.json.id}?${q}` });
  // the answers each request gets alone
  const expected = [];
  for (const job of jobs) {
    const r = await request(srv.url, job.method, job.path, job.body ? { body: job.body } : {});
    check(job.method, job.path, r);
    assert.equal(r.status, 200, r.text);
    expected.push(essence(job, r));
  }
  // 24 clients, each sending the whole mix in its own order over keep-alive connections
  const agent = new http.Agent({ keepAlive: true, maxSockets: 24 });
  const counts = { ok: 0, busy: 0 };
  const clients = Array.from({ length: 24 }, async (_, c) => {
    const order = jobs.map((_, i) => (i * 7 + c * 5) % jobs.length);
    for (const i of order) {
      const job = jobs[i];
      const r = await request(srv.url, job.method, job.path, { ...(job.body ? { body: job.body } : {}), agent });
      check(job.method, job.path, r);
      if (r.status === 503) {
        // a LibreTranslate request gets LibreTranslate's {"error": "..."}
        if (job.body?.q) assert.match(r.json.error, /busy/, r.text);
        else assert.equal(r.json.error.code, 'busy', r.text);
        assert.equal(r.headers['retry-after'], '1');
        counts.busy++;
        continue;
      }
      assert.equal(r.status, 200, `${job.method} ${job.path}: ${r.text}`);
      assert.deepEqual(essence(job, r), expected[i], `${job.method} ${job.path} answered differently under load`);
      counts.ok++;
    }
  });
  await Promise.all(clients);
  agent.destroy();
  console.log(`# ${counts.ok} answered, ${counts.busy} refused with 503 busy`);
  assert.equal(counts.ok + counts.busy, 24 * jobs.length);
  assert.ok(counts.ok >= jobs.length, 'most requests are served');
  // the server is still healthy and counted everything
  let m;
  for (let i = 0; i < 50; i++) { // completion callbacks may trail the last answers a little
    m = await request(srv.url, 'GET', '/metrics');
    if (/attnserve_inflight_requests 1\n/.test(m.text)) break;
    await new Promise(r => setTimeout(r, 20));
  }
  const total = [...m.text.matchAll(/attnserve_http_requests_total\{route="[^"]+",status="(\d+|other)"\} (\d+)/g)]
    .reduce((a, x) => a + Number(x[2]), 0);
  assert.ok(total >= 25 * jobs.length, `metrics count ${total}`);
  assert.match(m.text, /attnserve_inflight_requests 1\n/); // this /metrics request itself
  assert.equal((await request(srv.url, 'GET', '/healthz')).status, 200);
});
