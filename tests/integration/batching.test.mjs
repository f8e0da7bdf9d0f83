// batching.test.mjs — continuous batching in the server: concurrent requests of different
// options decode together (the rows histogram shows steps of several rows) and each gets
// exactly the answer it gets alone (texts and scores); a client that disconnects leaves the
// batch at the next step while the others finish; one row at a time still works; the
// batching settings are validated with their key path; engine threads (a worker's products
// split between threads) change no answer.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { startServer, testConfig, BIN, ROOT } from './lib/server.mjs';
import { join } from 'node:path';
import { request, sleep } from './lib/http.mjs';
import { rawExchange, buildRequest } from './lib/raw.mjs';

const texts = ['The bridge over the river.', 'Children walk to school every day.', 'Fresh bread every morning.',
  'The train leaves at four.', 'A new park opened in the city.', 'Thank you for the pictures.'];
const optionSets = [{}, { num_beams: 4 }, { num_beams: 2, num_return_sequences: 2 },
  { do_sample: true, seed: 7, top_k: 20 }, { num_beams: 1, max_new_tokens: 20, min_length: 12 }];

function jobs() {
  const out = [];
  texts.forEach((t, i) => {
    const options = optionSets[i % optionSets.length];
    out.push({ text: t, options });
    out.push({ text: [t, t.toLowerCase()], options: optionSets[(i + 2) % optionSets.length] });
  });
  return out;
}

/** What must not depend on the batch: every text and score of every alternative. */
const essence = j => j.translations.map(t => ({ text: t.text, score: t.score, alts: t.alternatives }));

async function rowsHistogram(s) {
  const m = (await request(s.url, 'GET', '/metrics')).text;
  const count = Number(m.match(/attnserve_batch_rows_count\{model="tiny-en-de"\} (\d+)/)?.[1] ?? 0);
  const single = Number(m.match(/attnserve_batch_rows_bucket\{model="tiny-en-de",le="1"\} (\d+)/)?.[1] ?? 0);
  return { count, single, text: m };
}

describe('continuous batching', () => {
  test('concurrent requests decode together and each gets its answer alone', async () => {
    const s = await startServer({ config: testConfig({ workers: 1, batching: { max_rows: 48 } }) });
    try {
      const list = jobs();
      const alone = [];
      for (const body of list) {
        const r = await request(s.url, 'POST', '/translate', { body });
        assert.equal(r.status, 200, r.text);
        alone.push(essence(r.json));
      }
      const before = await rowsHistogram(s);
      for (let round = 0; round < 3; round++) {
        // all at once, in a different order each round (arrivals interleave differently)
        const order = list.map((_, i) => (i * (round + 5)) % list.length);
        const got = await Promise.all(order.map(i => request(s.url, 'POST', '/translate', { body: list[i] })));
        got.forEach((r, k) => {
          assert.equal(r.status, 200, r.text);
          assert.deepEqual(essence(r.json), alone[order[k]], `request ${order[k]} in round ${round}`);
        });
      }
      const after = await rowsHistogram(s);
      assert.ok(after.count > before.count, 'steps were counted');
      const ttft = Number(after.text.match(/attnserve_time_to_first_token_seconds_count\{model="tiny-en-de"\} (\d+)/)?.[1] ?? 0);
      assert.equal(ttft, list.length * 4, 'one time-to-first-token per request');
      assert.ok(after.count - after.single > before.count - before.single,
        `some steps decoded several rows together:\n${after.text.split('\n').filter(l => l.includes('batch_rows')).join('\n')}`);
    } finally { assert.equal((await s.stop()).code, 0); }
  });

  test('a client that disconnects leaves the batch; the others finish with their answers', async () => {
    const s = await startServer({ config: testConfig({ workers: 1 }) });
    try {
      const words = 'the city council met on tuesday to discuss the new bridge over the river'.split(' ');
      const sixty = Array.from({ length: 60 }, (_, i) => words[i % words.length]).join(' ');
      const long = { text: Array.from({ length: 8 }, (_, i) => `${i} ${sixty}`), split_sentences: false,
        options: { num_beams: 16, max_new_tokens: 60, min_length: 59 } };
      const other = { text: 'The train leaves at four.' };
      const want = await request(s.url, 'POST', '/translate', { body: other });
      assert.equal(want.status, 200);
      const body = JSON.stringify(long);
      const head = buildRequest('POST', '/translate', { headers: { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)) } });
      const gone = rawExchange(s.port, [{ data: Buffer.concat([head, Buffer.from(body)]) }], { timeout: 30 });
      await sleep(10);
      const others = await Promise.all(Array.from({ length: 4 }, () => request(s.url, 'POST', '/translate', { body: other })));
      for (const r of others) {
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(r.json.translations, want.json.translations);
      }
      await gone;
      let m = '';
      for (let i = 0; i < 100; i++) {
        m = (await request(s.url, 'GET', '/metrics')).text;
        if (/attnserve_cancelled_total\{reason="client_disconnect"\} [1-9]/.test(m)) break;
        await sleep(50);
      }
      assert.match(m, /attnserve_cancelled_total\{reason="client_disconnect"\} [1-9]/);
      // the worker goes idle once the step that answered the cancelled request returns
      for (let i = 0; i < 100 && !/attnserve_workers_busy 0/.test(m); i++) {
        await sleep(20);
        m = (await request(s.url, 'GET', '/metrics')).text;
      }
      assert.match(m, /attnserve_workers_busy 0/, 'nothing left running');
    } finally { assert.equal((await s.stop()).code, 0); }
  });

  test('batching off (batching.max_rows 1: one request at a time) gives the same answers', async () => {
    const a = await startServer({ config: testConfig({ workers: 1, batching: { max_rows: 1 } }) });
    const b = await startServer({ config: testConfig({ workers: 1 }) });
    try {
      for (const body of jobs().slice(0, 6)) {
        const [x, y] = await Promise.all([request(a.url, 'POST', '/translate', { body }), request(b.url, 'POST', '/translate', { body })]);
        assert.equal(x.status, 200, x.text);
        assert.deepEqual(essence(x.json), essence(y.json));
      }
    } finally {
      assert.equal((await a.stop()).code, 0);
      assert.equal((await b.stop()).code, 0);
    }
  });

  test('engine threads (engine_threads 2, batched and one at a time) give the same answers as 1', async () => {
    // the shipped translator: d_model 256, products large enough to be split between threads
    const models = [{ name: 'en-de', task: 'translate', path: join(ROOT, 'models/marian-en-de'), source_lang: 'en', target_lang: 'de' }];
    const one = await startServer({ config: testConfig({ workers: 1, models }) });
    const two = await startServer({ config: testConfig({ workers: 1, engine_threads: 2, models }) });
    const twoAlone = await startServer({ config: testConfig({ workers: 1, engine_threads: 2, batching: { max_rows: 1 }, models }) });
    try {
      const bodies = jobs().slice(0, 8);
      const ref = await Promise.all(bodies.map(body => request(one.url, 'POST', '/translate', { body })));
      for (const s of [two, twoAlone]) {
        const got = await Promise.all(bodies.map(body => request(s.url, 'POST', '/translate', { body })));
        got.forEach((g, i) => {
          assert.equal(g.status, 200, g.text);
          assert.deepEqual(essence(g.json), essence(ref[i].json), `request ${i}`);
        });
      }
      assert.ok(ref[0].json.translations[0].text.length > 0);
    } finally {
      for (const s of [one, two, twoAlone]) assert.equal((await s.stop()).code, 0);
    }
  });

  test('invalid batching settings are refused naming the key', () => {
    const cases = [[['--batch-max-rows', '0'], {}, /--batch-max-rows must be an integer between 1 and 4096, got "0"/],
      [[], { ATTNSERVE_BATCH_MAX_TOKENS: '-5' }, /ATTNSERVE_BATCH_MAX_TOKENS/]];
    for (const [args, env, want] of cases) {
      const r = spawnSync(BIN, [...args, '--check'], { encoding: 'utf8', env: { ...process.env, ...env } });
      assert.notEqual(r.status, 0);
      assert.match(r.stderr + r.stdout, want);
    }
  });
});
